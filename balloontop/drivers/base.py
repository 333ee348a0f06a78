"""What every driver module shares: the reading context, stat tables, debugfs state.

A driver module declares, once, what every output (the pane, the help, the snapshot text,
JSON, metrics, recordings) reads about it: ``NAME``, ``TITLE`` (the pane's title),
``LOOKS_AT`` (where it is found, for "no balloon found") and ``STATS`` (name ->
``StatSpec``); and two functions: ``detect(ctx)`` (instances present) and
``read(ctx) -> list[DriverReading]``. ``ctx`` holds what the sampler already read this
tick, so no file is read twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

from ..model import NO_SPEC, Accounting, DriverReading, Stat, StatSpec, VirtioDevice, frozen_map
from ..rootfs import ReadError
from ..tree import FileTree

DEBUGFS = "sys/kernel/debug"
MOUNT_DEBUGFS = "mount -t debugfs none /sys/kernel/debug"

DebugfsState = Literal["mounted", "not-mounted", "no-permission"]

BALLOON = StatSpec("kB", "memory returned to the host by balloon drivers (/proc/meminfo, Linux >= 6.15)")
"""meminfo ``Balloon:``, shown by every driver that feeds it."""


class ReadContext(NamedTuple):
    """One tick's shared readings, handed to every driver."""

    root: FileTree
    meminfo: Mapping[str, int]
    vmstat: Mapping[str, int]
    virtio_devices: tuple[VirtioDevice, ...]
    page_size: int
    debugfs: DebugfsState


def debugfs_state(root: FileTree) -> DebugfsState:
    """Whether ``<root>/sys/kernel/debug`` is usable; never mounts anything.

    The mount table says it where the root has one (``proc/self/mounts``, else
    ``proc/mounts``); otherwise a folder with entries (dot-files aside) counts as mounted.
    """
    mounts = root.text("proc/self/mounts") or root.text("proc/mounts")
    if mounts:
        mounted = any(line.split()[1:3] == ["/sys/kernel/debug", "debugfs"] for line in mounts.splitlines())
        if not mounted:
            return "not-mounted"
    listed, why = root.list_entries(DEBUGFS)
    if listed is None:
        return "no-permission" if why == "permission" else "not-mounted"
    entries = [e for e in listed if not e.startswith(".")]
    return "mounted" if entries else "not-mounted"


def debugfs_warning(state: DebugfsState, file: str, why: str) -> str | None:
    """Plain words for a debugfs file that cannot be read, with what to do about it."""
    if state == "not-mounted":
        return f"debugfs is not mounted, so {why} (/sys/kernel/debug/{file}); as root: {MOUNT_DEBUGFS}"
    if state == "no-permission":
        return f"debugfs is readable only by root, so {why}: run balloontop as root"
    return None


def debugfs_problem(ctx: ReadContext, file: str, why: str, error: ReadError | None, needs: str = "") -> str | None:
    """Why the driver's debugfs ``file`` was not read, and what to do, in one line."""
    note = debugfs_warning(ctx.debugfs, file, why)
    if note is None and error is not None:
        note = f"/sys/kernel/debug/{file}: {error.detail}{f' ({needs})' if needs else ''}"
    return note


def own_reading(
    name: str,
    instance: str,
    inflated_kib: int | None,
    source: str,
    accounting: Accounting,
    stats: Mapping[str, Stat],
    warnings: list[str] | tuple[str, ...],
) -> DriverReading:
    """A reading from the driver's own file: exact when the size was read, else no source."""
    return DriverReading(
        driver=name,
        instance=instance,
        inflated_kib=inflated_kib,
        source=source if inflated_kib is not None else None,
        exact=inflated_kib is not None,
        accounting=accounting,
        stats=stats,
        warnings=tuple(warnings),
    )


def make_stats(specs: Mapping[str, StatSpec], values: Mapping[str, object]) -> Mapping[str, Stat]:
    """Stats for the ``values`` present, described by ``specs`` (unknown names kept as-is)."""
    stats: dict[str, Stat] = {}
    for name, value in values.items():
        if value is None:
            continue
        stats[name] = Stat(value, specs.get(name, NO_SPEC))  # type: ignore[arg-type]
    return frozen_map(stats)
