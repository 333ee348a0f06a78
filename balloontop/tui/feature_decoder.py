"""The interactive virtio feature decoder (issue 4): every bit of every virtio device, explained.

``FeatureDecoderScreen`` shows the virtio devices of a root on the left, the selected
device's feature bits as a grid in the centre (64 or 128 cells, as the kernel's sysfs
``features`` string gives them, bit 0 first) and a detail panel explaining the bit under
the cursor. A pasted features string, hex value or bit list is decoded on the spot as a
pseudo-device ``pasted``; a what-if copy of the bits shows what toggling a bit would change
(for a balloon: the accounting mode). ``FeatureDecoderApp`` hosts the screen alone for
``balloontop decode`` without a value; the monitor pushes the screen itself.

Every state of a cell has its own glyph, so the grid reads the same without colour; the
glyphs are ASCII when the terminal's locale is not UTF-8 (``Glyphs.for_terminal``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.markup import escape
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..model import VirtioDevice
from ..virtio.decode import DecodedBit, decode_bits, parse_any, short_name
from ..virtio.ids import device_type, parse_device
from ..virtio.tables import bit_range
from ..virtio.whatif import BALLOON_ID, feature_set, mask, toggled, whatif_effects
from .guest_text import clean, content
from .widgets import KeyBar

__all__ = ["feature_set", "whatif_effects"]  # the what-if core, re-exported for callers
PASTED = "pasted"


# --- Glyphs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Glyphs:
    """One character per cell state: the grid must read the same without colour."""

    set: str
    unknown: str
    unset: str
    offered: str
    added: str
    removed: str

    @staticmethod
    def for_terminal(encoding: str | None = None, environ: Mapping[str, str] | None = None) -> Glyphs:
        """``UNICODE_GLYPHS`` when the output encoding and the locale are UTF-8, else ASCII.

        Python may coerce a C locale to UTF-8 for its own streams, so the locale variables
        (``LC_ALL`` over ``LC_CTYPE`` over ``LANG``, as setlocale reads them) are checked
        as well: a terminal started with ``LANG=C`` may not draw ``■``.
        """
        # sys.__stdout__: a running Textual app replaces sys.stdout with a capture object.
        enc = (encoding if encoding is not None else getattr(sys.__stdout__, "encoding", None)) or ""
        env = os.environ if environ is None else environ
        lang = next((env[k] for k in ("LC_ALL", "LC_CTYPE", "LANG") if env.get(k)), "")
        utf8 = enc.lower().replace("-", "").replace("_", "") == "utf8"
        locale_utf8 = "utf8" in lang.lower().replace("-", "")
        return UNICODE_GLYPHS if utf8 and locale_utf8 else ASCII_GLYPHS


UNICODE_GLYPHS = Glyphs(set="■", unknown="?", unset="·", offered="○", added="+", removed="-")
ASCII_GLYPHS = Glyphs(set="#", unknown="?", unset=".", offered="o", added="+", removed="-")


# --- Pure explanation helpers (tested without a screen) ------------------------------------


def grid_width(device: VirtioDevice) -> int:
    """Cells to draw: the kernel's string length (64 or 128), rounded up to a row of 16."""
    width = device.features.width if device.features is not None else 64
    bits = list(device.features.bits if device.features else ()) + list(device.offered_bits or ())
    if bits:
        width = max(width, max(bits) + 1)
    width = max(width, 16)
    return -(-width // 16) * 16


def pasted_device(features: str, device: str = "") -> VirtioDevice:
    """The pseudo-device for a pasted value; ``ValueError`` in plain words when it is not one."""
    if not features.strip():
        raise ValueError("nothing to decode: paste a features string (0/1, bit 0 first), 0xHEX or bit numbers")
    device_id = parse_device(device) if device.strip() else None
    bits, width = parse_any(features)
    if width is None:
        width = 128 if bits and max(bits) >= 64 else 64
    kind = device_type(device_id) if device_id is not None else None
    return VirtioDevice(
        instance=PASTED,
        device_id=device_id,
        type=kind.name if kind else (f"id {device_id}" if device_id is not None else None),
        vendor=None,
        status=None,
        status_flags=(),
        bus_address=None,
        driver=None,
        features=feature_set(bits, width, device_id),
    )


def device_label(device: VirtioDevice) -> str:
    kind = device.type or (f"id {device.device_id}" if device.device_id is not None else "no type")
    return f"{device.instance} {kind}"


def explain(device: VirtioDevice, bit: int, what_if: set[int] | frozenset[int] | None = None) -> str:
    """The detail panel's text (Textual markup) for ``bit`` of ``device``."""
    decoded: DecodedBit = decode_bits([bit], device.device_id)[0]
    actual = set(device.features.bits) if device.features else set()
    is_set = bit in actual
    if decoded.known:
        title = f"[b]bit {bit}[/]  [b]{escape(decoded.name or '')}[/]"
    elif decoded.kind == "device-specific":
        title = f"[b]bit {bit}[/]  [b]device-specific[/] (no device type given)"
    else:
        title = f"[b]bit {bit}[/]  [b $warning]UNKNOWN[/]"
    state = "[b $success]SET[/] (negotiated)" if is_set else "not set"
    lines = [f"{title}  --  {state}"]
    if device.features is None:
        lines[0] = f"{title}  --  features not readable"
    lines.append(escape(decoded.meaning))
    where = f"range: {bit_range(bit)}"
    if decoded.header and not decoded.known:  # a proposed/vendor hint: its source, not a definition
        lines.append(f"[$text-muted]hint from {escape(decoded.header)}; {where}[/]")
    elif decoded.header:
        lines.append(f"[$text-muted]from {escape(decoded.header)}; {where}[/]")
    elif decoded.known or decoded.kind == "device-specific":
        lines.append(f"[$text-muted]{where}[/]")
    if device.offered_bits is not None:
        offered = bit in device.offered_bits
        if offered and not is_set:
            lines.append("[b $accent]offered by the device, not negotiated[/] (the driver or Linux turned it off)")
        elif is_set and not offered:
            lines.append("negotiated but not in the device's offered list (debugfs)")
        else:
            lines.append(f"offered by the device: {'yes' if offered else 'no'}")
    elif device.instance != PASTED:
        lines.append("[$text-muted]offered bits: not known (needs CONFIG_VIRTIO_DEBUG and debugfs)[/]")
    if decoded.detail:
        lines += ["", escape(decoded.detail)]
    if what_if is not None:
        effects = whatif_effects(device, what_if)
        if effects:
            # The user's own change comes first: at 80x24 the panel shows about 8 lines.
            changes = " ".join(f"{'+' if b in what_if else '-'}{b}" for b in toggled(device, what_if))
            head = [f"[b $primary]what-if[/] {changes} = {mask(what_if)} (hypothetical, nothing is "
                    "written; r resets):"]
            head += [f"  {escape(e)}" for e in effects]
            lines = head + [""] + lines
        else:
            lines += ["", "[$text-muted]what-if: space toggles this bit to see what would change[/]"]
    return "\n".join(lines)


# --- The grid -------------------------------------------------------------------------------


class BitGrid(Widget, can_focus=True):
    """The bits as rows of 16 or 32 cells, the first cell's bit number at the left."""

    COMPONENT_CLASSES = {
        "bitgrid--set",
        "bitgrid--unknown",
        "bitgrid--unset",
        "bitgrid--offered",
        "bitgrid--added",
        "bitgrid--removed",
        "bitgrid--cursor",
        "bitgrid--label",
    }
    DEFAULT_CSS = """
    BitGrid { height: auto; width: 1fr; }
    BitGrid > .bitgrid--set { color: $success; text-style: bold; }
    BitGrid > .bitgrid--unknown { color: $warning; text-style: bold; }
    BitGrid > .bitgrid--unset { color: $text-muted; }
    BitGrid > .bitgrid--offered { color: $accent; text-style: bold; }
    BitGrid > .bitgrid--added { color: $primary; text-style: bold underline; }
    BitGrid > .bitgrid--removed { color: $error; text-style: bold underline; }
    BitGrid > .bitgrid--cursor { text-style: reverse bold; }
    BitGrid > .bitgrid--label { color: $text-muted; }
    """
    _MOVE = Binding.Group("Move", compact=True)
    BINDINGS = [
        Binding("left", "move(-1, 0)", "Move", key_display="←", group=_MOVE),
        Binding("up", "move(0, -1)", "Move", key_display="↑", group=_MOVE),
        Binding("down", "move(0, 1)", "Move", key_display="↓", group=_MOVE),
        Binding("right", "move(1, 0)", "Move", key_display="→", group=_MOVE),
        Binding("h", "move(-1, 0)", "Left", show=False),
        Binding("j", "move(0, 1)", "Down", show=False),
        Binding("k", "move(0, -1)", "Up", show=False),
        Binding("l", "move(1, 0)", "Right", show=False),
        Binding("home", "jump(0)", "First bit", show=False),
        Binding("end", "jump(-1)", "Last bit", show=False),
    ]

    cursor: reactive[int] = reactive(0)

    def __init__(self, glyphs: Glyphs, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.glyphs = glyphs
        self.cells = 64
        self.bits: frozenset[int] = frozenset()
        self.unknown: frozenset[int] = frozenset()
        self.offered: frozenset[int] | None = None
        self.what_if: frozenset[int] = frozenset()

    def show(self, cells: int, bits: Iterable[int], unknown: Iterable[int], offered: Iterable[int] | None,
             what_if: Iterable[int]) -> None:
        self.cells = cells
        self.bits = frozenset(bits)
        self.unknown = frozenset(unknown)
        self.offered = frozenset(offered) if offered is not None else None
        self.what_if = frozenset(what_if)
        self.cursor = min(self.cursor, cells - 1)
        self.refresh(layout=True)

    @property
    def per_row(self) -> int:
        width = self.size.width or 80
        if width >= 4 + 32 * 2 + 4:
            return 32
        if width >= 4 + 16 * 2 + 2:
            return 16
        return 8

    def glyph(self, bit: int) -> tuple[str, str]:
        """(glyph, component class) of one cell."""
        g = self.glyphs
        actual, then = bit in self.bits, bit in self.what_if
        if actual and not then:
            return g.removed, "bitgrid--removed"
        if then and not actual:
            return g.added, "bitgrid--added"
        if actual:
            return (g.unknown, "bitgrid--unknown") if bit in self.unknown else (g.set, "bitgrid--set")
        if self.offered is not None and bit in self.offered:
            return g.offered, "bitgrid--offered"
        return g.unset, "bitgrid--unset"

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1 + -(-self.cells // self.per_row)

    def render(self) -> Text:
        per_row = self.per_row
        styles = {name: self.get_component_rich_style(name) for name in self.COMPONENT_CLASSES}
        label = styles["bitgrid--label"]
        out = Text(no_wrap=True, overflow="crop")
        # Ruler: the column offset every 8 cells, so a bit is found by row + offset.
        ruler = [" "] * (4 + per_row * 2 + per_row // 8 + 1)
        for col in range(0, per_row, 8):
            pos = 4 + col * 2 + col // 8
            for i, ch in enumerate(f"+{col}"):
                if pos + i < len(ruler):
                    ruler[pos + i] = ch
        out.append("".join(ruler).rstrip(), label)
        cur = self.cursor
        for start in range(0, self.cells, per_row):
            out.append("\n")
            out.append(f"{start:>3} ", label)
            for col in range(per_row):
                bit = start + col
                if col and col % 8 == 0:
                    out.append("]" if cur == bit - 1 else " ")
                    out.append("[" if cur == bit else " ")
                else:
                    out.append("[" if cur == bit else ("]" if cur == bit - 1 and col else " "))
                ch, cls = self.glyph(bit)
                style = styles[cls] + styles["bitgrid--cursor"] if bit == cur else styles[cls]
                out.append(ch, style)
            out.append("]" if cur == start + per_row - 1 else " ")
        return out

    @staticmethod
    def glyph_x(col: int) -> int:
        """Column of cell ``col``'s glyph: 4 for the label, 2 per cell, 1 gap per 8 cells."""
        return 5 + 2 * col + col // 8

    def bit_at(self, x: int, y: int) -> int | None:
        """The bit drawn at (x, y) of the widget, or ``None`` (ruler, label, past the end)."""
        per_row = self.per_row
        if y < 1 or x < 4:
            return None
        col = min(range(per_row), key=lambda c: abs(self.glyph_x(c) - x))
        bit = (y - 1) * per_row + col
        return bit if abs(self.glyph_x(col) - x) <= 1 and bit < self.cells else None

    def on_click(self, event: events.Click) -> None:
        bit = self.bit_at(event.x, event.y)
        if bit is not None:
            self.cursor = bit

    def action_move(self, dx: int, dy: int) -> None:
        target = self.cursor + dx + dy * self.per_row
        if dx:
            target %= self.cells
        if 0 <= target < self.cells:
            self.cursor = target

    def action_jump(self, bit: int) -> None:
        self.cursor = bit % self.cells

    def watch_cursor(self) -> None:
        self.refresh()


# --- The screen ------------------------------------------------------------------------------


class FeatureDecoderScreen(Screen):
    """The same layout from the monitor (``f``) and alone (``balloontop decode``).

    Left: the virtio devices, and under them the selected device's negotiated bits, each
    with its name and a one-line meaning (unknown bits marked): what a newcomer reads first.
    Right: the bits as a grid (the cursor starts on the first negotiated bit), the paste
    fields and the explanation of the bit under the cursor. The key bar lists this screen's
    keys only (not the monitor's).
    """

    DEFAULT_CSS = """
    FeatureDecoderScreen { layout: horizontal; background: $surface; }
    FeatureDecoderScreen #fd-left { width: 1fr; max-width: 44; height: 1fr; }
    FeatureDecoderScreen #fd-devices, FeatureDecoderScreen #fd-bits {
        border: round $panel; background: $surface;
        border-title-color: $text-muted; border-subtitle-color: $text-muted;
    }
    FeatureDecoderScreen #fd-devices { height: auto; max-height: 40%; text-wrap: nowrap; text-overflow: ellipsis; }
    FeatureDecoderScreen #fd-bits { height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    FeatureDecoderScreen #fd-devices:focus, FeatureDecoderScreen #fd-bits:focus { border: round $accent; }
    FeatureDecoderScreen #fd-centre { width: 1fr; min-width: 46; height: 1fr; }
    FeatureDecoderScreen #fd-gridbox { height: auto; border: round $panel; padding: 0 1; }
    FeatureDecoderScreen #fd-gridbox:focus-within { border: round $accent; }
    FeatureDecoderScreen #fd-legend { height: 1; color: $text-muted; text-wrap: nowrap; }
    FeatureDecoderScreen #fd-inputs { height: 3; }
    FeatureDecoderScreen #fd-features { width: 1fr; }
    FeatureDecoderScreen #fd-device { width: 18; }
    FeatureDecoderScreen #fd-error { height: auto; color: $error; text-style: bold; padding: 0 1; }
    FeatureDecoderScreen #fd-error.-empty { display: none; }
    FeatureDecoderScreen #fd-detailbox { height: 1fr; border: round $panel; padding: 0 1; }
    FeatureDecoderScreen #fd-detailbox:focus { border: round $accent; }
    FeatureDecoderScreen #fd-detail { height: auto; }
    /* Under 32 rows: one-line inputs, so the explanation keeps 8 lines at 80x24. */
    FeatureDecoderScreen.-short #fd-inputs { height: 1; margin: 0 0 0 1; }
    FeatureDecoderScreen.-short #fd-inputs Input {
        border: none; height: 1; padding: 0 1; background: $panel;
    }
    FeatureDecoderScreen.-short #fd-inputs Input:focus { background: $boost; text-style: bold; }
    FeatureDecoderScreen.-short #fd-device { margin-left: 1; }
    """
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS = [
        Binding("tab", "app.focus_next", "Panel", key_display="tab", id="decoder.next"),
        Binding("shift+tab", "app.focus_previous", "Panel back", show=False, id="decoder.previous"),
        Binding("slash,i", "focus_input", "Paste", key_display="/", id="decoder.input"),
        Binding("space,x", "toggle", "What-if", key_display="space", id="decoder.toggle"),
        Binding("r", "reset", "Reset", id="decoder.reset"),
        Binding("escape", "back", "Back", key_display="esc", id="decoder.back"),
        Binding("q", "close", "Close", id="decoder.close"),
    ]

    def __init__(
        self,
        devices: Sequence[VirtioDevice],
        selected: str | None = None,
        root: str | None = None,
        *,
        glyphs: Glyphs | None = None,
        device: str | None = None,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.devices: list[VirtioDevice] = list(devices)
        self.root = root
        self.glyphs = glyphs or Glyphs.for_terminal()
        self.initial_device = device or ""
        names = [d.instance for d in self.devices]
        if selected in names:
            self.index = names.index(selected)
        else:
            balloons = [i for i, d in enumerate(self.devices) if d.device_id == BALLOON_ID]
            self.index = balloons[0] if balloons else 0
        self.what_if: set[int] = set()
        self._listed_bits: list[int] = []

    @property
    def standalone(self) -> bool:
        """``balloontop decode``: the screen is the app's only one (q quits the program)."""
        return len(self.app.screen_stack) <= 1

    # -- layout

    def compose(self) -> ComposeResult:
        with Vertical(id="fd-left"):
            devices = OptionList(id="fd-devices")
            devices.border_title = "virtio devices"
            if self.root:
                devices.border_subtitle = content("root $root", root=self.root)
            yield devices
            bits = OptionList(id="fd-bits")
            bits.border_title = "negotiated bits"
            yield bits
        with Vertical(id="fd-centre"):
            with Vertical(id="fd-gridbox"):
                yield BitGrid(self.glyphs, id="fd-grid")
            yield Static(self._legend(), id="fd-legend", markup=False)
            with Horizontal(id="fd-inputs"):
                yield Input(placeholder="paste 0110.., 0x1c or 1,2,32", id="fd-features")
                yield Input(value=self.initial_device, placeholder="device type", id="fd-device")
            yield Static("", id="fd-error", classes="-empty")
            with VerticalScroll(id="fd-detailbox", can_focus=True) as box:
                box.border_title = "bit"
                yield Static("", id="fd-detail")
        yield KeyBar(self._keys(), namespace="screen", id="fd-keys")

    def _keys(self) -> list[tuple[str, str, str]]:
        arrows = "hjkl" if self.glyphs is ASCII_GLYPHS else "←↑↓→"
        keys = [(arrows, "Move", ""), ("tab", "Panel", "app.focus_next"), ("/", "Paste", "focus_input"),
                ("space", "What-if", "toggle"), ("r", "Reset", "reset"), ("esc", "Back", "back")]
        return keys + [("q", "Close", "close")]

    def _legend(self) -> str:
        g = self.glyphs
        return (f"{g.set} set  {g.unknown} unknown  {g.unset} off  {g.offered} offered  "
                f"{g.added}{g.removed} what-if")

    def on_mount(self) -> None:
        if self.standalone:
            self.query_one("#fd-keys", KeyBar).set_keys(self._keys()[:-1] + [("q", "Quit", "close")])
        self._fill_list()
        grid = self.query_one(BitGrid)
        self.watch(grid, "cursor", self._cursor_moved, init=False)
        self._show_device()
        grid.focus()

    # -- state

    @property
    def device(self) -> VirtioDevice | None:
        return self.devices[self.index] if self.devices else None

    @property
    def grid(self) -> BitGrid:
        return self.query_one(BitGrid)

    def _fill_list(self) -> None:
        listing = self.query_one("#fd-devices", OptionList)
        listing.clear_options()
        for device in self.devices:
            driver = device.driver or ("pasted value" if device.instance == PASTED else "no driver")
            prompt = Text(clean(device_label(device)), no_wrap=True, overflow="ellipsis")
            prompt.append(" " + clean(driver), "dim")
            listing.add_option(Option(prompt, id=device.instance))
        if not self.devices:
            listing.add_option(Option("no virtio devices: paste a value", disabled=True))
        elif listing.highlighted != self.index:
            listing.highlighted = self.index

    def _fill_bits(self, device: VirtioDevice | None) -> None:
        """The negotiated bits, each with its name and one-line meaning."""
        listing = self.query_one("#fd-bits", OptionList)
        listing.clear_options()
        fs = device.features if device is not None else None
        self._listed_bits = list(fs.bits) if fs else []
        for bit in decode_bits(self._listed_bits, device.device_id if device else None):
            prompt = Text(f"{bit.bit:>3} ", no_wrap=True, overflow="ellipsis")
            if bit.known and bit.name:
                prompt.append(short_name(bit.name), "bold")
                prompt.append("  " + _one_line(bit.meaning), "dim")
            elif bit.kind == "device-specific":
                prompt.append("device-specific", "bold")
                prompt.append("  no device type given", "dim")
            else:
                prompt.append(f"{self.glyphs.unknown} unknown", "bold yellow")
                prompt.append(f"  in no table ({bit_range(bit.bit)})", "dim")
            listing.add_option(Option(prompt, id=f"bit-{bit.bit}"))
        if fs is None:
            listing.add_option(Option("no features file" if device else "nothing decoded yet",
                                      disabled=True))
        elif not self._listed_bits:
            listing.add_option(Option("no bits negotiated", disabled=True))
        unknown = f", {len(fs.unknown_bits)} unknown" if fs and fs.unknown_bits else ""
        listing.border_title = f"negotiated bits: {len(self._listed_bits)}{unknown}" if fs else "negotiated bits"

    def _show_device(self) -> None:
        device = self.device
        grid = self.grid
        self.what_if = set(device.features.bits) if device and device.features else set()
        self._fill_bits(device)
        box = self.query_one("#fd-gridbox")
        if device is None:
            grid.show(64, (), (), None, ())
            box.border_title = "no device: paste a features value below"
            self._update_detail()
            return
        fs = device.features
        grid.show(grid_width(device), fs.bits if fs else (), fs.unknown_bits if fs else (),
                  device.offered_bits, self.what_if)
        box.border_subtitle = ""
        label = device_label(device)
        if fs is None:
            box.border_title = content("$label: no features file", label=label)
        else:
            unknown = f", {len(fs.unknown_bits)} unknown" if fs.unknown_bits else ""
            offered = ""
            if device.offered_bits is not None:
                missing = sorted(set(device.offered_bits) - set(fs.bits))
                offered = f", {len(missing)} offered only"
            box.border_title = content(f"$label: {len(fs.bits)} of {fs.width} bits set{unknown}{offered}",
                                       label=label)
            # The same value as a mask, as QEMU traces and bug reports often give it.
            box.border_subtitle = mask(fs.bits)
        # A newcomer starts on what the device negotiated, not on bit 0 (often not set).
        first = fs.bits[0] if fs and fs.bits else 0
        if grid.cursor != first:
            grid.cursor = first  # the watcher updates the detail
        else:
            self._update_detail()

    def _update_detail(self) -> None:
        device = self.device
        detail = self.query_one("#fd-detail", Static)
        box = self.query_one("#fd-detailbox")
        if device is None:
            detail.update("No virtio devices under this root. Paste a features string, 0xHEX or a "
                          "list of bit numbers in the field above, with a device type, and press Enter.")
            box.border_title = "bit"
            return
        bit = self.grid.cursor
        box.border_title = f"bit {bit}"
        detail.update(explain(device, bit, self.what_if))
        box.scroll_home(animate=False)
        listing = self.query_one("#fd-bits", OptionList)
        if bit in self._listed_bits and listing.highlighted != self._listed_bits.index(bit):
            listing.highlighted = self._listed_bits.index(bit)

    def _cursor_moved(self, _bit: int) -> None:
        self._update_detail()

    # -- events

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "fd-bits":
            index = event.option_index
            if 0 <= index < len(self._listed_bits) and self.grid.cursor != self._listed_bits[index]:
                self.grid.cursor = self._listed_bits[index]
            return
        if event.option_list.id != "fd-devices" or event.option_index == self.index:
            return
        if 0 <= event.option_index < len(self.devices):
            self.index = event.option_index
            self._show_device()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id in ("fd-devices", "fd-bits"):
            self.grid.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        # Decoded on Enter only: while typing, "0" then "01" would decode as different values.
        self._set_error("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.decode():
            self.grid.focus()

    def decode(self) -> bool:
        """Decode the input fields into the ``pasted`` pseudo-device; errors shown inline."""
        text = self.query_one("#fd-features", Input).value
        kind = self.query_one("#fd-device", Input).value
        try:
            device = pasted_device(text, kind)
        except ValueError as exc:
            self._set_error(f"Not decoded: {exc}")
            return False
        self._set_error("")
        names = [d.instance for d in self.devices]
        if PASTED in names:
            self.index = names.index(PASTED)
            self.devices[self.index] = device
        else:
            self.devices.append(device)
            self.index = len(self.devices) - 1
        self._fill_list()
        self._show_device()
        return True

    def _set_error(self, message: str) -> None:
        error = self.query_one("#fd-error", Static)
        error.update(content("$m", m=message))  # holds the user's input: text, not markup
        error.set_class(not message, "-empty")

    # -- actions

    def action_focus_input(self) -> None:
        self.query_one("#fd-features", Input).focus()

    def action_toggle(self) -> None:  # type: ignore[override]  # the key's action, not DOMNode's toggle
        if self.device is None:
            return
        bit = self.grid.cursor
        self.what_if ^= {bit}
        self._refresh_grid()

    def action_reset(self) -> None:
        device = self.device
        self.what_if = set(device.features.bits) if device and device.features else set()
        self._refresh_grid()

    def _refresh_grid(self) -> None:
        device = self.device
        fs = device.features if device else None
        self.grid.show(self.grid.cells, fs.bits if fs else (), fs.unknown_bits if fs else (),
                       device.offered_bits if device else None, self.what_if)
        self._update_detail()

    def action_back(self) -> None:
        """esc: out of a field or list back to the grid; from the grid, back to the monitor.
        Alone (``balloontop decode``) esc never ends the program: q does."""
        if self.focused is not self.grid:
            self.grid.focus()
        elif not self.standalone:
            self.dismiss()
        else:
            self.notify("q quits the decoder", timeout=2)

    def action_close(self) -> None:
        if isinstance(self.focused, Input):
            self.grid.focus()
            return
        if not self.standalone:
            self.dismiss()
        else:
            self.app.exit()


def _one_line(text: str) -> str:
    """A meaning's first sentence or clause, for the list of negotiated bits."""
    for stop in (". ", "; ", ": ", " ("):
        text = text.split(stop)[0]
    return text.rstrip(".")


class FeatureDecoderApp(App):
    """``balloontop decode`` without a value: the decoder screen alone."""

    TITLE = "balloontop decode"

    def __init__(
        self,
        devices: Sequence[VirtioDevice],
        selected: str | None = None,
        root: str | None = None,
        *,
        glyphs: Glyphs | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__()
        self._screen_args = (list(devices), selected, root, glyphs, device)

    def get_default_screen(self) -> Screen:
        devices, selected, root, glyphs, device = self._screen_args
        return FeatureDecoderScreen(devices, selected, root, glyphs=glyphs, device=device)
