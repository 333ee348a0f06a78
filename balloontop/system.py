"""Who the guest is: kernel release, host name, uptime and page size, from the root.

Kernel and host name come from ``<root>/proc/sys/kernel/{osrelease,hostname}`` and are
``None`` when absent: a capture never shows the running machine's values. The page size
is the running system's for a live tree (asked of the guest for a remote one); for another root it is derived from the root
(``Balloon:`` kB / ``nr_balloon_pages``, else MemTotal / the zones' managed pages in
``/proc/zoneinfo``), else 4096; ``page_size_source`` says which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .model import SystemInfo
from .tree import FileTree

DEFAULT_PAGE_SIZE = 4096


def _first_line(root: FileTree, rel: str) -> str | None:
    text = root.text(rel)
    line = text.strip().splitlines()[0].strip() if text and text.strip() else ""
    return line or None


def read_uptime(root: FileTree) -> float | None:
    text = root.text("proc/uptime")
    try:
        return float(text.split()[0]) if text else None
    except (ValueError, IndexError):
        return None


def _power_of_two(value: int) -> bool:
    return value >= 1024 and value & (value - 1) == 0


def page_size(root: FileTree, meminfo: Mapping[str, int], vmstat: Mapping[str, int]) -> tuple[int, str]:
    """The page size and how it was found: running, meminfo:Balloon, zoneinfo, default."""
    running = root.running_page_size()
    if running:
        return running, "running"
    balloon, pages = meminfo.get("Balloon"), vmstat.get("nr_balloon_pages")
    if balloon and pages:
        size = balloon * 1024 // pages
        if size * pages == balloon * 1024 and _power_of_two(size):
            return size, "meminfo:Balloon"
    managed = _managed_pages(root.text("proc/zoneinfo"))
    total = meminfo.get("MemTotal")
    if managed and total:
        size = total * 1024 // managed
        if size * managed == total * 1024 and _power_of_two(size):
            return size, "zoneinfo"
    return DEFAULT_PAGE_SIZE, "default"


def _managed_pages(zoneinfo: str | None) -> int:
    if not zoneinfo:
        return 0
    return sum(int(n) for n in re.findall(r"^\s+managed\s+(\d+)\s*$", zoneinfo, re.MULTILINE))


def read_system(root: FileTree, meminfo: Mapping[str, int], vmstat: Mapping[str, int]) -> SystemInfo:
    size, source = page_size(root, meminfo, vmstat)
    return SystemInfo(
        kernel=_first_line(root, "proc/sys/kernel/osrelease"),
        hostname=_first_line(root, "proc/sys/kernel/hostname"),
        page_size=size,
        page_size_source=source,
        uptime_s=read_uptime(root),
        mem_total_kib=meminfo.get("MemTotal"),
        mem_free_kib=meminfo.get("MemFree"),
        mem_available_kib=meminfo.get("MemAvailable"),
    )
