"""What the monitor shows, as lines built from samples (no widgets here).

Keeping the wording out of the widgets lets the poll thread build every line off the UI
thread and lets the widgets compare lines to skip identical refreshes. A line is markup the
program wrote (``str``) or, when it holds text from the guest, ``Content`` built with
``guest_text.content``: guest text is never parsed as markup (``[/x`` in a process name
would end the monitor with a ``MarkupError``) and never carries control characters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from textual.content import Content

from .. import drivers
from ..balloon import accounting_words, balloon_share
from ..drivers.virtio_balloon import reading_deflate_on_oom
from ..hoststats import host_stats
from ..model import DriverReading, Event, Sample, VirtioDevice
from ..units import KIB, format_kib, format_rate, pages_to_kib
from ..virtio.tables import BALLOON_F_STATS_VQ
from .guest_text import clean, content

Row = str | Content
"""One line of a pane: program markup, or ``Content`` holding guest text."""

HOW = {True: "exact", False: "approximate"}
"""How a balloon size was found, in the words ``snapshot`` and ``report`` use."""



def pane_id(reading: DriverReading) -> str:
    return f"{reading.driver}:{reading.instance}"


def pane_title(reading: DriverReading) -> Content:
    return content("$title · $instance", title=drivers.title(reading.driver),
                   instance=reading.instance)


def fmt_count(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def fmt_stat(value: object, unit: str, page_size: int) -> str:
    """A statistic's value as plain text (the caller inserts it as text, not markup)."""
    if value is None:
        return "unknown"
    if isinstance(value, str):
        return clean(value)
    if unit in ("kB", "KiB") and isinstance(value, (int, float)):
        return format_kib(value)
    if unit == "pages" and isinstance(value, (int, float)):  # the size first: a narrow pane cuts the count
        return f"{format_kib(pages_to_kib(int(value), page_size))} ({fmt_count(value)} pages)"
    if unit == "bytes" and isinstance(value, (int, float)):
        return format_kib(value / KIB)
    suffix = f" {clean(unit)}" if unit else ""
    return f"{fmt_count(value) if isinstance(value, (int, float)) else clean(value)}{suffix}"


def _mark_style(changed: bool) -> str:
    return "b $changed" if changed else ""


def _mark(placeholder: str, changed: bool) -> str:
    """Markup for a value's ``$placeholder``: highlighted when it changed since the last refresh."""
    return f"[b $changed]${placeholder}[/]" if changed else f"${placeholder}"


def header_line(sample: Sample | None, hostname: str | None, interval: float, paused: bool,
                uptime: float | None, source_label: str, state: str | None = None,
                live: bool = True) -> Content:
    """The header; ``state`` (markup) replaces LIVE/PAUSED (a replay's position); ``live``
    is false for a folder read with ``--root`` (a capture: its figures do not move), which
    says STATIC instead of LIVE."""
    system = sample.system if sample else None
    host = hostname or (system.hostname if system else None) or "unknown host"
    kernel = (system.kernel if system else None) or "?"
    up = uptime if uptime is not None else (system.uptime_s if system else None)
    if state is None:
        state = ("[b $warning]PAUSED[/]" if paused else
                 "[b $success]LIVE[/]" if live else "[b $accent]STATIC[/]")
    # The state first and the kernel last: a narrow terminal cuts the kernel's release.
    return content(f"[b]balloontop[/] [$muted]·[/] $host [$muted]·[/] {state} [$muted]every[/] "
                   f"{interval:g} s [$muted]· up[/] $up [$muted]·[/] $kernel$label",
                   host=host, kernel=kernel, up=fmt_uptime(up), label=source_label)


def fmt_kib(kib: int | float | None) -> str:
    return format_kib(kib)


