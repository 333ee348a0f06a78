"""hv_balloon (Hyper-V Dynamic Memory): ``drivers/hv/hv_balloon.c``.

Its own figures are in debugfs ``hv-balloon`` (Linux >= 6.0; counts in 4 KiB Hyper-V
pages). It removes ballooned pages from MemTotal and, since 6.15, feeds ``Balloon:``;
it never touches the vmstat balloon events.
"""

from __future__ import annotations

from ..model import DriverReading, StatSpec
from ..parsers.debugfs import parse_hv_balloon
from ..units import pages_to_kib
from .base import BALLOON, DEBUGFS, ReadContext, debugfs_problem, make_stats, own_reading

NAME = "hv_balloon"
TITLE = "Hyper-V balloon"
LOOKS_AT = "/sys/kernel/debug/hv-balloon"
INSTANCE = "hv-balloon"
DEBUGFS_FILE = "hv-balloon"
VMBUS_DRIVER = "sys/bus/vmbus/drivers/hv_balloon"
HV_PAGE = 4096

STATS = {
    "host_version": StatSpec("", "Dynamic Memory protocol version agreed with the host"),
    "capabilities": StatSpec("", "enabled: ballooning on; hot_add: memory hot-add on"),
    "state": StatSpec("", "driver state (Initializing, Initialized, Balloon Up, Balloon Down, Hot Add, Error)"),
    "page_size": StatSpec("bytes", "Hyper-V page size; every count here is in these pages"),
    "pages_added": StatSpec("pages", "pages hot-added by the host"),
    "pages_onlined": StatSpec("pages", "hot-added pages that were put online"),
    "pages_ballooned": StatSpec("pages", "pages given back to the host now"),
    "vm_pages_committed": StatSpec("pages", "pages used by the guest's user space (earlier patch revision only)"),
    "total_pages_committed": StatSpec("pages", "memory the guest reports to the host as committed"),
    "max_dynamic_page_count": StatSpec("pages", "most pages the host may hot-add"),
    "Balloon": BALLOON,
}

_BOUND_IGNORED = {"bind", "unbind", "uevent", "module", "new_id", "remove_id"}


def detect(ctx: ReadContext) -> list[str]:
    root = ctx.root
    bound = [n for n in root.listdir(VMBUS_DRIVER) if n not in _BOUND_IGNORED]
    if bound or root.exists(f"{DEBUGFS}/{DEBUGFS_FILE}"):
        return [INSTANCE]
    return []


def read(ctx: ReadContext) -> list[DriverReading]:
    if not detect(ctx):
        return []
    warnings: list[str] = []
    values: dict[str, object] = {"Balloon": ctx.meminfo.get("Balloon")}
    inflated = None
    text, error = ctx.root.read_text(f"{DEBUGFS}/{DEBUGFS_FILE}")
    if text is not None:
        fields, problems = parse_hv_balloon(text)
        warnings.extend(problems)
        if "state" in fields:
            fields["state"] = f"{fields['state']} ({fields.get('state_name', 'Unknown')})"
        values.update({k: v for k, v in fields.items() if k in STATS})
        pages = fields.get("pages_ballooned")
        page_size = fields.get("page_size", HV_PAGE)
        if isinstance(pages, int) and isinstance(page_size, int):
            inflated = pages_to_kib(pages, page_size)
    else:
        why = "the driver's own figures (pages ballooned, committed, hot-added) are not shown"
        note = debugfs_problem(ctx, DEBUGFS_FILE, why, error, "needs Linux >= 6.0 with CONFIG_DEBUG_FS")
        if note:
            warnings.append(note)
    return [own_reading(NAME, INSTANCE, inflated, "debugfs:hv-balloon", "total", make_stats(STATS, values), warnings)]
