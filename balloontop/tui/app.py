"""The live monitor's screen: a Textual app over a ``Monitor`` pipeline.

``make_app(...)`` is the one factory the CLI, the tests and the screenshot script use.
The pipeline (samples, events, kernel log, recording) is ``balloontop.monitor``; the poll
thread that runs it and hands each tick over is ``poller``. This module applies what the
poller hands it (comparing strings, repainting only the rows whose text changed) and
answers keys.
"""

from __future__ import annotations

import locale
import os
import signal
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.color import Color
from textual.content import Content
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen

from ..config import INTERVAL_FLOOR
from ..eventlog import EventJournal
from ..events import EventDetector
from ..history import WINDOWS, History, sample_metrics
from ..model import Event, Sample
from ..fleet import Fleet, Guest
from ..monitor import Monitor, kernel_log_root_for
from ..recording import Recorder
from ..sources import SampleSource
from . import model_view as mv
from .graph import GraphFrame
from .poller import GRAPH_REST_S, MAX_PANES, PROCESS_ROWS, Poller, PollResult
from .processes import ProcRow, psutil_source
from .themes import load_themes
from .widgets import (
    Clock,
    DriverPane,
    EventLog,
    GraphView,
    KeyBar,
    Line,
    MonitorAppMixin,
    NoBalloonPane,
    PaneColumn,
    TextLines,
)

__all__ = ["GRAPH_REST_S", "MAX_PANES", "PROCESS_ROWS", "BalloonApp", "PollResult", "make_app"]

if TYPE_CHECKING:
    from .feature_decoder import FeatureDecoderScreen
    from .screens import LogRecordRow

WidgetT = TypeVar("WidgetT")

SEEK_FRACTION = 0.1
"""``[``/``]`` move a replay by a tenth of the recording."""


def _ascii_terminal() -> bool:
    """Draw with ASCII when the locale is not UTF-8. The environment decides first: Python's
    UTF-8 mode (and PEP 538's coercion of the C locale) makes the preferred encoding UTF-8
    whatever ``LANG=C`` says, and the terminal is what LANG describes."""
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(name)
        if value:
            return "utf8" not in value.lower().replace("-", "")
    enc = (locale.getpreferredencoding(False) or "").lower().replace("-", "")
    return "utf8" not in enc


