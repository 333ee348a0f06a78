"""Widgets of the monitor. Each updates in place and skips a refresh that changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import Static


class Line(Static):
    """One line of markup or ``Content``; ``set`` refreshes only when it changed."""

    DEFAULT_CSS = "Line { height: 1; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, markup: str | Content = "", **kwargs: Any) -> None:
        super().__init__(markup, **kwargs)
        self._value = markup
        self.markup_text = _plain_or_markup(markup)
        """The line as given (markup), or the plain text of ``Content``."""

    def set(self, markup: str | Content) -> bool:
        if same_row(markup, self._value):
            return False
        self._value = markup
        self.markup_text = _plain_or_markup(markup)
        # One row, fixed height: no layout pass (it would repaint every sibling too).
        self.update(markup, layout=False)
        return True


def _plain_or_markup(row: str | Text | Content) -> str:
    return row if isinstance(row, str) else row.plain


def same_row(a: str | Text | Content, b: str | Text | Content) -> bool:
    """Two rows draw the same (``Content ==`` compares the text only, not its styles)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Content) and isinstance(b, Content):
        return a.plain == b.plain and a.spans == b.spans
    return a == b


class TextLines(Widget):
    """Rows of markup (or ``Content``, or Rich ``Text``) drawn by one widget, one row per line.

    Changing one row repaints that row only (bytes/s budget), and one widget instead of a
    widget per row keeps the memory and the compositor's work per update small. Rows do
    not wrap; a row too long for the width ends in an ellipsis.
    """

    DEFAULT_CSS = "TextLines { height: auto; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, rows: Sequence[str | Text | Content] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: list[str | Text | Content] = list(rows)
        self._contents: dict[int, Content] = {}
        self._wrapped: tuple[int, list[Strip]] | None = None
        """(width, rows) when the stylesheet asks for ``text-wrap: wrap`` (the summary)."""

    @property
    def wraps(self) -> bool:
        return self.styles.text_wrap == "wrap"

    def _wrapped_rows(self, width: int) -> list[Strip]:
        if self._wrapped is None or self._wrapped[0] != width:
            rows = [strip for y in range(len(self._rows))
                    for strip in Visual.to_strips(self, self._content(y), width, None,
                                                  self.visual_style, pad=True)]
            self._wrapped = (width, rows)
        return self._wrapped[1]

    @property
    def texts(self) -> list[str]:
        """The rows as given (markup), or the plain text of ``Content`` and ``Text`` rows."""
        return [_plain_or_markup(row) for row in self._rows]

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def set_lines(self, rows: Sequence[str | Text | Content]) -> int:
        """Replace the rows; repaints the changed rows only. Returns how many changed."""
        rows = list(rows)
        old = self._rows
        if len(rows) != len(old):
            changed = sum(not same_row(a, b) for a, b in zip(old, rows, strict=False)) + abs(
                len(rows) - len(old))
            self._rows = rows
            self._contents.clear()
            self._wrapped = None
            self.refresh(layout=True)
            return changed
        dirty = [y for y, (a, b) in enumerate(zip(old, rows, strict=False)) if not same_row(a, b)]
        if dirty and self.wraps:
            before = len(self._wrapped[1]) if self._wrapped else -1
            self._rows = rows
            self._contents.clear()
            self._wrapped = None
            width = self.size.width
            self.refresh(layout=width <= 0 or len(self._wrapped_rows(width)) != before)
        elif dirty:
            self._rows = rows
            width = self.size.width
            for y in dirty:
                self._contents.pop(y, None)
            self.refresh(*[Region(0, y, width, 1) for y in dirty])
        return len(dirty)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.wraps and width > 0:
            return len(self._wrapped_rows(width))
        return len(self._rows)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return max((self._content(y).cell_length for y in range(len(self._rows))), default=0)

    def _content(self, y: int) -> Content:
        content = self._contents.get(y)
        if content is None:
            row = self._rows[y]
            content = _as_content(row)
            self._contents[y] = content
        return content

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.wraps and width > 0:
            wrapped = self._wrapped_rows(width)
            return wrapped[y] if 0 <= y < len(wrapped) else Strip.blank(width, self.visual_style.rich_style)
        if not 0 <= y < len(self._rows) or width <= 0:
            return Strip.blank(width, self.visual_style.rich_style)
        strips = Visual.to_strips(self, self._content(y), width, 1, self.visual_style, pad=True)
        return strips[0] if strips else Strip.blank(width, self.visual_style.rich_style)


