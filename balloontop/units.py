"""Human-readable sizes and rates, shared by every text output."""

from __future__ import annotations


def format_kib(kib: int | float | None, unknown: str = "unknown") -> str:
    """``524288`` -> ``512.0 MiB``; binary units, one decimal from MiB up."""
    if kib is None:
        return unknown
    sign = "-" if kib < 0 else ""
    value = float(abs(kib))
    if value < 1024:
        return f"{sign}{value:.0f} KiB"
    for unit in ("MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{sign}{value:.1f} {unit}"
    raise AssertionError("unreachable")


def format_rate(mib_per_s: float | None) -> str:
    if mib_per_s is None:
        return "-"
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
