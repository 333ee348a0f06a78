"""The host's view as text lines, beside the guest's: used by ``snapshot`` (and the report).

The figures lined up (``comparison``) are plain values so a pane can show them its own way.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from ..model import Sample
from ..safetext import clean
from ..units import format_duration, format_kib
from .reading import HostReading, Movement

BYTE_STATS = ("stat-swap-in", "stat-swap-out", "stat-free-memory", "stat-total-memory",
              "stat-available-memory", "stat-disk-caches")
"""QEMU ``guest-stats`` names whose value is in bytes (the others are counts)."""


class Comparison(NamedTuple):
    """The host's figures next to the guest's, in KiB (None where one side is missing)."""

    host_actual_kib: int | None
    guest_mem_total_kib: int | None
    actual_minus_mem_total_kib: int | None
    """``actual`` − MemTotal: memory the guest's kernel and firmware keep out of MemTotal,
    plus the balloon where it stays in MemTotal (deflate-on-oom)."""
    host_balloon_kib: int | None
    guest_balloon_kib: int | None
    balloon_difference_kib: int | None
    """host balloon − guest balloon: 0 when the guest's figure has caught up."""


def compare(sample: Sample, host: HostReading) -> Comparison:
    total = sample.system.mem_total_kib
    guest = sample.balloon.kib
    actual = host.actual_kib
    balloon = host.balloon_kib
    return Comparison(
        actual,
        total,
        None if actual is None or total is None else actual - total,
        balloon,
        guest,
        None if balloon is None or guest is None else balloon - guest,
    )


def stat_text(name: str, value: int | None) -> str:
    if value is None:
        return "not supplied"
    if name in BYTE_STATS:
        return f"{format_kib(value / 1024)} ({value} bytes)"
    return str(value)


def movement_text(move: Movement) -> str:
    what = move.direction or "no change"
    size = format_kib(abs(move.delta_kib)) if move.delta_kib is not None else "an unknown size"
    rate = move.rate_kib_s
    rate_text = f", {format_kib(rate)}/s" if rate is not None else ""
    state = "under way" if move.in_progress else "ended " + time.strftime("%H:%M:%S", time.localtime(move.end))
    return (f"{what} of {size} to actual {format_kib(move.to_kib)} in {move.duration_s:.1f} s{rate_text} "
            f"({move.events} BALLOON_CHANGE events, {state})")


def _kib_text(value: object) -> str:
    return format_kib(value) if isinstance(value, int) and not isinstance(value, bool) else clean(str(value))


def host_lines(sample: Sample) -> list[str]:
    """The ``host (QMP ...)`` block of the text report; [] without a host reading."""
    host = sample.host
    if host is None:
        return []
    # every string here may come from a recording or from QEMU: shown, never interpreted
    where = clean(", ".join(x for x in (f"QMP {host.address}", f"QEMU {host.qemu}" if host.qemu else "",
                                         host.device or "") if x))
    lines = ["", f"host ({where}):"]
    if host.error:
        lines.append(f"  ! {clean(host.error)}")
    cmp = compare(sample, host)
    if cmp.host_actual_kib is not None:
        lines.append(
            f"  actual {format_kib(cmp.host_actual_kib)} of {format_kib(host.ram_kib)} RAM   "
            f"guest MemTotal {format_kib(cmp.guest_mem_total_kib)}   "
            f"difference {format_kib(cmp.actual_minus_mem_total_kib)}"
        )
        lines.append(
            f"  balloon {format_kib(cmp.host_balloon_kib)} (host: RAM − actual)   "
            f"guest {format_kib(cmp.guest_balloon_kib)} ({sample.balloon.source or 'no source'})   "
            f"difference {format_kib(cmp.balloon_difference_kib)}"
        )
    if host.movement is not None:
        lines.append(f"  last move: {movement_text(host.movement)}")
    if host.stats:
        if host.last_update is None:
            when = "never updated"
        else:
            when = f"last update {format_duration(max(0.0, host.time - host.last_update))} ago"
        polling = ("polling off" if host.stats_interval == 0 else
                   f"polling every {host.stats_interval} s" if host.stats_interval else "polling unknown")
        stale = ", STALE: older than two polling intervals" if host.stats_stale else ""
        lines.append(f"  guest statistics the host received ({when}, {polling}{stale}):")
        width = max(len(name) for name in host.stats)
        for name, value in host.stats.items():
            mark = "  (stale)" if host.stats_stale and value is not None else ""
            lines.append(f"    {clean(name):<{width}}  {stat_text(name, value)}{mark}")
    if host.hv_status:
        lines.append("  hv-balloon: " + ", ".join(f"{clean(k)} {_kib_text(v)}" for k, v in host.hv_status.items()))
    for device in host.memory_devices:
        sizes = ", ".join(f"{clean(k[:-4])} {_kib_text(v)}" for k, v in device.items() if k.endswith("_kib"))
        lines.append(clean(f"  memory device {device.get('type')} {device.get('id') or ''}: {sizes}".rstrip()))
    lines.extend(f"  note: {clean(note)}" for note in host.notes)
    return lines
