"""What the host saw of the balloon in one reading, and how the balloon moved: pure records.

``HostReading`` is the ``host`` block of a sample (``Sample.host``), written with ``to_json()``
and read back with ``host_reading_from_json()``. ``MovementTracker`` turns QEMU's
``BALLOON_CHANGE`` events and polled ``query-balloon`` figures into ``Movement`` records (from
the first to the last event of a move), and ``guest_lag()`` measures how far the guest's own
figure trailed the host's ``actual``. Nothing here touches a socket.

Units: QMP gives bytes; everything here is KiB (``actual_kib``), like the rest of balloontop.
QEMU sends ``BALLOON_CHANGE`` at most once a second (monitor event throttling: the first change
at once, the last one when the second is over), so a move's duration is known to about a second.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

EMPTY: Mapping[str, Any] = MappingProxyType({})
IDLE_S = 3.0
"""A move ends when no ``BALLOON_CHANGE`` came for this long (longer than QEMU's 1 s throttle)."""


class Movement(NamedTuple):
    """One move of the balloon as the host saw it, from the first to the last BALLOON_CHANGE."""

    start: float
    """Wall-clock time (epoch seconds) of the first event of the move."""
    end: float
    """... and of the last one so far."""
    from_kib: int | None
    """The host's ``actual`` before the move (None when balloontop had not seen it yet)."""
    to_kib: int
    """``actual`` at the last event."""
    events: int
    in_progress: bool

    @property
    def delta_kib(self) -> int | None:
        """How much the balloon grew (positive: inflated, ``actual`` fell) or shrank."""
        return None if self.from_kib is None else self.from_kib - self.to_kib

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end - self.start)

    @property
    def rate_kib_s(self) -> float | None:
        """KiB per second over the move (None for a one-event move or an unknown start)."""
        delta = self.delta_kib
        if delta is None or self.duration_s <= 0:
            return None
        return abs(delta) / self.duration_s

    @property
    def direction(self) -> str | None:
        delta = self.delta_kib
        if not delta:
            return None
        return "inflate" if delta > 0 else "deflate"

    def to_json(self) -> dict[str, Any]:
        rate = self.rate_kib_s
        return {
            "start": self.start,
            "end": self.end,
            "from_kib": self.from_kib,
            "to_kib": self.to_kib,
            "delta_kib": self.delta_kib,
            "direction": self.direction,
            "duration_s": round(self.duration_s, 3),
            "rate_kib_s": None if rate is None else round(rate, 1),
            "events": self.events,
            "in_progress": self.in_progress,
        }


def movement_from_json(obj: Any) -> Movement | None:
    if not isinstance(obj, dict):
        return None
    to_kib, events = _int_or_none(obj.get("to_kib")), _int_or_none(obj.get("events", 0))
    if to_kib is None or events is None:
        return None
    try:
        return Movement(
            start=_time(obj.get("start")),
            end=_time(obj.get("end")),
            from_kib=_int_or_none(obj.get("from_kib")),
            to_kib=to_kib,
            events=events,
            in_progress=bool(obj.get("in_progress", False)),
        )
    except ValueError:
        return None


class MovementTracker:
    """Feeds on ``(time, actual_kib)`` observations: events with ``event()``, polls with
    ``poll()``; ``current(now)`` is the move under way or the last one.

    A move starts with a ``BALLOON_CHANGE`` more than ``idle_s`` after the previous one; its
    ``from_kib`` is the last figure observed (event or poll) before that first event.
    """

    def __init__(self, idle_s: float = IDLE_S, keep: int = 512) -> None:
        self.idle_s = idle_s
        self._points: deque[tuple[float, int]] = deque(maxlen=keep)
        self._move: Movement | None = None

    def poll(self, t: float, actual_kib: int) -> None:
        self._add(t, actual_kib)

    def event(self, t: float, actual_kib: int) -> None:
        move = self._move
        if move is None or t - move.end > self.idle_s:
            before = [v for (pt, v) in self._points if pt < t]
            move = Movement(t, t, before[-1] if before else None, actual_kib, 0, True)
        self._move = move._replace(end=max(move.end, t), to_kib=actual_kib, events=move.events + 1)
        self._add(t, actual_kib)

    def _add(self, t: float, actual_kib: int) -> None:
        # keep the points in time order: events carry QEMU's time, polls ours
        if self._points and t < self._points[-1][0]:
            points = sorted([*self._points, (t, actual_kib)])
            self._points.clear()
            self._points.extend(points)
        else:
            self._points.append((t, actual_kib))

    def current(self, now: float) -> Movement | None:
        move = self._move
        if move is None:
            return None
        return move._replace(in_progress=now - move.end <= self.idle_s)

    def points(self) -> list[tuple[float, int]]:
        """Every ``(time, actual_kib)`` kept (events and polls), oldest first."""
        return list(self._points)


