"""The live monitor's screen: a Textual app over a ``Monitor`` pipeline.

``make_app(...)`` is the one factory the CLI, the tests and the screenshot script use.
The pipeline (samples, events, kernel log, recording) is ``balloontop.monitor``; the poll
thread that runs it and hands each tick over is ``poller``. ``BalloonApp`` holds the
monitor's state, lays out its screen and keeps the header and the clock; it applies what
the poller hands it with ``apply.TickApplier`` (comparing strings, repainting only the
rows whose text changed) and answers keys with ``actions.MonitorActions``.
"""

from __future__ import annotations

import locale
import os
import signal
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, ComposeResult
from textual.color import Color
from textual.content import Content
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches

from ..config import INTERVAL_FLOOR
from ..eventlog import EventJournal
from ..events import EventDetector
from ..history import History, sample_metrics
from ..model import Event, Sample
from ..fleet import Fleet, Guest
from ..monitor import Monitor, kernel_log_root_for
from ..sources import SampleSource
from . import model_view as mv
from .actions import KEYS, MonitorActions
from .apply import TickApplier
from .graph import SERIES
from .poller import GRAPH_REST_S, MAX_PANES, PROCESS_ROWS, Poller, PollResult
from .processes import ProcRow, psutil_source
from .themes import load_themes
from .widgets import (
    Clock,
    EventLog,
    GraphView,
    KeyBar,
    Line,
    MonitorAppMixin,
    PaneColumn,
    TextLines,
)

if TYPE_CHECKING:  # loaded in the poll thread after the first frame, or when asked
    from ..recording import Recorder
    from ..kmsg.inference import DeflateOnOomDetector
    from ..kmsg.reader import KernelLog

__all__ = ["GRAPH_REST_S", "MAX_PANES", "PROCESS_ROWS", "BalloonApp", "PollResult", "make_app"]


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


class BalloonApp(MonitorActions, TickApplier, MonitorAppMixin, App):
    """balloontop's live monitor."""

    CSS_PATH = "balloontop.tcss"
    TITLE = "balloontop"
    ENABLE_COMMAND_PALETTE = True

    size_hint: tuple[int, int] | None = None
    """The terminal size ``make_app`` was given, for ``run_test(size=app.size_hint)``."""

    BINDINGS = KEYS  # what each key does: MonitorActions

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
    def kernel_log(self) -> KernelLog | None:
        return self.monitor.kernel_log

    @property
    def oom_inference(self) -> DeflateOnOomDetector | None:
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
        for _label, name, _marker, _side in SERIES:  # each line's theme variable
            value = (theme.variables or {}).get(name) or variables.get(name)
            try:
                c = Color.parse(value)
                colors[name] = (c.r, c.g, c.b)
            except Exception:
                pass
        self.graph_colors = colors

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

    def _refresh_header(self) -> None:
        self._main("title", Line).set(self.header(self.last_sample))


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