class BalloonApp(MonitorAppMixin, App):
    """balloontop's live monitor."""

    CSS_PATH = "balloontop.tcss"
    TITLE = "balloontop"
    ENABLE_COMMAND_PALETTE = True

    size_hint: tuple[int, int] | None = None
    """The terminal size ``make_app`` was given, for ``run_test(size=app.size_hint)``."""

    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        # top, htop and btop quit on ctrl+c and F10: so does balloontop (Textual would ask
        # for ctrl+q instead).
        Binding("ctrl+c,f10", "quit", "Quit", show=False, priority=True, id="quit_habit"),
        Binding("space,p", "toggle_pause", "Pause", key_display="space", id="pause"),
        Binding("plus", "slower", "Slower", key_display="+", id="slower"),
        Binding("minus", "faster", "Faster", key_display="-", id="faster"),
        # tab and 1-9 stay out of the footer (room for m and k at 120 columns); the help
        # and the command palette list them.
        Binding("tab", "next_pane", "Next pane", id="next_pane", priority=True, show=False),
        Binding("1", "focus_pane(1)", "Pane", key_display="1-9", id="pane", show=False),
        *[Binding(str(n), f"focus_pane({n})", f"Pane {n}", show=False, id=f"pane{n}")
          for n in range(2, 10)],
        Binding("g", "cycle_window", "Graph", id="graph"),
        Binding("f", "features", "Features", id="features"),
        Binding("m", "marker", "Marker", id="marker"),
        Binding("k", "kernel_log", "Kernel log", id="kernel_log"),
        Binding("full_stop,n", "replay_step", "Step", key_display=".", id="replay_step"),
        Binding("left_square_bracket", "seek(-1)", "Back", key_display="[", id="seek_back"),
        Binding("right_square_bracket", "seek(1)", "Fwd", key_display="]", id="seek_forward"),
        Binding("t", "cycle_theme", "Theme", id="theme"),
        Binding("greater_than_sign", "next_guest(1)", "Guest", key_display=">", id="next_guest"),
        Binding("less_than_sign", "next_guest(-1)", "Guest", key_display="<", id="prev_guest",
                show=False),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
    ]

    def __init__(
        self,
        source: SampleSource,
        *,
        interval: float = 1.0,
        theme: str = "dark",
        clock: Callable[[], float] = time.time,
        process_source: Callable[[], list[ProcRow] | None] | None = None,
        process_interval: float = 5.0,
        hostname: str | None = None,
        uptime: float | None = None,
        source_label: str = "",
        user_theme_dir: Path | None = None,
        ascii_only: bool | None = None,
        color: bool = True,
        recorder: Recorder | None = None,
        kernel_log_root: str | None = None,
        root: str | None = None,
        guests: list[Guest] | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.root = root
        self.fleet = Fleet(guests or [Guest("", Monitor(source, recorder=recorder,
                                                        kernel_log_root=kernel_log_root))])
        self.focus = 0
        """The guest whose figures, graph and processes are shown (several guests)."""
        self.fleet_view = guests is not None
        """Guests given (remote ones): a row and a state for each, even for one."""
        self.replay = self.monitor.replay is not None
        """Over a ``ReplaySource``: events come from the recording, pause/step/seek act on it."""
        self.journal = EventJournal()
        self.notes: list[Content] = []
        """Lines of the event pane that are not events (``monitor started``)."""
        self.interval = max(float(interval), INTERVAL_FLOOR)
        self.clock = clock
        self.hostname = hostname
        self.uptime_override = uptime
        self.source_label = source_label
        self.ascii_only = _ascii_terminal() if ascii_only is None else ascii_only
        self.color = color
        self.recorder = recorder
        self.paused = False
        self.window_index = 0
        self.graph_colors: dict[str, tuple[int, int, int]] = {}
        self.last_sample: Sample | None = None
        self.prev_sample: Sample | None = None
        self.tick_count = 0
        self.ui_ms: list[float] = []
        self.graph_ms: list[float] = []
        self._prefill_events: list[Event] = []
        self._clock_fmt = ""
        self._poll_died: str | None = None
        self.poller = Poller(self, self.fleet, process_source, process_interval)
        themes, problems = load_themes(user_theme_dir)
        self.theme_names = list(themes)
        for t in themes.values():
            self.register_theme(t)
        self._theme_problems = problems
        wanted = theme if theme in themes else "dark"
        if not color:
            wanted = "monochrome" if "monochrome" in themes else wanted
        self._initial_theme = wanted
        self._unknown_theme = None if theme in themes else theme
        self.theme = wanted

    # -- the pipeline's parts, as tests and screens see them ----------------------------

    @property
    def monitor(self) -> Monitor:
        """The focused guest's pipeline (the only one, usually)."""
        return self.fleet.guests[self.focus].monitor

    @property
    def history(self) -> History:
        return self.monitor.history

    @property
    def detector(self) -> EventDetector:
        return self.monitor.detector

    @detector.setter
    def detector(self, value: EventDetector) -> None:
        self.monitor.detector = value

    @property
    def kernel_log(self) -> Any:
        return self.monitor.kernel_log

    @property
    def oom_inference(self) -> Any:
        return self.monitor.oom_inference

    @property
    def rate(self) -> float | None:
        return self.monitor.history.rate_mib_s()

    @property
    def event_log(self) -> list[Event]:
        """The events the pane shows, oldest first."""
        return self.journal.events

    @property
    def poll_ms(self) -> list[float]:
        return self.poller.poll_ms

    @property
    def _polling(self) -> bool:
        return self.poller.polling

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="header"):
            yield Line(self.header(None), id="title")
            yield Clock(self._clock_text(), id="clock")
        yield TextLines(["reading..."], id="summary")
        with Horizontal(id="main"):
            yield PaneColumn(id="panes")
            with Vertical(id="right"):
                graph = GraphView(id="graph")
                graph.border_title = "balloon size"
                yield graph
                log = EventLog(id="events", max_lines=500)
                log.border_title = "events"
                log.can_focus = False
                yield log
                procs = TextLines([], id="procs")
                procs.border_title = "largest memory users"
                yield procs
        yield KeyBar(self._footer_keys(), self._palette_key(), id="keys")

    def _footer_keys(self) -> list[tuple[str, str, str]]:
        """The keys the footer lists: the shown bindings this source can use."""
        return [(binding.key_display or binding.key, binding.description, binding.action)
                for binding in self.key_bindings()
                if binding.show and self.check_action(binding.action.split("(")[0], ()) is not False]

    def key_bindings(self) -> list[Binding]:
        """``BINDINGS`` as ``Binding`` objects (every one is: no tuples here)."""
        return [binding for binding in self.BINDINGS if isinstance(binding, Binding)]

    def _palette_key(self) -> str:
        if not self.ENABLE_COMMAND_PALETTE:
            return ""
        bar = "|" if self.ascii_only else "▏"
        return (f"[$foreground 20%]{bar}[/][@click=app.command_palette][b $footer-key-foreground] ^p[/] "
                "palette [/]")

    def get_theme_variable_defaults(self) -> dict[str, str]:
        from .themes import VARIABLES

        return dict(VARIABLES)

    def prefill(self, samples: Iterable[Sample]) -> None:
        """Feed past samples into the history and the event log before the app runs
        (a replay's earlier part, the screenshot scenarios)."""
        for sample in samples:
            self.monitor.history.add(sample.time, sample_metrics(sample))
            self._prefill_events.extend(self.monitor.detector.feed(sample))
            self.last_sample = sample

    # -- lifecycle ---------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.ascii_only:
            self.add_class("-ascii")
        for problem in self._theme_problems:
            self.notify(str(problem), title="theme not loaded", severity="warning", timeout=8, markup=False)
        if self._unknown_theme:
            self.notify(f"no theme {self._unknown_theme!r}; using {self.theme!r}. "
                        f"Known: {', '.join(self.theme_names)}", severity="warning", timeout=8, markup=False)
        if self.recorder is not None:
            self.notify(f"recording to {self.recorder.path}", title="recording", timeout=5, markup=False)
        self._update_graph_colors()
        started = "replay started" if self.replay else "monitor started"
        self.notes = [mv.event_text(f"[$muted]{self._stamp(self.clock())}[/] {started}")]
        self._add_events(self._prefill_events, rebuild=True)
        self.set_interval(1.0, self._clock_timer)
        self._install_signals()
        self._start_polling()

    def on_unmount(self) -> None:
        self.poller.stop()
        if self.monitor.kernel_log is not None:
            self.monitor.kernel_log.close()  # the live /dev/kmsg descriptor

    def _install_signals(self) -> None:
        # SIGHUP (SSH link dropped) and SIGTERM: leave through App.exit so the driver
        # restores the terminal, never die with it in raw mode.
        if not hasattr(signal, "SIGHUP") or os.name != "posix":
            return
        try:
            import asyncio

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, self.exit, None, 128 + sig)  # result, return_code
        except (RuntimeError, NotImplementedError, ValueError):
            pass

    def watch_theme(self, _old: str, _new: str) -> None:
        self._update_graph_colors()
        self.poller.force_graph = True

    def _update_graph_colors(self) -> None:
        colors = {}
        variables = self.theme_variables if hasattr(self, "theme_variables") else {}
        theme = self.current_theme
        for name in ("balloon-graph", "total-graph", "available-graph"):
            value = (theme.variables or {}).get(name) or variables.get(name)
            try:
                c = Color.parse(value)
                colors[name] = (c.r, c.g, c.b)
            except Exception:
                pass
        self.graph_colors = colors

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

    # -- the header and the clock (UI thread, cheap) -------------------------------------

    @staticmethod
    def _stamp(t: float) -> str:
        return time.strftime("%H:%M:%S", time.localtime(t))

    def _clock_text(self) -> str:
        return self._stamp(self.clock())

    def _clock_timer(self) -> None:
        """The clock between polls. Live at 1 s or faster, each poll's frame already carries
        it: a second timer frame per second would double the screen updates."""
        if (self.paused or self.interval > 1.0
                or time.monotonic() - self.poller.last_apply > 1.5):
            self._tick_clock()

    def _tick_clock(self) -> None:
        text = self._clock_text()
        if text != self._clock_fmt:
            try:
                clock = self._main("clock", Clock)
            except NoMatches:  # the main screen is not current yet, or any more (shutting down)
                return
            self._clock_fmt = text
            clock.update(text, layout=False)

    def header(self, sample: Sample | None, stale: bool = False, label: str | None = None) -> Content:
        """The title line: who, what state (live, paused, replay, stale), the interval."""
        state = None
        replay = self.monitor.replay
        if replay is not None:
            pos = replay.last_time if replay.last_time is not None else replay.start
            where = f"{mv.fmt_clock(pos - replay.start)}/{mv.fmt_clock(replay.end - replay.start)}"
            if replay.finished:
                where += " end"
            state = f"[b $accent]REPLAY[/] {where}"
            if self.paused:
                state = "[b $warning]PAUSED[/] " + state
        elif self._poll_died is not None or stale:
            state = "[b $error]STALE[/]"
        return mv.header_line(sample, self.hostname, self.interval, self.paused,
                              self.uptime_override, self.source_label if label is None else label,
                              state=state,
                              live=self.source.kind != "capture")  # a folder does not change

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

    def graph_resized(self, width: int, height: int) -> None:
        """Redraw the graph for its new size (off the UI thread), whatever the poll does."""
        if width <= 0 or height <= 0 or (width, height) == self.poller.graph_size:
            return
        self.poller.graph_size = (width, height)
        self.poller.force_graph = True
        if self.last_sample is not None and self.tick_count:
            self._redraw_graph_paused()

    # -- helpers -----------------------------------------------------------------------

    def panes(self) -> list[Any]:
        try:
            container = self._main("panes", PaneColumn)
        except Exception:
            return []
        return [w for w in container.children if isinstance(w, (DriverPane, NoBalloonPane))]

    def focused_pane(self) -> Any:
        for pane in self.panes():
            if pane is self.focused or (self.focused is not None and pane in self.focused.ancestors):
                return pane
        panes = self.panes()
        return panes[0] if panes else None

    def _refresh_header(self) -> None:
        self._main("title", Line).set(self.header(self.last_sample))

    # -- actions (every key is a binding) ------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        replay = self.monitor.replay
        if replay is not None:
            replay.paused = self.paused
        self._refresh_header()
        if not self.paused:
            self.poller.request()  # resume at once

    def _set_interval(self, value: float) -> None:
        self.interval = round(max(INTERVAL_FLOOR, min(value, 60.0)), 1)
        self._refresh_header()
        self.poller.wake()  # the poll thread takes the new interval from its last poll

    def action_slower(self) -> None:
        self._set_interval(self.interval * 2 if self.interval >= 1 else self.interval + 0.2)

    def action_faster(self) -> None:
        self._set_interval(self.interval / 2 if self.interval > 1 else self.interval - 0.2)

    def action_next_pane(self) -> None:
        panes = self.panes()
        if not panes:
            return
        current = self.focused_pane()
        index = panes.index(current) if current in panes else -1
        panes[(index + 1) % len(panes)].focus()

    def action_focus_pane(self, number: int) -> None:
        panes = self.panes()
        if 1 <= number <= len(panes):
            panes[number - 1].focus()
        else:
            self.notify(f"no pane {number} ({len(panes)} shown)", timeout=2, markup=False)

    def action_cycle_window(self) -> None:
        self.window_index = (self.window_index + 1) % len(WINDOWS)
        self.poller.force_graph = True
        self.notify(f"graph window: {WINDOWS[self.window_index][0]}", timeout=1.5, markup=False)
        if self.paused and self.last_sample is not None:
            self._redraw_graph_paused()

    @work(thread=True, exclusive=True, group="graph", exit_on_error=False)
    def _redraw_graph_paused(self) -> None:
        sample = self.last_sample
        if sample is None:
            return
        frame, _title = self.poller.graph(sample, self.poller.graph_size,
                                          WINDOWS[self.window_index][1], True)
        if frame is not None and self.is_running:
            self.call_from_thread(self._show_graph, frame)
            self.poller.force_graph = False

    def _show_graph(self, frame: GraphFrame) -> None:
        try:
            graph = self._main("graph", GraphView)
        except NoMatches:
            return
        if graph.is_attached and tuple(frame.key[:2]) == tuple(self.poller.graph_size):
            graph.show_frame(frame.text, frame.key)

    def action_features(self) -> None:
        """The feature decoder, on the focused pane's virtio device."""
        from .feature_decoder import FeatureDecoderScreen

        pane = self.focused_pane()
        sample = self.last_sample
        devices = list(sample.virtio_devices) if sample is not None else []
        if not devices:
            self.notify("no virtio devices in this source", timeout=3, markup=False)
            return
        selected = None
        if isinstance(pane, DriverPane):
            instance = pane.key.rsplit(":", 1)[-1]
            if any(d.instance == instance for d in devices):
                selected = instance
        screen = FeatureDecoderScreen(devices, selected=selected, root=self.root)
        self.push_screen(screen)
        self.call_after_refresh(self._decoder_on_first_bit, screen)

    @staticmethod
    def _decoder_on_first_bit(screen: Any) -> None:
        """From the monitor the decoder opens on the device's first negotiated bit."""
        device = screen.device
        bits = sorted(device.features.bits) if device is not None and device.features else []
        if bits and screen.is_attached:
            try:
                screen.grid.cursor = bits[0]
            except Exception:  # pragma: no cover - the screen closed meanwhile
                pass

    def action_marker(self) -> None:
        from .screens import MarkerScreen  # screens load on first use (start-up time)

        self.push_screen(MarkerScreen(), self._add_marker)

    def _add_marker(self, text: str | None) -> None:
        text = (text or "").strip()
        if not text:
            return
        self._add_events([self.monitor.marker(self.clock(), text)])

    def kernel_log_rows(self) -> list[LogRecordRow]:
        """The kernel log's retained records with their tags (UI thread, a copy)."""
        kernel_log = self.monitor.kernel_log
        if kernel_log is None:
            return []
        for _ in range(5):
            try:
                return kernel_log.highlighted()
            except RuntimeError:  # the poll thread appended meanwhile
                continue
        return []

    def action_kernel_log(self) -> None:
        kernel_log = self.monitor.kernel_log
        if self.replay:
            note = "a replay holds the recorded events, not the kernel log"
        elif not self.monitor.reads_kernel_log:
            note = "no kernel log for this source"
        elif kernel_log is None:
            note = "the kernel log is read with the first sample"
        else:
            note = None
        warnings = list(kernel_log.warnings) if kernel_log is not None else []
        from .screens import KernelLogScreen

        self.push_screen(KernelLogScreen(self.kernel_log_rows(), warnings, note))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("replay_step", "seek") and not self.replay:
            return False  # replay keys: hidden in the live monitor
        if action == "next_guest" and self.fleet.single:
            return False  # one guest: nothing to switch to
        return True

    def action_next_guest(self, step: int) -> None:
        """Show the next (or previous) guest's figures, graph and processes; its panes get
        the focus (below 100 columns only its panes are shown)."""
        count = len(self.fleet.guests)
        self.focus = (self.focus + step) % count
        self.poller.graph_key = None  # another guest's history: draw it at once
        self.poller.force_graph = True
        self.notify(f"guest {self.focus + 1}/{count}: {self.fleet.guests[self.focus].title()}",
                    timeout=1.5, markup=False)
        self.poller.request()

    def on_descendant_focus(self, event: Any) -> None:
        """Focusing a pane of another guest (tab, 1-9, a click) makes that guest the shown one."""
        pane = self.focused_pane()
        key = getattr(pane, "key", "")
        if self.fleet.single or ":" not in key:
            return
        index = key.split(":", 1)[0]
        if index.isdigit() and int(index) != self.focus and int(index) < len(self.fleet.guests):
            self.focus = int(index)
            self.poller.graph_key = None
            self.poller.force_graph = True
            self.poller.request()

    def action_replay_step(self) -> None:
        if not self.replay:
            return
        self.monitor.step()
        self._pause_for_replay()

    def action_seek(self, direction: int) -> None:
        replay = self.monitor.replay
        if replay is None:
            return
        span = max(replay.end - replay.start, 0.0)
        delta = max(span * SEEK_FRACTION, self.interval)
        pending = self.monitor.seek_pending
        base = pending if pending is not None else (
            replay.last_time if replay.last_time is not None else replay.start)
        self.monitor.seek(min(max(base + direction * delta, replay.start), replay.end))
        self.poller.request()

    def _pause_for_replay(self) -> None:
        replay = self.monitor.replay
        if not self.paused and replay is not None:
            self.paused = True
            replay.paused = True
        self.poller.request()

    def action_cycle_theme(self) -> None:
        names = self.theme_names
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=1.5, markup=False)

    def action_help(self) -> None:
        from .screens import HelpScreen

        self.push_screen(HelpScreen(self.key_bindings()))

    def get_system_commands(self, screen: Screen) -> Iterator[SystemCommand]:
        yield from super().get_system_commands(screen)  # Textual's, less its Theme (the mixin)
        for binding in self.key_bindings():
            if (binding.show or binding.id == "next_pane") and binding.action not in (
                    "quit",) and self.check_action(binding.action.split("(")[0], ()):
                yield SystemCommand(binding.description, f"{binding.description} "
                                    f"(key {binding.key_display or binding.key})",
                                    lambda a=binding.action: self.run_action(a))


