"""Xen balloon: ``drivers/xen/xen-balloon.c``, ``/sys/devices/system/xen_memory/xen_memory0``.

Ballooned size = ``info/low_kb + info/high_kb``. Xen removes ballooned pages from
MemTotal and, since 6.15, feeds ``Balloon:``; no vmstat events. ``target`` is in bytes
(the ABI document says pages; the code writes bytes). The delay and retry files are
``DEVICE_ULONG_ATTR``s, which ``drivers/base/core.c`` prints in hex without ``0x``.
"""

from __future__ import annotations

from ..model import DriverReading, StatSpec
from ..parsers import parse_int
from ..parsers.sysfs import parse_value
from .base import ReadContext, make_stats, own_reading

NAME = "xen_balloon"
TITLE = "Xen balloon"
LOOKS_AT = "/sys/devices/system/xen_memory"
INSTANCE = "xen_memory0"
DIRECTORY = "sys/devices/system/xen_memory/xen_memory0"

STATS = {
    "target_kb": StatSpec("KiB", "memory reservation the toolstack asks for"),
    "target_bytes": StatSpec("bytes", "the same target in bytes (the sysfs file target)"),
    "current_kb": StatSpec("KiB", "memory reservation now"),
    "low_kb": StatSpec("KiB", "low memory in the balloon"),
    "high_kb": StatSpec("KiB", "high memory in the balloon (0 on 64-bit)"),
    "deficit_kb": StatSpec("KiB", "target minus current: what the balloon still has to give back (negative: take)"),
    "schedule_delay": StatSpec("s", "delay before the next attempt to grow (backs off)"),
    "max_schedule_delay": StatSpec("s", "cap of that back-off"),
    "retry_count": StatSpec("", "attempts so far to take memory back"),
    "max_retry_count": StatSpec("", "give up after this many attempts (0: never)"),
    "scrub_pages": StatSpec("", "1: pages are zeroed before they go back to Xen"),
}

HEX_FILES = {"schedule_delay", "max_schedule_delay", "retry_count", "max_retry_count"}

_FILES = {
    "target_kb": "target_kb",
    "target_bytes": "target",
    "current_kb": "info/current_kb",
    "low_kb": "info/low_kb",
    "high_kb": "info/high_kb",
    "schedule_delay": "schedule_delay",
    "max_schedule_delay": "max_schedule_delay",
    "retry_count": "retry_count",
    "max_retry_count": "max_retry_count",
    "scrub_pages": "scrub_pages",
}


def detect(ctx: ReadContext) -> list[str]:
    return [INSTANCE] if ctx.root.is_dir(DIRECTORY) else []


def read(ctx: ReadContext) -> list[DriverReading]:
    if not detect(ctx):
        return []
    warnings: list[str] = []
    values: dict[str, int | None] = {}
    for name, rel in _FILES.items():
        text, error = ctx.root.read_text(f"{DIRECTORY}/{rel}")
        if name in HEX_FILES and text is not None:
            values[name] = parse_int("0x" + text.strip())
        else:
            values[name] = parse_value(text)
        if error is not None and error.reason != "missing":
            warnings.append(f"xen_memory0/{rel}: {error.detail}")
    target, current = values.get("target_kb"), values.get("current_kb")
    if target is not None and current is not None:
        values["deficit_kb"] = target - current
    low, high = values.get("low_kb"), values.get("high_kb")
    inflated = low + (high or 0) if low is not None else None
    if inflated is None:
        warnings.append("xen_memory0/info/low_kb unreadable: balloon size unknown")
    return [own_reading(NAME, INSTANCE, inflated, "sysfs:xen_memory", "total", make_stats(STATS, values), warnings)]
