"""virtio-mem (device id 24): ``drivers/virtio/virtio_mem.c``.

Not a balloon: it plugs and unplugs memory blocks, so MemTotal moves, but no file gives
its plugged or requested size to the guest. Reported as present, never counted in the
balloon total.
"""

from __future__ import annotations

from ..model import DriverReading, StatSpec, VirtioDevice
from ..parsers import parse_int
from ..units import bytes_to_kib
from .base import ReadContext, make_stats

NAME = "virtio_mem"
TITLE = "virtio-mem"
LOOKS_AT = "/sys/bus/virtio, device 24"
DEVICE_ID = 24

STATS = {
    "plugged_kib": StatSpec("KiB", "memory plugged by this device (its System RAM in /proc/iomem; needs root)"),
    "block_size_bytes": StatSpec("bytes", "memory block size: the unit virtio-mem plugs and unplugs"),
    "MemTotal": StatSpec("kB", "MemTotal, which moves as virtio-mem plugs and unplugs blocks"),
    "role": StatSpec("", "virtio-mem is not a balloon: it is not counted in the balloon total"),
}

def detect(ctx: ReadContext) -> list[VirtioDevice]:
    return [d for d in ctx.virtio_devices if d.device_id == DEVICE_ID]


def read(ctx: ReadContext) -> list[DriverReading]:
    devices = detect(ctx)
    if not devices:  # /proc/iomem is long and built on each read: only with a device to show
        return []
    readings = []
    iomem = ctx.root.text("proc/iomem")
    block_size = parse_int("0x" + (ctx.root.text("sys/devices/system/memory/block_size_bytes") or "").strip())
    for device in devices:
        values = {
            "plugged_kib": plugged_kib(iomem, device.instance) if iomem else None,
            "block_size_bytes": block_size,
            "MemTotal": ctx.meminfo.get("MemTotal"),
            "role": "memory hotplug, not a balloon",
        }
        readings.append(
            DriverReading(
                driver=NAME,
                instance=device.instance,
                inflated_kib=None,
                source=None,
                exact=False,
                accounting=None,
                stats=make_stats(STATS, values),
                features=device.features,
                counts_in_total=False,
            )
        )
    return readings


def plugged_kib(iomem: str, instance: str) -> int | None:
    """Σ ``System RAM (virtio_mem)`` ranges under the device's resource in /proc/iomem.

    ``None`` when the device has no resource there or the addresses are hidden (shown as
    zeros to anyone but root).
    """
    total, inside, depth, hidden = 0, False, 0, False
    for line in iomem.splitlines():
        span, _, name = line.partition(" : ")
        indent = len(span) - len(span.lstrip())
        try:
            start, end = (int(x, 16) for x in span.strip().split("-"))
        except ValueError:
            continue
        if name.strip() == instance:
            inside, depth = True, indent
            continue
        if inside and indent <= depth:
            inside = False
        if inside and name.strip() == "System RAM (virtio_mem)":
            hidden = hidden or (start == end == 0)
            total += end - start + 1
    return bytes_to_kib(total) if total and not hidden else None