def make_app(
    root: str = "/",
    interval: float = 1.0,
    theme: str = "dark",
    clock: Callable[[], float] = time.time,
    source: SampleSource | None = None,
    process_source: Callable[[], list[ProcRow] | None] | None | str = "auto",
    hostname: str | None = None,
    size: tuple[int, int] | None = None,
    uptime: float | None = None,
    process_interval: float = 5.0,
    user_theme_dir: Path | None = None,
    ascii_only: bool | None = None,
    color: bool = True,
    recorder: Recorder | None = None,
    source_label: str | None = None,
    kernel_log: bool | str = "auto",
    guests: list[Guest] | None = None,
) -> BalloonApp:
    """The monitor, ready to ``run()`` or ``run_test(size=...)``.

    ``source``: a ``SampleSource`` (a ``Sampler``, a replay, the demo); default a
    ``Sampler`` over ``root`` with ``clock``. ``process_source``: a callable giving process
    rows, ``None`` for "no processes" (a capture), or ``"auto"`` (psutil when the source is
    this machine). ``size`` is kept for callers that want to pass the terminal size along
    with the app (``run_test(size=app.size_hint)``). ``kernel_log``: read the kernel log
    (``"auto"``: the live ``/dev/kmsg``, or ``<root>/dev/kmsg`` when a capture has one;
    never for a demo or a replay). ``guests``: several guests at once (each a ``Guest`` with
    its own ``Monitor``); ``source`` is then the first guest's.
    """
    from ..sampler import Sampler

    if source is None:
        source = Sampler(root, clock=clock)
    live = source.kind == "live"
    if process_source == "auto":
        process_source = psutil_source(PROCESS_ROWS) if live and source_label is None else None
    if hostname is None and live and source_label is None:
        hostname = socket.gethostname()
    if source_label is None:
        source_label = ""
        if source.kind == "capture":
            parent = os.path.basename(os.path.dirname(os.path.normpath(root)))
            source_label = f" · capture {parent}/{os.path.basename(os.path.normpath(root))}"
    log_root = kernel_log_root_for(source, root) if kernel_log == "auto" else (
        root if kernel_log else None)
    app = BalloonApp(
        source, interval=interval, theme=theme, clock=clock,
        process_source=process_source if callable(process_source) else None,
        process_interval=process_interval, hostname=hostname, uptime=uptime,
        source_label=source_label, user_theme_dir=user_theme_dir, ascii_only=ascii_only,
        color=color, recorder=recorder, kernel_log_root=log_root, root=root, guests=guests,
    )
    app.size_hint = size
    return app
