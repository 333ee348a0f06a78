"""Read files of a guest relative to a root directory, never escaping it.

Every reader takes a ``Root``: ``/`` for the live system, or a folder holding a copy of a
guest's ``proc`` and ``sys`` (a capture, a fixture, the demo simulator's tree). Paths are
resolved the way the kernel would inside a chroot: symbolic links are followed, an
absolute link target starts again at the root and ``..`` stops at the root. Copies made by
tools that do not keep links (9p shares, some archivers) store a sysfs link as a small
text file holding the relative target; such a file is followed like the link it stands
for.

Nothing is ever opened for writing. A read that fails returns ``None`` and says why in a
``ReadError``; it never raises.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from typing import NamedTuple

MAX_LINK_HOPS = 40  # as the kernel's MAXSYMLINKS
MAX_FILE_BYTES = 4 << 20  # a proc/sys file bigger than this is not one we read
READ_CHUNK = 64 << 10

_LINK_TEXT = re.compile(r"^(?:\.\./)+[\w.:@+\-/]+$")


class ReadError(NamedTuple):
    """Why a file could not be read, in plain words."""

    path: str
    reason: str  # "missing", "permission", "not-a-file", "error"
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def _read_bytes(path: str) -> bytes:
    """The one place the core opens a file (read only); tests inject errors here."""
    with open(path, "rb", buffering=0) as handle:
        # sysctl files refuse one huge read (ENOMEM), so read in chunks, as cat does.
        chunks = []
        size = 0
        while size < MAX_FILE_BYTES:
            chunk = handle.read(READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)


class Root:
    """A directory standing for a guest's ``/``."""

    def __init__(self, path: str = "/") -> None:
        self.path = os.path.abspath(path)
        self.is_live = self.path == "/"

    def __repr__(self) -> str:
        return f"Root({self.path!r})"

    # -- path resolution -------------------------------------------------------------

    def resolve(self, rel: str) -> str:
        """The real path of guest path ``rel``, with links followed inside the root."""
        if self.is_live:
            return "/" + rel.lstrip("/")
        parts = [p for p in rel.split("/") if p and p != "."]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = os.path.join(self.path, *resolved, part)
            target = self._link_target(candidate)
            if target is None:
                resolved.append(part)
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", rel)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
        return os.path.join(self.path, *resolved)

    @staticmethod
    def _link_target(path: str) -> str | None:
        if os.path.islink(path):
            return os.readlink(path)
        return _link_text(path) if os.path.isfile(path) else None

    # -- reading ---------------------------------------------------------------------

    def read_text(self, rel: str) -> tuple[str | None, ReadError | None]:
        """The text of guest file ``rel``, or ``None`` and the reason."""
        try:
            real = self.resolve(rel)
            data = _read_bytes(real)
        except FileNotFoundError:
            return None, ReadError(rel, "missing", "not found")
        except PermissionError:
            return None, ReadError(rel, "permission", "permission denied (run as root?)")
        except IsADirectoryError:
            return None, ReadError(rel, "not-a-file", "is a directory")
        except OSError as exc:
            return None, ReadError(rel, "error", exc.strerror or str(exc))
        return data.decode("utf-8", "replace"), None

    def text(self, rel: str) -> str | None:
        """The text of ``rel``, or ``None`` when it cannot be read for any reason."""
        return self.read_text(rel)[0]

    def exists(self, rel: str) -> bool:
        try:
            return os.path.exists(self.resolve(rel))
        except OSError:
            return False

    def is_dir(self, rel: str) -> bool:
        try:
            return os.path.isdir(self.resolve(rel))
        except OSError:
            return False

    def listdir(self, rel: str) -> list[str]:
        """Sorted entries of directory ``rel``; empty when it is missing or unreadable."""
        try:
            return sorted(os.listdir(self.resolve(rel)))
        except OSError:
            return []

    def list_entries(self, rel: str) -> tuple[list[str] | None, str | None]:
        """Sorted entries of ``rel``, or ``None`` and ``"missing"`` / ``"permission"``."""
        try:
            return sorted(os.listdir(self.resolve(rel))), None
        except PermissionError:
            return None, "permission"
        except OSError:
            return None, "missing"

    def dir_identity(self, rel: str) -> int | None:
        """The inode of directory ``rel`` (one ``stat``), or ``None`` when it is not one."""
        try:
            info = os.stat(self.resolve(rel))
        except OSError:
            return None
        return info.st_ino if stat.S_ISDIR(info.st_mode) else None

    def running_page_size(self) -> int | None:
        """The running machine's page size for ``/``; ``None`` for a copy of a guest."""
        return os.sysconf("SC_PAGE_SIZE") if self.is_live else None

    def readlink(self, rel: str) -> str | None:
        """The target of link ``rel`` (or of a link stored as text), else ``None``."""
        try:
            parent = self.resolve(os.path.dirname(rel))
        except OSError:
            return None
        path = os.path.join(parent, os.path.basename(rel))
        try:
            if os.path.islink(path):
                return os.readlink(path)
            if os.path.isfile(path):
                return _link_text(path)
        except OSError:
            return None
        return None

    def real_rel(self, rel: str) -> str | None:
        """Guest path that ``rel`` resolves to (``/sys/devices/...``), or ``None``."""
        try:
            real = self.resolve(rel)
        except OSError:
            return None
        if self.is_live:
            return os.path.realpath(real)
        return "/" + os.path.relpath(real, self.path).lstrip("./")


def _link_text(path: str) -> str | None:
    """The relative target a copied link holds as text, or ``None`` for a real file."""
    try:
        if os.path.getsize(path) > 512:
            return None
        text = _read_bytes(path).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if _LINK_TEXT.match(text) else None
