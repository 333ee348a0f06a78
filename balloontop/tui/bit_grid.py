"""The feature decoder's bit grid: one cell per virtio feature bit, bit 0 first.

``BitGrid`` draws a device's bits as rows of 8, 16 or 32 cells under a ruler, with a
cursor moved by keys or the mouse. ``Glyphs`` gives every state of a cell its own
character, so the grid reads the same without colour (ASCII when the terminal's locale
is not UTF-8); ``grid_width`` is the number of cells a device needs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from ..model import VirtioDevice


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


def grid_width(device: VirtioDevice) -> int:
    """Cells to draw: the kernel's string length (64 or 128), rounded up to a row of 16."""
    width = device.features.width if device.features is not None else 64
    bits = list(device.features.bits if device.features else ()) + list(device.offered_bits or ())
    if bits:
        width = max(width, max(bits) + 1)
    width = max(width, 16)
    return -(-width // 16) * 16


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
