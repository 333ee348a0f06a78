"""Widgets of the monitor. Each updates in place and skips a refresh that changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static


class Line(Static):
    """One line of markup; ``set`` refreshes only when the markup changed."""

    DEFAULT_CSS = "Line { height: 1; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, markup: str = "", **kwargs) -> None:
        super().__init__(markup, **kwargs)
        self.markup_text = markup

    def set(self, markup: str) -> bool:
        if markup == self.markup_text:
            return False
        self.markup_text = markup
        # One row, fixed height: no layout pass (it would repaint every sibling too).
        self.update(markup, layout=False)
        return True


class LineList(Vertical):
    """Lines as separate widgets, so changing one line repaints one line (bytes/s budget)."""

    DEFAULT_CSS = "LineList { height: auto; width: 1fr; }"

    def __init__(self, lines: Sequence[str] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self._initial = list(lines)

    def compose(self) -> ComposeResult:
        for markup in self._initial:
            yield Line(markup)

    @property
    def texts(self) -> list[str]:
        return [line.markup_text for line in self.query_children(Line)]

    def set_lines(self, lines: Sequence[str]) -> int:
        """Update in place; returns how many lines changed."""
        children = list(self.query_children(Line))
        changed = 0
        for child, markup in zip(children, lines, strict=False):
            changed += child.set(markup)
        if len(lines) > len(children):
            self.mount_all([Line(m) for m in lines[len(children):]])
            changed += len(lines) - len(children)
        elif len(children) > len(lines):
            for child in children[len(lines):]:
                child.remove()
            changed += len(children) - len(lines)
        return changed


class DriverPane(VerticalScroll):
    """One balloon driver instance: its figures, features, stats and warnings."""

    DEFAULT_CSS = "DriverPane { height: auto; max-height: 100%; }"
    can_focus = True

    def __init__(self, key: str, title: str, lines: Sequence[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.border_title = title
        self.title_text = title
        self.lines = LineList(lines)

    def compose(self) -> ComposeResult:
        yield self.lines


class NoBalloonPane(VerticalScroll):
    can_focus = True

    def __init__(self, lines: Sequence[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.key = "none"
        self.border_title = "no balloon"
        self.lines = LineList(lines)

    def compose(self) -> ComposeResult:
        yield self.lines


class GraphRow(Static):
    DEFAULT_CSS = "GraphRow { height: 1; width: 1fr; text-wrap: nowrap; }"


class GraphView(Vertical):
    """The plotext frame, one widget per row: a frame that differs from the one on screen
    in three rows repaints three rows, not the whole graph (bytes/s budget)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frame_key: tuple | None = None
        self._rows: list[Text] = []
        self.title_text = ""

    def set_title(self, title: str) -> None:
        if title != self.title_text:
            self.title_text = title
            self.border_title = title

    def on_resize(self, event) -> None:
        resized = getattr(self.app, "graph_resized", None)
        if resized is not None:
            resized(self.content_size.width, self.content_size.height)

    @property
    def text(self) -> str:
        return "\n".join(row.plain for row in self._rows)

    def show_frame(self, text: Text, key: tuple) -> bool:
        if key == self.frame_key:
            return False
        self.frame_key = key
        rows = text.split("\n", allow_blank=True)
        children = list(self.query_children(GraphRow))
        for i, row in enumerate(rows):
            if i < len(children):
                if i >= len(self._rows) or self._rows[i] != row:
                    children[i].update(row, layout=False)
            else:
                self.mount(GraphRow(row))
        for child in children[len(rows):]:
            child.remove()
        self._rows = list(rows)
        return True


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

    def __init__(self, max_lines: int = 500, **kwargs) -> None:
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
