"""vmw_balloon (VMware): ``drivers/misc/vmw_balloon.c``.

Its own figures are in debugfs ``vmmemctl`` (4 KiB frames). Ballooned memory stays in
MemTotal and looks used. Only 4 KiB pages go through the balloon core: 2 MiB pages are
counted in ``balloon_inflate`` (as 512 each) but missing from ``Balloon:``, so the
driver's own ``current`` is the complete figure. Statistics start at the first read of
``vmmemctl`` (the driver enables them lazily), not at boot.
"""

from __future__ import annotations

from ..model import DriverReading, StatSpec
from ..parsers.debugfs import parse_vmmemctl
from ..units import format_mib
from .base import BALLOON, DEBUGFS, ReadContext, debugfs_problem, make_stats, own_reading

NAME = "vmw_balloon"
TITLE = "VMware balloon"
LOOKS_AT = "/sys/kernel/debug/vmmemctl"
INSTANCE = "vmmemctl"
DEBUGFS_FILE = "vmmemctl"
FRAME_KIB = 4
SINCE_READ = " (counted since vmmemctl was first read)"

STATS = {
    "target": StatSpec("frames", "balloon size the host asks for (4 KiB frames)"),
    "current": StatSpec("frames", "balloon size now (4 KiB frames)"),
    "balloon_capabilities": StatSpec("", "capabilities the driver supports (bit mask)"),
    "used_capabilities": StatSpec("", "capabilities the host granted (bit mask)"),
    "is_resetting": StatSpec("", "y while the driver resets its balloon"),
    "rateSleepAlloc": StatSpec("pages/s", "allocation rate (old format)"),
    "Balloon": BALLOON._replace(meaning="memory returned to the host via the balloon core (4 KiB pages only)"),
    "balloon_inflate": StatSpec("pages", "pages put into balloons since boot (a 2 MiB page counts 512)"),
    "balloon_deflate": StatSpec("pages", "pages taken back out of balloons since boot"),
    "alloc_4k": StatSpec("pages", "4 KiB pages allocated for the balloon" + SINCE_READ),
    "alloc_2M": StatSpec("pages", "2 MiB pages allocated for the balloon" + SINCE_READ),
    "free_4k": StatSpec("pages", "4 KiB pages released from the balloon" + SINCE_READ),
    "free_2M": StatSpec("pages", "2 MiB pages released from the balloon" + SINCE_READ),
    "cmd_target": StatSpec("calls", "times the driver asked the host for a target" + SINCE_READ),
    "cmd_target_failed": StatSpec("calls", "failed target requests" + SINCE_READ),
}


def detect(ctx: ReadContext) -> list[str]:
    root = ctx.root
    if root.exists(f"{DEBUGFS}/{DEBUGFS_FILE}"):
        return [INSTANCE]
    if not root.is_dir("sys/module/vmw_balloon"):
        return []
    # A loadable module only stays loaded on VMware; a built-in one needs the DMI vendor.
    loaded = (root.text("sys/module/vmw_balloon/initstate") or "").strip() == "live"
    vendor = (root.text("sys/class/dmi/id/sys_vendor") or "").strip()
    return [INSTANCE] if loaded or vendor.startswith("VMware") else []


def read(ctx: ReadContext) -> list[DriverReading]:
    if not detect(ctx):
        return []
    warnings: list[str] = []
    balloon = ctx.meminfo.get("Balloon")
    values: dict[str, object] = {
        "Balloon": balloon,
        "balloon_inflate": ctx.vmstat.get("balloon_inflate"),
        "balloon_deflate": ctx.vmstat.get("balloon_deflate"),
    }
    inflated = None
    text, error = ctx.root.read_text(f"{DEBUGFS}/{DEBUGFS_FILE}")
    if text is not None:
        fields, problems = parse_vmmemctl(text)
        warnings.extend(problems)
        values.update({k: v for k, v in fields.items() if k != "format"})
        current = fields.get("current")
        if isinstance(current, int):
            inflated = current * FRAME_KIB
            if balloon is not None and balloon < inflated:
                warnings.append(
                    f"Balloon: in /proc/meminfo shows {format_mib(inflated - balloon)} less than "
                    "vmmemctl: the kernel counts only 4 KiB balloon pages there, not VMware's 2 MiB pages"
                )
    else:
        why = "the complete balloon size (with 2 MiB pages) and the host's target are not shown"
        note = debugfs_problem(ctx, DEBUGFS_FILE, why, error)
        if note:
            warnings.append(note)
    return [own_reading(NAME, INSTANCE, inflated, "debugfs:vmmemctl", "used", make_stats(STATS, values), warnings)]
