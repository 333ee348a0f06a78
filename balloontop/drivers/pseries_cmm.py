"""powerpc pseries Collaborative Memory Manager: ``arch/powerpc/platforms/pseries/cmm.c``.

``/sys/devices/system/cmm/cmm0/loaned_kb`` is the memory loaned to the hypervisor. CMM
uses the balloon core (``Balloon:``, vmstat events) and removes loaned pages from MemTotal.
"""

from __future__ import annotations

from ..model import DriverReading, StatSpec
from ..parsers.sysfs import parse_value
from .base import ReadContext, make_stats, own_reading

NAME = "pseries_cmm"
TITLE = "pseries CMM"
LOOKS_AT = "/sys/devices/system/cmm"
INSTANCE = "cmm0"
DIRECTORY = "sys/devices/system/cmm/cmm0"

STATS = {
    "loaned_kb": StatSpec("KiB", "memory loaned to the hypervisor now"),
    "loaned_target_kb": StatSpec("KiB", "memory the hypervisor asks to be loaned"),
    "oom_freed_kb": StatSpec("KiB", "memory taken back because of out-of-memory"),
    "simulate_loan_target_kb": StatSpec("KiB", "simulated target (module loaded with simulate=1)"),
}


def detect(ctx: ReadContext) -> list[str]:
    return [INSTANCE] if ctx.root.is_dir(DIRECTORY) else []


def read(ctx: ReadContext) -> list[DriverReading]:
    if not detect(ctx):
        return []
    values = {name: parse_value(ctx.root.text(f"{DIRECTORY}/{name}")) for name in STATS}
    inflated = values["loaned_kb"]
    warnings = () if inflated is not None else ("cmm0/loaned_kb unreadable: balloon size unknown",)
    return [own_reading(NAME, INSTANCE, inflated, "sysfs:cmm", "total", make_stats(STATS, values), warnings)]
