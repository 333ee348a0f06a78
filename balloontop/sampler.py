"""Turn one reading of a root into an immutable ``Sample``."""

from __future__ import annotations

import time
from collections.abc import Callable

from .model import Sample
from .rootfs import Root


class Sampler:
    """Reads a root on demand; keeps nothing between readings but the root and the clock."""

    def __init__(self, root: str | Root = "/", clock: Callable[[], float] = time.time) -> None:
        self.root = root if isinstance(root, Root) else Root(root)
        self.clock = clock

    def sample(self) -> Sample:
        raise NotImplementedError("being written")
