"""Built-in demo scenarios: what the host asks of the balloon, and what the guest runs.

Each scenario loops over a fixed cycle of simulated seconds. ``TARGETS`` are the host's
balloon sizes (set at a time, kept until the next), ``WORKLOADS`` are memory hogs
``(start, end, peak KiB, growth KiB/s)``. A hog that runs the guest out of memory is
OOM-killed; a virtio balloon with DEFLATE_ON_OOM gives memory back first.
"""

from __future__ import annotations

import math

from .guest import PAGE_KIB, TICK, Guest, Tree

MIB = 1024
RESERVE_KIB = 32 * MIB  # MemAvailable under this: the guest reclaims and stalls
OUT_KIB = 6 * MIB  # MemAvailable under this with nothing left to give: OOM kill


class Scenario:
    """The common simulation: host targets, workloads, pressure and OOM."""

    NAME = "base"
    TITLE = ""
    ACCOUNTING = "total"
    CYCLE = 180.0
    TARGETS: tuple[tuple[float, int], ...] = ((0.0, 0),)
    WORKLOADS: tuple[tuple[float, float, int, int], ...] = ()
    INFLATE_KIB_S = 128 * MIB
    DEFLATE_KIB_S = 256 * MIB
    STEP_KIB = 1 * MIB  # the balloon moves in chunks of this size (256 pages for virtio)
    DEFLATE_ON_OOM = False

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.guest = Guest(accounting=self.ACCOUNTING)
        self.target_kib = 0
        self.moving = False  # the driver is working towards the target
        self.killed: set[tuple[int, int]] = set()  # (cycle, workload) OOM-killed
        self.base_avail = tree.mem["MemAvailable"]
        self.direction = 0  # +1 inflating, -1 deflating, 0 at rest (for state fields)

    # -- hooks for the drivers -------------------------------------------------------

    def setup(self) -> None:
        """Write the files that never change."""

    def write_driver(self) -> None:
        """Write the driver's own files for the current state."""

    def moved(self, delta_kib: int) -> None:
        """Account a balloon move (``delta_kib`` > 0: inflate)."""
        self.guest.balloon_kib += delta_kib
        self.guest.balloon_core_kib += delta_kib

    # -- simulation ------------------------------------------------------------------

    def target_at(self, ct: float) -> int:
        target = 0
        for t, kib in self.TARGETS:
            if ct >= t:
                target = kib
        return target

    def advance_to(self, t: float) -> None:
        """Step the simulation in ``TICK`` steps up to simulated time ``t``."""
        g = self.guest
        while g.t + TICK <= t + 1e-9:
            g.t = round(g.t + TICK, 6)
            self._tick()

    def _tick(self) -> None:
        g = self.guest
        cycle = int(g.t // self.CYCLE)
        ct = g.t - cycle * self.CYCLE
        target = self.target_at(ct)
        if target != self.target_kib:
            self.target_kib = target
            self.moving = True
        self.direction = 0
        if self.moving:
            gap = self.target_kib - g.balloon_kib
            if gap == 0:
                self.moving = False
            else:
                rate = self.INFLATE_KIB_S if gap > 0 else self.DEFLATE_KIB_S
                step = min(abs(gap), int(rate * TICK))
                if step >= self.STEP_KIB:
                    step -= step % self.STEP_KIB
                step -= step % PAGE_KIB
                self.direction = 1 if gap > 0 else -1
                self.moved(step if gap > 0 else -step)
        desired = 0
        for i, (start, end, peak, rate) in enumerate(self.WORKLOADS):
            if start <= ct < end and (cycle, i) not in self.killed:
                grown = int((ct - start) * rate)
                desired += min(peak, grown - grown % PAGE_KIB)
        if desired > g.anon_kib:
            g.count("pgfault", (desired - g.anon_kib) // PAGE_KIB)
            g.count("pgalloc_normal", (desired - g.anon_kib) // PAGE_KIB)
        elif desired < g.anon_kib:
            g.count("pgfree", (g.anon_kib - desired) // PAGE_KIB)
        g.anon_kib = desired
        self._pressure(cycle, ct)

    def _avail(self) -> int:
        g = self.guest
        return self.base_avail - g.balloon_kib - g.anon_kib

    def _pressure(self, cycle: int, ct: float) -> None:
        g = self.guest
        avail = self._avail()
        if avail >= RESERVE_KIB:
            return
        need = RESERVE_KIB - avail
        # direct reclaim scans hard and finds little: the page cache is small
        g.count("allocstall_movable", 1 + need // (64 * MIB))
        g.count("allocstall_normal", 1)
        g.count("pgscan_direct", need // PAGE_KIB // 2 + 64)
        g.count("pgsteal_direct", need // PAGE_KIB // 8 + 16)
        g.count("pgscan_kswapd", need // PAGE_KIB // 2)
        g.count("pgsteal_kswapd", need // PAGE_KIB // 8)
        g.count("compact_stall", 1)
        if self.DEFLATE_ON_OOM and g.balloon_kib > 0:
            give = min(g.balloon_kib, math.ceil(need / self.STEP_KIB) * self.STEP_KIB)
            self.moved(-give)
            self.moving = False  # the driver waits for the host's next request
            self.direction = -1
            avail = self._avail()
        if avail < OUT_KIB:
            for i, (start, end, _peak, _rate) in enumerate(self.WORKLOADS):
                if start <= ct < end and (cycle, i) not in self.killed:
                    self.killed.add((cycle, i))
            g.count("oom_kill", 1)
            g.count("pgfree", g.anon_kib // PAGE_KIB)
            g.anon_kib = 0

    def write(self) -> None:
        self.tree.write_memory(self.guest)
        self.write_driver()