class Lag(NamedTuple):
    """How far the guest's own balloon figure trailed the host's ``actual`` over a move."""

    seconds: float | None
    """From the host's last change to the first guest figure that matched it for good
    (negative: the guest got there before the host's throttled event; None: never matched)."""
    max_gap_kib: int | None
    """The largest difference between the guest's figure and the host's at the same moment."""


def guest_lag(
    host: Sequence[tuple[float, int]],
    guest: Sequence[tuple[float, int]],
    ram_kib: int,
    tolerance_kib: int = 0,
) -> Lag:
    """``host``: ``(time, actual_kib)``; ``guest``: ``(time, inflated_kib)``; ``ram_kib``: the
    guest's RAM as the host counts it (so the host's balloon is ``ram_kib - actual``).
    ``tolerance_kib``: how close counts as matching (one batch where the guest's figure is
    derived, 0 where the kernel counts it)."""
    host = sorted(host)
    guest = sorted(guest)
    if not host or not guest:
        return Lag(None, None)

    def host_balloon_at(t: float) -> int | None:
        value = None
        for ht, actual in host:
            if ht > t:
                break
            value = ram_kib - actual
        return value

    gaps = [abs(b - inflated) for t, inflated in guest if (b := host_balloon_at(t)) is not None]
    final = ram_kib - host[-1][1]
    last_change = host[0][0]
    for (_, previous), (t, actual) in zip(host, host[1:]):
        if actual != previous:
            last_change = t
    settled_at = None
    for t, inflated in guest:
        if abs(inflated - final) <= tolerance_kib:
            if settled_at is None:
                settled_at = t
        else:
            settled_at = None
    seconds = None if settled_at is None else round(settled_at - last_change, 3)
    return Lag(seconds, max(gaps) if gaps else None)


class HostReading(NamedTuple):
    """The host's view of one guest's balloon, read over QMP (``Sample.host``)."""

    address: str
    time: float
    actual_kib: int | None = None
    """``query-balloon`` ``actual``: the guest's memory minus the balloon, as QEMU counts it."""
    ram_kib: int | None = None
    """``query-memory-size-summary``: base memory plus plugged memory (what ``actual`` is out of)."""
    stats: Mapping[str, int | None] = EMPTY
    """``guest-stats`` under QEMU's ``stat-*`` names; None where the guest supplied nothing (-1)."""
    last_update: int | None = None
    """When the guest last sent statistics (epoch seconds; None: never)."""
    stats_interval: int | None = None
    """``guest-stats-polling-interval`` in seconds (0: polling off; None: unknown)."""
    stats_stale: bool = False
    movement: Movement | None = None
    device: str | None = None
    """QOM path of the balloon device found."""
    memory_devices: tuple[Mapping[str, Any], ...] = ()
    hv_status: Mapping[str, Any] | None = None
    qemu: str | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None
    """Why the host could not be read (one line); the guest's view carries on."""
    lag: Lag | None = None
    """How far the guest's own figure trailed ``actual`` over the movement (``HostSource``
    sets it: it sees both sides)."""

    @property
    def balloon_kib(self) -> int | None:
        """The balloon as the host sees it: ``ram_kib - actual_kib``."""
        if self.ram_kib is None or self.actual_kib is None:
            return None
        return self.ram_kib - self.actual_kib

    def to_json(self) -> dict[str, Any]:
        return {
            "source": "qmp",
            "address": self.address,
            "qemu": self.qemu,
            "time": self.time,
            "actual_kib": self.actual_kib,
            "ram_kib": self.ram_kib,
            "balloon_kib": self.balloon_kib,
            "stats": dict(self.stats),
            "last_update": self.last_update,
            "stats_interval": self.stats_interval,
            "stats_stale": self.stats_stale,
            "movement": self.movement.to_json() if self.movement else None,
            "device": self.device,
            "memory_devices": [dict(d) for d in self.memory_devices],
            "hv_status": dict(self.hv_status) if self.hv_status is not None else None,
            "notes": list(self.notes),
            "error": self.error,
            "lag": None if self.lag is None else {"seconds": self.lag.seconds, "max_gap_kib": self.lag.max_gap_kib},
        }


