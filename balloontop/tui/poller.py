"""The monitor's poll thread: ``Monitor.tick()`` off the UI thread, one tick in flight.

The first tick is read on the UI thread before the first layout (a few ms), so the driver
panes are mounted before the first paint. Then one long-lived thread reads a tick, builds
every line of text and the graph's frame (plotext), and hands the result to the UI thread in
one callback; it waits until the result is applied before it reads the next, so polls never
overlap and a slow file never blocks the screen. The process list is scanned less often and
not before the first frame (psutil's import would compete with it for the GIL).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..history import HOST_BALLOON, WINDOWS
from ..model import Event, Sample
from ..fleet import Fleet, GuestTick
from ..monitor import Monitor, TickResult
from ..units import format_kib
from . import model_view as mv
from .graph import GraphBuilder, GraphFrame, raster_key
from .processes import ProcRow, process_lines

if TYPE_CHECKING:
    from .app import BalloonApp

PROCESS_ROWS = 8
GRAPH_REST_S = 10.0
"""While the balloon is at rest the graph is checked (and advances) every this many seconds."""
MAX_PANES = 9
GRAPH_METRICS = {"host": HOST_BALLOON, "balloon": "balloon_kib", "MemTotal": "mem_total_kib",
                 "MemAvailable": "mem_available_kib"}
"""The graph's series (``graph.SERIES`` labels) and the history metric each one draws."""


class PollResult:
    """One tick as text, for the UI thread to apply (mutable: the poll thread adds the
    graph, processes and notices as it goes)."""

    __slots__ = ("sample", "error", "header", "summary", "panes", "no_balloon", "events", "graph",
                 "graph_title", "processes", "poll_ms", "notices", "reset_events", "episode")

    def __init__(self, sample: Sample | None, error: str | None = None, *,
                 events: list[Event] | None = None,
                 notices: list[tuple[str, str]] | None = None, reset_events: bool = False) -> None:
        self.sample = sample
        self.error = error
        self.header: mv.Row = ""
        self.summary: list[mv.Row] = []
        self.panes: list[tuple[str, mv.PaneContent]] = []
        self.no_balloon: list[mv.Row] | None = None
        self.events: list[Event] = events if events is not None else []
        self.graph: GraphFrame | None = None
        self.graph_title = ""
        self.processes: list[mv.Row] | None = None
        self.poll_ms = 0.0
        """Wall time of the poll, its graph included (poll thread)."""
        self.notices: list[tuple[str, str]] = notices if notices is not None else []
        """(title, message) pairs shown once as notifications."""
        self.reset_events = reset_events
        """A replay seek: the event log is rebuilt from ``events``."""
        self.episode = ""
        """The event pane's title suffix while an inflate/deflate episode is open."""


