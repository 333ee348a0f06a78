"""The live monitor: a Textual app over a sample source.

``make_app(...)`` is the one factory the CLI, the tests and the screenshot script use.

Threading: the first sample is read on the UI thread before the first layout (a few ms),
then one long-lived poll thread reads a sample per tick, feeds the history, the event
detector and the kernel log, builds the graph frame (plotext) and every line of text, and
hands the result to the UI thread in one callback, which only compares strings and
repaints the rows whose text changed (the clock rides in the same frame). The thread
waits until a result is applied before it reads the next, so polls never overlap and a
slow file never blocks the screen.
"""

from __future__ import annotations

import locale
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.color import Color
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen

from ..config import INTERVAL_FLOOR
from ..events import EventDetector
from ..history import WINDOWS, History
from ..model import Event, Sample
from . import model_view as mv
from .graph import GraphBuilder, GraphFrame
from .processes import ProcRow, process_lines, psutil_source
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

WidgetT = TypeVar("WidgetT")

PROCESS_ROWS = 8
OOM_MERGE_S = 120.0
"""A kernel-log OOM report and a vmstat oom_kill rise this close in time are one kill."""
SEEK_FRACTION = 0.1
"""``[``/``]`` move a replay by a tenth of the recording."""
GRAPH_REST_S = 10.0
"""While the balloon is at rest the graph is checked (and advances) every this many seconds."""
MAX_PANES = 9


class PollResult:
    """One tick read by the poll thread, for the UI thread to apply (mutable: the poll
    thread adds the graph, processes and notices as it goes)."""

    __slots__ = ("sample", "error", "header", "summary", "panes", "no_balloon", "events", "graph",
                 "graph_title", "processes", "poll_ms", "notices", "reset_events", "episode")

    def __init__(self, sample: Sample | None, error: str | None = None, *,
                 events: list[Event] | None = None,
                 notices: list[tuple[str, str]] | None = None, reset_events: bool = False) -> None:
        self.sample = sample
        self.error = error
        self.header = ""
        self.summary: list[str] = []
        self.panes: list[tuple[str, mv.PaneContent]] = []
        self.no_balloon: list[str] | None = None
        self.events: list[Event] = events if events is not None else []
        self.graph: GraphFrame | None = None
        self.graph_title = ""
        self.processes: list[str] | None = None
        self.poll_ms = 0.0
        """Wall time of the poll, its graph included (poll thread)."""
        self.notices: list[tuple[str, str]] = notices if notices is not None else []
        """(title, message) pairs shown once as notifications."""
        self.reset_events = reset_events
        """A replay seek: the event log is rebuilt from ``events``."""
        self.episode = ""
        """The event pane's title suffix while an inflate/deflate episode is open."""


def _ascii_terminal() -> bool:
    enc = (locale.getpreferredencoding(False) or "").lower().replace("-", "")
    return "utf8" not in enc


