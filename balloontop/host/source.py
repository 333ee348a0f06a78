"""``HostSource``: any ``SampleSource`` whose samples carry the host's reading (``Sample.host``).

    source = HostSource(Sampler(root), HostReader("/run/vm1/balloontop.qmp"))
    Monitor(source)          # the TUI, record and export see sample.host on every tick

The host is read right after the guest, once per sample; ``kind`` is the wrapped source's, so
the pipeline treats it as that source. A host that cannot be read is the reading's ``error``
(``HostReader`` never raises and waits ``retry_s`` before trying a gone or busy socket again),
so the guest's view goes on at its own pace.
"""

from __future__ import annotations

import dataclasses

from ..model import Sample
from ..sources import SampleSource, SourceKind
from .reader import HostReader


class HostSource:
    """``inner``'s samples with ``host`` read by ``reader``."""

    def __init__(self, inner: SampleSource, reader: HostReader) -> None:
        self.inner = inner
        self.reader = reader

    @property
    def kind(self) -> SourceKind:
        return self.inner.kind

    def sample(self) -> Sample | None:
        sample = self.inner.sample()
        if sample is None:
            return None
        return dataclasses.replace(sample, host=self.reader.read())

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.reader.close()

    def __getattr__(self, name: str) -> object:
        # what the front ends read from their source besides the protocol (a demo's title, ...)
        return getattr(self.inner, name)
