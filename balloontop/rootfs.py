"""Read files of a guest relative to a root directory, never escaping it, never blocking.

Every reader takes a ``Root``: ``/`` for the live system, or a folder holding a copy of a
guest's ``proc`` and ``sys`` (a capture, a fixture, the demo simulator's tree). Paths are
resolved the way the kernel would inside a chroot: symbolic links are followed, an
absolute link target starts again at the root and ``..`` stops at the root. Copies made by
tools that do not keep links (9p shares, some archivers) store a sysfs link as a small
text file holding the relative target; such a file is followed like the link it stands
for.

How a path is walked, so that a tree someone else controls cannot redirect a read: from a
descriptor of the root, one component at a time, each opened with ``O_PATH | O_NOFOLLOW``
relative to the descriptor of its parent (``openat``); a link is read with ``readlinkat``
and its target walked the same way. A link swapped in or out while we walk is therefore
either seen as a link (and followed inside the root) or not at all: nothing outside the root
is ever opened. The live root ``/`` is resolved by the kernel (there is no outside).

What is read: only regular files (and a character device where the caller asks for one,
``allow_device``), checked with ``fstat`` on the ``O_PATH`` descriptor before the file is
opened for reading (``O_NONBLOCK | O_NOCTTY``), so a FIFO, a socket or a device is a
``ReadError`` ("not a regular file"), never a hang. At most ``MAX_FILE_BYTES`` are read
from a file; a longer one is cut there and ``Root.take_warnings()`` says so.

Nothing is ever opened for writing. A read that fails returns ``None`` and says why in a
``ReadError``; it never raises.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
from collections import deque
from typing import NamedTuple

MAX_LINK_HOPS = 40  # as the kernel's MAXSYMLINKS
MAX_FILE_BYTES = 1 << 20  # what is read of one file at most (the remote reader's cap too)
MAX_LINK_TEXT = 512  # a copied link stored as text is a short file
READ_CHUNK = 64 << 10

_os_read = os.read  # bound once: a test that patches os.read for a fake device leaves files alone
_LINK_TEXT = re.compile(r"^(?:\.\./)+[\w.:@+\-/]+$")
_O_PATH = getattr(os, "O_PATH", 0)  # Linux; 0 elsewhere (plain opens, still checked)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_O_LOOK = _O_PATH | os.O_NOFOLLOW | _O_CLOEXEC | (0 if _O_PATH else os.O_RDONLY | os.O_NONBLOCK)
_O_READ = os.O_RDONLY | os.O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC


class ReadError(NamedTuple):
    """Why a file could not be read (or was read only in part), in plain words."""

    path: str
    reason: str  # "missing", "permission", "not-a-file", "error"; "cut" with the text read
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def _read_bytes(path: str, fd: int, limit: int = MAX_FILE_BYTES) -> bytes:
    """Up to ``limit + 1`` bytes of the open file ``fd`` (``path`` names it: tests inject
    errors here by path). The one place the core reads a guest file; never blocks (the fd
    is a regular file or an allowed device opened ``O_NONBLOCK``)."""
    # sysctl files refuse one huge read (ENOMEM), so read in chunks, as cat does; /proc and
    # /sys report a size of 0 or 4096 whatever they hold, so read until EOF.
    chunks = []
    size = 0
    while size <= limit:
        try:
            chunk = _os_read(fd, min(READ_CHUNK, limit + 1 - size))
        except InterruptedError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a link")):
        if test(mode):
            return name
    return "not a regular file"


class NotRegular(OSError):
    """The path names something other than a regular file (or an allowed device)."""


def _open_checked(parent: int | None, name: str, info: os.stat_result, allow_device: bool) -> int:
    """Open for reading what ``info`` describes, checked again after opening (same inode)."""
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", name)
    if not (stat.S_ISREG(mode) or (allow_device and stat.S_ISCHR(mode))):
        raise NotRegular(errno.EINVAL, f"not a regular file ({_kind(mode)})", name)
    if parent is None:
        fd = os.open(name, _O_READ)
    else:
        fd = os.open(name, _O_READ | os.O_NOFOLLOW, dir_fd=parent)
    try:
        again = os.fstat(fd)
        if (again.st_dev, again.st_ino) != (info.st_dev, info.st_ino) or again.st_mode != mode:
            raise NotRegular(errno.EAGAIN, "changed while it was opened", name)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_host_file(path: str, *, allow_device: bool = False) -> int:
    """A descriptor for reading a file the user named on this machine (config, theme,
    ``--log``, a recording): links followed by the kernel, but only a regular file (or an
    allowed character device) is opened, without blocking. Raises ``OSError``
    (``NotRegular`` for a FIFO, a socket, a device; ``IsADirectoryError``)."""
    fd = os.open(path, _O_PATH | _O_CLOEXEC | (0 if _O_PATH else os.O_RDONLY | os.O_NONBLOCK))
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    return _open_checked(None, path, info, allow_device)


def read_host_file(path: str, *, allow_device: bool = False, limit: int = MAX_FILE_BYTES) -> tuple[bytes, bool]:
    """(bytes, cut) of a file the user named on this machine (see ``open_host_file``), at
    most ``limit`` bytes; ``cut`` is true when the file is longer."""
    fd = open_host_file(path, allow_device=allow_device)
    try:
        data = _read_bytes(path, fd, limit)
    finally:
        os.close(fd)
    return data[:limit], len(data) > limit


class _Found(NamedTuple):
    """Where a walk ended: ``name`` in directory ``parent`` (an ``O_PATH`` descriptor the
    caller closes; ``None`` with an absolute ``name`` for the live root)."""

    parent: int | None
    name: str
    info: os.stat_result
    parts: tuple[str, ...]  # the real path inside the root
    data: bytes | None  # the whole file when the walk already read it (a small file)


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


class Root:
    """A directory standing for a guest's ``/``."""

    def __init__(self, path: str = "/") -> None:
        self.path = os.path.abspath(path)
        self.is_live = self.path == "/"
        self._warnings: deque[str] = deque(maxlen=100)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Root({self.path!r})"

    def take_warnings(self) -> list[str]:
        """What was noticed while reading since the last call (files cut at the cap)."""
        with self._lock:
            out = list(dict.fromkeys(self._warnings))
            self._warnings.clear()
        return out

    # -- the walk --------------------------------------------------------------------

    def _find(self, rel: str, follow_last: bool = True) -> _Found:
        """Walk ``rel`` inside the root; raises ``OSError`` (ENOENT, ELOOP, ENOTDIR, ...).

        A small regular file on the way is read to see whether it is a copied link; at the
        end of the path it is handed back in ``data`` when it is not one (no second read).
        """
        if self.is_live:
            return self._find_live(rel, follow_last)
        root_fd = os.open(self.path, _O_PATH | os.O_DIRECTORY | _O_CLOEXEC | (0 if _O_PATH else os.O_RDONLY))
        stack = [root_fd]
        names: list[str] = []
        todo = deque(_split(rel))
        hops = 0
        try:
            if not todo:
                info = os.fstat(root_fd)
                return _Found(os.dup(root_fd), ".", info, (), None)
            while todo:
                part = todo.popleft()
                if part == "..":
                    if len(stack) > 1:
                        os.close(stack.pop())
                        names.pop()
                    continue
                last = not todo
                parent = stack[-1]
                fd = os.open(part, _O_LOOK, dir_fd=parent)
                keep = False
                try:
                    info = os.fstat(fd)
                    mode = info.st_mode
                    target: str | None = None
                    data: bytes | None = None
                    if stat.S_ISLNK(mode):
                        if last and not follow_last:
                            return _Found(os.dup(parent), part, info, (*names, part), None)
                        target = os.readlink("", dir_fd=fd) if _O_PATH else os.readlink(part, dir_fd=parent)
                    elif stat.S_ISREG(mode) and (not last or follow_last) and (
                        info.st_size <= MAX_LINK_TEXT
                    ):
                        data = self._small(parent, part, info, names)
                        target = _link_text(data) if data is not None else None
                    if target is not None:
                        hops += 1
                        if hops > MAX_LINK_HOPS:
                            raise OSError(errno.ELOOP, "too many levels of symbolic links", rel)
                        if target.startswith("/"):
                            while len(stack) > 1:
                                os.close(stack.pop())
                            names.clear()
                        todo.extendleft(reversed(_split(target)))
                        continue
                    if last:
                        return _Found(os.dup(parent), part, info, (*names, part), data)
                    if not stat.S_ISDIR(mode):
                        raise NotADirectoryError(errno.ENOTDIR, "not a directory", rel)
                    stack.append(fd)
                    names.append(part)
                    keep = True
                finally:
                    if not keep:
                        os.close(fd)
            # the path ended on ".." (or a link to a directory): the directory on top
            info = os.fstat(stack[-1])
            if len(stack) == 1:
                return _Found(os.dup(root_fd), ".", info, (), None)
            name = names[-1]
            return _Found(os.dup(stack[-2]), name, info, tuple(names), None)
        finally:
            for fd in stack:
                os.close(fd)

    def _find_live(self, rel: str, follow_last: bool) -> _Found:
        path = "/" + "/".join(_split(rel))
        flags = _O_LOOK if not follow_last else _O_LOOK & ~os.O_NOFOLLOW
        fd = os.open(path, flags)
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        return _Found(None, path, info, tuple(_split(rel)), None)

    def _small(self, parent: int, name: str, info: os.stat_result, names: list[str]) -> bytes | None:
        """The whole of a small regular file (``None`` when it is longer than a copied link
        can be: ``/proc`` and ``/sys`` files report a size of 0 or 4096)."""
        fd = _open_checked(parent, name, info, False)
        try:
            data = _read_bytes(self._display(names, name), fd, MAX_LINK_TEXT)
        finally:
            os.close(fd)
        return data if len(data) <= MAX_LINK_TEXT else None

    def _display(self, names: list[str] | tuple[str, ...], name: str = "") -> str:
        return os.path.join(self.path, *names, name) if name else os.path.join(self.path, *names)

    # -- path resolution -------------------------------------------------------------

    def resolve(self, rel: str) -> str:
        """The real path of guest path ``rel`` (links followed inside the root), for
        messages; read through the other methods, which cannot be redirected."""
        if self.is_live:
            return "/" + rel.lstrip("/")
        found = self._find(rel)
        if found.parent is not None:
            os.close(found.parent)
        return self._display(found.parts)

    def stat(self, rel: str) -> os.stat_result | None:
        """``stat`` of guest path ``rel`` (links followed inside the root), or ``None``."""
        try:
            found = self._find(rel)
        except OSError:
            return None
        if found.parent is not None:
            os.close(found.parent)
        return found.info

    # -- reading ---------------------------------------------------------------------

    def read_bytes(self, rel: str, allow_device: bool = False,
                   limit: int = MAX_FILE_BYTES) -> tuple[bytes | None, ReadError | None]:
        """The bytes of guest file ``rel`` (at most ``limit``, ``MAX_FILE_BYTES`` unless a
        reader of larger files asks), or ``None`` and the reason. A file cut at the limit
        comes with a ``ReadError`` of reason ``cut``."""
        try:
            found = self._find(rel)
            try:
                if found.data is not None:
                    data = found.data
                else:
                    fd = _open_checked(found.parent, found.name, found.info, allow_device)
                    try:
                        data = _read_bytes(self._display(found.parts) if not self.is_live else found.name, fd, limit)
                    finally:
                        os.close(fd)
            finally:
                if found.parent is not None:
                    os.close(found.parent)
        except FileNotFoundError:
            return None, ReadError(rel, "missing", "not found")
        except PermissionError:
            return None, ReadError(rel, "permission", "permission denied (run as root?)")
        except IsADirectoryError:
            return None, ReadError(rel, "not-a-file", "is a directory")
        except NotRegular as exc:
            return None, ReadError(rel, "not-a-file", exc.strerror or "not a regular file")
        except OSError as exc:
            return None, ReadError(rel, "error", exc.strerror or str(exc))
        if len(data) > limit:
            mib = f"{limit / (1 << 20):g} MiB"
            detail = f"longer than {mib}: only the first {mib} read"
            with self._lock:
                self._warnings.append(f"/{rel.lstrip('/')}: {detail}")
            return data[:limit], ReadError(rel, "cut", detail)
        return data, None

    def read_text(self, rel: str, allow_device: bool = False,
                  limit: int = MAX_FILE_BYTES) -> tuple[str | None, ReadError | None]:
        """The text of guest file ``rel``, or ``None`` and the reason (see ``read_bytes``)."""
        data, error = self.read_bytes(rel, allow_device, limit)
        return (None if data is None else data.decode("utf-8", "replace")), error

    def text(self, rel: str) -> str | None:
        """The text of ``rel``, or ``None`` when it cannot be read for any reason."""
        return self.read_text(rel)[0]

    def exists(self, rel: str) -> bool:
        return self.stat(rel) is not None

    def is_dir(self, rel: str) -> bool:
        info = self.stat(rel)
        return info is not None and stat.S_ISDIR(info.st_mode)

    def listdir(self, rel: str) -> list[str]:
        """Sorted entries of directory ``rel``; empty when it is missing or unreadable."""
        try:
            return self._entries(rel)
        except OSError:
            return []

    def list_entries(self, rel: str) -> tuple[list[str] | None, str | None]:
        """Sorted entries of ``rel``, or ``None`` and ``"missing"`` / ``"permission"``."""
        try:
            return self._entries(rel), None
        except PermissionError:
            return None, "permission"
        except OSError:
            return None, "missing"

    def _entries(self, rel: str) -> list[str]:
        """Sorted entries of directory ``rel``, opened as the walk found it (raises)."""
        found = self._find(rel)
        try:
            if not stat.S_ISDIR(found.info.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", rel)
            flags = os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC
            if found.parent is None:
                fd = os.open(found.name, flags)
            else:
                fd = os.open(found.name, flags | os.O_NOFOLLOW, dir_fd=found.parent)
            try:
                again = os.fstat(fd)
                if (again.st_dev, again.st_ino) != (found.info.st_dev, found.info.st_ino):
                    raise FileNotFoundError(errno.ENOENT, "replaced while it was opened", rel)
                return sorted(os.listdir(fd))
            finally:
                os.close(fd)
        finally:
            if found.parent is not None:
                os.close(found.parent)

    def dir_identity(self, rel: str) -> int | None:
        """The inode of directory ``rel``, or ``None`` when it is not one."""
        info = self.stat(rel)
        return info.st_ino if info is not None and stat.S_ISDIR(info.st_mode) else None

    def running_page_size(self) -> int | None:
        """The running machine's page size for ``/``; ``None`` for a copy of a guest."""
        return os.sysconf("SC_PAGE_SIZE") if self.is_live else None

    def readlink(self, rel: str) -> str | None:
        """The target of link ``rel`` (or of a link stored as text), else ``None``."""
        try:
            found = self._find(rel, follow_last=False)
        except OSError:
            return None
        try:
            mode = found.info.st_mode
            if stat.S_ISLNK(mode):
                if found.parent is None:
                    return os.readlink(found.name)
                return os.readlink(found.name, dir_fd=found.parent)
            if stat.S_ISREG(mode) and found.info.st_size <= MAX_LINK_TEXT:
                data = found.data
                if data is None:
                    fd = _open_checked(found.parent, found.name, found.info, False)
                    try:
                        data = _read_bytes(found.name, fd, MAX_LINK_TEXT)
                    finally:
                        os.close(fd)
                return _link_text(data)
        except OSError:
            return None
        finally:
            if found.parent is not None:
                os.close(found.parent)
        return None

    def real_rel(self, rel: str) -> str | None:
        """Guest path that ``rel`` resolves to (``/sys/devices/...``), or ``None``."""
        if self.is_live:
            return os.path.realpath("/" + rel.lstrip("/"))
        try:
            found = self._find(rel)
        except OSError:
            return None
        if found.parent is not None:
            os.close(found.parent)
        return "/" + "/".join(found.parts)


def _link_text(data: bytes | None) -> str | None:
    """The relative target a copied link holds as text, or ``None`` for a real file."""
    if data is None or len(data) > MAX_LINK_TEXT:
        return None
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return text if _LINK_TEXT.match(text) else None


def check_root(path: str) -> str:
    """``path`` when it is a directory, else a ``RootError`` (exit 3): what every command
    checks before it makes a ``Root`` of the user's ``--root``."""
    from .errors import RootError

    if not os.path.exists(path):
        raise RootError(f"root {path!r} does not exist")
    if not os.path.isdir(path):
        raise RootError(f"root {path!r} is not a directory")
    return path
