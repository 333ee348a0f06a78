"""Modal screens: the help (every key, from BINDINGS) and the feature-bit view."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
[b]What you see[/]
  Header: host, kernel, uptime, refresh interval, LIVE or PAUSED, clock.
  Summary: MemTotal, MemAvailable, total ballooned memory and its share of the guest's
  memory, and whether ballooned memory leaves MemTotal or stays in it as "used".
  Panes: one per balloon driver instance; values that changed since the last refresh are
  highlighted. For virtio: negotiated feature bits (unknown ones marked) and, with
  STATS_VQ, the statistics the host receives, named as QEMU and virsh dommemstat name them.
  Graph: balloon size, MemTotal and MemAvailable over 1 min, 10 min or 1 h, and the rate.
  Events: inflate/deflate episodes, OOM kills, drivers appearing or vanishing.
  Processes: the largest memory users (live system only), refreshed every few seconds.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc")]

    def __init__(self, bindings: Sequence[Binding]) -> None:
        super().__init__()
        self._key_list = bindings

    def compose(self) -> ComposeResult:
        rows = ["[b]Keys[/]"]
        seen = set()
        for b in self._key_list:
            if not b.show and b.id and b.id.startswith("pane"):
                continue
            if b.id in seen:
                continue
            seen.add(b.id)
            keys = b.key_display or b.key
            if b.id == "pause":
                keys = "space, p"
            if b.id == "next_pane":
                keys = "tab"
            rows.append(f"  [b $accent]{escape(keys):<10}[/] {escape(_LONG.get(b.id or '', b.description))}")
        rows.append("  [b $accent]ctrl+p    [/] command palette (every action by name)")
        body = "\n".join(rows) + "\n\n" + HELP_TEXT + "\n[$muted]esc, q or ? closes this help[/]"
        with VerticalScroll(id="help-body") as box:
            box.border_title = "balloontop help"
            yield Static(body)


_LONG = {
    "quit": "quit",
    "pause": "pause or resume refreshing",
    "slower": "refresh less often (double the interval)",
    "faster": "refresh more often (halve the interval, floor 0.2 s)",
    "next_pane": "focus the next driver pane",
    "pane": "focus driver pane 1-9",
    "graph": "cycle the graph window: 1 min, 10 min, 1 h",
    "features": "decoded feature bits of the focused virtio device",
    "theme": "cycle colour themes (dark, light, monochrome, yours)",
    "help": "this help",
}


class FeatureScreen(ModalScreen):
    """The focused virtio device's negotiated feature bits, decoded (full decoder: issue 4)."""

    BINDINGS = [Binding("escape,q,f", "dismiss", "Close", key_display="esc")]

    def __init__(self, reading, device) -> None:
        super().__init__()
        self.reading = reading
        self.device = device

    def compose(self) -> ComposeResult:
        from ..virtio.decode import decode_bits

        features = self.reading.features
        device_id = self.device.device_id if self.device is not None else 5
        rows = [f"[b]{escape(self.reading.instance)}[/] device {device_id} "
                f"({escape(self.device.type or '?') if self.device else 'balloon'}), "
                f"{features.width}-bit features string, negotiated set", ""]
        for bit in decode_bits(features.bits, device_id):
            if bit.known:
                rows.append(f"  [b]{bit.bit:>3}[/] {escape(bit.name or '')} [$muted]({bit.kind})[/]")
                rows.append(f"      {escape(bit.meaning)}")
            else:
                rows.append(f"  [b $warning]{bit.bit:>3} unknown[/] {escape(bit.meaning)}")
        rows += ["", f"[$muted]raw: {escape(features.raw)}[/]", "",
                 "[$muted]esc, q or f closes; `balloontop decode` decodes any string[/]"]
        with VerticalScroll(id="features-body") as box:
            box.border_title = f"feature bits · {self.reading.instance}"
            yield Static("\n".join(rows))
