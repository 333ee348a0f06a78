"""Several guests at once: one ``Monitor`` per guest, ticked together.

``Fleet.tick(wait)`` starts a tick on every guest whose previous tick has finished (one
poll in flight per guest), waits up to ``wait`` seconds, and returns what each guest has:
its ``TickResult`` when the tick finished, else ``None`` (a slow or silent guest never holds
the others back: its result lands with a later fleet tick). A fleet of one ticks inline,
with no thread: the local monitor costs what it did.

Each guest's monitor tags its events with the guest's name (``Event.guest``); samples carry
it in ``Sample.guest`` (set by the remote source). Every guest may write to one recording: the
writes share one lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from .model import Event
from .monitor import Monitor, TickResult

if TYPE_CHECKING:  # a fleet of one ticks inline: no thread pool at start-up
    from concurrent.futures import Future, ThreadPoolExecutor


@dataclass
class Guest:
    """One guest of the fleet: its name, its pipeline, and what its connection is doing."""

    name: str
    monitor: Monitor
    state: Callable[[], str] = field(default=lambda: "")
    """``connected``, ``unreachable, retrying``, ... (empty for a local source)."""
    label: Callable[[], str] | None = None
    """How the screen names it now (the configured name, else its host name once known,
    else the target); ``None``: ``name``."""
    processes: Callable[[], list[Any] | None] | None = None
    """Its largest memory users (``tui.processes.ProcRow`` rows), when they can be read."""
    last_error: Callable[[], str | None] = field(default=lambda: None)
    """Why it cannot be read now (the transport's message), if it cannot."""

    def title(self) -> str:
        return self.label() if self.label is not None else self.name


class GuestTick(NamedTuple):
    """One guest's part of a fleet tick."""

    guest: Guest
    result: TickResult | None
    """``None``: its tick is still running (slow or silent guest)."""
    state: str


class Fleet:
    """Ticks every guest's monitor; call ``tick`` from one thread at a time."""

    def __init__(self, guests: list[Guest], *, inline_single: bool = True) -> None:
        """``inline_single=False``: even one guest ticks on a thread, so ``tick(wait)``
        returns within ``wait`` (``export``: a scrape must not hang on a silent guest)."""
        if not guests:
            raise ValueError("a fleet needs a guest")
        self.guests = guests
        self.inline_single = inline_single
        lock = threading.Lock()
        for guest in guests:
            guest.monitor.record_lock = lock  # one recording, written from several threads
        self._pool: ThreadPoolExecutor | None = None
        self._running: dict[int, Future[TickResult]] = {}

    def titles(self) -> list[str]:
        """Each guest's label as shown, told apart where two would read the same (two
        guests with one host name): the twins get their target, then their number."""
        titles = [guest.title() for guest in self.guests]
        twins = {t for t in titles if titles.count(t) > 1}
        for i, guest in enumerate(self.guests):
            if titles[i] in twins and guest.name not in ("", titles[i]):
                titles[i] = f"{titles[i]} ({guest.name})"
        twins = {t for t in titles if titles.count(t) > 1}
        return [f"{t} #{i + 1}" if t in twins else t for i, t in enumerate(titles)]

    @property
    def single(self) -> bool:
        """One guest, ticked inline (no thread)."""
        return len(self.guests) == 1 and self.inline_single

    def tick(self, wait_s: float, *, kernel_log: bool = True) -> list[GuestTick]:
        """Every guest's newest result; waits at most ``wait_s`` for the slow ones."""
        if self.single:
            guest = self.guests[0]
            return [GuestTick(guest, guest.monitor.tick(kernel_log=kernel_log), guest.state())]
        from concurrent.futures import ThreadPoolExecutor, wait

        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=len(self.guests),
                                            thread_name_prefix="balloontop-guest")
        for index, guest in enumerate(self.guests):
            if index not in self._running:
                self._running[index] = self._pool.submit(guest.monitor.tick, kernel_log=kernel_log)
        wait(list(self._running.values()), timeout=max(wait_s, 0.0))
        out: list[GuestTick] = []
        for index, guest in enumerate(self.guests):
            future = self._running[index]
            result: TickResult | None = None
            if future.done():
                del self._running[index]
                result = future.result()  # tick() never raises
            out.append(GuestTick(guest, result, guest.state()))
        return out

    def close(self) -> list[Event]:
        """End every guest's open episodes (recorded) and close the sources."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        events: list[Event] = []
        for guest in self.guests:
            events.extend(guest.monitor.close())
        return sorted(events, key=lambda e: e.time)