def fmt_clock(seconds: float) -> str:
    """``mm:ss`` or ``h:mm:ss``: a position in a replay."""
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def fmt_uptime(seconds: float | None) -> str:
    """``26m``, ``4h12m``, ``3d 4h12m``: units written out (``00:26`` read as seconds), and
    minutes only, so the header does not change every tick (bytes/s budget)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    minutes = int(seconds) // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h{minutes:02d}m"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def summary_lines(sample: Sample, rate: float | None) -> list[Row]:
    s = sample.system
    kib = sample.balloon.kib
    share = balloon_share(sample.drivers, sample.meminfo, kib)
    how = HOW[bool(sample.balloon.exact)]
    src = f", {sample.balloon.source}" if sample.balloon.source else ""
    if not sample.drivers and not kib:
        ball: Row = "[$muted]none found[/]"
    else:
        of = f" = {share * 100:.1f} % of the guest's memory" if share is not None else ""
        ball = content(f"[b $accent]$kib[/]{of} [$muted]($how)[/]", kib=format_kib(kib),
                       how=how + src)
    # The balloon first: a narrow terminal keeps it in sight.
    lines: list[Row] = [Content.from_markup("Ballooned ")
                        + (Content.from_markup(ball) if isinstance(ball, str) else ball),
                        content("MemTotal [b]$total[/]   MemAvailable [b]$available[/]",
                                total=format_kib(s.mem_total_kib),
                                available=format_kib(s.mem_available_kib))]
    words = []
    for r in sample.drivers:
        if not r.counts_in_total:
            continue
        negotiated = reading_deflate_on_oom(r)
        why = "" if negotiated is None else (" (DEFLATE_ON_OOM negotiated)" if negotiated
                                             else " (DEFLATE_ON_OOM not negotiated)")
        words.append(f"{clean(r.instance)}: {accounting_words(r.accounting)}{why}")
    if words:
        lines.append(content("$words.", words="; ".join(words)))
    elif not sample.drivers:
        lines.append("[$muted]No balloon driver: all of MemTotal is the guest's own.[/]")
    return lines


class PaneContent(NamedTuple):
    title: Content
    subtitle: str
    lines: list[Row]
    virtio: VirtioDevice | None = None
    warnings: tuple[str, ...] | list[str] = ()


def _device_for(sample: Sample, reading: DriverReading) -> VirtioDevice | None:
    for dev in sample.virtio_devices:
        if dev.instance == reading.instance:
            return dev
    return None


def feature_words(reading: DriverReading, device: VirtioDevice | None) -> list[Content]:
    from ..virtio.decode import decode_bits

    if reading.features is None:
        return []
    device_id = device.device_id if device else 5
    out = []
    for bit in decode_bits(reading.features.bits, device_id):
        if bit.known and bit.short_name:
            out.append(content("$bit $name", bit=bit.bit, name=bit.short_name))
        else:
            out.append(content("[b $warning]$bit unknown[/]", bit=bit.bit))
    return out


def _wrap_words(words: Sequence[Content], width: int) -> list[Content]:
    lines: list[Content] = []
    cur: list[Content] = []
    cur_len = 0
    for word in words:
        n = word.cell_length
        if cur and cur_len + 2 + n > width:
            lines.append(Content("  ").join(cur))
            cur, cur_len = [], 0
        cur.append(word)
        cur_len += n + (2 if cur_len else 0)
    if cur:
        lines.append(Content("  ").join(cur))
    return lines


LABEL = 13
"""Width of the pane's first column (``ballooned``, ``accounting``, ``features``)."""


def stat_label_width(names: Sequence[str], cap: int = 24) -> int:
    """The stat name column: the longest name and two spaces, at most ``cap`` (a longer
    name still gets two spaces before its value: labels never run into values)."""
    return min(max((len(name) for name in names), default=0) + 2, cap)


def _label(name: str, width: int) -> str:
    return f"{name:<{width}}" if len(name) + 2 <= width else f"{name}  "


def pane_content(sample: Sample, reading: DriverReading, prev: Sample | None,
                 width: int = 56) -> PaneContent:
    page = sample.system.page_size or 4096
    before = prev.driver(reading.driver, reading.instance) if prev else None
    lines: list[Row] = []
    inflated = format_kib(reading.inflated_kib)
    changed = before is not None and before.inflated_kib != reading.inflated_kib
    lines.append(content(f"{'ballooned':<{LABEL}}[b $accent]{_mark('kib', changed)}[/] "
                         "[$muted]($how, $source)[/]", kib=inflated, how=HOW[bool(reading.exact)],
                         source=reading.source or "no source"))
    if reading.counts_in_total:
        lines.append(f"{'accounting':<{LABEL}}{accounting_words(reading.accounting)}")
    else:
        lines.append(f"{'accounting':<{LABEL}}[$muted]not a balloon: not counted in the total[/]")
    device = _device_for(sample, reading)
    if reading.features is not None:
        wrapped = _wrap_words(feature_words(reading, device), max(width - LABEL, 20))
        for i, chunk in enumerate(wrapped or [Content("none")]):
            lines.append(Content(f"{'features' if i == 0 else '':<{LABEL}}") + chunk)
    if reading.stats:
        lines.append("[b $primary]driver statistics[/]")
        names = [clean(name) for name in reading.stats]
        column = stat_label_width(names)
        for name, (key, stat) in zip(names, reading.stats.items(), strict=True):
            old = before.stats.get(key) if before else None
            moved = old is not None and old.value != stat.value
            parts: list[str | tuple[str, str]] = ["  " + _label(name, column),
                                                   (fmt_stat(stat.value, stat.unit, page), _mark_style(moved))]
            if (reading.driver == "vmw_balloon" and key == "Balloon"
                    and isinstance(stat.value, (int, float)) and reading.inflated_kib is not None
                    and stat.value < reading.inflated_kib):
                parts.append((" (4 KiB pages only)", "$muted"))  # the warning below says the rest
            # assembled, not parsed: the most rows of a pane, every tick (names and values cleaned)
            lines.append(Content.assemble(*parts))
    if (reading.driver == "virtio_balloon" and reading.features is not None
            and reading.features.has(BALLOON_F_STATS_VQ)):
        lines += _host_stats_lines(sample, prev, page, width)
    if reading.driver == "virtio_balloon" and sample.host is not None:
        from ..host.text import pane_lines

        host_lines = pane_lines(sample)
        lines.append(content("[b $primary]$head[/]", head=host_lines[0]))
        lines.extend(content("$line", line=line) for line in host_lines[1:])
    warnings = list(reading.warnings)
    for w in warnings:
        lines.append(content("[b $warning]! $w[/]", w=w))
    return PaneContent(pane_title(reading), reading.driver, lines, device, warnings)


