"""``FileTree``: the read interface every reader of a guest uses.

The sampler, the virtio readers, the drivers and ``system`` read a guest only through
these methods. Two implementations exist: ``rootfs.Root`` (a local directory standing for
the guest's ``/``, or ``/`` itself) and ``remote.shellroot.ShellRoot`` (a guest reached
through a shell on a pipe: ``--via`` / ``--ssh``). Paths are guest paths relative to the
tree's root, without a leading ``/`` (``proc/meminfo``). No method raises.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .rootfs import ReadError


@runtime_checkable
class FileTree(Protocol):
    """What a reader may ask of a guest's file tree."""

    path: str
    """The tree's root directory, as the guest (or the local machine) names it."""

    is_live: bool
    """True when the tree is a running system's ``/`` (not a copy under another folder)."""

    def read_text(self, rel: str, *, limit: int = ...) -> tuple[str | None, ReadError | None]:
        """The text of ``rel`` (UTF-8, undecodable bytes replaced), or ``None`` and why; at
        most ``limit`` bytes where the tree allows a reader of larger files (the kernel log)."""
        ...

    def text(self, rel: str) -> str | None:
        """The text of ``rel``, or ``None`` when it cannot be read for any reason."""
        ...

    def exists(self, rel: str) -> bool: ...

    def is_dir(self, rel: str) -> bool: ...

    def listdir(self, rel: str) -> list[str]:
        """Sorted entries of ``rel``; empty when it is missing or unreadable."""
        ...

    def list_entries(self, rel: str) -> tuple[list[str] | None, str | None]:
        """Sorted entries of ``rel`` or ``None`` and why: ``"missing"`` or ``"permission"``."""
        ...

    def readlink(self, rel: str) -> str | None:
        """Where link ``rel`` points (callers use its last component), else ``None``."""
        ...

    def real_rel(self, rel: str) -> str | None:
        """The guest path ``rel`` resolves to (``/sys/devices/...``), or ``None``."""
        ...

    def dir_identity(self, rel: str) -> Hashable | None:
        """A value that changes when directory ``rel`` is replaced by another one (its
        inode locally); ``None`` when ``rel`` is not a directory."""
        ...

    def take_warnings(self) -> list[str]:
        """What the reads since the last call could not do whole (a file cut at the cap)."""
        ...

    def running_page_size(self) -> int | None:
        """The page size of the running system this tree is, or ``None`` for a copy."""
        ...
