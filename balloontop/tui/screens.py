"""Modal screens: the help (every key, from BINDINGS), the marker
prompt and the kernel-log view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from .guest_text import content

if TYPE_CHECKING:
    from ..kmsg.records import Record

LogRecordRow = tuple["Record", "str | None"]
"""A kernel-log record and why it matters (its tag), as ``KernelLog.highlighted`` gives it."""

HELP_TEXT = """\
[b]What you see[/]
  Header: host, LIVE, PAUSED or STATIC (a --root folder), refresh interval, uptime,
  kernel, clock.
  Summary: MemTotal, MemAvailable, total ballooned memory and its share of the guest's
  memory, and whether ballooned memory leaves MemTotal or stays in it as "used".
  Panes: one per balloon driver instance; values that changed since the last refresh are
  highlighted. For virtio: negotiated feature bits (unknown ones marked) and, with
  STATS_VQ, the statistics the host receives, named as QEMU and virsh dommemstat name them.
  Graph: balloon size (left axis, from 0), MemTotal and MemAvailable (right axis, scaled
  to them) over 1 min, 10 min or 1 h, and the rate. With --qmp, the balloon as the host
  sees it too ("host", drawn under the guest's line: it shows where the guest lags).
  Events: inflate/deflate episodes (the pane's title shows one in progress, "inflating…
  256 MiB"), OOM kills (with the victim and the balloon's size when the kernel log has
  the report), SysRq-m memory reports, likely deflate-on-OOM, drivers appearing or
  vanishing, your markers (m). With --record all of them go into the recording. The
  newest stays in sight; the mouse wheel scrolls back (and down again to follow).
  Kernel log (k): the records the kernel printed, the balloon-relevant ones highlighted.
  Replay (balloontop replay FILE): space pauses, . or n steps one sample, \\[ and ]
  seek back and forward a tenth of the recording; the header shows REPLAY and where.
  Processes: the largest memory users (live system only), refreshed every few seconds.
"""


def driver_help_lines() -> list[str]:
    """Every driver's pane: its title, where it is found, and each statistic's meaning, from
    the drivers' own declarations."""
    from .. import drivers

    lines = ["[b]Driver panes[/] (each statistic, as its driver declares it)"]
    for module in drivers.DRIVERS:
        lines.append(f"  [b]{escape(module.TITLE)}[/] ({escape(module.NAME)}): {escape(module.LOOKS_AT)}")
        for name, spec in module.STATS.items():
            unit = f" [$muted]({escape(spec.unit)})[/]" if spec.unit else ""
            lines.append(f"    {escape(name)}: {escape(spec.meaning)}{unit}")
    return lines


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc")]

    def __init__(self, bindings: Sequence[Binding]) -> None:
        super().__init__()
        self._key_list = bindings

    def compose(self) -> ComposeResult:
        rows = ["[b]Keys[/]"]
        seen = set()
        for b in self._key_list:
            if not b.show and b.id and b.id.startswith("pane") and b.id != "pane":
                continue
            if b.id in seen or b.id in ("quit_habit", "prev_guest"):
                continue
            seen.add(b.id)
            keys = b.key_display or b.key
            if b.id == "quit":
                keys = "q, ctrl+c"
            if b.id == "pause":
                keys = "space, p"
            if b.id == "next_pane":
                keys = "tab"
            if b.id == "replay_step":
                keys = ". or n"
            keys = f"{keys:<10}".replace("[", "\\[")  # a bare [ would open a markup tag
            rows.append(f"  [b $accent]{keys}[/] {escape(_LONG.get(b.id or '', b.description))}")
        rows.append("  [b $accent]ctrl+p    [/] command palette (every action by name)")
        body = ("\n".join(rows) + "\n\n" + HELP_TEXT + "\n" + "\n".join(driver_help_lines())
                + "\n\n[$muted]esc, q or ? closes this help[/]")
        with VerticalScroll(id="help-body") as box:
            box.border_title = "balloontop help"
            yield Static(body)


_LONG = {
    "quit": "quit (F10 too, as in top and htop)",
    "pause": "pause or resume refreshing",
    "slower": "refresh less often (double the interval)",
    "faster": "refresh more often (halve the interval, floor 0.2 s)",
    "next_pane": "focus the next driver pane",
    "pane": "focus driver pane 1-9",
    "graph": "cycle the graph window: 1 min, 10 min, 1 h",
    "features": "feature decoder on the focused virtio device (every bit explained)",
    "marker": "add a marker to the event log (and the recording)",
    "kernel_log": "kernel log view, balloon-relevant records highlighted",
    "replay_step": "replay: step one sample (pauses)",
    "seek_back": "replay: seek back a tenth of the recording",
    "seek_forward": "replay: seek forward a tenth of the recording",
    "theme": "cycle colour themes (dark, light, monochrome, yours)",
    "help": "this help",
    "next_guest": "several guests: show the next one (< the previous); tab and 1-9 reach any pane",
}


class MarkerScreen(ModalScreen[str | None]):
    """Asks for a marker's text ("load test phase 2 starts"); Enter adds it, esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", key_display="esc")]
    DEFAULT_CSS = """
    MarkerScreen { align: center middle; }
    MarkerScreen #marker-box {
        width: 64; height: auto; border: round $accent; padding: 0 1; background: $surface;
    }
    MarkerScreen #marker-help { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="marker-box") as box:
            box.border_title = "marker"
            yield Input(placeholder="load test phase 2 starts", id="marker-input")
            yield Static("Enter adds it to the event log; esc cancels", id="marker-help")

    def on_mount(self) -> None:
        self.query_one("#marker-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


TAG_STYLE = {
    "oom": "b $error",
    "alloc_failure": "b $error",
    "balloon": "b $accent",
    "show_mem": "b $warning",
    "sysrq": "b $warning",
}


def kernel_log_lines(rows: Sequence[LogRecordRow], warnings: Sequence[str] = (), note: str | None = None) -> list[Content]:
    """Lines for the kernel-log view: ``[uptime] text``, tagged records highlighted; the
    log's text as plain text (``Content``), never markup."""
    out: list[Content] = []
    for warning in warnings:
        out.append(content("[b $warning]$w[/]", w=warning))
    if note:
        out.append(content("[$muted]$note[/]", note=note))
    if not rows and not note:
        out.append(Content.from_markup("[$muted]no kernel log records[/]"))
    for record, tag in rows:
        stamp = f"[{record.time_s:>12.6f}]" if record.time_s is not None else "[     ?      ]"
        style = TAG_STYLE.get(tag or "")
        for i, line in enumerate(record.lines):
            head = stamp if i == 0 else " " * len(stamp)
            if style:
                label = f"{tag:<13}" if i == 0 else " " * 13
                out.append(content(f"[$muted]$head[/] [{style}]$label $text[/]",
                                   head=head, label=label, text=line))
            else:
                out.append(content("[$muted]$head[/] $pad $text", head=head, pad=" " * 13, text=line))
    return out


class KernelLogScreen(ModalScreen):
    """The kernel log's retained records, the balloon-relevant ones highlighted."""

    DEFAULT_CSS = """
    KernelLogScreen #kmsg-body { height: 90%; overflow-x: auto; }
    KernelLogScreen #kmsg-text { width: auto; text-wrap: nowrap; }
    """

    BINDINGS = [
        Binding("escape,q,k", "dismiss", "Close", key_display="esc"),
        Binding("h", "toggle_tagged", "Highlighted only", id="kernel_log.tagged"),
    ]

    def __init__(self, rows: Sequence[LogRecordRow], warnings: Sequence[str] = (), note: str | None = None) -> None:
        super().__init__()
        self.rows = list(rows)
        self.warnings = list(warnings)
        self.note = note
        self.tagged_only = False

    def _lines(self) -> list[Content]:
        rows = [r for r in self.rows if r[1]] if self.tagged_only else self.rows
        if self.tagged_only and not rows:
            return [Content.from_markup("[$muted]no highlighted records (h shows them all)[/]")]
        return kernel_log_lines(rows, self.warnings, self.note)

    def compose(self) -> ComposeResult:
        tagged = sum(1 for _, tag in self.rows if tag)
        with VerticalScroll(id="kmsg-body") as box:
            box.border_title = f"kernel log · {len(self.rows)} records, {tagged} highlighted"
            box.border_subtitle = "h: highlighted only · esc closes"
            yield Static(Content("\n").join(self._lines()), id="kmsg-text")

    def on_mount(self) -> None:
        body = self.query_one("#kmsg-body", VerticalScroll)
        body.focus()
        # Open on the latest highlighted record (the OOM report one came for), else the end.
        tags = [tag for _, tag in self.rows]
        starts = [i for i, (record, tag) in enumerate(self.rows)
                  if tag == "oom" and "invoked oom-killer" in record.text]
        last = starts[-1] if starts else next(
            (i for i in range(len(tags) - 1, -1, -1) if tags[i]), None)
        while last and not starts and tags[last - 1]:  # back to the start of that report
            last -= 1
        if last is None:
            self.call_after_refresh(body.scroll_end, animate=False)
        else:
            head = len(kernel_log_lines(self.rows[:last], self.warnings, self.note))
            # after the text's first layout (lines do not wrap: one record line, one row)
            self.set_timer(0.05, lambda: body.scroll_to(y=max(head - 2, 0), animate=False))

    def action_toggle_tagged(self) -> None:
        self.tagged_only = not self.tagged_only
        self.query_one("#kmsg-text", Static).update(Content("\n").join(self._lines()))
