"""Bounded history of samples for the monitor's graph and rates.

Ring buffers of fixed size, one time buffer and one buffer per metric, in several tiers:
the 1-minute tier keeps every reading (up to its size), the 10-minute and 1-hour tiers keep
one point per bucket (the last reading in it), so a window never holds more than about
``points`` values whatever the refresh interval, and memory stays the same after a day as
after a minute. Metrics appear when first seen (a driver that comes up later) and are
padded with NaN for the points before; their number is capped.

No Textual, no I/O: the poll thread adds, the graph builder reads copies.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterable, Mapping

WINDOWS: tuple[tuple[str, float], ...] = (("1 min", 60.0), ("10 min", 600.0), ("1 h", 3600.0))
"""The graph windows the ``g`` key cycles through: label and length in seconds."""

MAX_METRICS = 32
HOST_BALLOON = "host_balloon_kib"
"""The balloon as the host sees it (``HostReading.balloon_kib``), beside the guest's ``balloon_kib``."""
NAN = float("nan")


class Ring:
    """A fixed-size ring of floats (``array('d')``: 8 bytes a value, no per-item objects)."""

    __slots__ = ("_data", "_start", "_len", "capacity")

    def __init__(self, capacity: int, fill: int = 0) -> None:
        self.capacity = capacity
        self._data = array("d", [NAN]) * capacity
        self._start = 0
        self._len = 0
        for _ in range(fill):
            self.append(NAN)

    def __len__(self) -> int:
        return self._len

    def append(self, value: float) -> None:
        if self._len < self.capacity:
            self._data[(self._start + self._len) % self.capacity] = value
            self._len += 1
        else:
            self._data[self._start] = value
            self._start = (self._start + 1) % self.capacity

    def set_last(self, value: float) -> None:
        if self._len:
            self._data[(self._start + self._len - 1) % self.capacity] = value

    def last(self) -> float:
        if not self._len:
            return NAN
        return self._data[(self._start + self._len - 1) % self.capacity]

    def to_list(self) -> list[float]:
        end = self._start + self._len
        if end <= self.capacity:
            return self._data[self._start:end].tolist()
        return self._data[self._start:].tolist() + self._data[: end - self.capacity].tolist()

    def nbytes(self) -> int:
        return self._data.itemsize * len(self._data)


class Tier:
    """One resolution: a bucket width (0: every reading) and a fixed number of points."""

    def __init__(self, bucket_s: float, capacity: int) -> None:
        self.bucket_s = bucket_s
        self.capacity = capacity
        self.times = Ring(capacity)
        self.series: dict[str, Ring] = {}
        self._bucket: int | None = None

    def add(self, t: float, values: Mapping[str, float]) -> None:
        bucket = int(t // self.bucket_s) if self.bucket_s > 0 else None
        same = bucket is not None and bucket == self._bucket
        self._bucket = bucket
        for name in values:
            if name not in self.series and len(self.series) < MAX_METRICS:
                self.series[name] = Ring(self.capacity, fill=len(self.times) - (1 if same else 0))
        if same:
            self.times.set_last(t)
            for name, ring in self.series.items():
                ring.set_last(values.get(name, NAN))
            return
        self.times.append(t)
        for name, ring in self.series.items():
            ring.append(values.get(name, NAN))

    def window(self, names: Iterable[str], since: float) -> tuple[list[float], dict[str, list[float]]]:
        times = self.times.to_list()
        first = 0
        while first < len(times) and times[first] < since:
            first += 1
        out = {}
        for name in names:
            ring = self.series.get(name)
            values = ring.to_list() if ring is not None else [NAN] * len(times)
            out[name] = values[first:]
        return times[first:], out

    def nbytes(self) -> int:
        return self.times.nbytes() + sum(r.nbytes() for r in self.series.values())


class History:
    """The monitor's memory of past readings, bounded in size.

    ``add(t, {"balloon_kib": ..., "mem_total_kib": ...})`` on each poll; ``window(seconds,
    names)`` returns copies for a graph; ``rate_mib_s(name)`` the current rate of change.
    Thread-safe (one lock): the poll thread writes while the graph builder reads.
    """

    def __init__(self, points: int = 300, windows: Iterable[float] | None = None):
        self.points = points
        self._lock = threading.Lock()
        self._tiers: list[tuple[float, Tier]] = []
        for seconds in sorted(windows if windows is not None else [w for _, w in WINDOWS]):
            # The shortest window keeps every reading: enough for 1 min at the 0.2 s floor.
            bucket = 0.0 if not self._tiers else seconds / points
            self._tiers.append((seconds, Tier(bucket, points)))
        self._last: tuple[float, dict[str, float]] | None = None
        self._prev: tuple[float, dict[str, float]] | None = None

    def add(self, t: float, values: Mapping[str, float | int | None]) -> None:
        clean = {k: (NAN if v is None else float(v)) for k, v in values.items()}
        with self._lock:
            for _, tier in self._tiers:
                tier.add(t, clean)
            self._prev, self._last = self._last, (t, clean)

    def tier_for(self, seconds: float) -> Tier:
        for length, tier in self._tiers:
            if seconds <= length:
                return tier
        return self._tiers[-1][1]

    def window(
        self, seconds: float, names: Iterable[str], now: float | None = None
    ) -> tuple[list[float], dict[str, list[float]]]:
        """Times and values of ``names`` over the last ``seconds`` (copies)."""
        with self._lock:
            tier = self.tier_for(seconds)
            end = now if now is not None else (self._last[0] if self._last else 0.0)
            return tier.window(list(names), end - seconds)

    def rate_mib_s(self, name: str = "balloon_kib") -> float | None:
        """Change of ``name`` (a KiB figure) per second between the last two readings, MiB/s."""
        with self._lock:
            if self._prev is None or self._last is None:
                return None
            (t0, v0), (t1, v1) = self._prev, self._last
        a, b = v0.get(name, NAN), v1.get(name, NAN)
        if t1 <= t0 or math.isnan(a) or math.isnan(b):
            return None
        return (b - a) / 1024.0 / (t1 - t0)

    def has_last(self, name: str) -> bool:
        """Whether the last reading has a value (not NaN) for ``name``."""
        with self._lock:
            return self._last is not None and not math.isnan(self._last[1].get(name, NAN))

    def names(self) -> list[str]:
        with self._lock:
            return list(self._tiers[0][1].series)

    def __len__(self) -> int:
        return len(self._tiers[0][1].times)

    def nbytes(self) -> int:
        """Bytes held by the buffers (for the bounded-memory test)."""
        with self._lock:
            return sum(tier.nbytes() for _, tier in self._tiers)


def sample_metrics(sample: object) -> dict[str, float | int | None]:
    """The figures a ``Sample`` contributes to the history: system-wide, the host's view of
    the balloon (only with ``--qmp``; None when it could not be read) and per driver."""
    system = getattr(sample, "system", None)
    balloon = getattr(sample, "balloon", None)
    host = getattr(sample, "host", None)
    out: dict[str, float | int | None] = {
        "balloon_kib": getattr(balloon, "kib", None),
        "mem_total_kib": getattr(system, "mem_total_kib", None),
        "mem_available_kib": getattr(system, "mem_available_kib", None),
    }
    if host is not None:  # no host series at all without --qmp
        out[HOST_BALLOON] = None if host.error else host.balloon_kib
    for reading in getattr(sample, "drivers", ()):
        out[f"driver:{reading.driver}:{reading.instance}"] = reading.inflated_kib
    return out
