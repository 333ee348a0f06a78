"""The readable one-shot report of ``balloontop snapshot`` (and of a monitor without a TTY)."""

from __future__ import annotations

from . import drivers
from .balloon import accounting_words, balloon_share
from .model import DriverReading, FeatureSet, Sample
from .units import format_duration, format_kib
from .virtio.decode import decode_bits


def feature_names(features: FeatureSet, device_id: int | None) -> str:
    """``1 STATS_VQ, 2 DEFLATE_ON_OOM, 7 unknown`` (macro prefixes dropped)."""
    parts = [f"{bit.bit} {bit.short_name or 'unknown'}" for bit in decode_bits(features.bits, device_id)]
    return ", ".join(parts) if parts else "none"


def _driver_lines(reading: DriverReading, device_id: int | None) -> list[str]:
    size = format_kib(reading.inflated_kib)
    how = f"{reading.source}{'' if reading.exact else ', approximate'}" if reading.source else "no source"
    lines = [f"{reading.driver} {reading.instance}: {size} ({how})"]
    if reading.counts_in_total:
        lines.append(f"  accounting: {accounting_words(reading.accounting)}")
    if reading.features is not None:
        lines.append(f"  features: {feature_names(reading.features, device_id)}")
    width = max((len(name) for name in reading.stats), default=0)
    for name, stat in reading.stats.items():
        value = f"{stat.value} {stat.unit}".rstrip()
        lines.append(f"  {name:<{width}}  {value:<18} {stat.meaning}")
    lines.extend(f"  ! {warning}" for warning in reading.warnings)
    return lines


def render_text(sample: Sample) -> str:
    system = sample.system
    lines = [
        f"balloontop snapshot of {sample.root}",
        f"host {system.hostname or 'unknown'}, kernel {system.kernel or 'unknown'}, "
        f"uptime {format_duration(system.uptime_s)}, page size {system.page_size} ({system.page_size_source})",
        "",
        f"MemTotal {format_kib(system.mem_total_kib)}   MemFree {format_kib(system.mem_free_kib)}   "
        f"MemAvailable {format_kib(system.mem_available_kib)}",
    ]
    total = sample.balloon
    if total.kib is None:
        lines.append("Ballooned: unknown")
    else:
        share = balloon_share(sample.drivers, sample.meminfo, total.kib)
        share_text = f", {share:.1%} of the guest's memory" if share is not None else ""
        exact = "exact" if total.exact else "approximate"
        lines.append(f"Ballooned: {format_kib(total.kib)}{share_text} ({total.source}, {exact})")
    modes = {r.accounting for r in sample.drivers if r.counts_in_total and r.accounting}
    for mode in sorted(modes):
        lines.append(f"  {accounting_words(mode)}")
    device_ids = {d.instance: d.device_id for d in sample.virtio_devices}
    if not sample.drivers:
        *others, last = drivers.names()
        lines += ["", f"No balloon driver found (looked for {', '.join(others)} and {last})."]
    for reading in sample.drivers:
        lines += ["", *_driver_lines(reading, device_ids.get(reading.instance))]
    if sample.virtio_devices:
        lines += ["", "virtio devices:"]
        for device in sample.virtio_devices:
            kind = device.type or (f"id {device.device_id}" if device.device_id is not None else "unknown")
            lines.append(
                f"  {device.instance:<9} {kind:<10} driver {device.driver or 'none':<28} "
                f"at {device.bus_address or '?':<14} {'|'.join(device.status_flags) or 'no status'}"
            )
    lines.extend(f"! {warning}" for warning in sample.warnings)
    if sample.host is not None:
        from .host.text import host_lines

        lines.extend(host_lines(sample))
    return "\n".join(lines) + "\n"
