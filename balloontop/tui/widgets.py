"""Widgets of the monitor. Each updates in place and skips a refresh that changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import Static


class Line(Static):
    """One line of markup; ``set`` refreshes only when the markup changed."""

    DEFAULT_CSS = "Line { height: 1; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, markup: str = "", **kwargs: Any) -> None:
        super().__init__(markup, **kwargs)
        self.markup_text = markup

    def set(self, markup: str) -> bool:
        if markup == self.markup_text:
            return False
        self.markup_text = markup
        # One row, fixed height: no layout pass (it would repaint every sibling too).
        self.update(markup, layout=False)
        return True


class TextLines(Widget):
    """Rows of markup (or Rich ``Text``) drawn by one widget, one row per line.

    Changing one row repaints that row only (bytes/s budget), and one widget instead of a
    widget per row keeps the memory and the compositor's work per update small. Rows do
    not wrap; a row too long for the width ends in an ellipsis.
    """

    DEFAULT_CSS = "TextLines { height: auto; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, rows: Sequence[str | Text] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: list[str | Text] = list(rows)
        self._contents: dict[int, Content] = {}

    @property
    def texts(self) -> list[str]:
        """The rows as given (markup), or the plain text of ``Text`` rows."""
        return [row if isinstance(row, str) else row.plain for row in self._rows]

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def set_lines(self, rows: Sequence[str | Text]) -> int:
        """Replace the rows; repaints the changed rows only. Returns how many changed."""
        rows = list(rows)
        old = self._rows
        if len(rows) != len(old):
            changed = sum(a != b for a, b in zip(old, rows, strict=False)) + abs(len(rows) - len(old))
            self._rows = rows
            self._contents.clear()
            self.refresh(layout=True)
            return changed
        dirty = [y for y, (a, b) in enumerate(zip(old, rows, strict=False)) if a != b]
        if dirty:
            self._rows = rows
            width = self.size.width
            for y in dirty:
                self._contents.pop(y, None)
            self.refresh(*[Region(0, y, width, 1) for y in dirty])
        return len(dirty)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return max((self._content(y).cell_length for y in range(len(self._rows))), default=0)

    def _content(self, y: int) -> Content:
        content = self._contents.get(y)
        if content is None:
            row = self._rows[y]
            content = Content.from_markup(row) if isinstance(row, str) else Content.from_rich_text(row)
            self._contents[y] = content
        return content

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if not 0 <= y < len(self._rows) or width <= 0:
            return Strip.blank(width, self.visual_style.rich_style)
        strips = Visual.to_strips(self, self._content(y), width, 1, self.visual_style, pad=True)
        return strips[0] if strips else Strip.blank(width, self.visual_style.rich_style)


class DriverPane(VerticalScroll):
    """One balloon driver instance: its figures, features, stats and warnings."""

    DEFAULT_CSS = "DriverPane { height: auto; max-height: 100%; }"
    can_focus = True

    def __init__(self, key: str, title: str, lines: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.border_title = title
        self.title_text = title
        self.lines = TextLines(lines)

    def compose(self) -> ComposeResult:
        yield self.lines


class NoBalloonPane(VerticalScroll):
    can_focus = True

    def __init__(self, lines: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = "none"
        self.border_title = "no balloon"
        self.lines = TextLines(lines)

    def compose(self) -> ComposeResult:
        yield self.lines


class GraphView(TextLines):
    """The plotext frame, one row per line: a frame that differs from the one on screen in
    three rows repaints three rows, not the whole graph (bytes/s budget)."""

    DEFAULT_CSS = "GraphView { text-overflow: clip; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frame_key: tuple | None = None
        self.title_text = ""

    def set_title(self, title: str) -> None:
        if title != self.title_text:
            self.title_text = title
            self.border_title = title

    def on_resize(self, event: events.Resize) -> None:
        resized = getattr(self.app, "graph_resized", None)
        if resized is not None:
            resized(self.content_size.width, self.content_size.height)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    def show_frame(self, text: Text, key: tuple) -> bool:
        if key == self.frame_key:
            return False
        self.frame_key = key
        self.set_lines(list(text.split("\n", allow_blank=True)))
        return True


class KeyBar(Static):
    """The keys of the monitor in one line, as Textual's ``Footer`` shows them (each key
    clickable), but one widget: the ``Footer`` is a widget per key, restyled and
    recomposed whenever the focus moves, which costs the first frame a tenth of a second."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom; height: 1; width: 1fr; text-wrap: nowrap; text-overflow: clip;
        background: $footer-background; color: $footer-description-foreground;
    }
    """

    def __init__(self, keys: Sequence[tuple[str, str, str]], right: str = "", **kwargs: Any) -> None:
        """``keys``: (key shown, description, action) triples; ``right``: markup kept at
        the right end (the command palette's key)."""
        super().__init__("", **kwargs)
        self.auto_links = False  # the keys keep the footer's colours, not the link style
        self._keys = list(keys)
        self._right = right

    def line(self, width: int) -> Content:
        from textual.markup import escape

        parts = [f"[@click=\"app.{action}\"][b $footer-key-foreground] {escape(key)} [/]{escape(text)} [/]"
                 for key, text, action in self._keys]
        left = Content.from_markup("".join(parts))
        if not self._right:
            return left
        right = Content.from_markup(self._right)
        room = max(width - right.cell_length, 0)
        if left.cell_length > room:  # narrow: the keys are cut, the palette's key stays
            left = left.truncate(room)
        return left.pad_right(room - left.cell_length) + right

    def on_resize(self, event: events.Resize) -> None:
        self.update(self.line(self.size.width))

    def on_mount(self) -> None:
        self.update(self.line(self.size.width or 80))


class Clock(Static):
    DEFAULT_CSS = "Clock { width: auto; height: 1; padding: 0 1; }"


class PaneColumn(VerticalScroll):
    """Holds the driver panes; the panes take focus, not the column."""

    can_focus = False


class LogRow(NamedTuple):
    text: str


class EventLog(Static):
    """A wrapping, scrolling log of markup lines kept at the end (a light ``RichLog``:
    no ``rich.pretty`` import, one renderable for all lines)."""

    DEFAULT_CSS = "EventLog { height: auto; width: 1fr; }"

    def __init__(self, max_lines: int = 500, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.max_lines = max_lines
        self._texts: list[Text] = []

    @property
    def lines(self) -> list[LogRow]:
        return [LogRow(t.plain) for t in self._texts]

    def clear(self) -> None:
        self._texts = []
        self._show()

    def write_all(self, texts: Sequence[Text]) -> None:
        if not texts:
            return
        self._texts.extend(texts)
        if len(self._texts) > self.max_lines:
            del self._texts[: len(self._texts) - self.max_lines]
        self._show()

    def write(self, text: Text) -> None:
        self.write_all([text])

    def _show(self) -> None:
        self.update(Text("\n").join(self._texts))
        self.scroll_end(animate=False)
