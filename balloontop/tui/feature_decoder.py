"""The interactive virtio feature decoder (issue 4): every bit of every virtio device, explained.

``FeatureDecoderScreen`` shows the virtio devices of a root on the left, the selected
device's feature bits as a grid in the centre (64 or 128 cells, as the kernel's sysfs
``features`` string gives them, bit 0 first) and a detail panel explaining the bit under
the cursor. A pasted features string, hex value or bit list is decoded on the spot as a
pseudo-device ``pasted``; a what-if copy of the bits shows what toggling a bit would change
(for a balloon: the accounting mode). ``FeatureDecoderApp`` hosts the screen alone for
``balloontop decode`` without a value; the monitor pushes the screen itself.

The grid widget and its glyphs live in ``bit_grid``, the pure explanation text and the
pasted pseudo-device in ``feature_explain``; their names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..model import VirtioDevice
from ..virtio.decode import decode_bits, short_name
from ..virtio.tables import bit_range
from ..virtio.whatif import BALLOON_ID, feature_set, mask, whatif_effects
from .bit_grid import ASCII_GLYPHS, UNICODE_GLYPHS, BitGrid, Glyphs, grid_width
from .feature_explain import PASTED, device_label, explain, pasted_device
from .guest_text import clean, content
from .widgets import KeyBar

# Re-exported, so callers and tests import the decoder's names from here: the what-if core,
# the grid and the pure explanation helpers.
__all__ = [
    "ASCII_GLYPHS",
    "PASTED",
    "UNICODE_GLYPHS",
    "BitGrid",
    "FeatureDecoderApp",
    "FeatureDecoderScreen",
    "Glyphs",
    "explain",
    "feature_set",
    "pasted_device",
    "whatif_effects",
]


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
