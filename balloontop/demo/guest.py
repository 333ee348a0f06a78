"""A simulated guest: memory state stepped in fixed ticks, and the proc/sys files it shows.

The simulation advances in fixed steps of ``TICK`` simulated seconds from time 0, so the
state at a time ``t`` depends on ``t`` only, never on when or how often it was read. Files are
written in the kernel's own formats, starting from real files (``data/virtio-6.18``) and
changing only the figures a balloon moves, each line keeping its layout.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources

TICK = 0.25  # simulated seconds per simulation step
PAGE_KIB = 4
BASE = "virtio-6.18"


def base_file(name: str) -> str:
    """The text of a base file shipped in ``balloontop/demo/data``."""
    return (resources.files("balloontop.demo") / "data" / BASE / name).read_text("utf-8")


# -- editing files in the kernel's layout -------------------------------------------------

_MEMINFO_LINE = re.compile(r"^([^:\s]+:)(\s+)(\d+)(.*)$")


def set_meminfo(text: str, values: dict[str, int]) -> str:
    """``text`` with the named meminfo fields set, right-aligned like ``show_val_kb``."""
    out = []
    for line in text.splitlines():
        m = _MEMINFO_LINE.match(line)
        if m and m.group(1)[:-1] in values:
            label, pad, digits, rest = m.groups()
            width = len(pad) + len(digits)
            value = str(values[m.group(1)[:-1]])
            line = label + (value.rjust(width) if len(value) < width else " " + value) + rest
        out.append(line)
    return "\n".join(out) + "\n"


def set_vmstat(text: str, values: dict[str, int]) -> str:
    """``text`` with the named vmstat counters set (``name value`` lines)."""
    out = []
    for line in text.splitlines():
        name = line.split(" ", 1)[0]
        out.append(f"{name} {values[name]}" if name in values else line)
    return "\n".join(out) + "\n"


def set_zoneinfo(text: str, node_stats: dict[str, int], managed: int, free: int) -> str:
    """``text`` with per-node stats set, and the biggest zone's managed and free pages moved
    so that all zones together hold ``managed`` and ``free`` pages."""
    lines = text.splitlines()
    managed_idx = [i for i, line in enumerate(lines) if line.split()[:1] == ["managed"]]
    free_idx = [i for i, line in enumerate(lines) if line.split()[:2] == ["pages", "free"]]
    if managed_idx:
        big = max(managed_idx, key=lambda i: int(lines[i].split()[1]))
        others = sum(int(lines[i].split()[1]) for i in managed_idx if i != big)
        lines[big] = re.sub(r"\d+$", str(max(managed - others, 0)), lines[big])
        # the free-pages line of the same zone is the last one before its managed line
        zone_free = max((i for i in free_idx if i < big), default=None)
        if zone_free is not None:
            others = sum(int(lines[i].split()[2]) for i in free_idx if i != zone_free)
            lines[zone_free] = re.sub(r"\d+$", str(max(free - others, 0)), lines[zone_free])
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) == 2 and parts[0] in node_stats and line.startswith("      "):
            lines[i] = re.sub(r"\d+$", str(node_stats[parts[0]]), line)
    return "\n".join(lines) + "\n"


# -- the guest ------------------------------------------------------------------------------


@dataclass
class Guest:
    """Memory of the simulated guest, in KiB and event counts, at simulated time ``t``."""

    accounting: str  # "used": ballooned memory stays in MemTotal; "total": it is removed
    balloon_kib: int = 0  # memory in the balloon, whatever the page size
    balloon_core_kib: int = 0  # part of it that goes through the balloon core (Balloon:)
    anon_kib: int = 0  # the simulated workload
    t: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n


class Tree:
    """Writes a guest's files under ``root``: each file whole, by write-then-rename."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.meminfo = base_file("meminfo")
        self.vmstat = base_file("vmstat")
        self.zoneinfo = base_file("zoneinfo")
        up = base_file("uptime").split()
        self.uptime0, self.idle0 = float(up[0]), float(up[1])
        self.mem = _parse_kb(self.meminfo)
        self.vm = {
            line.split()[0]: int(line.split()[1])
            for line in self.vmstat.splitlines()
            if len(line.split()) == 2
        }

    def path(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def write(self, rel: str, text: str) -> None:
        path = self.path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)

    def link(self, rel: str, target: str) -> None:
        path = self.path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.lexists(path):
            os.symlink(target, path)

    def mkdir(self, rel: str) -> None:
        os.makedirs(self.path(rel), exist_ok=True)

    def write_memory(self, g: Guest) -> dict[str, int]:
        """Write meminfo, vmstat, zoneinfo and uptime for ``g``; return the meminfo figures."""
        m = self.mem
        removed = g.balloon_kib if g.accounting == "total" else 0
        taken = g.balloon_kib + g.anon_kib
        total = m["MemTotal"] - removed
        free = max(m["MemFree"] - taken, 1024)
        avail = max(m["MemAvailable"] - taken, 0)
        anon = m["AnonPages"] + g.anon_kib
        fields = {
            "MemTotal": total,
            "MemFree": free,
            "MemAvailable": avail,
            "AnonPages": anon,
            "Active": m["Active"] + g.anon_kib,
            "Active(anon)": m["Active(anon)"] + g.anon_kib,
            "Committed_AS": m["Committed_AS"] + g.anon_kib,
            "Balloon": g.balloon_core_kib,
        }
        self.write("proc/meminfo", set_meminfo(self.meminfo, fields))
        c = g.counters
        vm = self.vm
        stats = {
            "nr_free_pages": free // PAGE_KIB,
            "nr_anon_pages": anon // PAGE_KIB,
            "nr_active_anon": fields["Active(anon)"] // PAGE_KIB,
            "nr_zone_active_anon": fields["Active(anon)"] // PAGE_KIB,
            "nr_balloon_pages": g.balloon_core_kib // PAGE_KIB,
        }
        counters: dict[str, int] = {
            name: vm[name] + c.get(name, 0)
            for name in (
                "balloon_inflate",
                "balloon_deflate",
                "oom_kill",
                "allocstall_normal",
                "allocstall_movable",
                "pgscan_direct",
                "pgsteal_direct",
                "pgscan_kswapd",
                "pgsteal_kswapd",
                "pgfault",
                "compact_stall",
                "pgalloc_normal",
                "pgfree",
            )
            if name in vm
        }
        counters["pgfault"] = vm.get("pgfault", 0) + c.get("pgfault", 0) + int(g.t * 37)
        self.write("proc/vmstat", set_vmstat(self.vmstat, {**stats, **counters}))
        node = {k: v for k, v in stats.items() if k != "nr_free_pages"}
        self.write(
            "proc/zoneinfo", set_zoneinfo(self.zoneinfo, node, total // PAGE_KIB, free // PAGE_KIB)
        )
        up = self.uptime0 + g.t
        self.write("proc/uptime", f"{up:.2f} {self.idle0 + g.t * 0.97:.2f}\n")
        return fields


def _parse_kb(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        m = _MEMINFO_LINE.match(line)
        if m:
            out[m.group(1)[:-1]] = int(m.group(3))
    return out
