"""virtio_balloon (KVM/QEMU, Firecracker, cloud-hypervisor): ``drivers/virtio/virtio_balloon.c``.

Mainline has no file giving the balloon's size to the guest: on Linux >= 6.15 it is
``Balloon:`` in /proc/meminfo (exact); before, ``balloon_inflate - balloon_deflate``
from /proc/vmstat (pages since boot). The size is attributed by ``balloontop.balloon``.
vzkernel adds ``/sys/kernel/debug/virtio-balloon`` (the design note's file), which wins
when present. DEFLATE_ON_OOM decides the accounting: with it the ballooned pages stay in
MemTotal and look used; without it the driver removes them from MemTotal.
"""

from __future__ import annotations

from ..model import Accounting, DriverReading, FeatureSet, StatSpec, VirtioDevice
from ..parsers.meminfo import parse_meminfo
from ..virtio.tables import BALLOON_F_DEFLATE_ON_OOM
from .base import BALLOON, DEBUGFS, ReadContext, make_stats

NAME = "virtio_balloon"
TITLE = "virtio balloon"
LOOKS_AT = "/sys/bus/virtio, meminfo Balloon:, vmstat balloon_*"
DEVICE_ID = 5
DEBUGFS_FILE = "virtio-balloon"
VMSTAT_FIELDS = ("balloon_inflate", "balloon_deflate", "balloon_migrate", "nr_balloon_pages")

STATS = {
    "Balloon": BALLOON,
    "nr_balloon_pages": StatSpec("pages", "pages in balloons now (/proc/vmstat, Linux >= 6.15)"),
    "balloon_inflate": StatSpec("pages", "pages put into the balloon since boot"),
    "balloon_deflate": StatSpec("pages", "pages taken back out of the balloon since boot"),
    "balloon_migrate": StatSpec("pages", "balloon pages moved by memory compaction since boot"),
    "InflatedTotal": StatSpec("kB", "ballooned memory removed from MemTotal (vzkernel debugfs)"),
    "InflatedFree": StatSpec("kB", "ballooned memory counted as used (vzkernel debugfs)"),
    "deflate_on_oom": StatSpec("", "DEFLATE_ON_OOM negotiated: the guest takes pages back under memory pressure"),
}


def detect(ctx: ReadContext) -> list[VirtioDevice]:
    return [d for d in ctx.virtio_devices if d.device_id == DEVICE_ID]


def deflate_on_oom(features: FeatureSet | None) -> bool | None:
    """Whether a virtio balloon negotiated DEFLATE_ON_OOM; ``None`` when its features are unknown.

    The one place that tests the bit: the accounting, the pane, the OOM account and the
    deflate-on-OOM inference all ask here.
    """
    return None if features is None else features.has(BALLOON_F_DEFLATE_ON_OOM)


def reading_deflate_on_oom(reading: DriverReading) -> bool | None:
    """``deflate_on_oom`` of a virtio_balloon reading; ``None`` for any other driver."""
    return deflate_on_oom(reading.features) if reading.driver == NAME else None


def accounting_of(device: VirtioDevice) -> Accounting | None:
    """``used`` with DEFLATE_ON_OOM negotiated, ``total`` without, ``None`` if unknown."""
    negotiated = deflate_on_oom(device.features)
    if negotiated is None:
        return None
    return "used" if negotiated else "total"


def read(ctx: ReadContext) -> list[DriverReading]:
    readings = []
    debug_text = ctx.root.text(f"{DEBUGFS}/{DEBUGFS_FILE}") if ctx.debugfs == "mounted" else None
    for device in detect(ctx):
        warnings: list[str] = []
        accounting = accounting_of(device)
        values: dict[str, object] = {name: ctx.vmstat.get(name) for name in VMSTAT_FIELDS}
        values["Balloon"] = ctx.meminfo.get("Balloon")
        if device.features is not None:
            values["deflate_on_oom"] = "yes" if accounting == "used" else "no"
        inflated = source = None
        if debug_text is not None:
            inflated, source, accounting = _from_debugfs(debug_text, values, accounting, warnings)
        if device.driver is None:
            warnings.append(f"{device.instance} has no driver bound: nothing can inflate this balloon")
        elif device.driver != NAME:
            warnings.append(f"{device.instance} is bound to {device.driver}, not {NAME}")
        if device.features is None:
            warnings.append(f"{device.instance}: features unreadable, so the accounting mode is unknown")
        readings.append(
            DriverReading(
                driver=NAME,
                instance=device.instance,
                inflated_kib=inflated,
                source=source,
                exact=inflated is not None,
                accounting=accounting,
                stats=make_stats(STATS, values),
                warnings=tuple(warnings),
                features=device.features,
            )
        )
    return readings


def _from_debugfs(
    text: str, values: dict[str, object], accounting: Accounting | None, warnings: list[str]
) -> tuple[int | None, str | None, Accounting | None]:
    fields, problems = parse_meminfo(text, source=f"debugfs {DEBUGFS_FILE}")
    warnings.extend(problems)
    total, free = fields.get("InflatedTotal"), fields.get("InflatedFree")
    if total is None or free is None:
        return None, None, accounting
    values.update(InflatedTotal=total, InflatedFree=free)
    if total:
        accounting = "total"
    elif free:
        accounting = "used"
    return total + free, "debugfs:virtio-balloon", accounting
