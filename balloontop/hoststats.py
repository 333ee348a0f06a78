"""The statistics a virtio balloon driver sends to the host, rebuilt from the guest's files.

With ``VIRTIO_BALLOON_F_STATS_VQ`` negotiated, Linux's virtio_balloon fills a stats queue
with ``{le16 tag; le64 val}`` pairs (``update_balloon_stats()``). The guest has no file that
shows them, but every value is a counter the guest can read itself from ``/proc/meminfo``
and ``/proc/vmstat``; this module recomputes them the way the driver does, and names each
as QEMU (``qom-get ... guest-stats``) and ``virsh dommemstat`` name it, so a user can match
the guest's view with the host's dashboard.

Pure functions, no I/O, no Textual.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from .parsers.vmstat import allocation_stalls
from .units import bytes_to_kib, kib_to_bytes


class HostStatSpec(NamedTuple):
    """One ``VIRTIO_BALLOON_S_*`` tag of the stats queue and where its value comes from."""

    tag: int
    name: str
    """``VIRTIO_BALLOON_S_*`` suffix."""
    qemu: str
    """QEMU's ``guest-stats`` key."""
    virsh: str | None
    """``virsh dommemstat`` field (libvirt shows byte values in KiB); ``None``: not shown."""
    unit: str
    """``bytes`` or ``count``, as sent to the host."""
    source: str
    """Where the guest-side value comes from, in the driver's words."""
    since: tuple[int, int] = (0, 0)
    """First kernel version that sends the tag (the 10-15 Linux extensions: 6.12)."""


SPECS: tuple[HostStatSpec, ...] = (
    HostStatSpec(0, "SWAP_IN", "stat-swap-in", "swap_in", "bytes", "vmstat pswpin x page size"),
    HostStatSpec(1, "SWAP_OUT", "stat-swap-out", "swap_out", "bytes", "vmstat pswpout x page size"),
    HostStatSpec(2, "MAJFLT", "stat-major-faults", "major_fault", "count", "vmstat pgmajfault"),
    HostStatSpec(3, "MINFLT", "stat-minor-faults", "minor_fault", "count", "vmstat pgfault"),
    HostStatSpec(4, "MEMFREE", "stat-free-memory", "unused", "bytes", "meminfo MemFree"),
    HostStatSpec(5, "MEMTOT", "stat-total-memory", "available", "bytes", "meminfo MemTotal"),
    HostStatSpec(6, "AVAIL", "stat-available-memory", "usable", "bytes", "meminfo MemAvailable"),
    HostStatSpec(
        7, "CACHES", "stat-disk-caches", "disk_caches", "bytes", "vmstat nr_file_pages x page size"
    ),
    HostStatSpec(
        8, "HTLB_PGALLOC", "stat-htlb-pgalloc", "hugetlb_pgalloc", "count",
        "vmstat htlb_buddy_alloc_success",
    ),
    HostStatSpec(
        9, "HTLB_PGFAIL", "stat-htlb-pgfail", "hugetlb_pgfail", "count",
        "vmstat htlb_buddy_alloc_fail",
    ),
    HostStatSpec(10, "OOM_KILL", "stat-oom-kills", None, "count", "vmstat oom_kill", (6, 12)),
    HostStatSpec(
        11, "ALLOC_STALL", "stat-alloc-stalls", None, "count", "sum of vmstat allocstall_*",
        (6, 12),
    ),
    HostStatSpec(
        12, "ASYNC_SCAN", "stat-async-scans", None, "bytes", "vmstat pgscan_kswapd x page size",
        (6, 12),
    ),
    HostStatSpec(
        13, "DIRECT_SCAN", "stat-direct-scans", None, "bytes", "vmstat pgscan_direct x page size",
        (6, 12),
    ),
    HostStatSpec(
        14, "ASYNC_RECLAIM", "stat-async-reclaims", None, "bytes",
        "vmstat pgsteal_kswapd x page size", (6, 12),
    ),
    HostStatSpec(
        15, "DIRECT_RECLAIM", "stat-direct-reclaims", None, "bytes",
        "vmstat pgsteal_direct x page size", (6, 12),
    ),
)


class HostStat(NamedTuple):
    """One statistic as the host receives it."""

    spec: HostStatSpec
    value: int | None
    """In the unit sent (bytes or a count); ``None`` when a counter is missing."""

    @property
    def virsh_value(self) -> int | None:
        """The value as ``virsh dommemstat`` prints it (KiB for byte values)."""
        if self.value is None:
            return None
        return bytes_to_kib(self.value) if self.spec.unit == "bytes" else self.value


_VERSION = re.compile(r"^(\d+)\.(\d+)")


def kernel_version(release: str | None) -> tuple[int, int] | None:
    """``(major, minor)`` of a ``uname -r`` string, or ``None``."""
    match = _VERSION.match(release or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def host_stats(
    meminfo: Mapping[str, int],
    vmstat: Mapping[str, int],
    page_size: int,
    kernel: str | None = None,
) -> tuple[HostStat, ...]:
    """The stats-queue entries this guest sends, in tag order.

    ``meminfo`` values are in KiB (as ``/proc/meminfo`` prints them), ``vmstat`` values as
    printed (pages or counts). Tags the kernel would not send are left out: the 6.12
    extensions on older kernels (when ``kernel`` is known), the hugetlb pair without
    ``CONFIG_HUGETLB_PAGE`` (no ``htlb_buddy_alloc_*`` counters).
    """
    version = kernel_version(kernel)

    def kib(key: str) -> int | None:
        value = meminfo.get(key)
        return None if value is None else kib_to_bytes(value)

    def pages(key: str) -> int | None:
        value = vmstat.get(key)
        return None if value is None else value * page_size

    values: dict[int, int | None] = {
        0: pages("pswpin"),
        1: pages("pswpout"),
        2: vmstat.get("pgmajfault"),
        3: vmstat.get("pgfault"),
        4: kib("MemFree"),
        5: kib("MemTotal"),
        6: kib("MemAvailable"),
        7: pages("nr_file_pages"),
        8: vmstat.get("htlb_buddy_alloc_success"),
        9: vmstat.get("htlb_buddy_alloc_fail"),
        10: vmstat.get("oom_kill"),
        11: allocation_stalls(vmstat),
        12: pages("pgscan_kswapd"),
        13: pages("pgscan_direct"),
        14: pages("pgsteal_kswapd"),
        15: pages("pgsteal_direct"),
    }
    out: list[HostStat] = []
    for spec in SPECS:
        if version is not None and version < spec.since:
            continue
        if spec.tag in (8, 9) and values[spec.tag] is None:
            continue
        out.append(HostStat(spec, values[spec.tag]))
    return tuple(out)
