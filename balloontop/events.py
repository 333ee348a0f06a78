"""Events detected from consecutive samples: balloon episodes, OOM kills, stalls, ...

``EventDetector.feed(sample)`` compares each sample with the previous one and returns the
events that became known with it. The first sample is the baseline: it never produces an
event (a driver present at start is not "added").

Balloon episodes
----------------
An *episode* is a run of samples in which the balloon total (``sample.balloon.kib``) moves in
one direction. It starts at the last sample before the first move and ends at the last sample
that moved. It stays open across pauses: it ends only when

* ``Thresholds.idle_ticks`` samples in a row have not moved the balloon in its direction
  (samples that do not move it, or move it back by less than ``min_episode_kib``, are idle), or
* the balloon moves the other way by at least ``min_episode_kib`` (that move starts the next
  episode at once), or
* ``close()`` is called (end of a recording).

So a host that inflates in two steps with a pause of a few samples between them gives one
episode; a pause of ``idle_ticks`` samples or more gives two. The ``inflate``/``deflate`` event
is emitted when the episode ends, stamped with its end time (the last sample that moved), with
``kib`` = size moved and ``details`` = ``start``, ``end``, ``from_kib``, ``to_kib``,
``peak_rate_mib_s`` (the fastest move between two consecutive samples). Episodes that moved
less than ``min_episode_kib`` in all are dropped. While an episode is open,
``active_episode`` describes it (for an "inflating..." indicator).

Memory pressure
---------------
Allocation stalls (growth of Σ ``allocstall_*`` >= ``stall_count``) and direct reclaim bursts
(``pgsteal_direct``/``pgscan_direct`` growth >= ``direct_reclaim_pages``) in consecutive
samples form one *burst*, ended like an episode (``idle_ticks`` quiet samples, or ``close()``):
one ``stall`` event per burst, at its last stalling sample, with the sums in ``details``
(``start``, ``end``, ``allocstall``, ``pgsteal_direct``, ``pgscan_direct``) and ``kib`` = memory
reclaimed directly. ``oom_kill`` (per increment of vmstat ``oom_kill``), ``low_memory`` (once
per crossing under ``low_memory_fraction`` of MemTotal) and driver/feature changes are
reported at the sample that shows them. Events of one ``feed`` come sorted by time; an
episode or burst reported late carries its own (earlier) time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .model import Event, Sample, frozen_map
from .parsers.vmstat import allocation_stalls
from .units import KIB, format_mib, page_kib


class Thresholds(NamedTuple):
    """What counts as an event; every figure can be set by the caller."""

    # NamedTuple, not a dataclass (cheaper to create at import): set the figures when making
    # it (``Thresholds(idle_ticks=3)``, ``th._replace(...)``); it cannot be changed afterwards.

    min_episode_kib: int = 1024
    """An inflate/deflate episode moving less than this (in all) is not reported."""
    idle_ticks: int = 5
    """Samples in a row without balloon movement that end an open episode."""
    low_memory_fraction: float = 0.05
    """``low_memory`` when MemAvailable drops under this fraction of MemTotal."""
    stall_count: int = 1
    """``stall`` when Σ allocstall_* grows by at least this much between two samples."""
    direct_reclaim_pages: int = 1024
    """``stall`` when pgsteal_direct (or pgscan_direct) grows by at least this many pages."""


class ActiveEpisode(NamedTuple):
    """An inflate or deflate episode still in progress."""

    kind: str  # "inflate" or "deflate"
    start: float
    last_move: float
    from_kib: int
    to_kib: int
    peak_rate_mib_s: float
    idle_ticks: int

    @property
    def moved_kib(self) -> int:
        return abs(self.to_kib - self.from_kib)


class _StallBurst:
    """Allocation stalls and direct reclaim in consecutive samples, summed."""

    # A plain class (mutable: the detector adds every stalling sample to it), not a dataclass:
    # dataclasses compile their methods at import time, which the monitor's start pays for.
    __slots__ = ("start", "page_kib", "end", "stalls", "steal", "scan", "idle")

    def __init__(
        self,
        start: float,
        page_kib: int,
        end: float = 0.0,
        stalls: int = 0,
        steal: int = 0,
        scan: int = 0,
        idle: int = 0,
    ) -> None:
        self.start = start
        self.page_kib = page_kib
        self.end = end
        self.stalls = stalls
        self.steal = steal
        self.scan = scan
        self.idle = idle

    def _values(self) -> tuple[float, int, float, int, int, int, int]:
        return (self.start, self.page_kib, self.end, self.stalls, self.steal, self.scan, self.idle)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return (
            f"_StallBurst(start={self.start!r}, page_kib={self.page_kib!r}, end={self.end!r},"
            f" stalls={self.stalls!r}, steal={self.steal!r}, scan={self.scan!r}, idle={self.idle!r})"
        )


def marker(time: float, text: str) -> Event:
    """A user marker ("load test phase 2 starts") for the event log and the recording."""
    text = " ".join(str(text).split())  # one line
    return Event(time=time, kind="marker", message=text or "marker")


def _delta(new: Mapping[str, int], old: Mapping[str, int], key: str) -> int:
    """Growth of a counter; 0 when either side is missing or the counter went back."""
    a, b = new.get(key), old.get(key)
    if a is None or b is None or a < b:
        return 0
    return a - b


class EventDetector:
    """Feed it every sample in order; it returns the events each sample revealed."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._prev: Sample | None = None
        self._episode: ActiveEpisode | None = None
        self._low = False
        self._stall: _StallBurst | None = None

    @property
    def active_episode(self) -> ActiveEpisode | None:
        """The inflate/deflate episode in progress, once it has moved ``min_episode_kib``."""
        ep = self._episode
        if ep is None or ep.moved_kib < self.thresholds.min_episode_kib:
            return None
        return ep

    def reset(self) -> None:
        """Forget everything (after a seek in a replay): the next sample is a new baseline."""
        self._prev = None
        self._episode = None
        self._low = False
        self._stall = None

    def close(self) -> list[Event]:
        """End the open episode, if any (end of a recording or of a run)."""
        return sorted(self._end_episode() + self._end_stall(), key=lambda e: e.time)

    def feed(self, sample: Sample) -> list[Event]:
        """The events between the previous sample and ``sample`` (none for the first)."""
        prev, self._prev = self._prev, sample
        events: list[Event] = []
        if prev is None:
            self._low = self._is_low(sample)
            return events
        events += self._balloon(prev, sample)
        events += self._counters(prev, sample)
        events += self._low_memory(sample)
        events += self._drivers(prev, sample)
        events.sort(key=lambda e: e.time)
        return events

    # -- balloon episodes -------------------------------------------------------------

    def _balloon(self, prev: Sample, cur: Sample) -> list[Event]:
        th = self.thresholds
        old, new = prev.balloon.kib, cur.balloon.kib
        events: list[Event] = []
        ep = self._episode
        if old is None or new is None or new == old:
            return self._idle()
        kind = "inflate" if new > old else "deflate"
        dt = cur.time - prev.time
        rate = abs(new - old) / KIB / dt if dt > 0 else 0.0
        if ep is not None and ep.kind != kind:
            if abs(new - old) < th.min_episode_kib and ep.moved_kib >= th.min_episode_kib:
                return self._idle()  # a small step back inside a big episode is noise
            events += self._end_episode()
            ep = None
        if ep is None:
            self._episode = ActiveEpisode(kind, prev.time, cur.time, old, new, rate, 0)
        else:
            self._episode = ActiveEpisode(
                kind, ep.start, cur.time, ep.from_kib, new, max(ep.peak_rate_mib_s, rate), 0
            )
        return events

    def _idle(self) -> list[Event]:
        ep = self._episode
        if ep is None:
            return []
        ticks = ep.idle_ticks + 1
        self._episode = ActiveEpisode(
            ep.kind, ep.start, ep.last_move, ep.from_kib, ep.to_kib, ep.peak_rate_mib_s, ticks
        )
        if ticks >= self.thresholds.idle_ticks:
            return self._end_episode()
        return []

    def _end_episode(self) -> list[Event]:
        ep, self._episode = self._episode, None
        if ep is None or ep.moved_kib < self.thresholds.min_episode_kib:
            return []
        duration = ep.last_move - ep.start
        driver, instance = self._single_driver()
        verb = "inflated" if ep.kind == "inflate" else "deflated"
        message = (
            f"balloon {verb} by {format_mib(ep.moved_kib)} ({format_mib(ep.from_kib)} -> {format_mib(ep.to_kib)})"
            f" in {duration:.1f} s, peak {ep.peak_rate_mib_s:.1f} MiB/s"
        )
        details = {
            "start": ep.start,
            "end": ep.last_move,
            "from_kib": ep.from_kib,
            "to_kib": ep.to_kib,
            "peak_rate_mib_s": round(ep.peak_rate_mib_s, 3),
        }
        return [
            Event(
                time=ep.last_move,
                kind=ep.kind,
                message=message,
                kib=ep.moved_kib,
                driver=driver,
                instance=instance,
                details=frozen_map(details),
            )
        ]

    def _single_driver(self) -> tuple[str | None, str | None]:
        """The one balloon driver of the last sample, when there is exactly one."""
        if self._prev is None:
            return None, None
        drivers = [d for d in self._prev.drivers if d.counts_in_total]
        if len(drivers) != 1:
            return None, None
        return drivers[0].driver, drivers[0].instance

    # -- vmstat counters --------------------------------------------------------------

    def _counters(self, prev: Sample, cur: Sample) -> list[Event]:
        th = self.thresholds
        events: list[Event] = []
        old, new = prev.vmstat, cur.vmstat
        kills = _delta(new, old, "oom_kill")
        if kills:
            events.append(
                Event(
                    time=cur.time,
                    kind="oom_kill",
                    message=f"OOM killer ran: {kills} process{'es' if kills > 1 else ''} killed"
                    f" (vmstat oom_kill {old['oom_kill']} -> {new['oom_kill']})",
                    details=frozen_map({"count": kills, "oom_kill": new["oom_kill"]}),
                )
            )
        a, b = allocation_stalls(old), allocation_stalls(new)
        stalls = b - a if a is not None and b is not None and b > a else 0
        steal = _delta(new, old, "pgsteal_direct")
        scan = _delta(new, old, "pgscan_direct")
        is_stall = stalls >= th.stall_count and stalls > 0
        is_burst = max(steal, scan) >= th.direct_reclaim_pages and max(steal, scan) > 0
        page = page_kib(cur.system.page_size)
        burst = self._stall
        if is_stall or is_burst or (burst is not None and (stalls or steal or scan)):
            if burst is None:
                burst = self._stall = _StallBurst(start=cur.time, page_kib=page)
            burst.end = cur.time
            burst.stalls += stalls
            burst.steal += steal
            burst.scan += scan
            burst.idle = 0
        elif burst is not None:
            burst.idle += 1
            if burst.idle >= th.idle_ticks:
                events += self._end_stall()
        return events

    def _end_stall(self) -> list[Event]:
        burst, self._stall = self._stall, None
        if burst is None:
            return []
        parts = []
        if burst.stalls:
            parts.append(f"{burst.stalls} allocation stall{'s' if burst.stalls > 1 else ''}")
        if burst.steal or burst.scan:
            parts.append(
                f"direct reclaim {format_mib(burst.steal * burst.page_kib)} reclaimed of"
                f" {format_mib(burst.scan * burst.page_kib)} scanned"
            )
        duration = burst.end - burst.start
        return [
            Event(
                time=burst.end,
                kind="stall",
                message=f"memory pressure for {duration:.0f} s: " + ", ".join(parts),
                kib=burst.steal * burst.page_kib if burst.steal else None,
                details=frozen_map(
                    {
                        "start": burst.start,
                        "end": burst.end,
                        "allocstall": burst.stalls,
                        "pgsteal_direct": burst.steal,
                        "pgscan_direct": burst.scan,
                    }
                ),
            )
        ]

    # -- MemAvailable -----------------------------------------------------------------

    def _is_low(self, sample: Sample) -> bool:
        total = sample.system.mem_total_kib
        avail = sample.system.mem_available_kib
        if not total or avail is None:
            return False
        return avail < total * self.thresholds.low_memory_fraction

    def _low_memory(self, cur: Sample) -> list[Event]:
        low = self._is_low(cur)
        was, self._low = self._low, low
        if not low or was:
            return []
        total = cur.system.mem_total_kib or 0
        avail = cur.system.mem_available_kib or 0
        pct = self.thresholds.low_memory_fraction * 100
        return [
            Event(
                time=cur.time,
                kind="low_memory",
                message=f"MemAvailable {format_mib(avail)} is under {pct:g}% of MemTotal"
                f" ({format_mib(total)})",
                kib=avail,
                details=frozen_map({"mem_available_kib": avail, "mem_total_kib": total}),
            )
        ]

    # -- drivers and features ---------------------------------------------------------

    def _drivers(self, prev: Sample, cur: Sample) -> list[Event]:
        events: list[Event] = []
        before = {(d.driver, d.instance): d for d in prev.drivers}
        after = {(d.driver, d.instance): d for d in cur.drivers}
        for key, reading in after.items():
            if key not in before:
                events.append(
                    Event(
                        time=cur.time,
                        kind="driver_added",
                        message=f"balloon driver {key[0]} ({key[1]}) appeared",
                        kib=reading.inflated_kib,
                        driver=key[0],
                        instance=key[1],
                    )
                )
        for key in before:
            if key not in after:
                events.append(
                    Event(
                        time=cur.time,
                        kind="driver_removed",
                        message=f"balloon driver {key[0]} ({key[1]}) vanished",
                        driver=key[0],
                        instance=key[1],
                    )
                )
        for key, reading in after.items():
            old = before.get(key)
            if old is None or old.features is None or reading.features is None:
                continue
            a, b = set(old.features.bits), set(reading.features.bits)
            if a == b:
                continue
            added, removed = sorted(b - a), sorted(a - b)
            parts = []
            if added:
                parts.append("+" + ",".join(map(str, added)))
            if removed:
                parts.append("-" + ",".join(map(str, removed)))
            details: dict[str, Any] = {
                "added": added,
                "removed": removed,
                "bits": sorted(b),
                "raw": reading.features.raw,
            }
            events.append(
                Event(
                    time=cur.time,
                    kind="features_changed",
                    message=f"{key[0]} ({key[1]}) negotiated feature bits changed: "
                    + " ".join(parts),
                    driver=key[0],
                    instance=key[1],
                    details=frozen_map(details),
                )
            )
        return events
