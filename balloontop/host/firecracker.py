"""Firecracker's balloon statistics (``GET /balloon/statistics`` on its API socket), parsed.

Written from Firecracker's documentation only (``docs/ballooning.md`` and the ``BalloonStats``
definition of its OpenAPI file, ``src/firecracker/swagger/firecracker.yaml``): Firecracker needs
KVM, which this project's machines do not have, so no real answer was ever read here (see
tests/fixtures/firecracker/README.md). The documented object:

* required: ``target_pages``, ``actual_pages`` (4 KiB pages), ``target_mib``, ``actual_mib``:
  the balloon's target and actual size. Unlike QEMU's ``actual`` (the guest's memory minus
  the balloon) these count the balloon itself, and Firecracker does report the target;
* optional, as the guest last sent them (a statistic never sent is absent): ``swap_in``,
  ``swap_out``, ``free_memory``, ``total_memory``, ``available_memory``, ``disk_caches``
  (bytes), ``major_faults``, ``minor_faults``, ``hugetlb_allocations``, ``hugetlb_failures``,
  and the Linux 6.12 ones ``oom_kill``, ``alloc_stall``, ``async_scan``, ``direct_scan``,
  ``async_reclaim``, ``direct_reclaim``.

Statistics are returned under QEMU's ``stat-*`` names (``balloontop.hoststats``), so the two
hypervisors' figures line up with each other and with the guest's own. Never raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

PAGE_KIB = 4
STATS = {
    "swap_in": "stat-swap-in",
    "swap_out": "stat-swap-out",
    "major_faults": "stat-major-faults",
    "minor_faults": "stat-minor-faults",
    "free_memory": "stat-free-memory",
    "total_memory": "stat-total-memory",
    "available_memory": "stat-available-memory",
    "disk_caches": "stat-disk-caches",
    "hugetlb_allocations": "stat-htlb-pgalloc",
    "hugetlb_failures": "stat-htlb-pgfail",
    "oom_kill": "stat-oom-kills",
    "alloc_stall": "stat-alloc-stalls",
    "async_scan": "stat-async-scans",
    "direct_scan": "stat-direct-scans",
    "async_reclaim": "stat-async-reclaims",
    "direct_reclaim": "stat-direct-reclaims",
}
"""Firecracker's field -> QEMU's ``guest-stats`` name (the same virtio tags)."""
SIZES = ("target_pages", "actual_pages", "target_mib", "actual_mib")
MAX_VALUE = 1 << 64


class FirecrackerBalloon(NamedTuple):
    """One ``GET /balloon/statistics`` answer."""

    target_kib: int | None
    """The balloon's target size (from ``target_pages``, else ``target_mib``)."""
    balloon_kib: int | None
    """The balloon's actual size (``actual_pages``, else ``actual_mib``)."""
    stats: Mapping[str, int]
    """Under QEMU's ``stat-*`` names; only those the guest has sent."""
    unknown: tuple[str, ...] = ()
    """Fields the documentation does not name (a newer Firecracker), kept by name only."""

    def to_json(self) -> dict[str, Any]:
        return {"source": "firecracker", "target_kib": self.target_kib, "balloon_kib": self.balloon_kib,
                "stats": dict(self.stats), "unknown": list(self.unknown)}


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_VALUE:
        return None
    return value


def parse_balloon_statistics(text: str) -> tuple[FirecrackerBalloon | None, list[str]]:
    """The answer's body as ``(FirecrackerBalloon, warnings)``; ``(None, [why])`` for an error
    answer (``{"fault_message": ...}``: statistics not enabled, no balloon) or not JSON."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None, ["Firecracker's balloon statistics are not JSON"]
    if not isinstance(obj, dict):
        return None, ["Firecracker's balloon statistics are not a JSON object"]
    if "fault_message" in obj:
        message = " ".join(str(obj["fault_message"]).split())[:200]
        return None, [f"Firecracker: {''.join(c if c.isprintable() else ' ' for c in message)}"]
    warnings: list[str] = []
    sizes: dict[str, int | None] = {}
    for key in SIZES:
        sizes[key] = _count(obj.get(key))
        if sizes[key] is None:
            warnings.append(f"{key} missing or not a count")
    target = _kib(sizes["target_pages"], sizes["target_mib"], "target", warnings)
    actual = _kib(sizes["actual_pages"], sizes["actual_mib"], "actual", warnings)
    stats: dict[str, int] = {}
    for key, name in STATS.items():
        if key not in obj:
            continue
        value = _count(obj[key])
        if value is None:
            warnings.append(f"{key} is not a count")
        else:
            stats[name] = value
    unknown = tuple(sorted(str(k)[:64] for k in obj if k not in STATS and k not in SIZES))[:64]
    return FirecrackerBalloon(target, actual, MappingProxyType(stats), unknown), warnings


def _kib(pages: int | None, mib: int | None, what: str, warnings: list[str]) -> int | None:
    """KiB from the page count (exact), checked against the MiB figure (rounded down)."""
    if pages is not None:
        if mib is not None and pages * PAGE_KIB // 1024 != mib:
            warnings.append(f"{what}_pages {pages} and {what}_mib {mib} disagree")
        return pages * PAGE_KIB
    return None if mib is None else mib * 1024
