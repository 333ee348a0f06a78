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
import stat

from typing import Protocol

from ..rootfs import Root
from ..tree import FileTree
from .records import Record, parse_kmsg_record, parse_log

KMSG = "/dev/kmsg"
READ_SIZE = 16384  # a record is at most ~8 KiB (CONSOLE_EXT_LOG_MAX) with its dictionary
MAX_RECORDS_PER_CALL = 100_000  # the ring buffer holds far fewer; a safety stop
MAX_LOG_BYTES = 32 << 20  # a recorded log: the kernel's largest ring buffer (LOG_BUF_SHIFT 25)


def _open_kmsg(path: str) -> int:
    """The one place the reader opens the live device (tests inject errors here): without
    blocking, and without making it a controlling terminal."""
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)


def _is_char_device(fd: int) -> bool:
    """``/dev/kmsg`` is a character device; anything else there is not the kernel log
    (tests that feed records through a pipe replace this check with ``_open_kmsg``)."""
    try:
        return stat.S_ISCHR(os.fstat(fd).st_mode)
    except OSError:
        return False


class KmsgReader:
    """New kernel log records on each ``read_new()``; warnings instead of exceptions."""

    def __init__(self, root: str | FileTree = "/", path: str | None = None) -> None:
        """``root``: the guest root; ``path``: a recorded log file to read instead.

        ``path`` is a guest path under ``root`` (or an absolute host path when the root is
        ``/``). With root ``/`` and no ``path`` the live ``/dev/kmsg`` is read.
        """
        self.root: FileTree = Root(root) if isinstance(root, str) else root
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
            if not _is_char_device(self._fd):  # a FIFO or a file put there: not the log
                self._give_up(f"kernel log: {KMSG} is not a character device: not read")
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
        text, error = self.root.read_text(rel, limit=MAX_LOG_BYTES)
        if text is None:
            if error is not None and error.reason == "permission":
                self._give_up(f"kernel log: {self.source}: permission denied")
            elif self._file_count == 0 and not self.warnings:
                detail = error.detail if error is not None else "unreadable"
                self.warnings.append(f"kernel log: {self.source}: {detail}")
            return []
        if error is not None and error.reason == "cut" and self._file_count == 0:
            self.warnings.append(f"kernel log: {self.source}: {error.detail}")
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


class LogReader(Protocol):
    """What ``KernelLog`` reads records through."""

    warnings: list[str]
    skipped: int

    @property
    def source(self) -> str: ...

    def read_new(self) -> list[Record]: ...

    def close(self) -> None: ...


class KernelLog:
    """The monitor's kernel log: retained records for a view, and new events on each poll.

    ``poll()`` reads what arrived (via ``KmsgReader``) and returns ``Event``s (``oom_kill``,
    ``show_mem``, ``balloon_driver``; see ``reports.report_events``) for reports that are
    complete. A report still being printed is held back: it is complete once a later report
    starts, once an OOM report has its ``Killed process`` line, or once a poll brings no new
    record or records stamped more than ``settle_s`` after its start.
    """

    def __init__(self, root: str | Root = "/", path: str | None = None, keep: int = 5000,
                 boot_time: float | None = None, settle_s: float = 5.0,
                 reader: LogReader | None = None) -> None:
        from collections import deque

        self.reader: LogReader = reader if reader is not None else KmsgReader(root, path)
        """Where records come from: ``/dev/kmsg`` or a recorded file (``KmsgReader``), or a
        remote guest's ``dmesg`` (``remote.kernel_log.RemoteKernelLog``)."""
        self.records: deque[Record] = deque(maxlen=keep)
        """The latest ``keep`` records, oldest first (for a kernel-log view)."""
        self.reports: list = []
        """Every complete report so far (``OomReport``, ``ShowMemReport``, driver messages)."""
        self.boot_time = boot_time
        """Wall-clock boot time (``balloontop.oom.boot_time_of(sample)``) for event times."""
        self.settle_s = settle_s
        self._pending: list[Record] = []
        self._emitted: set[tuple] = set()

    @property
    def warnings(self) -> list[str]:
        return self.reader.warnings

    def highlighted(self) -> list[tuple[Record, str | None]]:
        """Retained records with why each matters (``reports.classify``), for a log view."""
        from .reports import classify

        return [(record, classify(record)) for record in self.records]

    def poll(self) -> list:
        """Events for the reports completed since the last call; never raises."""
        from .report_types import BalloonDriverMessage, OomReport
        from .reports import parse_reports_indexed, report_events

        try:
            new = self.reader.read_new()
            self.records.extend(new)
            self._pending.extend(new)
            if not self._pending:
                return []
            indexed = parse_reports_indexed(self._pending)
            starts = [i for i, r in indexed if not isinstance(r, BalloonDriverMessage)]
            last_start = max(starts) if starts else None
            done: list = []
            keep_from = len(self._pending)
            latest = self._pending[-1].time_s
            for index, report in indexed:
                if index == last_start:
                    finished = (isinstance(report, OomReport) and report.killed) or not new or (
                        latest is not None and report.time_s is not None
                        and latest - report.time_s > self.settle_s)
                    if not finished:
                        keep_from = index
                        continue
                key = (type(report).__name__, report.seq, report.time_s,
                       getattr(report, "text", None))
                if key in self._emitted:
                    continue
                self._emitted.add(key)
                done.append(report)
            self._pending = self._pending[keep_from:]
            if not self._pending:
                self._emitted.clear()
            self.reports.extend(done)
            return report_events(done, self.boot_time)
        except Exception as exc:  # pragma: no cover - defensive: never break the monitor
            self.reader.warnings.append(f"kernel log: reports failed ({exc})")
            self._pending = []
            return []

    def close(self) -> None:
        self.reader.close()