class DriverPane(VerticalScroll):
    """One balloon driver instance: its figures, features, stats and warnings."""

    DEFAULT_CSS = "DriverPane { height: auto; max-height: 100%; }"
    can_focus = True

    def __init__(self, key: str, title: str | Content, lines: Sequence[str | Content],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.border_title = title
        self.title_text = title
        self.lines = TextLines(lines)

    def compose(self) -> ComposeResult:
        yield self.lines


class NoBalloonPane(VerticalScroll):
    can_focus = True

    def __init__(self, lines: Sequence[str | Content], **kwargs: Any) -> None:
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

    def __init__(self, keys: Sequence[tuple[str, str, str]], right: str = "",
                 namespace: str = "app", **kwargs: Any) -> None:
        """``keys``: (key shown, description, action) triples (an empty action: not
        clickable); ``right``: markup kept at the right end (the command palette's key);
        ``namespace``: where a click runs the action (``app`` or ``screen``)."""
        super().__init__("", **kwargs)
        self.auto_links = False  # the keys keep the footer's colours, not the link style
        self._keys = list(keys)
        self._right = right
        self._namespace = namespace

    def set_keys(self, keys: Sequence[tuple[str, str, str]]) -> None:
        self._keys = list(keys)
        self.update(self.line(self.size.width or 80))

    def line(self, width: int) -> Content:
        """The keys for ``width`` columns: with their descriptions when they fit, else with
        short ones (``SHORT``, and the palette's key without its word), else the keys alone;
        the palette's key stays at the right end."""
        rights = [self._right, self._right.replace("[/] palette [/]", "[/] [/]")]
        left = right = Content("")
        for short, right_markup in ((False, rights[0]), (True, rights[0]), (True, rights[1]),
                                    (None, rights[1])):
            left = self._keys_content(short)
            right = Content.from_markup(right_markup) if right_markup else Content("")
            if left.cell_length + right.cell_length <= width:
                break
        room = max(width - right.cell_length, 0)
        if left.cell_length > room:  # narrower than the keys alone: cut, the palette's key stays
            left = left.truncate(room)
        return left.pad_right(room - left.cell_length) + right if self._right else left

    SHORT = {"Slower": "", "Faster": "", "Kernel log": "Log", "Features": "Bits", "Marker": "Mark",
             "Help": ""}
    """Descriptions on a narrow terminal ("" leaves the key alone: + and - explain themselves
    next to each other, and ? is help everywhere)."""

    def _keys_content(self, short: bool | None) -> Content:
        from textual.markup import escape

        parts = []
        for key, text, action in self._keys:
            if short is None:
                text = ""
            elif short:
                text = self.SHORT.get(text, text)
            label = f"{escape(text)} " if text else ""
            key_markup = f"[b $footer-key-foreground] {escape(key)} [/]{label}"
            if not action:
                parts.append(key_markup)
                continue
            target = action if "." in action else f"{self._namespace}.{action}"
            parts.append(f"[@click=\"{target}\"]{key_markup}[/]")
        return Content.from_markup("".join(parts))

    def on_resize(self, event: events.Resize) -> None:
        self.update(self.line(self.size.width))

    def on_mount(self) -> None:
        self.update(self.line(self.size.width or 80))


class MonitorAppMixin:
    """Mixin for the monitor's ``App`` (before ``App`` in its bases).

    * Screen classes by terminal size, for the stylesheet: ``-one-column`` under 80 columns
      (one scrolling column), ``-narrow`` from 80 to 99, ``-wide`` from 100; ``-short``
      under 30 rows, ``-tall`` from 30. Screens with their own (the decoder) keep theirs.
    * The command palette's Screenshot saves to ~/Downloads when it exists, else to the
      current directory (Textual's default failed when ~/Downloads was missing); the
      notification says where.
    * One "Theme" in the palette: the monitor's (key t, the balloontop themes), not also
      Textual's picker of themes that lack the monitor's colours.
    """

    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-one-column"), (80, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (30, "-tall")]

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        return super().deliver_screenshot(filename, path or screenshot_dir(), time_format)  # type: ignore[misc]

    def get_system_commands(self, screen):  # type: ignore[no-untyped-def]
        for command in super().get_system_commands(screen):  # type: ignore[misc]
            if command.title != "Theme":
                yield command




def screenshot_dir() -> str:
    """Where a screenshot goes: ~/Downloads (or XDG_DOWNLOAD_DIR) when it is a directory,
    else the current directory, else the temporary directory."""
    import os
    import tempfile

    home = os.path.expanduser("~")
    for candidate in (os.environ.get("XDG_DOWNLOAD_DIR"), os.path.join(home, "Downloads"), os.getcwd()):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            return candidate
    return tempfile.gettempdir()


class Clock(Static):
    DEFAULT_CSS = "Clock { width: auto; height: 1; padding: 0 1; }"


class PaneColumn(VerticalScroll):
    """Holds the driver panes; the panes take focus, not the column."""

    can_focus = False


class LogRow(NamedTuple):
    text: str


class EventLog(ScrollView):
    """The event pane: wrapped lines, the newest always in view unless the user scrolled back.

    A line-API scroll view (as ``Log``): each event is wrapped to the width once and its rows
    kept, the view draws the rows in sight, the mouse wheel and the scroll bar move through
    the older ones. New events scroll the view to the end only when it was at the end, so
    reading back is not interrupted; scrolling back down to the end follows again.
    """

    DEFAULT_CSS = "EventLog { height: auto; width: 1fr; overflow-y: auto; overflow-x: hidden; }"

    def __init__(self, max_lines: int = 500, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_lines = max_lines
        self._items: list[Content] = []
        self._rows: list[Strip] = []
        self._row_width = -1
        self.following = True
        """The view is at the end: new events scroll it (``False`` once the user scrolls back)."""

    @property
    def lines(self) -> list[LogRow]:
        return [LogRow(item.plain) for item in self._items]

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.following = round(new) >= self.max_scroll_y

    def _follow(self) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def clear(self) -> None:
        self._items = []
        self._rewrap(force=True)

    def write_all(self, texts: Sequence[Text | Content | str]) -> None:
        if not texts:
            return
        new = [_as_content(text) for text in texts]
        self._items.extend(new)
        if len(self._items) > self.max_lines:
            del self._items[: len(self._items) - self.max_lines]
            self._rewrap(force=True)
        elif self._row_width > 0:
            for item in new:
                self._rows.extend(self._wrap(item, self._row_width))
            self._set_virtual_size()
        self.refresh()
        self._follow()

    def write(self, text: Text | Content | str) -> None:
        self.write_all([text])

    def _wrap(self, item: Content, width: int) -> list[Strip]:
        return Visual.to_strips(self, item, width, None, self.visual_style, pad=True) or [Strip.blank(width)]

    def _rewrap(self, force: bool = False) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or (width == self._row_width and not force):
            return
        self._row_width = width
        self._rows = [row for item in self._items for row in self._wrap(item, width)]
        self._set_virtual_size()
        self.refresh()
        self._follow()

    def _set_virtual_size(self) -> None:
        self.virtual_size = Size(self._row_width, len(self._rows))

    def on_resize(self, event: events.Resize) -> None:
        self._rewrap()
        self._follow()

    def render_line(self, y: int) -> Strip:
        self._rewrap()
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        if not 0 <= index < len(self._rows):
            return Strip.blank(width, self.visual_style.rich_style)
        return self._rows[index].crop_extend(0, width, self.visual_style.rich_style)


def _as_content(text: Text | Content | str) -> Content:
    if isinstance(text, Content):
        return text
    if isinstance(text, Text):
        return Content.from_rich_text(text)
    return Content.from_markup(text)
