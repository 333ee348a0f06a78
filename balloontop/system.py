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


MAX_NAME_CHARS = 64  # __NEW_UTS_LEN: the kernel's host name and release are at most 64 bytes
MAX_UPTIME_S = 100 * 365 * 86400.0  # a century: any larger uptime is a broken file


def _first_line(root: FileTree, rel: str, warnings: list[str] | None = None) -> str | None:
    text = root.text(rel)
    line = text.strip().splitlines()[0].strip() if text and text.strip() else ""
    if len(line) > MAX_NAME_CHARS:
        if warnings is not None:
            warnings.append(f"/{rel}: {len(line)} characters, more than the kernel's {MAX_NAME_CHARS}: cut")
        line = line[:MAX_NAME_CHARS]
    return line or None


def read_uptime(root: FileTree, warnings: list[str] | None = None) -> float | None:
    """Seconds since boot; ``None`` (and a warning) when the file holds no plausible value."""
    text = root.text("proc/uptime")
    if not text:
        return None
    first = text.split()[0] if text.split() else ""
    try:
        value = float(first) if len(first) <= 40 else None
    except ValueError:
        value = None
    if value is None or not 0 <= value <= MAX_UPTIME_S:  # also NaN and infinities
        if warnings is not None:
            shown = first if len(first) <= 40 else first[:40] + "..."
            warnings.append(f"/proc/uptime: {shown!r} is not a plausible uptime: shown as unknown")
        return None
    return value


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
    # at most 20 digits (a 64-bit count): a longer number is not a page count (and int() of
    # thousands of digits raises or takes quadratic time)
    return sum(int(n) for n in re.findall(r"^\s+managed\s+(\d{1,20})\s*$", zoneinfo, re.MULTILINE))


def read_system(root: FileTree, meminfo: Mapping[str, int], vmstat: Mapping[str, int],
                warnings: list[str] | None = None) -> SystemInfo:
    """Who the guest is; implausible values are ``None`` with a warning in ``warnings``."""
    size, source = page_size(root, meminfo, vmstat)
    return SystemInfo(
        kernel=_first_line(root, "proc/sys/kernel/osrelease", warnings),
        hostname=_first_line(root, "proc/sys/kernel/hostname", warnings),
        page_size=size,
        page_size_source=source,
        uptime_s=read_uptime(root, warnings),
        mem_total_kib=meminfo.get("MemTotal"),
        mem_free_kib=meminfo.get("MemFree"),
        mem_available_kib=meminfo.get("MemAvailable"),
    )