class Poller:
    """Runs the app's guests (a ``Fleet`` of ``Monitor``s, usually one) in one thread and
    hands each tick to the UI thread."""

    def __init__(self, app: BalloonApp, fleet: Fleet,
                 process_source: Callable[[], list[ProcRow] | None] | None,
                 process_interval: float) -> None:
        self.app = app
        self.fleet = fleet
        self.process_source = process_source
        self.process_interval = process_interval
        self.graph_builder: GraphBuilder | None = None  # created in the poll thread
        self.graph_key: tuple[Any, ...] | None = None
        self.graph_checked_at = float("-inf")
        self.graph_size = (60, 12)
        self.graph_host = False
        """The graph's window held a host reading when last looked at (its line and legend)."""
        self.pane_width = 56
        self.force_graph = False
        self.polling = False
        """A poll is being read or waits to be applied (tests wait on it)."""
        self.started = threading.Event()  # the poll thread exists (the kernel log may start)
        self.first_paint = threading.Event()  # the first frame is on the terminal
        self.last_poll_start = 0.0
        self.last_apply = float("-inf")
        self.poll_ms: list[float] = []
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()  # the thread's sleep ends early
        self._applied = threading.Event()  # the UI thread applied the last result
        self._poll_now = False
        self._stopping = False
        self._proc_due = 0.0
        self._proc_lines: list[mv.Row] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ui_context: contextvars.Context | None = None
        self._latest: dict[int, tuple[Sample, float | None]] = {}
        """Several guests: each one's newest sample and rate (a slow guest keeps its last)."""
        self._proc_guest = -1

    @property
    def monitor(self) -> Monitor:
        """The focused guest's pipeline (the only one, usually)."""
        return self.fleet.guests[self.app.focus].monitor

    # -- life ------------------------------------------------------------------------------

    def start(self, first: PollResult) -> None:
        """Start the thread after the first result was applied (UI thread)."""
        self._loop = asyncio.get_running_loop()
        self._ui_context = contextvars.copy_context()  # the app's context, for _to_ui
        self._thread = threading.Thread(target=self._run, args=(first,),
                                        name="balloontop-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._applied.set()

    @property
    def alive(self) -> bool:
        """The poll thread runs (or has not started yet)."""
        return self._thread is None or self._thread.is_alive() or self._stopping

    def request(self) -> None:
        """Poll now, paused or not (a step, a seek, a resume)."""
        self._poll_now = True
        self._wake.set()

    def wake(self) -> None:
        """The interval changed: the thread takes it from its last poll."""
        self._wake.set()

    # -- the thread --------------------------------------------------------------------

    def _run(self, first: PollResult) -> None:
        try:
            self._loop_body(first)
        except BaseException as exc:  # never die silently: say so on the screen
            self._to_ui(self.app.poll_thread_died, f"{type(exc).__name__}: {exc}")
            raise

    def _loop_body(self, first: PollResult) -> None:
        start = time.perf_counter()
        # The first frame (header, summary, panes) is painted before any process scan or
        # graph work (psutil's and plotext's imports would compete with it for the GIL).
        self.first_paint.wait(2.0)
        self.started.set()
        first.notices = []  # shown with its figures already
        if first.sample is not None and self.process_source is not None:
            try:
                first.processes = self._process_lines(time.monotonic())
            except Exception as exc:  # psutil failing degrades the process list only
                first.processes = [f"process list unavailable: {type(exc).__name__}: {exc}"]
        self._hand_over(first, start, figures_applied=True)
        while self._wait_for_next_poll():
            start = time.perf_counter()
            self._hand_over(self.read(), start)

    def read(self) -> PollResult:
        """One tick as text; a failure becomes the result's error, never an exception."""
        self.polling = True
        self.last_poll_start = time.monotonic()
        try:
            if self.fleet.single and not self.app.fleet_view:
                return self.collect(self.monitor.tick(kernel_log=self.started.is_set()))
            # a slow guest never holds the others back: what it has not answered by then
            # lands with a later tick
            wait = max(0.2, min(self.app.interval * 0.8, 5.0))
            return self.collect_fleet(self.fleet.tick(wait, kernel_log=self.started.is_set()))
        except Exception as exc:  # a broken view must not stop the monitor
            return PollResult(None, error=f"{type(exc).__name__}: {exc}")

    def _wait_for_next_poll(self) -> bool:
        """Sleep until the next poll is due or asked for; ``False`` when the app stops."""
        while not self._stopping:
            if self._poll_now:
                self._poll_now = False
                return True
            timeout = None
            if not self.app.paused:
                timeout = self.last_poll_start + self.app.interval - time.monotonic()
                if timeout <= 0:
                    return True
            self._wake.wait(timeout)
            self._wake.clear()
        return False

    def _hand_over(self, result: PollResult, start: float, figures_applied: bool = False) -> None:
        """Add the graph to ``result``, hand it to the UI thread and wait until it is applied."""
        if result.sample is not None:
            force, self.force_graph = self.force_graph, False
            try:
                result.graph, result.graph_title = self.graph(
                    result.sample, self.graph_size, WINDOWS[self.app.window_index][1], force)
            except Exception as exc:  # pragma: no cover - plotext surprises
                result.notices.append(("graph", f"{type(exc).__name__}: {exc}"))
        result.poll_ms = (time.perf_counter() - start) * 1000
        self._applied.clear()
        if not self._to_ui(self.app.apply_tick, result, figures_applied):
            return
        while not self._applied.wait(0.5) and not self._stopping:
            pass

    def applied(self) -> None:
        """The UI thread applied the last result (UI thread)."""
        self.last_apply = time.monotonic()
        self.polling = False
        self._applied.set()

    def _to_ui(self, callback: Callable[..., None], *args: Any) -> bool:
        """Run ``callback(*args)`` on the UI thread, without waiting (poll thread)."""
        try:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(callback, *args, context=self._ui_context)
        except RuntimeError:  # the event loop is closed: the app has gone
            self._stopping = True
            return False
        return True

    # -- text --------------------------------------------------------------------------

    def collect(self, tick: TickResult) -> PollResult:
        """The text of one tick (poll thread, or the UI thread for the first)."""
        app = self.app
        notices = [("balloontop", notice) for notice in tick.notices]
        if tick.error is not None:
            result = PollResult(None, error=tick.error, notices=notices)
            result.header = app.header(self.monitor.last_sample, stale=True)
            return result
        sample = tick.sample
        if sample is None:  # a replay between samples or at its end, a paused source
            result = PollResult(None, notices=notices)
            result.header = app.header(self.monitor.last_sample)
            return result
        if tick.reset:
            self.graph_key = None
        prev = app.last_sample
        result = PollResult(sample, events=list(tick.events), notices=notices,
                            reset_events=tick.reset)
        result.header = app.header(sample)
        result.summary = mv.summary_lines(sample, tick.rate)
        if tick.episode is not None:
            verb = {"inflate": "inflating", "deflate": "deflating"}.get(tick.episode.kind,
                                                                       tick.episode.kind)
            dots = "..." if app.ascii_only else "…"
            result.episode = f"{verb}{dots} {format_kib(abs(tick.episode.moved_kib))}"
        if tick.deflating_on_oom:
            doom = "likely deflate-on-OOM"
            result.episode = f"{result.episode} ({doom})" if result.episode else doom
        for reading in sample.drivers[:MAX_PANES]:
            result.panes.append((mv.pane_id(reading),
                                 mv.pane_content(sample, reading, prev, self.pane_width)))
        if not sample.drivers:
            result.no_balloon = mv.no_balloon_lines(sample)
        now = time.monotonic()
        if not self.first_paint.is_set() and self.process_source is not None:
            pass  # the first scan of every process comes after the first frame
        elif self._proc_lines is None or now >= self._proc_due:
            result.processes = self._process_lines(now)
        return result

    def _process_lines(self, now: float) -> list[mv.Row]:
        guest = self.fleet.guests[self.app.focus]
        source = guest.processes if guest.processes is not None else self.process_source
        rows = source() if source is not None else None
        self._proc_lines = process_lines(rows, PROCESS_ROWS)
        self._proc_due = now + self.process_interval
        self._proc_guest = self.app.focus
        return self._proc_lines

    def collect_fleet(self, ticks: list[GuestTick]) -> PollResult:
        """The text of one tick of several guests: a summary row for each, the panes of
        each (only the focused one's below 100 columns), the focused guest's figures."""
        app = self.app
        titles = self.fleet.titles()
        events: list[Event] = []
        notices: list[tuple[str, str]] = []
        for index, tick in enumerate(ticks):
            result = tick.result
            if result is None:
                continue
            events += result.events
            notices += [(titles[index], n) for n in result.notices]
            if result.error is not None:
                notices.append((titles[index], f"reading failed: {result.error}"))
            if result.sample is not None:
                self._latest[index] = (result.sample, result.rate)
        focus = app.focus
        sample, rate = self._latest.get(focus, (None, None))
        out = PollResult(sample, events=sorted(events, key=lambda e: e.time), notices=notices)
        label = f" · guest {focus + 1}/{len(ticks)} {titles[focus]}"
        out.header = app.header(sample, stale=sample is None, label=label)
        compact = app.size.width < 100
        out.summary = [mv.guest_row(titles[i], t.state, self._latest.get(i, (None, None))[0],
                                    self._latest.get(i, (None, None))[1], i == focus, app.ascii_only,
                                    compact)
                       for i, t in enumerate(ticks)]
        focused = ticks[focus].result
        if sample is not None:
            out.summary += mv.summary_lines(sample, rate)
        if focused is not None and focused.episode is not None:
            verb = {"inflate": "inflating", "deflate": "deflating"}.get(focused.episode.kind,
                                                                       focused.episode.kind)
            out.episode = f"{titles[focus]} {verb} {format_kib(abs(focused.episode.moved_kib))}"
        wide = not compact
        for index, tick in enumerate(ticks):
            if not wide and index != focus:
                continue
            title = titles[index]
            latest = self._latest.get(index)
            if latest is None:
                why = tick.guest.last_error()
                out.panes.append((f"{index}:state", mv.guest_state_pane(title, tick.state, why)))
                continue
            guest_sample = latest[0]
            for reading in guest_sample.drivers[:MAX_PANES]:
                pane = mv.pane_content(guest_sample, reading, None, self.pane_width)
                out.panes.append((f"{index}:{mv.pane_id(reading)}",
                                  pane._replace(title=mv.guest_title(title, pane.title))))
            if not guest_sample.drivers:
                out.panes.append((f"{index}:none", mv.PaneContent(
                    mv.guest_title(title, "no balloon"), "", list(mv.no_balloon_lines(guest_sample)))))
        now = time.monotonic()
        if self.first_paint.is_set() and (self._proc_lines is None or now >= self._proc_due
                                          or self._proc_guest != focus):
            out.processes = self._process_lines(now)
        return out

    # -- the graph ---------------------------------------------------------------------

    def graph(self, sample: Sample, graph_size: tuple[int, int], window_s: float,
              force: bool) -> tuple[GraphFrame | None, str]:
        """The graph's frame when its picture changed (else ``None``), and its title.

        While the balloon is at rest its flat lines only slide along: the picture is checked
        every ``GRAPH_REST_S`` instead of every tick (CPU, and bytes/s on slow links); a
        moving balloon (the guest's or, with ``--qmp``, the host's view of it), a first host
        reading, a resize, a new window or theme redraw at once.
        """
        app = self.app
        monitor = self.monitor
        history = monitor.history
        rate = history.rate_mib_s()
        host_rate = history.rate_mib_s(HOST_BALLOON)
        label = WINDOWS[app.window_index][0]
        episode = monitor.detector.active_episode if monitor.replay is None else None
        kind = episode.kind if episode is not None else None
        at_rest = (episode is None and all(r is None or abs(r) < 0.05 for r in (rate, host_rate))
                   and (self.graph_host or not history.has_last(HOST_BALLOON)))
        if (at_rest and not force and self.graph_key is not None
                and sample.time - self.graph_checked_at < GRAPH_REST_S):
            return None, self._graph_title(label, rate, kind, graph_size)
        self.graph_checked_at = sample.time
        times, values = history.window(window_s, GRAPH_METRICS.values(), now=sample.time)
        series = {name: values[metric] for name, metric in GRAPH_METRICS.items()}
        # The host's line and legend only when the window holds a host reading (``--qmp``).
        self.graph_host = any(v == v for v in series["host"])
        title = self._graph_title(label, rate, kind, graph_size)
        colors = app.graph_colors
        key = raster_key(times, series, sample.time, window_s, *graph_size) + (
            tuple(sorted(colors.items())), app.ascii_only, app.color)
        if key == self.graph_key and not force:
            return None, title  # same dots: no build, no repaint
        if self.graph_builder is None:
            self.graph_builder = GraphBuilder()  # imports plotext, off the UI thread
        frame = self.graph_builder.build(
            times, series, sample.time, window_s, graph_size[0], graph_size[1],
            colors, ascii_only=app.ascii_only, color=app.color)
        self.graph_key = key
        return GraphFrame(frame.text, key, frame.build_ms), title

    def _graph_title(self, label: str, rate: float | None, episode_kind: str | None,
                     graph_size: tuple[int, int]) -> str:
        # The border's title space (Textual 8): the top edge less its corners (content width:
        # the graph has no padding), less a corner and a blank each side of the title.
        return mv.graph_title(label, rate, episode_kind, self.app.ascii_only, host=self.graph_host,
                              room=graph_size[0] - 4)