class BalloonApp(MonitorAppMixin, App):
    """balloontop's live monitor."""

    CSS_PATH = "balloontop.tcss"
    TITLE = "balloontop"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
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
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
    ]

    def __init__(
        self,
        source: Any,
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
        recorder: Any = None,
        kernel_log_root: str | None = None,
        root: str | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.root = root
        self.replay = callable(getattr(source, "take_events", None)) and callable(
            getattr(source, "seek", None))
        """Over a ``ReplaySource``: events come from the recording, pause/step/seek act on it."""
        self.kernel_log_root = None if self.replay else kernel_log_root
        self.kernel_log: Any = None  # created in the poll thread with the first sample
        self.oom_inference: Any = None
        self._kernel_backlog: list[Sample] = []  # samples read before the kernel log started
        self._kmsg_warned = False
        self._rec_lock = threading.Lock()  # the poll thread and markers both write
        self.event_log: list[Event | str] = []
        """What the event pane shows, oldest first (a str is a plain markup line)."""
        self._merged: set[int] = set()
        self._step_request = False
        self._seek_request: float | None = None
        self.interval = max(float(interval), INTERVAL_FLOOR)
        self.clock = clock
        self.process_source = process_source
        self.process_interval = process_interval
        self.hostname = hostname
        self.uptime_override = uptime
        self.source_label = source_label
        self.ascii_only = _ascii_terminal() if ascii_only is None else ascii_only
        self.color = color
        self.recorder = recorder
        self.paused = False
        self.window_index = 0
        self.history = History()
        self.detector = EventDetector()
        self._record_failed = False
        self.graph_builder: GraphBuilder | None = None  # created in the poll thread
        self._graph_key: tuple | None = None
        self._graph_checked_at = float("-inf")
        self._prefill_events: list[Event] = []
        self.poll_ms: list[float] = []
        self.rate: float | None = None
        self.last_sample: Sample | None = None
        self.prev_sample: Sample | None = None
        self.tick_count = 0
        self.ui_ms: list[float] = []
        self.graph_ms: list[float] = []
        self._proc_due = 0.0
        self._proc_lines: list[str] | None = None
        self._graph_size = (60, 12)
        self._graph_colors: dict[str, tuple[int, int, int]] = {}
        self._polling = False
        """A poll is being read or waits to be applied (tests wait on it)."""
        self._poll_thread: threading.Thread | None = None
        self._wake = threading.Event()  # the poll thread's sleep ends early
        self._applied = threading.Event()  # the UI thread applied the last result
        self._poll_now = False
        self._stopping = False
        self._last_poll_start = 0.0
        self._last_apply = float("-inf")
        self._pane_width = 56
        self._first_paint = threading.Event()  # set once the first frame is on the terminal
        self._force_graph = False
        self._clock_fmt = ""
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

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="header"):
            yield Line(mv.header_line(None, self.hostname, self.interval, False,
                                      self.uptime_override, self.source_label,
                                      live=os.path.abspath(self.root or "/") == "/"), id="title")
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
                for binding in self.BINDINGS
                if binding.show and self.check_action(binding.action.split("(")[0], ()) is not False]

    def _palette_key(self) -> str:
        if not self.ENABLE_COMMAND_PALETTE:
            return ""
        bar = "|" if self.ascii_only else "▏"
        return (f"[$foreground 20%]{bar}[/][@click=app.command_palette][b $footer-key-foreground] ^p[/] "
                "palette [/]")

    def get_theme_variable_defaults(self) -> dict[str, str]:
        from .themes import VARIABLES

        return dict(VARIABLES)

    def prefill(self, samples) -> None:
        """Feed past samples into the history and the event log before the app runs
        (a replay's earlier part, the screenshot scenarios)."""
        from ..history import sample_metrics

        for sample in samples:
            self.history.add(sample.time, sample_metrics(sample))
            self._prefill_events.extend(self.detector.feed(sample))
            self.last_sample = sample

    # -- lifecycle ---------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.ascii_only:
            self.add_class("-ascii")
        for problem in self._theme_problems:
            self.notify(str(problem), title="theme not loaded", severity="warning", timeout=8, markup=False)
        if self._unknown_theme:
            self.notify(f"no theme {self._unknown_theme!r}; using {self.theme!r}. "
                        f"Known: {', '.join(self.theme_names)}", severity="warning", timeout=8,
                        markup=False)
        self._update_graph_colors()
        self._add_events([f"[dim]{self._stamp(self.clock())}[/] "
                          f"{'replay started' if self.replay else 'monitor started'}"])
        self._add_events(self._prefill_events)
        self.set_interval(1.0, self._clock_timer)
        self._install_signals()
        self._start_polling()

    def on_unmount(self) -> None:
        self._stopping = True
        self._wake.set()
        self._applied.set()
        if self.kernel_log is not None:
            self.kernel_log.close()  # the live /dev/kmsg descriptor

    def _install_signals(self) -> None:
        # SIGHUP (SSH link dropped) and SIGTERM: leave through App.exit so the driver
        # restores the terminal, never die with it in raw mode.
        if not hasattr(signal, "SIGHUP") or os.name != "posix":
            return
        try:
            import asyncio

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, lambda s=sig: self.exit(return_code=128 + s))
        except (RuntimeError, NotImplementedError, ValueError):
            pass

    def watch_theme(self, _old: str, _new: str) -> None:
        self._update_graph_colors()
        self._force_graph = True

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
        self._graph_colors = colors

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

    # -- the clock (UI thread, cheap) --------------------------------------------------

    @staticmethod
    def _stamp(t: float) -> str:
        return time.strftime("%H:%M:%S", time.localtime(t))

    def _clock_text(self) -> str:
        return self._stamp(self.clock())

    def _clock_timer(self) -> None:
        """The clock between polls. Live at 1 s or faster, each poll's frame already carries
        it: a second timer frame per second would double the screen updates."""
        if self.paused or self.interval > 1.0 or time.monotonic() - self._last_apply > 1.5:
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

    # -- polling -----------------------------------------------------------------------
    #
    # One long-lived thread polls (``_poll_loop``); the UI thread only applies what it
    # hands over, in one callback per tick. The thread waits until a result is applied
    # before it reads the next, so one poll is in flight at a time.

    def _start_polling(self) -> None:
        """Read the first sample here, on the UI thread (a few ms), so the driver panes are
        mounted before the first layout and paint; then start the poll thread."""
        import asyncio
        import contextvars

        self._loop = asyncio.get_running_loop()
        self._ui_context = contextvars.copy_context()  # the app's context, for _to_ui
        self._capture_sizes()
        first = self._read_tick()
        self._apply(first)
        self.call_after_refresh(self._first_paint.set)
        self._poll_thread = threading.Thread(target=self._poll_loop, args=(first,),
                                             name="balloontop-poll", daemon=True)
        self._poll_thread.start()

    def _capture_sizes(self) -> None:
        """The graph's and the panes' sizes, for the poll thread (UI thread)."""
        try:
            graph = self._main("graph", GraphView)
            panes = self._main("panes", PaneColumn)
        except NoMatches:  # another screen is current, or shutting down
            return
        size = graph.content_size
        if size.width > 0 and size.height > 0:
            self._graph_size = (size.width, size.height)
        width = panes.content_size.width - 4
        self._pane_width = width if width >= 30 else max(self.size.width // 2 - 5, 30)

    def _poll_loop(self, first: PollResult) -> None:
        """The poll thread: the first result's processes and graph, then one poll per tick."""
        start = time.perf_counter()
        # The first frame (header, summary, panes) is painted before any process scan or
        # graph work (psutil's and plotext's imports would compete with it for the GIL).
        self._first_paint.wait(2.0)
        first.notices = []  # shown with its figures already
        if first.sample is not None and self.process_source is not None:
            try:
                first.processes = self._process_lines(time.monotonic())
            except Exception as exc:  # psutil failing degrades the process list only
                first.processes = [f"process list unavailable: {type(exc).__name__}: {exc}"]
        self._hand_over(first, start, figures_applied=True)
        while self._wait_for_next_poll():
            start = time.perf_counter()
            self._hand_over(self._read_tick(), start)

    def _read_tick(self) -> PollResult:
        """One poll's reading; a failure becomes the result's error, never an exception."""
        self._polling = True
        self._last_poll_start = time.monotonic()
        try:
            return self._collect(self._pane_width)
        except Exception as exc:  # a broken reading must not stop the monitor
            return PollResult(None, error=f"{type(exc).__name__}: {exc}")

    def _wait_for_next_poll(self) -> bool:
        """Sleep until the next poll is due or asked for; ``False`` when the app stops."""
        while not self._stopping:
            if self._poll_now:
                self._poll_now = False
                return True
            timeout = None
            if not self.paused:
                timeout = self._last_poll_start + self.interval - time.monotonic()
                if timeout <= 0:
                    return True
            self._wake.wait(timeout)
            self._wake.clear()
        return False

    def _request_poll(self) -> None:
        """Poll now, paused or not (a step, a seek, a resume)."""
        self._poll_now = True
        self._wake.set()

    def _hand_over(self, result: PollResult, start: float, figures_applied: bool = False) -> None:
        """Add the graph to ``result``, hand it to the UI thread and wait until it is applied."""
        if result.sample is not None:
            force, self._force_graph = self._force_graph, False
            try:
                result.graph, result.graph_title = self._graph(
                    result.sample, self._graph_size, WINDOWS[self.window_index][1], force)
            except Exception as exc:  # pragma: no cover - plotext surprises
                result.notices.append(("graph", f"{type(exc).__name__}: {exc}"))
        result.poll_ms = (time.perf_counter() - start) * 1000
        self._applied.clear()
        if not self._to_ui(self._apply_tick, result, figures_applied):
            return
        while not self._applied.wait(0.5) and not self._stopping:
            pass

    def _to_ui(self, callback: Callable[..., None], *args: Any) -> bool:
        """Run ``callback(*args)`` on the UI thread, without waiting (poll thread)."""
        try:
            self._loop.call_soon_threadsafe(callback, *args, context=self._ui_context)
        except RuntimeError:  # the event loop is closed: the app has gone
            self._stopping = True
            return False
        return True

    def _apply_tick(self, result: PollResult, figures_applied: bool) -> None:
        """One tick on screen: figures, processes, graph and clock in one frame (UI thread)."""
        start = time.perf_counter()
        try:
            if figures_applied:  # the first sample: only its processes and graph are new
                for title, notice in result.notices:
                    self.notify(notice, title=title, severity="warning", timeout=8, markup=False)
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
            self._last_apply = time.monotonic()
            self._polling = False
            self._applied.set()
            self.ui_ms.append((time.perf_counter() - start) * 1000)
            self.poll_ms.append(result.poll_ms)
            for figures in (self.ui_ms, self.poll_ms):
                if len(figures) > 1000:
                    del figures[:500]

    def _record(self, sample: Sample | None, events) -> None:
        if self.recorder is None:
            return
        with self._rec_lock:
            try:
                if sample is not None:
                    self.recorder.write_sample(sample)
                for event in events:
                    self.recorder.write_event(event)
            except OSError as exc:  # a full disk must not stop the monitor, but the user must know
                if not self._record_failed:
                    self._record_failed = True
                    message = f"recording to {self.recorder.path} failed: {exc}"
                    try:
                        self.call_from_thread(self.notify, message, severity="error", timeout=30, markup=False)
                    except RuntimeError:  # already on the UI thread (the marker key)
                        self.notify(message, severity="error", timeout=30, markup=False)

    def _next_samples(self) -> tuple[list[Sample], bool]:
        """The samples of this tick (a replay may give several) and whether a seek
        replaced the history."""
        if not self.replay:
            sample = self.source.sample()
            return ([sample] if sample is not None else []), False
        seek, self._seek_request = self._seek_request, None
        if seek is not None:
            self.source.seek(seek)
            return self.source.history(WINDOWS[-1][1]), True
        if self._step_request:
            self._step_request = False
            sample = self.source.step()
            return ([sample] if sample is not None else []), False
        return self.source.due(), False

    def _replay_state(self) -> str:
        src = self.source
        pos = src.last_time if src.last_time is not None else src.start
        where = f"{mv.fmt_clock(pos - src.start)}/{mv.fmt_clock(src.end - src.start)}"
        if src.finished:
            where += " end"
        return f"[b $accent]REPLAY[/] {where}"

    def _header(self, sample: Sample | None) -> str:
        state = None
        if self.replay:
            state = self._replay_state()
            if self.paused:
                state = "[b $warning]PAUSED[/] " + state
        return mv.header_line(sample, self.hostname, self.interval, self.paused,
                              self.uptime_override, self.source_label, state=state,
                              live=os.path.abspath(self.root or "/") == "/")

    def _collect(self, pane_width: int) -> PollResult:
        from ..history import sample_metrics

        samples, reset = self._next_samples()
        if not samples:  # a replay between samples or at its end, a paused source
            result = PollResult(None)
            if self.replay:
                result.header = self._header(self.last_sample)
            return result
        if reset:
            self.history = History()
            self._graph_key = None
        prev = self.last_sample
        events: list[Event] = []
        for sample in samples:
            self.history.add(sample.time, sample_metrics(sample))
            if self.replay:
                continue
            events.extend(self.detector.feed(sample))
            events.extend(self._kernel_events(sample, events))
        sample = samples[-1]
        notices: list[tuple[str, str]] = []
        if self.replay:
            events = self.source.take_events()
        elif self.kernel_log is not None and self.kernel_log.warnings and not self._kmsg_warned:
            self._kmsg_warned = True  # said once; the rest carries on
            notices = [("kernel log", warning) for warning in self.kernel_log.warnings]
        self._record(sample, events if not self.replay else ())
        rate = self.history.rate_mib_s()
        self.rate = rate
        result = PollResult(sample, events=list(events), notices=notices, reset_events=reset)
        result.header = self._header(sample)
        result.summary = mv.summary_lines(sample, rate)
        episode = self.detector.active_episode if not self.replay else None
        if episode is not None:
            verb = {"inflate": "inflating", "deflate": "deflating"}.get(episode.kind, episode.kind)
            dots = "..." if self.ascii_only else "…"
            result.episode = f"{verb}{dots} {mv.fmt_kib(abs(episode.moved_kib))}"
        if self.oom_inference is not None and self.oom_inference.active:
            doom = "likely deflate-on-OOM"
            result.episode = f"{result.episode} ({doom})" if result.episode else doom
        for reading in sample.drivers[:MAX_PANES]:
            result.panes.append((mv.pane_id(reading),
                                 mv.pane_content(sample, reading, prev, pane_width)))
        if not sample.drivers:
            result.no_balloon = mv.no_balloon_lines(sample)
        # processes, less often than the balloon figures
        now = time.monotonic()
        if not self._first_paint.is_set() and self.process_source is not None:
            pass  # the first scan of every process comes after the first frame (_poll_loop)
        elif self._proc_lines is None or now >= self._proc_due:
            result.processes = self._process_lines(now)
        return result

    def _process_lines(self, now: float) -> list[str]:
        rows = self.process_source() if self.process_source is not None else None
        self._proc_lines = process_lines(rows, PROCESS_ROWS)
        self._proc_due = now + self.process_interval
        return self._proc_lines

    def _kernel_events(self, sample: Sample, detected: list[Event]) -> list[Event]:
        """The kernel log's reports and the deflate-on-OOM inference (poll thread).

        Not before the first frame: the first sample (read on the UI thread) is kept and
        fed with the second; the log is read from its start then, so nothing is missed.
        """
        if self._poll_thread is None:  # the first sample, on the UI thread
            self._kernel_backlog.append(sample)
            return []
        out: list[Event] = []
        backlog, self._kernel_backlog = self._kernel_backlog, []
        for earlier in backlog:
            out.extend(self._kernel_events(earlier, detected))
        if self.kernel_log_root is not None:
            if self.kernel_log is None:
                from ..kmsg import KernelLog
                from ..oom import boot_time_of

                self.kernel_log = KernelLog(self.kernel_log_root,
                                            boot_time=boot_time_of(sample, now=sample.time))
            out.extend(self.kernel_log.poll())
        if self.oom_inference is None:
            from ..kmsg.inference import DeflateOnOomDetector

            self.oom_inference = DeflateOnOomDetector()
        out.extend(self.oom_inference.feed(sample))
        return out

    def _graph(self, sample: Sample, graph_size: tuple[int, int], window_s: float,
               force: bool) -> tuple[GraphFrame | None, str]:
        """The graph's frame when its picture changed (else ``None``), and its title.

        While the balloon is at rest its flat lines only slide along: the picture is checked
        every ``GRAPH_REST_S`` instead of every tick (CPU, and bytes/s on slow links); a
        moving balloon, a resize, a new window or theme redraw at once.
        """
        from .graph import raster_key

        label = WINDOWS[self.window_index][0]
        episode = self.detector.active_episode
        title = mv.graph_title(label, self.rate, episode.kind if episode is not None else None,
                               self.ascii_only)
        at_rest = episode is None and (self.rate is None or abs(self.rate) < 0.05)
        if (at_rest and not force and self._graph_key is not None
                and sample.time - self._graph_checked_at < GRAPH_REST_S):
            return None, title
        self._graph_checked_at = sample.time
        times, values = self.history.window(window_s, ["balloon_kib", "mem_total_kib",
                                                       "mem_available_kib"], now=sample.time)
        series = {"balloon": values["balloon_kib"], "MemTotal": values["mem_total_kib"],
                  "MemAvailable": values["mem_available_kib"]}
        key = raster_key(times, series, sample.time, window_s, *graph_size) + (
            tuple(sorted(self._graph_colors.items())), self.ascii_only, self.color)
        if key == self._graph_key and not force:
            return None, title  # same dots: no build, no repaint
        if self.graph_builder is None:
            self.graph_builder = GraphBuilder()  # imports plotext, off the UI thread
        frame = self.graph_builder.build(
            times, series, sample.time, window_s, graph_size[0], graph_size[1],
            self._graph_colors, ascii_only=self.ascii_only, color=self.color)
        self._graph_key = key
        return GraphFrame(frame.text, key, frame.build_ms), title

    def _apply(self, result: PollResult) -> None:
        """Figures and text of a result on screen (UI thread)."""
        try:
            self._apply_result(result)
        except NoMatches:  # the app is shutting down
            pass

    def _apply_graph(self, frame: GraphFrame | None, title: str) -> None:
        graph = self._main("graph", GraphView)
        if frame is not None and tuple(frame.key[:2]) != tuple(self._graph_size):
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
        if result.error:
            self.notify(result.error, title="reading failed", severity="error", timeout=5, markup=False)
            return
        for title, notice in result.notices:
            self.notify(notice, title=title, severity="warning", timeout=8, markup=False)
        sample = result.sample
        if sample is None:
            if result.header:
                self._main("title", Line).set(result.header)
            return
        self.tick_count += 1
        self.prev_sample, self.last_sample = self.last_sample, sample
        self._main("title", Line).set(result.header)
        self._main("summary", TextLines).set_lines(result.summary)
        self._apply_panes(result)
        if result.reset_events:
            self.event_log = self.event_log[:1]  # keep the "replay started" line
            self._merged.clear()
            self._add_events(result.events, rebuild=True)
        else:
            self._add_events(result.events)
        log = self._main("events", EventLog)
        title = f"events · {result.episode}" if result.episode else "events"
        if log.border_title != title:
            log.border_title = title
        if result.processes is not None:
            self._main("procs", TextLines).set_lines(result.processes)

    @staticmethod
    def _event_text(item: Event | str):
        return mv.event_text(item)  # guest text as plain text, theme variables kept

    def _add_events(self, events, rebuild: bool = False) -> None:
        """Append events to the event pane (UI thread).

        The OOM kill seen in vmstat (``oom_kill`` rising) and the kernel log's report of the
        same kill are one event: the log's line (victim, balloon figure) replaces the
        vmstat line, and a vmstat line after the log's report is dropped.
        """
        changed = rebuild
        appended: list[Event | str] = []
        for event in events:
            if isinstance(event, Event) and event.kind == "oom_kill":
                index = self._oom_partner(event)
                if index is not None:
                    if _from_kernel_log(event):
                        self.event_log[index] = event  # the log's line replaces vmstat's
                        self._merged.add(id(event))
                        changed = True
                    else:  # the log's line came first: it already stands for this kill
                        self._merged.add(id(self.event_log[index]))
                    continue
            self.event_log.append(event)
            appended.append(event)
        if len(self.event_log) > 500:
            del self.event_log[: len(self.event_log) - 500]
        try:
            log = self._main("events", EventLog)
        except NoMatches:
            return  # before mount (prefill): written by on_mount
        if changed:
            log.clear()
            log.write_all([self._event_text(item) for item in self.event_log])
        else:
            log.write_all([self._event_text(item) for item in appended])

    def _oom_partner(self, event: Event) -> int | None:
        """Index of the shown oom_kill line of the other origin for the same kill."""
        kernel = _from_kernel_log(event)
        for index in range(len(self.event_log) - 1, -1, -1):
            item = self.event_log[index]
            if not isinstance(item, Event) or item.kind != "oom_kill":
                continue
            if _from_kernel_log(item) == kernel or id(item) in self._merged:
                continue
            if abs(item.time - event.time) <= OOM_MERGE_S:
                return index
        return None

    def _apply_panes(self, result: PollResult) -> None:
        container = self._main("panes", PaneColumn)
        existing = {getattr(w, "key", None): w for w in container.children}
        wanted = [key for key, _ in result.panes] or (["none"] if result.no_balloon else [])
        for key, widget in existing.items():
            if key not in wanted:
                widget.remove()
        for key, content in result.panes:
            pane = existing.get(key)
            if isinstance(pane, DriverPane):
                pane.lines.set_lines(content.lines)
                if pane.title_text != content.title:
                    pane.title_text = content.title
                    pane.border_title = content.title
            else:
                pane = DriverPane(key, content.title, content.lines, classes="pane")
                pane.border_subtitle = str(len(container.children) + 1)
                container.mount(pane)
        if result.no_balloon is not None:
            pane = existing.get("none")
            if isinstance(pane, NoBalloonPane):
                pane.lines.set_lines(result.no_balloon)
            else:
                container.mount(NoBalloonPane(result.no_balloon, classes="pane"))
        if self.focused is None and self.screen is self.screen_stack[0]:
            panes = self.panes()
            if panes:
                panes[0].focus()

    def graph_resized(self, width: int, height: int) -> None:
        """Redraw the graph for its new size (off the UI thread), whatever the poll does."""
        if width <= 0 or height <= 0 or (width, height) == self._graph_size:
            return
        self._graph_size = (width, height)
        self._force_graph = True
        if self.last_sample is not None and self.tick_count:
            self._redraw_graph_paused()

    # -- helpers -----------------------------------------------------------------------

    def panes(self) -> list:
        try:
            container = self._main("panes", PaneColumn)
        except Exception:
            return []
        return [w for w in container.children if isinstance(w, (DriverPane, NoBalloonPane))]

    def focused_pane(self):
        for pane in self.panes():
            if pane is self.focused or (self.focused is not None and pane in self.focused.ancestors):
                return pane
        panes = self.panes()
        return panes[0] if panes else None

    def _refresh_header(self) -> None:
        self._main("title", Line).set(self._header(self.last_sample))

    # -- actions (every key is a binding) ------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        paused = getattr(self.source, "paused", None)
        if isinstance(paused, bool):
            try:
                self.source.paused = self.paused
            except Exception:
                pass
        self._refresh_header()
        if not self.paused:
            self._request_poll()  # resume at once

    def _set_interval(self, value: float) -> None:
        self.interval = round(max(INTERVAL_FLOOR, min(value, 60.0)), 1)
        self._refresh_header()
        self._wake.set()  # the poll thread takes the new interval from its last poll

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
            self.notify(f"no pane {number} ({len(panes)} shown)", timeout=2)

    def action_cycle_window(self) -> None:
        self.window_index = (self.window_index + 1) % len(WINDOWS)
        self._force_graph = True
        self.notify(f"graph window: {WINDOWS[self.window_index][0]}", timeout=1.5)
        if self.paused and self.last_sample is not None:
            self._redraw_graph_paused()

    @work(thread=True, exclusive=True, group="graph", exit_on_error=False)
    def _redraw_graph_paused(self) -> None:
        sample = self.last_sample
        if sample is None:
            return
        frame, title = self._graph(sample, self._graph_size, WINDOWS[self.window_index][1], True)
        if frame is not None and self.is_running:
            self.call_from_thread(self._show_graph, frame)
            self._force_graph = False

    def _show_graph(self, frame: GraphFrame) -> None:
        try:
            graph = self._main("graph", GraphView)
        except NoMatches:
            return
        if graph.is_attached and tuple(frame.key[:2]) == tuple(self._graph_size):
            graph.show_frame(frame.text, frame.key)

    def action_features(self) -> None:
        """The feature decoder, on the focused pane's virtio device."""
        from .feature_decoder import FeatureDecoderScreen

        pane = self.focused_pane()
        sample = self.last_sample
        devices = list(sample.virtio_devices) if sample is not None else []
        if not devices:
            self.notify("no virtio devices in this source", timeout=3)
            return
        selected = None
        if isinstance(pane, DriverPane):
            _, _, instance = pane.key.partition(":")
            if any(d.instance == instance for d in devices):
                selected = instance
        screen = FeatureDecoderScreen(devices, selected=selected, root=self.root)
        self.push_screen(screen)
        self.call_after_refresh(self._decoder_on_first_bit, screen)

    @staticmethod
    def _decoder_on_first_bit(screen) -> None:
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
        from ..events import marker

        event = marker(self.clock(), text)
        self._add_events([event])
        if not self.replay:
            self._record(None, [event])

    def kernel_log_rows(self) -> list:
        """The kernel log's retained records with their tags (UI thread, a copy)."""
        if self.kernel_log is None:
            return []
        for _ in range(5):
            try:
                return self.kernel_log.highlighted()
            except RuntimeError:  # the poll thread appended meanwhile
                continue
        return []

    def action_kernel_log(self) -> None:
        if self.replay:
            note = "a replay holds the recorded events, not the kernel log"
        elif self.kernel_log_root is None:
            note = "no kernel log for this source"
        elif self.kernel_log is None:
            note = "the kernel log is read with the first sample"
        else:
            note = None
        warnings = list(self.kernel_log.warnings) if self.kernel_log is not None else []
        from .screens import KernelLogScreen

        self.push_screen(KernelLogScreen(self.kernel_log_rows(), warnings, note))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("replay_step", "seek") and not self.replay:
            return False  # replay keys: hidden in the live monitor
        return True

    def action_replay_step(self) -> None:
        if not self.replay:
            return
        self._step_request = True
        self._pause_for_replay()

    def action_seek(self, direction: int) -> None:
        if not self.replay:
            return
        src = self.source
        span = max(src.end - src.start, 0.0)
        delta = max(span * SEEK_FRACTION, self.interval)
        base = self._seek_request if self._seek_request is not None else (
            src.last_time if src.last_time is not None else src.start)
        self._seek_request = min(max(base + direction * delta, src.start), src.end)
        self._request_poll()

    def _pause_for_replay(self) -> None:
        if not self.paused:
            self.paused = True
            self.source.paused = True
        self._request_poll()

    def action_cycle_theme(self) -> None:
        names = self.theme_names
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=1.5)

    def action_help(self) -> None:
        from .screens import HelpScreen

        self.push_screen(HelpScreen(self.BINDINGS))

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if (binding.show or binding.id == "next_pane") and binding.action not in (
                    "quit",) and self.check_action(
                    binding.action.split("(")[0], ()):
                yield SystemCommand(binding.description, f"{binding.description} "
                                    f"(key {binding.key_display or binding.key})",
                                    lambda a=binding.action: self.run_action(a))


