"""What the monitor shows, as plain markup lines built from samples (no widgets here).

Keeping the wording out of the widgets lets the poll thread build every line off the UI
thread and lets the widgets compare strings to skip identical refreshes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from textual.markup import escape

from ..balloon import accounting_words, balloon_share
from ..hoststats import host_stats
from ..model import DriverReading, Event, Sample, VirtioDevice
from ..units import format_kib

STATS_VQ = 1
DEFLATE_ON_OOM = 2

DRIVER_TITLES = {
    "virtio_balloon": "virtio balloon",
    "hv_balloon": "Hyper-V balloon",
    "vmw_balloon": "VMware balloon",
    "xen_balloon": "Xen balloon",
    "pseries_cmm": "pseries CMM",
    "s390_cmm": "s390 CMM",
    "virtio_mem": "virtio-mem",
}

LOOKED_FOR = (
    "virtio_balloon (/sys/bus/virtio, meminfo Balloon:, vmstat balloon_*)",
    "hv_balloon (/sys/kernel/debug/hv-balloon)",
    "vmw_balloon (/sys/kernel/debug/vmmemctl)",
    "xen_balloon (/sys/devices/system/xen_memory)",
    "pseries CMM (/sys/devices/system/cmm)",
    "s390 CMM (/proc/sys/vm/cmm_*)",
    "virtio-mem (/sys/bus/virtio, device 24)",
)


def pane_id(reading: DriverReading) -> str:
    return f"{reading.driver}:{reading.instance}"


def pane_title(reading: DriverReading) -> str:
    return f"{DRIVER_TITLES.get(reading.driver, reading.driver)} · {reading.instance}"


def fmt_count(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def fmt_stat(value: object, unit: str, page_size: int) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, str):
        return escape(value)
    if unit in ("kB", "KiB"):
        return f"{format_kib(value)}"
    if unit == "pages" and isinstance(value, (int, float)):
        return f"{fmt_count(value)} pages ({format_kib(value * page_size // 1024)})"
    if unit == "bytes" and isinstance(value, (int, float)):
        return format_kib(value / 1024)
    suffix = f" {escape(unit)}" if unit else ""
    return f"{fmt_count(value) if isinstance(value, (int, float)) else escape(str(value))}{suffix}"


def _mark(text: str, changed: bool) -> str:
    return f"[b $changed]{text}[/]" if changed else text


def header_line(sample: Sample | None, hostname: str | None, interval: float, paused: bool,
                uptime: float | None, source_label: str, state: str | None = None) -> str:
    """The header; ``state`` replaces LIVE/PAUSED (a replay's position)."""
    system = sample.system if sample else None
    host = hostname or (system.hostname if system else None) or "unknown host"
    kernel = (system.kernel if system else None) or "?"
    up = uptime if uptime is not None else (system.uptime_s if system else None)
    up_text = fmt_uptime(up)
    if state is None:
        state = "[b $warning]PAUSED[/]" if paused else "[b $success]LIVE[/]"
    return (f"[b]balloontop[/] [$muted]·[/] {escape(host)} [$muted]·[/] {escape(kernel)} "
            f"[$muted]· up[/] {up_text} [$muted]· every[/] {interval:g} s [$muted]·[/] "
            f"{state}{escape(source_label)}")


def fmt_kib(kib: int | float | None) -> str:
    return format_kib(kib)


def fmt_clock(seconds: float) -> str:
    """``mm:ss`` or ``h:mm:ss``: a position in a replay."""
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def fmt_uptime(seconds: float | None) -> str:
    """``3d 04:12`` / ``04:12`` (hours:minutes): minutes only, so the header does not
    change every tick (bytes/s budget)."""
    if seconds is None:
        return "?"
    minutes = int(seconds) // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    return f"{days}d {hours:02d}:{minutes:02d}" if days else f"{hours:02d}:{minutes:02d}"


def summary_lines(sample: Sample, rate: float | None) -> list[str]:
    s = sample.system
    kib = sample.balloon.kib
    share = balloon_share(sample.drivers, sample.meminfo, kib)
    how = "exact" if sample.balloon.exact else "estimated"
    src = f", {sample.balloon.source}" if sample.balloon.source else ""
    ball = "[$muted]none found[/]" if not sample.drivers and not kib else (
        f"[b $accent]{format_kib(kib)}[/]"
        + (f" = {share * 100:.1f} % of the guest's memory" if share is not None else "")
        + f" [$muted]({how}{escape(src)})[/]")
    first = (f"MemTotal [b]{format_kib(s.mem_total_kib)}[/]   "
             f"MemAvailable [b]{format_kib(s.mem_available_kib)}[/]   Ballooned {ball}")
    lines = [first]
    words = []
    for r in sample.drivers:
        if not r.counts_in_total:
            continue
        why = ""
        if r.driver == "virtio_balloon" and r.features is not None:
            why = (" (DEFLATE_ON_OOM negotiated)" if r.features.has(DEFLATE_ON_OOM)
                   else " (DEFLATE_ON_OOM not negotiated)")
        words.append(f"{escape(r.instance)}: {accounting_words(r.accounting)}{why}")
    if words:
        lines.append("; ".join(words) + ".")
    elif not sample.drivers:
        lines.append("[$muted]No balloon driver: all of MemTotal is the guest's own.[/]")
    return lines


class PaneContent(NamedTuple):
    title: str
    subtitle: str
    lines: list[str]
    virtio: VirtioDevice | None = None
    warnings: tuple[str, ...] | list[str] = ()


def _device_for(sample: Sample, reading: DriverReading) -> VirtioDevice | None:
    for dev in sample.virtio_devices:
        if dev.instance == reading.instance:
            return dev
    return None


def feature_words(reading: DriverReading, device: VirtioDevice | None) -> list[str]:
    from ..virtio.decode import decode_bits

    if reading.features is None:
        return []
    device_id = device.device_id if device else 5
    out = []
    for bit in decode_bits(reading.features.bits, device_id):
        if bit.known and bit.name:
            name = bit.name
            for marker in ("_F_", "VIRTIO_RING_F_", "VIRTIO_"):
                if marker in name:
                    name = name.split(marker, 1)[1]
                    break
            out.append(f"{bit.bit} {escape(name)}")
        else:
            out.append(f"[b $warning]{bit.bit} unknown[/]")
    return out


def _wrap_words(words: Sequence[str], width: int, indent: str) -> list[str]:
    from rich.text import Text

    lines, cur, cur_len = [], [], 0
    for w in words:
        n = len(Text.from_markup(w.replace("$warning", "yellow")).plain) if "[" in w else len(w)
        if cur and cur_len + 2 + n > width:
            lines.append(indent + "  ".join(cur))
            cur, cur_len = [], 0
        cur.append(w)
        cur_len += n + (2 if cur_len else 0)
    if cur:
        lines.append(indent + "  ".join(cur))
    return lines


def pane_content(sample: Sample, reading: DriverReading, prev: Sample | None,
                 width: int = 56) -> PaneContent:
    page = sample.system.page_size or 4096
    before = prev.driver(reading.driver, reading.instance) if prev else None
    lines: list[str] = []
    label = 13
    inflated = format_kib(reading.inflated_kib)
    changed = before is not None and before.inflated_kib != reading.inflated_kib
    how = "exact" if reading.exact else "estimated"
    lines.append(f"{'ballooned':<{label}}[b $accent]{_mark(inflated, changed)}[/]"
                 f" [$muted]({how}, {escape(reading.source or 'no source')})[/]")
    if reading.counts_in_total:
        lines.append(f"{'accounting':<{label}}{escape(accounting_words(reading.accounting))}")
    else:
        lines.append(f"{'accounting':<{label}}[$muted]not a balloon: not counted in the total[/]")
    device = _device_for(sample, reading)
    if reading.features is not None:
        words = feature_words(reading, device)
        wrapped = _wrap_words(words, max(width - label, 20), "")
        for i, chunk in enumerate(wrapped or ["none"]):
            lines.append(f"{'features' if i == 0 else '':<{label}}{chunk}")
    if reading.stats:
        lines.append("[b $primary]driver statistics[/]")
        for name, stat in reading.stats.items():
            old = before.stats.get(name) if before else None
            moved = old is not None and old.value != stat.value
            value = _mark(fmt_stat(stat.value, stat.unit, page), moved)
            lines.append(f"  {escape(name):<{label + 5}}{value}")
    if (reading.driver == "virtio_balloon" and reading.features is not None
            and reading.features.has(STATS_VQ)):
        columns = "QEMU key · guest · host got" if sample.host is not None and sample.host.stats else "QEMU key · virsh"
        lines.append(f"[b $primary]sent to the host (stats queue)[/] [$muted]{columns}[/]")
        stats = host_stats(sample.meminfo, sample.vmstat, page, sample.system.kernel)
        olds = {}
        if prev is not None:
            olds = {h.spec.tag: h.value for h in host_stats(prev.meminfo, prev.vmstat, page,
                                                             prev.system.kernel)}
        host = sample.host
        for h in stats:
            unit = h.spec.unit
            val = "unknown" if h.value is None else (
                format_kib(h.value / 1024) if unit == "bytes" else fmt_count(h.value))
            moved = h.spec.tag in olds and olds[h.spec.tag] != h.value
            if host is not None and host.stats:  # the host's copy beside the guest's own
                got = host.stats.get(h.spec.qemu)
                got_text = "-" if got is None else (
                    format_kib(got / 1024) if unit == "bytes" else fmt_count(got))
                stale = " [$warning]stale[/]" if host.stats_stale and got is not None else ""
                lines.append(f"  {h.spec.qemu[5:]:<17}{_mark(f'{val:<11}', moved)} [$muted]host[/] {got_text}{stale}")
                continue
            virsh = h.spec.virsh or "-"
            lines.append(f"  {h.spec.qemu[5:]:<17}[$muted]{virsh:<16}[/]{_mark(val, moved)}")
    if reading.driver == "virtio_balloon" and sample.host is not None:
        from ..host.text import pane_lines

        host_lines = pane_lines(sample)
        lines.append(f"[b $primary]{escape(host_lines[0])}[/]")
        lines.extend(escape(line) for line in host_lines[1:])
    warnings = list(reading.warnings)
    for w in warnings:
        lines.append(f"[b $warning]! {escape(w)}[/]")
    return PaneContent(pane_title(reading), reading.driver, lines, device, warnings)


def no_balloon_lines(sample: Sample) -> list[str]:
    lines = ["[b]No balloon mechanism found in this guest.[/]", "Looked for:"]
    lines += [f"  [$muted]·[/] {escape(x)}" for x in LOOKED_FOR]
    lines.append("Memory is still shown above and in the graph.")
    lines.append("To see what a balloon looks like: [b]balloontop --demo[/]")
    for w in sample.warnings[:4]:
        lines.append(f"[$warning]! {escape(w)}[/]")
    return lines


def event_line(event: Event) -> str:
    import time

    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    style = {"oom_kill": "$error", "inflate": "$accent", "deflate": "$success",
             "marker": "$primary"}.get(event.kind, "$warning")
    return f"[$muted]{stamp}[/] [b {style}]{event.kind:<9}[/] {escape(event.message)}"


def fmt_rate(rate: float | None) -> str:
    if rate is None or math.isnan(rate):
        return "rate -"
    if abs(rate) < 0.05:
        return "at rest"
    return f"{rate:+.1f} MiB/s"


def stats_mapping(sample: Sample) -> Mapping[str, int]:
    return sample.meminfo
