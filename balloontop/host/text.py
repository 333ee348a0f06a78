"""The host's view as text lines, beside the guest's: used by ``snapshot`` (and the report).

The figures lined up (``comparison``) are plain values so a pane can show them its own way.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from ..hoststats import SPECS, host_stats
from ..model import Sample
from ..safetext import clean
from ..units import format_duration, format_kib
from .reading import HostReading, Lag, Movement

UNITS = {spec.qemu: spec.unit for spec in SPECS}
"""QEMU ``guest-stats`` name -> ``bytes`` or ``count`` (as the stats queue sends it)."""


class StatPair(NamedTuple):
    """One statistic as QEMU received it, beside what the guest would send now."""

    name: str
    host: int | None
    """``guest-stats`` value (None: the guest did not supply it)."""
    guest: int | None
    """Rebuilt from the guest's own files (``balloontop.hoststats``); None: not known."""
    unit: str
    stale: bool


def stat_pairs(sample: Sample) -> list[StatPair]:
    """Every statistic QEMU has for this guest, with the guest's own figure beside it."""
    host = sample.host
    if host is None:
        return []
    page = sample.system.page_size or 4096
    guest = {h.spec.qemu: h.value for h in host_stats(sample.meminfo, sample.vmstat, page, sample.system.kernel)}
    return [StatPair(name, value, guest.get(name), UNITS.get(name, "count"), host.stats_stale and value is not None)
            for name, value in host.stats.items()]


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


def stat_text(name: str, value: int | None, exact: bool = True) -> str:
    if value is None:
        return "not supplied"
    if UNITS.get(name) == "bytes":
        return f"{format_kib(value / 1024)} ({value} bytes)" if exact else format_kib(value / 1024)
    return str(value)


def movement_text(move: Movement, short: bool = False) -> str:
    what = move.direction or "no change"
    size = format_kib(abs(move.delta_kib)) if move.delta_kib is not None else "an unknown size"
    rate = move.rate_kib_s
    rate_text = f", {format_kib(rate)}/s" if rate is not None else ""
    state = "under way" if move.in_progress else "ended " + time.strftime("%H:%M:%S", time.localtime(move.end))
    if short:
        return f"{what} {size} in {move.duration_s:.1f} s{rate_text}, {state}"
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
    if host.lag is not None:
        lines.append(f"  guest's figure: {lag_text(host.lag)}")
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
        for pair in stat_pairs(sample):
            mark = "  (stale)" if pair.stale else ""
            now = "" if pair.guest is None else f"  guest now {stat_text(pair.name, pair.guest, exact=False)}"
            lines.append(f"    {clean(pair.name):<{width}}  {stat_text(pair.name, pair.host) + mark:<34}{now}".rstrip())
    if host.hv_status:
        lines.append("  hv-balloon: " + ", ".join(f"{clean(k)} {_kib_text(v)}" for k, v in host.hv_status.items()))
    for device in host.memory_devices:
        sizes = ", ".join(f"{clean(k[:-4])} {_kib_text(v)}" for k, v in device.items() if k.endswith("_kib"))
        lines.append(clean(f"  memory device {device.get('type')} {device.get('id') or ''}: {sizes}".rstrip()))
    lines.extend(f"  note: {clean(note)}" for note in host.notes)
    return lines


def lag_text(lag: Lag) -> str:
    """``1.5 s behind the host, at most 56.0 MiB apart`` (what ``guest_lag`` measured)."""
    if lag.seconds is None:
        when = "has not matched the host's actual yet"
    elif lag.seconds < 0:
        when = f"matched {-lag.seconds:.1f} s before the host's last BALLOON_CHANGE (events are throttled to 1/s)"
    else:
        when = f"{lag.seconds:.1f} s behind the host"
    apart = "" if lag.max_gap_kib is None else f", at most {format_kib(lag.max_gap_kib)} apart"
    return when + apart


def pane_lines(sample: Sample, lag: Lag | None = None) -> list[str]:
    """Plain lines (no markup: escape them before a markup renderer) for a monitor pane:
    the host's actual and balloon beside the guest's, the last move, the lag, the polling."""
    host = sample.host
    if host is None:
        return []
    lines = [clean(f"host (QMP {host.address}" + (f", QEMU {host.qemu})" if host.qemu else ")"))]
    if host.error:
        lines.append(f"  ! {clean(host.error)}")
    cmp = compare(sample, host)
    if cmp.host_actual_kib is not None:
        lines.append(f"  actual     {format_kib(cmp.host_actual_kib)}   MemTotal {format_kib(cmp.guest_mem_total_kib)}"
                     f"   diff {format_kib(cmp.actual_minus_mem_total_kib)}")
        lines.append(f"  balloon    {format_kib(cmp.host_balloon_kib)}   guest {format_kib(cmp.guest_balloon_kib)}"
                     f"   diff {format_kib(cmp.balloon_difference_kib)}")
    if host.movement is not None:
        lines.append(f"  last move  {movement_text(host.movement, short=True)}")
    lag = lag if lag is not None else host.lag
    if lag is not None:
        lines.append(f"  guest lag  {lag_text(lag)}")
    if host.stats_interval == 0:
        lines.append("  stats      polling off (--qmp-stats-interval S)")
    elif host.stats_interval:
        age = "never" if host.last_update is None else f"{max(0.0, host.time - host.last_update):.0f} s ago"
        lines.append(f"  stats      every {host.stats_interval} s, last {age}" + (" (STALE)" if host.stats_stale else ""))
    return lines
