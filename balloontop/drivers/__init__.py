"""Balloon mechanisms, one module each, in the order they are reported."""

from __future__ import annotations

from . import hv_balloon, pseries_cmm, s390_cmm, virtio_balloon, virtio_mem, vmw_balloon, xen_balloon

DRIVERS = (virtio_balloon, hv_balloon, vmw_balloon, xen_balloon, pseries_cmm, s390_cmm, virtio_mem)

FEEDS_BALLOON_LINE = {"virtio_balloon", "hv_balloon", "xen_balloon", "pseries_cmm"}
"""Drivers whose whole size is in meminfo ``Balloon:`` (>= 6.15). vmw_balloon feeds only
its 4 KiB pages, so its figure comes from its own debugfs file."""

USES_BALLOON_CORE = {"virtio_balloon", "pseries_cmm"}
"""Drivers counted by the vmstat ``balloon_inflate``/``balloon_deflate`` events (vmw too,
but it has its own exact figure)."""
