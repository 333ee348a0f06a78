"""Read the kernel log: ``/dev/kmsg`` on the live system, a recorded file for other roots.

Live (root ``/``): ``/dev/kmsg`` is opened ``O_RDONLY | O_NONBLOCK`` once and kept open.
Each ``read()`` returns exactly one record; ``EAGAIN`` means no more records for now and
``EPIPE`` means the reader fell behind and records were overwritten (counted in ``lost``,
reading continues with the oldest record still there). The first ``read_new()`` returns
everything still in the buffer since boot, later calls ``poll()`` and return what arrived.

Other roots: ``<root>/dev/kmsg`` is a *file* of recorded records (``prio,seq,usec,flags;text``
lines; pasted ``dmesg`` text works too), read through ``Root``; a later call returns the
records appended since.

Without permission (``kernel.dmesg_restrict=1`` and not root) the reader says so once, in
``warnings``, and returns nothing afterwards; it never raises.
"""

from __future__ import annotations

import errno
import os
import select

from ..rootfs import Root
from .records import Record, parse_kmsg_record, parse_log

KMSG = "/dev/kmsg"
READ_SIZE = 16384  # a record is at most ~8 KiB (CONSOLE_EXT_LOG_MAX) with its dictionary
MAX_RECORDS_PER_CALL = 100_000  # the ring buffer holds far fewer; a safety stop


def _open_kmsg(path: str) -> int:
    """The one place the reader opens the live device (tests inject errors here)."""
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK)


class KmsgReader:
    """New kernel log records on each ``read_new()``; warnings instead of exceptions."""

    def __init__(self, root: str | Root = "/", path: str | None = None) -> None:
        """``root``: the guest root; ``path``: a recorded log file to read instead.

        ``path`` is a guest path under ``root`` (or an absolute host path when the root is
        ``/``). With root ``/`` and no ``path`` the live ``/dev/kmsg`` is read.
        """
        self.root = root if isinstance(root, Root) else Root(root)
        self.path = path
        self.live = self.root.is_live and path is None
        self.warnings: list[str] = []
        self.skipped = 0
        """Records that did not parse."""
        self.lost = 0
        """Times the kernel overwrote records before they were read (EPIPE)."""
        self.disabled = False
        self._fd: int | None = None
        self._poll: select.poll | None = None
        self._file_count = 0

    # -- public ---------------------------------------------------------------------

    @property
    def source(self) -> str:
        """What is read, for messages: ``/dev/kmsg`` or the file."""
        if self.live:
            return KMSG
        rel = self.path or "dev/kmsg"
        return rel if self.root.is_live else os.path.join(self.root.path, rel.lstrip("/"))

    def read_new(self) -> list[Record]:
        """Records not returned before (all of the buffer on the first call)."""
        if self.disabled:
            return []
        try:
            return self._read_live() if self.live else self._read_file()
        except Exception as exc:  # pragma: no cover - defensive: the reader never raises
            self._give_up(f"kernel log: reading {self.source} failed ({exc})")
            return []

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
            self._poll = None

    def __enter__(self) -> KmsgReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        self.close()

    # -- live device ----------------------------------------------------------------

    def _read_live(self) -> list[Record]:
        first = self._fd is None
        if first:
            try:
                self._fd = _open_kmsg(KMSG)
            except PermissionError:
                self._give_up(
                    f"kernel log: {KMSG}: permission denied (kernel.dmesg_restrict is set and "
                    "balloontop is not root): OOM and SysRq-m reports will not be shown"
                )
                return []
            except FileNotFoundError:
                self._give_up(f"kernel log: {KMSG} does not exist: no kernel log reports")
                return []
            except OSError as exc:
                self._give_up(f"kernel log: cannot open {KMSG}: {exc.strerror or exc}")
                return []
            self._poll = select.poll()
            self._poll.register(self._fd, select.POLLIN)
        elif self._poll is not None:
            try:
                if not self._poll.poll(0):
                    return []
            except OSError:
                pass  # fall through to read(); it reports the real problem
        return self._drain()

    def _drain(self) -> list[Record]:
        records: list[Record] = []
        assert self._fd is not None
        for _ in range(MAX_RECORDS_PER_CALL):
            try:
                data = os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                break  # EAGAIN: nothing more for now
            except InterruptedError:
                continue
            except BrokenPipeError:
                self.lost += 1  # EPIPE: records overwritten; the next read goes on
                continue
            except PermissionError:
                self._give_up(f"kernel log: {KMSG}: permission denied")
                break
            except OSError as exc:
                if exc.errno == errno.EINVAL:
                    self.skipped += 1  # a record larger than our buffer: skip it
                    continue
                self._give_up(f"kernel log: reading {KMSG} failed: {exc.strerror or exc}")
                break
            if not data:
                break
            record = parse_kmsg_record(data)
            if record is None:
                self.skipped += 1
            else:
                records.append(record)
        return records

    # -- recorded file --------------------------------------------------------------

    def _read_file(self) -> list[Record]:
        rel = self.path or "dev/kmsg"
        text, error = self.root.read_text(rel)
        if text is None:
            if error is not None and error.reason == "permission":
                self._give_up(f"kernel log: {self.source}: permission denied")
            elif self._file_count == 0 and not self.warnings:
                detail = error.detail if error is not None else "unreadable"
                self.warnings.append(f"kernel log: {self.source}: {detail}")
            return []
        result = parse_log(text)
        self.skipped = result.skipped
        records = list(result.records)
        if len(records) < self._file_count:  # the file was replaced: start again
            self._file_count = 0
        new = records[self._file_count :]
        self._file_count = len(records)
        return new

    def _give_up(self, warning: str) -> None:
        if not self.disabled:
            self.warnings.append(warning)
        self.disabled = True
        self.close()
