"""``RemoteSource``: one remote guest as a sample source (the monitor pipeline's
``SampleSource``: ``sample() -> Sample | None`` and ``close()``).

The guest's files go through the same ``Sampler`` (parsers, drivers, virtio readers) as a
local root; only the ``FileTree`` differs (``ShellRoot``). A dropped connection is not an
error of the source: ``sample()`` returns ``None``, ``state`` says what happens, and the
next calls reconnect with a backoff (1 s doubling up to 30 s). ``state`` is one of
``connecting``, ``connected``, ``unreachable, retrying`` (never connected yet) and
``disconnected since HH:MM:SS, reconnecting``.

``processes()``: the guest's largest memory users (rows of ``tui.processes.ProcRow``),
read in the tick's batch every ``process_every`` ticks. ``kernel_log()``: the guest's
``dmesg`` over the same channel, bounded by the tick timeout.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import BalloontopError
from ..guests import GuestSpec
from ..model import Event, Sample, frozen_map
from ..sources import SourceKind
from ..sampler import Sampler
from .protocol import FILE_CAP, FramingError, parse_procs
from .shellroot import Connection, ShellRoot
from .transport import Transport, TransportError

T = TypeVar("T")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
MAX_DISCOVERY_PASSES = 12


class RemoteSource:
    """Samples of one guest reached through ``spec``; never raises from ``sample()``."""

    def __init__(self, spec: GuestSpec, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, process_every: int = 5,
                 process_limit: int = 8) -> None:
        self.spec = spec
        self.clock = clock
        self.monotonic = monotonic
        self.process_every = max(1, process_every)
        self.process_limit = process_limit
        self.state = "connecting"
        self.last_error: str | None = None
        self.hostname: str | None = None
        self.reconnects = 0
        self.kernel_log_refused = False
        self._events: list[Event] = []
        """Drops (``gap``) and reconnects (``reconnect``) not taken yet (``take_events``)."""
        self._kmsg_last: tuple[int | None, str] | None = None
        self._connection: Connection | None = None
        self._root: ShellRoot | None = None
        self._sampler: Sampler | None = None
        self._ticks = 0
        self._next_attempt = 0.0
        self._backoff = BACKOFF_FIRST
        self._ever_connected = False
        self._down_since: float | None = None
        self._processes: list[Any] | None = None
        self._mem_total_kib: int | None = None
        self._procs_min_pages = 0

    @property
    def kind(self) -> SourceKind:
        return "remote"

    def take_events(self) -> list[Event]:
        """The connection's drops (``gap``: no samples from then until the ``reconnect``)
        and reconnects since the last call, for the pipeline to show and record."""
        events, self._events = self._events, []
        return events

    # -- what the UI shows ------------------------------------------------------------

    @property
    def name(self) -> str:
        """The label of the guest: its configured name, else its host name (not the
        kernel's placeholder ``(none)`` of a guest that never set one), else the target."""
        host = self.hostname if self.hostname != "(none)" else None
        return self.spec.name or host or self.spec.target

    @property
    def target(self) -> str:
        return self.spec.target

    @property
    def transport(self) -> str:
        return self.spec.transport

    @property
    def connected(self) -> bool:
        return self._connection is not None

    def guest_json(self) -> dict[str, Any]:
        return {"name": self.spec.name, "transport": self.spec.transport, "target": self.spec.target,
                "hostname": self.hostname}

    # -- connection -------------------------------------------------------------------

    def connect(self) -> None:
        """Connect now; raises ``TransportError`` or ``RootError`` (for one-shot commands)."""
        self.close()
        connection = Connection(Transport(self.spec.argv(), self.spec.label), self.spec.root,
                                self.spec.connect_timeout, self.spec.tick_timeout)
        try:
            connection.open()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        self._root = ShellRoot(connection)
        self._sampler = Sampler(self._root, clock=self.clock)
        if self._ever_connected:
            self.reconnects += 1
            self._events.append(Event(self.clock(), "reconnect", f"connection to {self.spec.label} back"))
        self._ever_connected = True
        self._down_since = None
        self._backoff = BACKOFF_FIRST
        self.state = "connected"
        self.last_error = None

    def _drop(self, error: BaseException) -> None:
        was_connected = self._connection is not None
        self.close()
        self.last_error = str(error)
        now = self.monotonic()
        self._next_attempt = now + self._backoff
        self._backoff = min(BACKOFF_MAX, self._backoff * 2)
        if not self._ever_connected:
            self.state = "unreachable, retrying"
            return
        if was_connected or self._down_since is None:
            self._down_since = self.clock()
            self._events.append(Event(self._down_since, "gap",
                                      f"connection to {self.spec.label} lost: {self.last_error}"))
        since = time.strftime("%H:%M:%S", time.localtime(self._down_since))
        self.state = f"disconnected since {since}, reconnecting"

    def close(self) -> None:
        connection, self._connection = self._connection, None
        self._root = None
        self._sampler = None
        if connection is not None:
            connection.close()

    # -- SampleSource -----------------------------------------------------------------

    def sample(self) -> Sample | None:
        """One reading, or ``None`` while the guest cannot be read (see ``state``)."""
        if self._connection is None:
            if self.monotonic() < self._next_attempt:
                return None
            try:
                self.connect()
            except (BalloontopError, OSError) as exc:
                self._drop(exc)
                return None
        try:
            return self._read_tick()
        except (TransportError, FramingError, OSError) as exc:
            self._drop(exc)
            return None
        except Exception as exc:  # noqa: BLE001 - a source never raises: say it, reconnect
            self._drop(BalloontopError(f"{self.spec.label}: reading failed ({type(exc).__name__}: {exc})"))
            return None

    def read_once(self) -> Sample:
        """Connect, read one sample, close: for ``snapshot``, ``oom`` and ``decode``
        (``TransportError`` / ``RootError`` / ``BalloontopError`` on failure)."""
        if self._connection is None:
            self.connect()
        try:
            return self._read_tick()
        except FramingError as exc:
            raise BalloontopError(f"{self.spec.label}: unreadable answer: {exc}") from None

    def read_with(self, read: Callable[[ShellRoot], T]) -> T:
        """Connect if needed and return ``read(tree)`` for a reader that is not the sampler
        (``decode --all``): discovered in a few round trips like a tick (``read`` may run
        several times; its result is the one of a pass that had every answer).
        Raises like ``read_once``."""
        if self._connection is None:
            self.connect()
        assert self._root is not None
        self._root.refresh()
        try:
            result = self._collect(read, lambda: None)
        except FramingError as exc:
            raise BalloontopError(f"{self.spec.label}: unreadable answer: {exc}") from None
        if self._root.failed is not None:
            raise BalloontopError(str(self._root.failed))
        return result

    def _collect(self, read: Callable[[ShellRoot], T], discard: Callable[[], None]) -> T:
        """``read(root)`` with unknown answers noted, asked in one batch and read again,
        until a pass has every answer (``discard``: forget what a pass with unknown
        answers may have cached)."""
        root = self._root
        assert root is not None
        root.collecting = True
        try:
            for _ in range(MAX_DISCOVERY_PASSES):
                result = read(root)
                if not root.missed:
                    return result
                root.fetch_missed()
                root.forget_used()
                discard()
            root.collecting = False
            return read(root)
        finally:
            root.collecting = False

    def _read_tick(self) -> Sample:
        assert self._root is not None and self._sampler is not None
        self._ticks += 1
        want_procs = self._ticks % self.process_every == 1 or self.process_every == 1
        root = self._root
        root.refresh(procs=want_procs, procs_min_pages=self._procs_min_pages)

        def new_sampler() -> None:  # the device cache may hold what a partial pass read
            self._sampler = Sampler(root, clock=self.clock)

        sample = self._collect(lambda _root: self._sampler.sample(), new_sampler)  # type: ignore[union-attr]
        if root.failed is not None:
            raise root.failed  # type: ignore[misc]
        self.hostname = sample.system.hostname
        self._mem_total_kib = sample.system.mem_total_kib
        if self._root.procs is not None:
            self._processes = self._process_rows(self._root.procs, sample.system.page_size)
        return dataclasses.replace(sample, guest=frozen_map(self.guest_json()))

    # -- the guest's processes and kernel log --------------------------------------------

    def processes(self) -> list[Any] | None:
        """The guest's largest memory users (``ProcRow``s), ``None`` before the first scan."""
        return self._processes

    def _process_rows(self, raw: list[tuple[int, str, str]], page_size: int) -> list[Any]:
        from ..model import UNKNOWN_USER, ProcRow

        total = self._mem_total_kib or 0
        rows = sorted(parse_procs(raw, page_size), key=lambda r: (r[1], r[0]), reverse=True)
        # next scan: only processes at least half as large as the last row shown (all of
        # them when fewer rows than the limit came back)
        last = rows[self.process_limit - 1][1] if len(rows) >= self.process_limit else 0
        self._procs_min_pages = last * 1024 // page_size // 2 if page_size else 0
        return [ProcRow(pid, UNKNOWN_USER, rss, rss * 100.0 / total if total else 0.0, _printable(comm) or "?")
                for pid, rss, comm in rows[: self.process_limit]]

    def kernel_log(self) -> tuple[str | None, str | None]:
        """The guest's ``dmesg`` text over the same channel, or ``None`` and why (one line).

        Bounded by the tick timeout. When the guest refuses (``dmesg_restrict``, no
        ``dmesg``) the reason is given once; later calls return ``(None, None)`` at once.
        """
        if self.kernel_log_refused:
            return None, None
        if self._connection is None:
            return None, f"{self.spec.label}: not connected"
        connection = self._connection
        framing = connection.framing
        script = (f"T={framing.token}\nprintf '\\n%s K\\n' \"$T\"; dmesg 2>&1 | head -c {FILE_CAP * 4}; "
                  f"printf '\\n%s k %s\\n' \"$T\" \"$?\"\nprintf '\\n%s Z kmsg\\n' \"$T\"\n").encode()
        try:
            data = connection.transport.exchange(script, framing.sep + b"Z kmsg\n", connection.tick_timeout,
                                                 FILE_CAP * 4 + 65536)
        except TransportError as exc:
            self._drop(exc)
            return None, str(exc)
        parts = data.split(framing.sep)
        body = next((p[2:] for p in parts if p.startswith(b"K\n")), None)
        if body is None:
            return None, f"{self.spec.label}: unreadable kernel log answer"
        text = body.decode("utf-8", "replace")
        lower = text.lower()
        if "operation not permitted" in lower or "permission denied" in lower:
            self.kernel_log_refused = True
            return None, ("kernel log: the guest refuses dmesg (kernel.dmesg_restrict is set and the "
                          "remote user is not root): OOM and SysRq-m reports will not be shown")
        if "not found" in lower and len(text) < 200:
            self.kernel_log_refused = True
            return None, "kernel log: the guest has no dmesg command"
        return text, None

    def new_kernel_records(self) -> tuple[list[Any], str | None]:
        """Kernel log records not returned before (all of them the first time), from
        ``kernel_log()``, and the reason once when the guest refuses. The whole log crosses
        the link each call: call it every few ticks, not every tick."""
        from ..kmsg.records import parse_log

        text, why = self.kernel_log()
        if text is None:
            return [], why
        records = list(parse_log(text).records)
        start = 0
        if self._kmsg_last is not None:
            for index in range(len(records) - 1, -1, -1):
                if (records[index].usec, records[index].text) == self._kmsg_last:
                    start = index + 1
                    break
        if records:
            self._kmsg_last = (records[-1].usec, records[-1].text)
        return records[start:], None


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text.strip())