def _from_kernel_log(event: Event) -> bool:
    """An event from the kernel log carries the log's own stamp (``details["uptime_s"]``)."""
    return "uptime_s" in (event.details or {})


def make_app(
    root: str = "/",
    interval: float = 1.0,
    theme: str = "dark",
    clock: Callable[[], float] = time.time,
    source: Any = None,
    process_source: Callable[[], list[ProcRow] | None] | None | str = "auto",
    hostname: str | None = None,
    size: tuple[int, int] | None = None,
    uptime: float | None = None,
    process_interval: float = 5.0,
    user_theme_dir: Path | None = None,
    ascii_only: bool | None = None,
    color: bool = True,
    recorder: Any = None,
    source_label: str | None = None,
    kernel_log: bool | str = "auto",
) -> BalloonApp:
    """The monitor, ready to ``run()`` or ``run_test(size=...)``.

    ``source``: anything with ``sample() -> Sample | None`` (a ``Sampler``, a replay, the
    demo); default a ``Sampler`` over ``root`` with ``clock``. ``process_source``: a
    callable giving process rows, ``None`` for "no processes" (a capture), or ``"auto"``
    (psutil when ``root`` is ``/``). ``size`` is kept for callers that want to pass the
    terminal size along with the app (``run_test(size=app.size_hint)``). ``kernel_log``:
    read the kernel log (``"auto"``: the live ``/dev/kmsg``, or ``<root>/dev/kmsg`` when a
    capture has one; not for a demo or a replay source).
    """
    from ..sampler import Sampler

    live = os.path.abspath(root) == "/"
    if source is None:
        source = Sampler(root, clock=clock)
    if process_source == "auto":
        process_source = psutil_source(PROCESS_ROWS) if live and source_label is None else None
    if hostname is None and live and source_label is None:
        hostname = socket.gethostname()
    if source_label is None:
        source_label = "" if live else f" · root {os.path.basename(os.path.normpath(root)) or root}"
        if not live:
            parent = os.path.basename(os.path.dirname(os.path.normpath(root)))
            source_label = f" · capture {parent}/{os.path.basename(os.path.normpath(root))}"
    if kernel_log == "auto":
        # The live /dev/kmsg, or a capture's recorded <root>/dev/kmsg when it has one (a
        # capture without one is not worth a warning); never for a demo or a replay.
        kernel_log = (live or os.path.isfile(os.path.join(root, "dev", "kmsg"))) and not (
            hasattr(source, "take_events") or hasattr(source, "title"))
    app = BalloonApp(
        source, interval=interval, theme=theme, clock=clock, process_source=process_source,
        process_interval=process_interval, hostname=hostname, uptime=uptime,
        source_label=source_label, user_theme_dir=user_theme_dir, ascii_only=ascii_only,
        color=color, recorder=recorder, kernel_log_root=root if kernel_log else None,
        root=root,
    )
    app.size_hint = size
    return app