def _host_stats_lines(sample: Sample, prev: Sample | None, page: int, width: int) -> list[Row]:
    """What the stats queue sends to the host: QEMU's key, virsh's name and the value.

    Narrow panes (80 columns and less) drop the virsh column before the value is cut."""
    stats = host_stats(sample.meminfo, sample.vmstat, page, sample.system.kernel)
    olds = {}
    if prev is not None:
        olds = {h.spec.tag: h.value for h in host_stats(prev.meminfo, prev.vmstat, page,
                                                         prev.system.kernel)}
    host = sample.host if sample.host is not None and sample.host.stats else None
    with_virsh = width >= 46 and host is None
    columns = ("QEMU key · guest · host got" if host is not None else
               "(stats queue) QEMU key · virsh" if with_virsh else "QEMU key")
    lines: list[Row] = [f"[b $primary]sent to the host[/] [$muted]{columns}[/]"]
    for h in stats:
        unit = h.spec.unit
        val = "unknown" if h.value is None else (
            format_kib(h.value / KIB) if unit == "bytes" else fmt_count(h.value))
        moved = h.spec.tag in olds and olds[h.spec.tag] != h.value
        if host is not None:  # the host's copy beside the guest's own
            got = host.stats.get(h.spec.qemu)
            got_text = "-" if got is None else (
                format_kib(got / KIB) if unit == "bytes" else fmt_count(got))
            stale = " [$warning]stale[/]" if host.stats_stale and got is not None else ""
            value = f"[b $changed]{val:<11}[/]" if moved else f"{val:<11}"
            lines.append(f"  {h.spec.qemu[5:]:<17}{value} [$muted]host[/] {got_text}{stale}")
            continue
        virsh = f"[$muted]{(h.spec.virsh or '-'):<16}[/]" if with_virsh else ""
        value = f"[b $changed]{val}[/]" if moved else val
        lines.append(f"  {h.spec.qemu[5:]:<17}{virsh}{value}")
    return lines


def no_balloon_lines(sample: Sample) -> list[Row]:
    lines: list[Row] = ["[b]No balloon mechanism found in this guest.[/]", "Looked for:"]
    lines += [f"  [$muted]·[/] {x}" for x in drivers.looked_for()]
    lines.append("Memory is still shown above and in the graph.")
    lines.append("To see what a balloon looks like: [b]balloontop --demo[/]")
    for w in sample.warnings[:4]:
        lines.append(content("[$warning]! $w[/]", w=w))
    return lines


EVENT_STYLES = {"oom_kill": "$error", "inflate": "$accent", "deflate": "$success",
                "marker": "$primary", "gap": "$error", "reconnect": "$success"}


def event_line(event: Event) -> Content:
    """One event for the event pane: time, kind, message (the message as plain text)."""
    import time

    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    style = EVENT_STYLES.get(event.kind, "$warning")
    if event.guest:  # several guests: whose it is comes first
        return content(f"[$muted]{stamp}[/] [b]$guest[/] [b {style}]$kind[/] $message",
                       guest=event.guest, kind=f"{event.kind:<9}", message=event.message)
    return content(f"[$muted]{stamp}[/] [b {style}]$kind[/] $message",
                   kind=f"{event.kind:<9}", message=event.message)


def guest_title(label: str, title: Content | str) -> Content:
    """A pane's title when several guests are watched: whose it is, then what."""
    return content("[b]$label[/] · ", label=label) + title


def guest_state_pane(label: str, state: str, why: str | None) -> PaneContent:
    """The pane of a guest that gives no reading (yet): what its connection does and why."""
    lines: list[Row] = [content("[b $warning]$state[/]", state=state or "no reading yet")]
    if why:
        lines.append(content("$why", why=why))
    lines.append(content("[$muted]the other guests carry on; this one is tried again[/]"))
    return PaneContent(guest_title(label, "not readable"), "", lines)


