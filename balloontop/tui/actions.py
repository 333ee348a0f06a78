"""The monitor's keys: ``KEYS`` (``BalloonApp.BINDINGS``) and ``MonitorActions``, the mixin
of ``BalloonApp`` with what each key does (pause, interval, panes, graph window, decoder,
marker, kernel log, guests, replay step and seek, theme, help), which keys this source can use,
and where they are listed (the footer, the command palette).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from ..config import INTERVAL_FLOOR
from ..fleet import Fleet
from ..history import WINDOWS
from ..model import Event, Sample
from ..monitor import Monitor
from .poller import Poller
from .widgets import DriverPane, NoBalloonPane

if TYPE_CHECKING:
    from textual.app import App as _AppBase
    from textual import events
    from textual.worker import Worker

    from .feature_decoder import FeatureDecoderScreen

    from .screens import LogRecordRow
else:
    _AppBase = object

SEEK_FRACTION = 0.1
"""``[``/``]`` move a replay by a tenth of the recording."""

KEYS: list[BindingType] = [
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


class MonitorActions(_AppBase):
    """What the monitor's keys do (a mixin of ``BalloonApp``: every key is a binding)."""

    # what it uses of the app (``BalloonApp.__init__`` sets them)
    fleet: Fleet
    focus: int
    replay: bool
    paused: bool
    interval: float
    window_index: int
    last_sample: Sample | None
    poller: Poller
    clock: Callable[[], float]
    root: str | None
    ascii_only: bool
    theme_names: list[str]

    if TYPE_CHECKING:
        @property
        def monitor(self) -> Monitor: ...

        def _refresh_header(self) -> None: ...

        def panes(self) -> list[DriverPane | NoBalloonPane]: ...

        def focused_pane(self) -> DriverPane | NoBalloonPane | None: ...

        def _redraw_graph_paused(self) -> Worker[None]: ...

        def _add_events(self, events: Iterable[Event], rebuild: bool = False) -> None: ...

    # -- which keys this source has, where they are listed ------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("replay_step", "seek") and not self.replay:
            return False  # replay keys: hidden in the live monitor
        if action == "next_guest" and self.fleet.single:
            return False  # one guest: nothing to switch to
        return True

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

    def get_system_commands(self, screen: Screen) -> Iterator[SystemCommand]:
        yield from super().get_system_commands(screen)  # Textual's, less its Theme (MonitorAppMixin)
        for binding in self.key_bindings():
            if (binding.show or binding.id == "next_pane") and binding.action not in (
                    "quit",) and self.check_action(binding.action.split("(")[0], ()):
                yield SystemCommand(binding.description, f"{binding.description} "
                                    f"(key {binding.key_display or binding.key})",
                                    lambda a=binding.action: self.run_action(a))

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
    def _decoder_on_first_bit(screen: FeatureDecoderScreen) -> None:
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

    def action_next_guest(self, step: int) -> None:
        """Show the next (or previous) guest's figures, graph and processes; its panes get
        the focus (below 100 columns only its panes are shown)."""
        count = len(self.fleet.guests)
        self.focus = (self.focus + step) % count
        self.poller.graph_key = None  # another guest's history: draw it at once
        self.poller.force_graph = True
        self.notify(f"guest {self.focus + 1}/{count}: {self.fleet.titles()[self.focus]}",
                    timeout=1.5, markup=False)
        self.poller.request()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
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
