"""Samples and events rebuilt from their JSON (a recording's lines, a remote guest's answer),
checked as they are rebuilt: a field of the wrong type, a number that is not finite or that is
beyond what a kernel can report raises ``ValueError`` naming the field, so a reader skips that
one line instead of carrying a poisoned value into sums, charts and JSON output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .drivers import stat_spec
from .host.reading import host_reading_from_json
from .model import (
    BalloonTotal,
    DriverReading,
    Event,
    FeatureSet,
    Sample,
    Stat,
    StatSpec,
    SystemInfo,
    VirtioDevice,
    frozen_map,
)

MAX_KIB = 1 << 54  # a size in kB beyond what a 64-bit kernel counts (as parsers.MAX_KIB)
MAX_COUNT = 1 << 64  # a 64-bit counter
MAX_TIME = 1e12  # seconds since the epoch: about year 33658
MAX_TEXT = 4096  # a name or message in a recording


def _number(value: Any, where: str, low: float, high: float) -> float:
    """A finite JSON number within [low, high]; ``ValueError`` saying which field is wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} is not a number")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{where} out of range")
    return float(value)


def _int(value: Any, where: str, low: int = 0, high: int = MAX_COUNT) -> int:
    """A JSON integer (or integral number) within [low, high)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where} is not an integer")
    if not low <= value < high:
        raise ValueError(f"{where} out of range")
    return value


def _opt_int(value: Any, where: str, low: int = 0, high: int = MAX_COUNT) -> int | None:
    return None if value is None else _int(value, where, low, high)


def _opt_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where} is not a string")
    return value[:MAX_TEXT]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{where} is not a list")
    return tuple(_opt_str(v, where) or "" for v in value)


def _counts(value: Any, where: str) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object")
    return {str(k)[:MAX_TEXT]: _int(v, f"{where}.{str(k)[:40]}") for k, v in value.items()}


def _bits(value: Any, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{where} is not a list")
    return tuple(_int(b, where, 0, 1024) for b in value)


def _features(obj: dict[str, Any] | None) -> FeatureSet | None:
    if not obj:
        return None
    return FeatureSet(
        raw=str(obj.get("raw", ""))[:1024],
        bits=_bits(obj.get("bits"), "features.bits"),
        unknown_bits=_bits(obj.get("unknown_bits"), "features.unknown_bits"),
    )


def _stat_value(value: Any, where: str) -> int | float | str | None:
    if isinstance(value, bool):
        return value
    if value is None or isinstance(value, str):
        return value if value is None else value[:MAX_TEXT]
    if isinstance(value, int) and not isinstance(value, bool):
        return _int(value, where, -MAX_COUNT, MAX_COUNT)
    return _number(value, where, -1e30, 1e30)


def _stat(driver: str, name: str, recorded: Any) -> Stat:
    """A recorded statistic: a value (schema 2), or ``{"value", "unit", "meaning"}`` (schema 1,
    whose own unit and meaning are kept)."""
    where = f"stats.{name[:40]}"
    if isinstance(recorded, dict):
        return Stat(_stat_value(recorded.get("value"), where),
                    StatSpec(_opt_str(recorded.get("unit", ""), "stat unit") or "",
                             _opt_str(recorded.get("meaning", ""), "stat meaning") or ""))
    return Stat(_stat_value(recorded, where), stat_spec(driver, name))


def _driver(obj: dict[str, Any]) -> DriverReading:
    driver = _opt_str(obj["driver"], "driver") or ""
    stats = {str(name)[:MAX_TEXT]: _stat(driver, str(name)[:MAX_TEXT], s)
             for name, s in (obj.get("stats") or {}).items()}
    return DriverReading(
        driver=driver,
        instance=_opt_str(obj["instance"], "instance") or "",
        inflated_kib=_opt_int(obj.get("inflated_kib"), "inflated_kib", 0, MAX_KIB),
        source=_opt_str(obj.get("source"), "source"),
        exact=bool(obj.get("exact", False)),
        accounting=obj.get("accounting") if obj.get("accounting") in ("total", "used") else None,
        stats=frozen_map(stats),
        warnings=_strings(obj.get("warnings"), "warnings"),
        features=_features(obj.get("features")),
        counts_in_total=bool(obj.get("counts_in_total", True)),
    )


def _virtio(obj: dict[str, Any]) -> VirtioDevice:
    return VirtioDevice(
        instance=_opt_str(obj["instance"], "instance") or "",
        device_id=_opt_int(obj.get("device_id"), "device_id"),
        type=_opt_str(obj.get("type"), "type"),
        vendor=_opt_int(obj.get("vendor"), "vendor"),
        status=_opt_int(obj.get("status"), "status"),
        status_flags=_strings(obj.get("status_flags"), "status_flags"),
        bus_address=_opt_str(obj.get("bus_address"), "bus_address"),
        driver=_opt_str(obj.get("driver"), "driver"),
        features=_features(obj.get("features")),
        offered_bits=_bits(obj["offered_bits"], "offered_bits") if obj.get("offered_bits") is not None else None,
    )


def _guest(value: Any) -> Mapping[str, Any] | None:
    """A remote guest's ``{"name", "transport", "target", "hostname"}`` (strings or null)."""
    if not isinstance(value, dict):
        return None
    keys = ("name", "transport", "target", "hostname")
    return frozen_map({k: _opt_str(value.get(k), f"guest.{k}") for k in keys})


