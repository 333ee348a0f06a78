"""Sizes, rates and durations as text, and the page/KiB/byte conversions: one place for each.

Every text output (snapshot, pane, events, reports, the OOM account) formats memory with
these functions, so one figure reads the same wherever it is shown:

* ``format_kib``: the unit that fits (``900 KiB``, ``512.0 MiB``, ``1.5 GiB``): the snapshot,
  the panes, the OOM account;
* ``format_mib``: always MiB, for figures read side by side (a report's min/max/mean) or in a
  sentence (events: ``512 MiB``, ``1.5 MiB``: whole MiB without decimals).
"""

from __future__ import annotations

KIB = 1024
"""Bytes in a KiB, and KiB in a MiB."""


def pages_to_kib(pages: int, page_size: int) -> int:
    """``pages`` of ``page_size`` bytes, in KiB (rounded down)."""
    return pages * page_size // KIB


def page_kib(page_size: int) -> int:
    """A page of ``page_size`` bytes in KiB (at least 1)."""
    return max(page_size // KIB, 1)


def bytes_to_kib(n: int) -> int:
    return n // KIB


def kib_to_bytes(kib: int) -> int:
    return kib * KIB


def format_kib(kib: int | float | None, unknown: str = "unknown") -> str:
    """``524288`` -> ``512.0 MiB``; binary units, one decimal from MiB up."""
    if kib is None:
        return unknown
    sign = "-" if kib < 0 else ""
    value = float(abs(kib))
    if value < KIB:
        return f"{sign}{value:.0f} KiB"
    for unit in ("MiB", "GiB", "TiB"):
        value /= KIB
        if value < KIB or unit == "TiB":
            return f"{sign}{value:.1f} {unit}"
    raise AssertionError("unreachable")


def format_mib(kib: int | float | None, unknown: str = "?", decimals: int | None = None) -> str:
    """``kib`` in MiB, thousands grouped: ``decimals`` fixed (``1,024.0 MiB``), or by default
    none for a whole MiB and one otherwise (``512 MiB``, ``1.5 MiB``)."""
    if kib is None:
        return unknown
    mib = kib / KIB
    if decimals is None:
        decimals = 0 if kib % KIB == 0 else 1
    return f"{mib:,.{decimals}f} MiB"


def format_rate(mib_per_s: float) -> str:
    """``+1.5 MiB/s``: a change of size per second, signed."""
    return f"{mib_per_s:+.1f} MiB/s"


def format_duration(seconds: float | None) -> str:
    """``3725`` -> ``1h02m05s``."""
    if seconds is None:
        return "unknown"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s"