def stats_are_stale(last_update: int | None, interval: int | None, now: float) -> bool:
    """Statistics older than two polling intervals (or any kept while polling is off)."""
    if interval is None:
        return False
    if interval <= 0:
        return last_update is not None
    return last_update is None or now - last_update > 2 * interval


MAX_INT = 1 << 64  # QEMU's counters are 64-bit
MAX_TEXT = 4096  # a name, note or address in a recording
MAX_ITEMS = 256  # statistics, notes or memory devices in one host block


def _int_or_none(value: Any) -> int | None:
    """A JSON integer within 64 bits, else None (a poisoned recording carries no huge values)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and -MAX_INT < value < MAX_INT:
        return value
    return None


def _time(value: Any) -> float:
    """A finite time in seconds; ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("not a finite time")
    if not -1e12 < value < 1e12:
        raise ValueError("time out of range")
    return float(value)


def _text(value: Any) -> str:
    return str(value)[:MAX_TEXT]


def _scalars(obj: dict[str, Any]) -> MappingProxyType[str, Any]:
    """A memory device or hv status entry: short text keys, integers or short text values."""
    out: dict[str, Any] = {}
    for key, value in list(obj.items())[:MAX_ITEMS]:
        out[_text(key)] = value if value is None or _int_or_none(value) is not None else _text(value)
    return MappingProxyType(out)


def _lag(obj: Any) -> Lag | None:
    if not isinstance(obj, dict):
        return None
    seconds = obj.get("seconds")
    try:
        seconds = None if seconds is None else _time(seconds)
    except ValueError:
        seconds = None
    return Lag(seconds, _int_or_none(obj.get("max_gap_kib")))


def host_reading_from_json(obj: Any) -> HostReading | None:
    """The ``HostReading`` a ``host`` block describes; None for null or anything malformed
    (a recording's host block never stops its replay)."""
    if not isinstance(obj, dict) or obj.get("source") != "qmp":
        return None
    raw_stats, hv, raw_devices, raw_notes = (obj.get(k) for k in ("stats", "hv_status", "memory_devices", "notes"))
    stats: dict[Any, Any] = raw_stats if isinstance(raw_stats, dict) else {}
    devices: list[Any] = raw_devices if isinstance(raw_devices, list) else []
    notes: list[Any] = raw_notes if isinstance(raw_notes, list) else []
    try:
        return HostReading(
            address=_text(obj.get("address", "")),
            time=_time(obj.get("time") or 0.0),
            actual_kib=_int_or_none(obj.get("actual_kib")),
            ram_kib=_int_or_none(obj.get("ram_kib")),
            stats=MappingProxyType({_text(k): _int_or_none(v) for k, v in list(stats.items())[:MAX_ITEMS]}),
            last_update=_int_or_none(obj.get("last_update")),
            stats_interval=_int_or_none(obj.get("stats_interval")),
            stats_stale=bool(obj.get("stats_stale", False)),
            movement=movement_from_json(obj.get("movement")),
            device=None if obj.get("device") is None else _text(obj["device"]),
            memory_devices=tuple(_scalars(d) for d in devices[:MAX_ITEMS] if isinstance(d, dict)),
            hv_status=_scalars(hv) if isinstance(hv, dict) else None,
            qemu=None if obj.get("qemu") is None else _text(obj["qemu"]),
            notes=tuple(_text(n) for n in notes[:MAX_ITEMS]),
            error=None if obj.get("error") is None else _text(obj["error"]),
            lag=_lag(obj.get("lag")),
        )
    except (TypeError, ValueError):
        return None