def sample_from_json(obj: dict[str, Any]) -> Sample:
    """The ``Sample`` that ``sample.to_json()`` (or a recording's sample line) describes.

    Raises ``KeyError``/``TypeError``/``ValueError`` when ``obj`` is not such a document,
    or a value is of the wrong type, not finite, or beyond what a kernel can report.
    """
    system = obj["system"]
    balloon = obj.get("balloon") or {}
    uptime = system.get("uptime_s")
    return Sample(
        time=_number(obj["time"], "time", -MAX_TIME, MAX_TIME),
        root=str(obj.get("root", ""))[:MAX_TEXT],
        system=SystemInfo(
            kernel=_opt_str(system.get("kernel"), "kernel"),
            hostname=_opt_str(system.get("hostname"), "hostname"),
            page_size=_int(system.get("page_size") or 4096, "page_size", 1, 1 << 40),
            page_size_source=str(system.get("page_size_source", ""))[:MAX_TEXT],
            uptime_s=None if uptime is None else _number(uptime, "uptime_s", 0, MAX_TIME),
            mem_total_kib=_opt_int(system.get("mem_total_kib"), "mem_total_kib", 0, MAX_KIB),
            mem_free_kib=_opt_int(system.get("mem_free_kib"), "mem_free_kib", 0, MAX_KIB),
            mem_available_kib=_opt_int(system.get("mem_available_kib"), "mem_available_kib", 0, MAX_KIB),
        ),
        meminfo=frozen_map(_counts(obj.get("meminfo"), "meminfo")),
        vmstat=frozen_map(_counts(obj.get("vmstat"), "vmstat")),
        balloon=BalloonTotal(
            kib=_opt_int(balloon.get("kib"), "balloon.kib", 0, MAX_KIB),
            source=_opt_str(balloon.get("source"), "balloon.source"),
            exact=bool(balloon.get("exact")),
        ),
        drivers=tuple(_driver(d) for d in obj.get("drivers") or ()),
        virtio_devices=tuple(_virtio(d) for d in obj.get("virtio_devices") or ()),
        warnings=_strings(obj.get("warnings"), "warnings"),
        host=host_reading_from_json(obj.get("host")),  # absent before --qmp; malformed: None
        guest=_guest(obj.get("guest")),
    )


def event_from_json(obj: dict[str, Any]) -> Event:
    """The ``Event`` that ``event.to_json()`` describes (``ValueError`` as for samples)."""
    details = obj.get("details") or {}
    if not isinstance(details, dict):
        raise ValueError("details is not an object")
    return Event(
        time=_number(obj["time"], "time", -MAX_TIME, MAX_TIME),
        kind=str(obj["kind"])[:MAX_TEXT],
        message=str(obj.get("message", ""))[:MAX_TEXT],
        kib=_opt_int(obj.get("kib"), "kib", -MAX_KIB, MAX_KIB),
        driver=_opt_str(obj.get("driver"), "driver"),
        instance=_opt_str(obj.get("instance"), "instance"),
        details=frozen_map(details),
        guest=_opt_str(obj.get("guest"), "guest"),
    )