def guest_row(label: str, state: str, sample: Sample | None, rate: float | None,
              focused: bool, ascii_only: bool = False, compact: bool = False) -> Content:
    """One guest's line in the summary when several are watched: its balloon first (the
    figure a 60-column terminal must keep), then memory, rate and connection state;
    ``compact`` (under 100 columns): the balloon and the available memory only."""
    mark = (">" if ascii_only else "▶") if focused else " "
    if sample is None:
        return content(f"{mark} [b]$label[/] [$warning]$state[/]", label=label,
                       state=state or "no reading yet")
    balloon = "-" if sample.balloon.kib is None else format_kib(sample.balloon.kib)
    how = "" if sample.balloon.kib is None else (" exact" if sample.balloon.exact else " approx")
    total = format_kib(sample.system.mem_total_kib)
    avail = format_kib(sample.system.mem_available_kib)
    note = "" if state in ("", "connected") else " [$warning]$state[/]"
    if compact:
        return content(f"{mark} [b]$label[/] balloon [b]{balloon}[/] [$muted]· avail[/] {avail}{note}",
                       label=label, state=state)
    return content(f"{mark} [b]$label[/] balloon [b]{balloon}[/]{how} [$muted]· MemTotal[/] {total} "
                   f"[$muted]· available[/] {avail} [$muted]·[/] {fmt_rate(rate)}{note}",
                   label=label, state=state)


def event_text(item: Event | str) -> Content:
    """An event pane line: an ``Event``, or a line of the program's own markup."""
    return Content.from_markup(item) if isinstance(item, str) else event_line(item)


def fmt_rate(rate: float | None) -> str:
    if rate is None or math.isnan(rate):
        return "rate -"
    if abs(rate) < 0.05:
        return "at rest"
    return format_rate(rate)


def graph_state(rate: float | None, episode_kind: str | None) -> str:
    """The graph title's last part: the rate, or the open episode while the rate is flat.

    One state at a time: "at rest · inflating" said two things at once when an episode was
    still open (it ends after a quiet spell) while the last reading had not moved."""
    if episode_kind is not None and (rate is None or math.isnan(rate) or abs(rate) < 0.05):
        return {"inflate": "inflating", "deflate": "deflating"}.get(episode_kind, episode_kind)
    return fmt_rate(rate)


def graph_title(window_label: str, rate: float | None, episode_kind: str | None,
                ascii_only: bool = False, host: bool = False, room: int | None = None) -> str:
    """The graph's title (program markup): the legend with the side of each series' axis
    (the guest's balloon, and with ``host`` the host's view of it, on the left axis, from 0; the
    memory lines on the right one, scaled to them), the window and the state.

    With ``host`` the longer legend is fitted to ``room`` cells (the border's title space):
    the window goes first (the x labels say it), then "available" becomes "avail", then the
    state goes, then the wider gap between the two axes' series; the legend itself shows
    whole down to 80 columns. The choice allows for a state of ``STATE_CELLS``, so the title
    does not change form as the rate changes. Without a host the title is the one it always
    was (the border cuts it with an ellipsis)."""
    sq, left, right = ("#", "<", ">") if ascii_only else ("■", "◂", "▸")
    host_part = f" [$host-graph]{sq}[/] host" if host else ""

    def title(available: str, *tail: str, gap: str = "  ") -> str:
        return (f"{left}[$balloon-graph]{sq}[/] balloon{host_part}{gap}[$total-graph]{sq}[/] total "
                f"[$available-graph]{sq}[/] {available}{right}" + "".join(f" · {t}" for t in tail))

    state = graph_state(rate, episode_kind)
    if not host or room is None:
        return title("available", window_label, state)
    for form in (("available", window_label), ("available",), ("avail",)):
        if _cells(title(*form, state.ljust(STATE_CELLS))) <= room:
            return title(*form, state)
    legend = title("avail")
    return legend if _cells(legend) <= room else title("avail", gap=" ")


def _cells(markup: str) -> int:
    """The width of the program's own markup as shown (its characters are one cell each)."""
    return len(_MARKUP_TAG.sub("", markup))


STATE_CELLS = len("-123.4 MiB/s")
"""The state the host's graph title leaves room for (a longer one is cut by the border)."""
_MARKUP_TAG = re.compile(r"\[/?\$?[\w-]*\]")
"""A tag of the program's own markup in ``graph_title`` (``[$host-graph]``, ``[/]``)."""


def stats_mapping(sample: Sample) -> Mapping[str, int]:
    return sample.meminfo
