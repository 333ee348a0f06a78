"""Immutable values the core produces: one ``Sample`` per reading of a root.

Everything here is a frozen dataclass, a NamedTuple or a read-only mapping, so a sample can be
handed to another thread, kept in history or serialised without copying. The small records
(``StatSpec``, ``Stat``, ``FeatureSet``, ``BalloonTotal``, ``Event``) are NamedTuples: a dataclass
costs ~1-1.5 ms to create at import, which the monitor's start pays for. Serialise them with
their ``to_json()``, never as they are (``json.dumps`` would write a NamedTuple as a list).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from .host.reading import HostReading

Accounting = Literal["total", "used"]
"""``total``: ballooned memory is removed from MemTotal (the design note's InflatedTotal);
``used``: it stays in MemTotal and looks used (InflatedFree)."""

EMPTY: Mapping[str, Any] = MappingProxyType({})


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only view of a fresh copy of ``items``."""
    return MappingProxyType(dict(items or {}))


class StatSpec(NamedTuple):
    """How one statistic is described everywhere: pane, help, JSON and metrics."""

    unit: str
    meaning: str


NO_SPEC = StatSpec("", "")
"""The spec of a statistic no driver declares (a recording from another version)."""


class Stat(NamedTuple):
    """One statistic of a driver: its value, and the spec its driver declares (shared, not copied)."""

    value: int | float | str | None
    spec: StatSpec = NO_SPEC

    @property
    def unit(self) -> str:
        return self.spec.unit

    @property
    def meaning(self) -> str:
        return self.spec.meaning

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.spec.unit, "meaning": self.spec.meaning}


class FeatureSet(NamedTuple):
    """A virtio ``features`` string decoded: bit numbers set, and those no table names."""

    raw: str
    bits: tuple[int, ...]
    unknown_bits: tuple[int, ...] = ()

    @property
    def width(self) -> int:
        return len(self.raw)

    def has(self, bit: int) -> bool:
        return bit in self.bits

    def to_json(self) -> dict[str, Any]:
        return {"raw": self.raw, "bits": list(self.bits), "unknown_bits": list(self.unknown_bits)}


@dataclass(frozen=True)
class VirtioDevice:
    """One ``/sys/bus/virtio/devices/virtioN`` directory, as read."""

    instance: str
    device_id: int | None
    type: str | None
    vendor: int | None
    status: int | None
    status_flags: tuple[str, ...]
    bus_address: str | None
    driver: str | None
    features: FeatureSet | None
    offered_bits: tuple[int, ...] | None = None
    """Bits the device offers (debugfs ``virtio/virtioN/device_features``, CONFIG_VIRTIO_DEBUG)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "device_id": self.device_id,
            "type": self.type,
            "vendor": self.vendor,
            "status": self.status,
            "status_flags": list(self.status_flags),
            "bus_address": self.bus_address,
            "driver": self.driver,
            "features": self.features.to_json() if self.features else None,
            "offered_bits": list(self.offered_bits) if self.offered_bits is not None else None,
        }


@dataclass(frozen=True)
class DriverReading:
    """What one balloon mechanism instance reports in one reading."""

    driver: str
    instance: str
    inflated_kib: int | None
    source: str | None
    exact: bool
    accounting: Accounting | None
    stats: Mapping[str, Stat] = field(default_factory=lambda: EMPTY)
    warnings: tuple[str, ...] = ()
    features: FeatureSet | None = None
    counts_in_total: bool = True
    """False for virtio_mem: present, but not a balloon."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "driver": self.driver,
            "instance": self.instance,
            "inflated_kib": self.inflated_kib,
            "source": self.source,
            "exact": self.exact,
            "accounting": self.accounting,
        }
        if self.features is not None:
            out["features"] = self.features.to_json()
        out["stats"] = {name: stat.to_json() for name, stat in self.stats.items()}
        out["warnings"] = list(self.warnings)
        out["counts_in_total"] = self.counts_in_total
        return out


class BalloonTotal(NamedTuple):
    """The guest's total ballooned memory and where the figure came from."""

    kib: int | None
    source: str | None
    exact: bool

    def to_json(self) -> dict[str, Any]:
        return {"kib": self.kib, "source": self.source, "exact": self.exact}


@dataclass(frozen=True)
class SystemInfo:
    """Who the guest is: kernel, host name, page size and headline memory figures."""

    kernel: str | None
    hostname: str | None
    page_size: int
    page_size_source: str
    uptime_s: float | None
    mem_total_kib: int | None
    mem_free_kib: int | None
    mem_available_kib: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "kernel": self.kernel,
            "hostname": self.hostname,
            "page_size": self.page_size,
            "page_size_source": self.page_size_source,
            "uptime_s": self.uptime_s,
            "mem_total_kib": self.mem_total_kib,
            "mem_free_kib": self.mem_free_kib,
            "mem_available_kib": self.mem_available_kib,
        }


SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Sample:
    """One reading of a root: the unit the monitor, recorder and exporter work on."""

    time: float
    root: str
    system: SystemInfo
    meminfo: Mapping[str, int]
    vmstat: Mapping[str, int]
    balloon: BalloonTotal
    drivers: tuple[DriverReading, ...]
    virtio_devices: tuple[VirtioDevice, ...]
    warnings: tuple[str, ...] = ()
    guest: Mapping[str, Any] | None = None
    """For a remote guest: ``{"name", "transport" ("via"|"ssh"), "target", "hostname"}``."""
    host: HostReading | None = None
    """The host's view of the same balloon (``--qmp``), or None without a host source."""

    def driver(self, driver: str, instance: str | None = None) -> DriverReading | None:
        """The first reading of ``driver`` (and ``instance``, when given)."""
        for reading in self.drivers:
            if reading.driver == driver and (instance is None or reading.instance == instance):
                return reading
        return None

    def to_json(self) -> dict[str, Any]:
        """The ``balloontop snapshot --json`` document (schema 1)."""
        return {
            "schema": SCHEMA_VERSION,
            "time": self.time,
            "root": self.root,
            "guest": dict(self.guest) if self.guest is not None else None,
            "system": self.system.to_json(),
            "meminfo": dict(self.meminfo),
            "vmstat": dict(self.vmstat),
            "balloon": self.balloon.to_json(),
            "drivers": [d.to_json() for d in self.drivers],
            "virtio_devices": [d.to_json() for d in self.virtio_devices],
            "warnings": list(self.warnings),
            "host": self.host.to_json() if self.host is not None else None,
        }


class Event(NamedTuple):
    """Something that happened between samples (or in the kernel log), in one line."""

    time: float
    kind: str
    message: str
    kib: int | None = None
    driver: str | None = None
    instance: str | None = None
    details: Mapping[str, Any] = EMPTY  # read-only: one shared empty mapping is safe
    guest: str | None = None
    """The guest it happened on, when the monitor watches several (``None``: the only one)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "event", "kind": self.kind, "time": self.time}
        if self.kib is not None:
            out["kib"] = self.kib
        out["message"] = self.message
        if self.driver is not None:
            out["driver"] = self.driver
        if self.instance is not None:
            out["instance"] = self.instance
        if self.details:
            out["details"] = dict(self.details)
        if self.guest is not None:
            out["guest"] = self.guest
        return out


UNKNOWN_USER = "?"
"""``ProcRow.user`` when the owner is not known (a remote guest's list names none)."""


class ProcRow(NamedTuple):
    """One process of the guest's largest memory users (the monitor's process list)."""

    pid: int
    user: str
    rss_kib: int
    mem_percent: float
    command: str
