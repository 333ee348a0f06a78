"""Balloon mechanisms, one module each, in the order they are reported.

Every output reads a driver's declarations from here (``DRIVERS``, ``title``,
``stat_spec``, ``looked_for``), never a copy of them.
"""

from __future__ import annotations

from types import ModuleType

from ..model import NO_SPEC, StatSpec
from . import hv_balloon, pseries_cmm, s390_cmm, virtio_balloon, virtio_mem, vmw_balloon, xen_balloon

DRIVERS: tuple[ModuleType, ...] = (
    virtio_balloon, hv_balloon, vmw_balloon, xen_balloon, pseries_cmm, s390_cmm, virtio_mem,
)
BY_NAME: dict[str, ModuleType] = {module.NAME: module for module in DRIVERS}

FEEDS_BALLOON_LINE = {"virtio_balloon", "hv_balloon", "xen_balloon", "pseries_cmm"}
"""Drivers whose whole size is in meminfo ``Balloon:`` (>= 6.15). vmw_balloon feeds only
its 4 KiB pages, so its figure comes from its own debugfs file."""

USES_BALLOON_CORE = {"virtio_balloon", "pseries_cmm"}
"""Drivers counted by the vmstat ``balloon_inflate``/``balloon_deflate`` events (vmw too,
but it has its own exact figure)."""


def title(driver: str) -> str:
    """The driver's declared title (``virtio balloon``); the name itself for an unknown one."""
    module = BY_NAME.get(driver)
    return str(module.TITLE) if module is not None else driver


def stat_spec(driver: str, stat: str) -> StatSpec:
    """How ``driver`` declares its statistic ``stat`` (an empty spec when it does not)."""
    module = BY_NAME.get(driver)
    spec = module.STATS.get(stat) if module is not None else None
    return spec if isinstance(spec, StatSpec) else NO_SPEC


def looked_for() -> list[str]:
    """``virtio_balloon (/sys/bus/virtio, ...)``: every driver and where it is looked for."""
    return [f"{module.NAME} ({module.LOOKS_AT})" for module in DRIVERS]


def names() -> list[str]:
    return [str(module.NAME) for module in DRIVERS]
