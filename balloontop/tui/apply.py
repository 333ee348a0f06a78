"""How a tick reaches the screen: ``TickApplier``, a mixin of ``BalloonApp``.

The poller hands each tick over as a ``PollResult``; ``apply_tick`` (UI thread) puts its
header, summary, driver panes, events, processes and graph frame into the monitor's widgets,
comparing strings and repainting only the rows whose text changed. The graph is redrawn off
the UI thread when a paused monitor or a new size needs a frame the poll did not bring.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from textual import work
from textual.content import Content
from textual.css.query import NoMatches

from ..eventlog import EventJournal
from ..history import WINDOWS
from ..model import Event, Sample
from . import model_view as mv
from .graph import GraphFrame
from .poller import Poller, PollResult
from .widgets import DriverPane, EventLog, GraphView, Line, NoBalloonPane, PaneColumn, TextLines

if TYPE_CHECKING:
    from textual.app import App as _AppBase
else:
    _AppBase = object

WidgetT = TypeVar("WidgetT")


class TickApplier(_AppBase):
    """Puts the poller's results on the monitor's screen (a mixin of ``BalloonApp``)."""

    # what it uses of the app (``BalloonApp.__init__`` sets them)
    poller: Poller
    journal: EventJournal
    notes: list[Content]
    last_sample: Sample | None
    prev_sample: Sample | None
    tick_count: int
    ui_ms: list[float]
    graph_ms: list[float]
    _poll_died: str | None
    focus: int
    fleet_view: bool
    window_index: int

    if TYPE_CHECKING:
        def _tick_clock(self) -> None: ...

        def _refresh_header(self) -> None: ...

    # -- the monitor's widgets ---------------------------------------------------------

    def _main(self, widget_id: str, expect_type: type[WidgetT]) -> WidgetT:
        """A widget of the monitor's own screen by id, whichever screen is on top (a tick
        that lands under the help or the decoder is applied all the same): a lookup, not a
        selector match over every screen's widgets each tick."""
        if not self.screen_stack:
            raise NoMatches(f"no screen for #{widget_id}")
        widget = self.screen_stack[0].get_widget_by_id(widget_id)
        if not isinstance(widget, expect_type):
            raise NoMatches(f"#{widget_id} is not a {expect_type.__name__}")
        return widget

    def panes(self) -> list[DriverPane | NoBalloonPane]:
        try:
            container = self._main("panes", PaneColumn)
        except Exception:
            return []
        return [w for w in container.children if isinstance(w, (DriverPane, NoBalloonPane))]

    def focused_pane(self) -> DriverPane | NoBalloonPane | None:
        for pane in self.panes():
            if pane is self.focused or (self.focused is not None and pane in self.focused.ancestors):
                return pane
        panes = self.panes()
        return panes[0] if panes else None

    # -- ticks (UI thread) ---------------------------------------------------------------

    def _start_polling(self) -> None:
        """Read the first tick here, on the UI thread (a few ms), so the driver panes are
        mounted before the first layout and paint; then start the poll thread."""
        self._capture_sizes()
        first = self.poller.read()
        self._apply(first)
        self.poller.polling = False
        self.call_after_refresh(self.poller.first_paint.set)
        self.poller.start(first)

    def _capture_sizes(self) -> None:
        """The graph's and the panes' sizes, for the poll thread (UI thread)."""
        try:
            graph = self._main("graph", GraphView)
            panes = self._main("panes", PaneColumn)
        except NoMatches:  # another screen is current, or shutting down
            return
        size = graph.content_size
        if size.width > 0 and size.height > 0:
            self.poller.graph_size = (size.width, size.height)
        width = panes.content_size.width - 4
        self.poller.pane_width = width if width >= 30 else max(self.size.width // 2 - 5, 30)

    def apply_tick(self, result: PollResult, figures_applied: bool) -> None:
        """One tick on screen: figures, processes, graph and clock in one frame."""
        start = time.perf_counter()
        try:
            if figures_applied:  # the first tick: only its processes and graph are new
                if result.processes is not None:
                    self._main("procs", TextLines).set_lines(result.processes)
            else:
                self._apply_result(result)
            self._apply_graph(result.graph, result.graph_title)
            self._tick_clock()
            self._capture_sizes()
        except NoMatches:  # another screen is current, or the app is shutting down
            pass
        finally:
            self.poller.applied()
            self.ui_ms.append((time.perf_counter() - start) * 1000)
            self.poller.poll_ms.append(result.poll_ms)
            for figures in (self.ui_ms, self.poller.poll_ms):
                if len(figures) > 1000:
                    del figures[:500]

    def poll_thread_died(self, why: str) -> None:
        """The poll thread ended with an exception: said, and the header says STALE."""
        self._poll_died = why
        self.notify(f"the poll thread stopped ({why}); figures are no longer updated",
                    title="balloontop", severity="error", timeout=0, markup=False)
        self._refresh_header()

    def _apply(self, result: PollResult) -> None:
        """Figures and text of a result on screen."""
        try:
            self._apply_result(result)
        except NoMatches:  # the app is shutting down
            pass

    def _apply_graph(self, frame: GraphFrame | None, title: str) -> None:
        graph = self._main("graph", GraphView)
        if frame is not None and tuple(frame.key[:2]) != tuple(self.poller.graph_size):
            frame = None  # drawn for a size the graph no longer has
            self._redraw_graph_paused()
        if frame is not None:
            graph.show_frame(frame.text, frame.key)
            self.graph_ms.append(frame.build_ms)
            if len(self.graph_ms) > 1000:
                del self.graph_ms[:500]
        if title:
            graph.set_title(title)

    def _apply_result(self, result: PollResult) -> None:
        for title, notice in result.notices:
            self.notify(notice, title=title, severity="warning", timeout=8, markup=False)
        if result.error:
            self.notify(result.error, title="reading failed", severity="error", timeout=5, markup=False)
        sample = result.sample
        if sample is None and not result.panes and not result.events:
            if result.header:
                self._main("title", Line).set(result.header)
            return  # nothing new (a replay between samples, a guest not read yet)
        if sample is not None:
            self.tick_count += 1
            self.prev_sample, self.last_sample = self.last_sample, sample
        self._main("title", Line).set(result.header)
        self._main("summary", TextLines).set_lines(result.summary)
        self._apply_panes(result)
        if result.reset_events:
            self.journal.clear()
        self._add_events(result.events, rebuild=result.reset_events)
        log = self._main("events", EventLog)
        title = f"events · {result.episode}" if result.episode else "events"
        if log.border_title != title:
            log.border_title = title
        if result.processes is not None:
            self._main("procs", TextLines).set_lines(result.processes)

    @staticmethod
    def _event_text(event: Event) -> Content:
        return mv.event_text(event)  # guest text as plain text, theme variables kept

    def _add_events(self, events: Iterable[Event], rebuild: bool = False) -> None:
        """Append events to the event pane (one line per OOM kill: ``EventJournal``)."""
        appended, replaced = self.journal.add(events)
        try:
            log = self._main("events", EventLog)
        except NoMatches:
            return  # before mount (prefill): written by on_mount
        if rebuild or replaced:
            log.clear()
            log.write_all(self.notes + [self._event_text(e) for e in self.journal.events])
        else:
            log.write_all([self._event_text(e) for e in appended])

    def _apply_panes(self, result: PollResult) -> None:
        container = self._main("panes", PaneColumn)
        existing = {getattr(w, "key", None): w for w in container.children}
        wanted = [key for key, _ in result.panes] or (["none"] if result.no_balloon else [])
        for key, widget in existing.items():
            if key not in wanted:
                widget.remove()
        present = {k: w for k, w in existing.items() if k in wanted}
        for index, (key, content) in enumerate(result.panes):
            pane = present.get(key)
            if isinstance(pane, DriverPane):
                pane.lines.set_lines(content.lines)
                if pane.title_text != content.title:
                    pane.title_text = content.title
                    pane.border_title = content.title
                continue
            pane = DriverPane(key, content.title, content.lines, classes="pane")
            # in the order given (a guest answering late goes before the ones after it)
            later = next((present[k] for k in wanted[index + 1:] if k in present), None)
            if later is not None:
                container.mount(pane, before=later)
            else:
                container.mount(pane)
            present[key] = pane
        if result.no_balloon is not None:
            none = existing.get("none")
            if isinstance(none, NoBalloonPane):
                none.lines.set_lines(result.no_balloon)
            else:
                container.mount(NoBalloonPane(result.no_balloon, classes="pane"))
        for number, pane in enumerate(self.panes(), 1):
            if pane.border_subtitle != str(number):
                pane.border_subtitle = str(number)  # 1-9 focus the pane of that number
        if self.focused is None and self.screen is self.screen_stack[0]:
            # the shown guest's first pane (several guests: not one that came first)
            mine = f"{self.focus}:" if self.fleet_view else ""
            panes = [p for p in self.panes() if str(getattr(p, "key", "")).startswith(mine)]
            if panes:
                panes[0].focus()

    # -- a graph frame the poll did not bring (paused, resized, another window) ---------

    def graph_resized(self, width: int, height: int) -> None:
        """Redraw the graph for its new size (off the UI thread), whatever the poll does."""
        if width <= 0 or height <= 0 or (width, height) == self.poller.graph_size:
            return
        self.poller.graph_size = (width, height)
        self.poller.force_graph = True
        if self.last_sample is not None and self.tick_count:
            self._redraw_graph_paused()

    @work(thread=True, exclusive=True, group="graph", exit_on_error=False)
    def _redraw_graph_paused(self) -> None:
        sample = self.last_sample
        if sample is None:
            return
        frame, title = self.poller.graph(sample, self.poller.graph_size,
                                         WINDOWS[self.window_index][1], True)
        if frame is not None and self.is_running:
            self.call_from_thread(self._show_graph, frame, title)
            self.poller.force_graph = False

    def _show_graph(self, frame: GraphFrame, title: str) -> None:
        try:
            graph = self._main("graph", GraphView)
        except NoMatches:
            return
        if graph.is_attached and tuple(frame.key[:2]) == tuple(self.poller.graph_size):
            graph.show_frame(frame.text, frame.key)
            graph.set_title(title)  # with the host's legend it is fitted to the graph's width
