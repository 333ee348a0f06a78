"""The monitor pipeline every front end shares: sample, events, history, recording.

``Monitor(source).tick()`` reads what the source has (one sample; several from a replay
that fell behind), feeds the history, the event detector, the kernel log and the
deflate-on-OOM inference, writes the recording, and returns one ``TickResult``. The TUI,
``record``, ``export``, ``replay`` and ``report`` all go through it, so the same events are
seen wherever they are shown.

The path of one tick::

    source.sample() -> Sample            (Sampler over a Root, a replay, the demo, a guest)
      -> History.add                     (rings for graphs and the rate)
      -> EventDetector.feed              (episodes, OOM kills, stalls, low memory, drivers)
      -> KernelLog.poll                  (OOM and show_mem reports, driver messages)
      -> DeflateOnOomDetector.feed       (the balloon gave memory back under pressure)
      -> Recorder.write_sample/_event    (when recording)
      -> TickResult                      (what a front end draws or writes)

A replay's events are the recorded ones (``ReplaySource.take_events``), not detected again.
Nothing here imports Textual; a tick never raises (a failure is the result's ``error``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from .events import ActiveEpisode, EventDetector
from .history import WINDOWS, History, sample_metrics
from .model import Event, Sample
from .sources import ConnectionEvents, SampleSource

if TYPE_CHECKING:
    from .kmsg import KernelLog
    from .kmsg.reader import LogReader
    from .kmsg.inference import DeflateOnOomDetector
    from .recording import Recorder
    from .replay import ReplaySource


class TickResult(NamedTuple):
    """What one tick produced."""

    sample: Sample | None
    """The newest sample (``None``: none was due, or reading failed)."""
    events: list[Event]
    """Events that became known with this tick, in order."""
    rate: float | None = None
    """Balloon rate of change in MiB/s over the recent history (``None``: not known)."""
    episode: ActiveEpisode | None = None
    """The inflate/deflate episode in progress."""
    deflating_on_oom: bool = False
    """The deflate-on-OOM inference sees the balloon giving memory back under pressure."""
    notices: list[str] = []
    """Messages to show once (the kernel log could not be read, a recording failed)."""
    error: str | None = None
    """Reading failed: the sample is ``None``, the rest of the pipeline carries on."""
    reset: bool = False
    """A replay seek replaced the history: a front end rebuilds its event log."""


class Monitor:
    """One source's pipeline. Call ``tick()`` from one thread at a time."""

    def __init__(
        self,
        source: SampleSource,
        *,
        recorder: Recorder | None = None,
        kernel_log_root: str | None = None,
        detect: bool = True,
        guest: str | None = None,
        kernel_log_reader: Callable[[], LogReader] | None = None,
    ) -> None:
        self.source = source
        self.guest = guest
        """The guest's name when the monitor watches several: its events carry it."""
        self.recorder = recorder
        self.kernel_log_root = kernel_log_root
        """Read this root's kernel log (``/dev/kmsg``); ``None``: none."""
        self.kernel_log_reader = kernel_log_reader
        """Makes the reader of a kernel log that is not a root's (a remote guest's dmesg)."""
        self.detect = detect
        """Detect events from the samples (off: the source's own events, e.g. a replay)."""
        self.history = History()
        self.detector = EventDetector()
        self.kernel_log: KernelLog | None = None
        self.oom_inference: DeflateOnOomDetector | None = None
        self.last_sample: Sample | None = None
        self.record_error: str | None = None
        self.record_failure: OSError | None = None
        """The write error that stopped the recording (``record`` reports it and stops)."""
        self._kernel_backlog: list[Sample] = []
        self._kmsg_warned = False
        self.record_lock = threading.Lock()
        """The tick and a marker may both write; a fleet shares one lock for one recording."""
        self._seek_to: float | None = None
        self._step = False

    @property
    def reads_kernel_log(self) -> bool:
        """A kernel log is read for this source (a root's, or a remote guest's)."""
        return self.kernel_log_root is not None or self.kernel_log_reader is not None

    @property
    def replay(self) -> ReplaySource | None:
        """The source, when it is a replay (pause, step and seek act on it)."""
        if self.source.kind != "replay":  # the live monitor never loads the replay module
            return None
        from .replay import ReplaySource

        return self.source if isinstance(self.source, ReplaySource) else None

    # -- one tick ------------------------------------------------------------------------

    def tick(self, *, kernel_log: bool = True) -> TickResult:
        """Read the source and run the pipeline; never raises.

        ``kernel_log=False`` keeps this tick's samples for the kernel log's next turn (the
        monitor's first tick is read before the first frame, the log after it).
        """
        try:
            samples, reset = self._next_samples()
        except Exception as exc:  # noqa: BLE001 - a broken reading must not stop the monitor
            return TickResult(None, [], error=f"{type(exc).__name__}: {exc}")
        connection = self._connection_events()
        if not samples:
            if connection:
                self.record(None, connection)
            return TickResult(None, connection)
        if reset:
            self.history = History()
        events: list[Event] = list(connection)
        notices: list[str] = []
        replay = self.replay
        for sample in samples:
            self.history.add(sample.time, sample_metrics(sample))
            if self.detect and replay is None:
                events.extend(self.detector.feed(sample))
                events.extend(self._kernel_events(sample, kernel_log))
        if replay is not None:
            events = replay.take_events()
        elif self.kernel_log is not None and self.kernel_log.warnings and not self._kmsg_warned:
            self._kmsg_warned = True  # said once; the rest carries on
            notices.extend(self.kernel_log.warnings)
        sample = samples[-1]
        self.last_sample = sample
        if replay is None:
            events = self._tagged(events)
            notices.extend(self.record(sample, events))
        episode = self.detector.active_episode if replay is None else None
        doom = self.oom_inference is not None and self.oom_inference.active
        return TickResult(sample, events, self.history.rate_mib_s(), episode, doom, notices,
                          reset=reset)

    def _next_samples(self) -> tuple[list[Sample], bool]:
        """This tick's samples (a replay may give several) and whether a seek replaced the
        history."""
        replay = self.replay
        if replay is None:
            sample = self.source.sample()
            return ([sample] if sample is not None else []), False
        seek, self._seek_to = self._seek_to, None
        if seek is not None:
            replay.seek(seek)
            return replay.history(WINDOWS[-1][1]), True
        if self._step:
            self._step = False
            sample = replay.step()
            return ([sample] if sample is not None else []), False
        return replay.due(), False

    def _connection_events(self) -> list[Event]:
        """A remote guest's drops and reconnects, tagged with the guest."""
        if self.replay is not None or not isinstance(self.source, ConnectionEvents):
            return []
        events = self.source.take_events()
        if any(e.kind == "reconnect" for e in events):
            # the guest may have rebooted meanwhile: what was open ends at the gap, and the
            # first sample after it is a new baseline (its counters may have started again)
            events = sorted(events + self.detector.close(), key=lambda e: e.time)
            self.detector.reset()
        return self._tagged(events)

    def _kernel_events(self, sample: Sample, kernel_log: bool) -> list[Event]:
        """The kernel log's reports and the deflate-on-OOM inference for ``sample``."""
        if not kernel_log:
            self._kernel_backlog.append(sample)
            return []
        out: list[Event] = []
        backlog, self._kernel_backlog = self._kernel_backlog, []
        for earlier in backlog:
            out.extend(self._kernel_events(earlier, True))
        if self.reads_kernel_log:
            if self.kernel_log is None:
                from .kmsg import KernelLog
                from .oom import boot_time_of

                reader = self.kernel_log_reader() if self.kernel_log_reader is not None else None
                self.kernel_log = KernelLog(self.kernel_log_root or "/", reader=reader,
                                            boot_time=boot_time_of(sample, now=sample.time))
            out.extend(self.kernel_log.poll())
        if self.oom_inference is None:
            from .kmsg.inference import DeflateOnOomDetector

            self.oom_inference = DeflateOnOomDetector()
        out.extend(self.oom_inference.feed(sample))
        return out

    # -- recording -----------------------------------------------------------------------

    def record(self, sample: Sample | None, events: Iterable[Event]) -> list[str]:
        """Write to the recording; a failure is a notice, said once (a full disk must not
        stop the monitor, but the user must know)."""
        if self.recorder is None:
            return []
        with self.record_lock:
            try:
                if sample is not None:
                    self.recorder.write_sample(sample)
                for event in events:
                    self.recorder.write_event(event)
            except OSError as exc:
                if self.record_error is None:
                    self.record_failure = exc
                    self.record_error = f"recording to {self.recorder.path} failed: {exc}"
                    return [self.record_error]
        return []

    def marker(self, time: float, text: str) -> Event:
        """A marker typed by the user, recorded at once."""
        from .events import marker

        event = marker(time, text)._replace(guest=self.guest)
        if self.replay is None:
            self.record(None, [event])
        return event

    def _tagged(self, events: list[Event]) -> list[Event]:
        if self.guest is None:
            return events
        return [e if e.guest is not None else e._replace(guest=self.guest) for e in events]

    # -- replay control ------------------------------------------------------------------

    def seek(self, t: float) -> None:
        """The next tick jumps to recording time ``t`` (a replay only)."""
        self._seek_to = t

    @property
    def seek_pending(self) -> float | None:
        return self._seek_to

    def step(self) -> None:
        """The next tick delivers exactly the next recorded sample (a replay only)."""
        self._step = True

    # -- the end -------------------------------------------------------------------------

    def close(self) -> list[Event]:
        """End open episodes (recorded), close the kernel log and the source."""
        events: list[Event] = []
        if self.replay is None and self.detect:
            events.extend(self.detector.close())
            if self.oom_inference is not None:
                events.extend(self.oom_inference.close())
            events = self._tagged(sorted(events, key=lambda e: e.time))
            self.record(None, events)
        if self.kernel_log is not None:
            self.kernel_log.close()
        self.source.close()
        return events


def kernel_log_root_for(source: SampleSource, root: str) -> str | None:
    """Whose kernel log the monitor reads: the live ``/dev/kmsg``, or a capture's recorded
    ``<root>/dev/kmsg`` when it has one (a capture without one is not worth a warning);
    never for a demo, a replay or a remote guest (its log comes over its own channel)."""
    if source.kind == "live":
        return root
    if source.kind == "capture" and os.path.isfile(os.path.join(root, "dev", "kmsg")):
        return root
    return None


def detected_events(samples: Iterable[Sample],
                    keep: Callable[[Event], bool] = lambda e: True) -> list[Event]:
    """The events the pipeline detects in ``samples`` (no kernel log): ``report``'s
    episodes come from here, so they are the ones the monitor showed."""
    from .kmsg.inference import DeflateOnOomDetector

    detector = EventDetector()
    inference = DeflateOnOomDetector()
    out: list[Event] = []
    for sample in samples:
        out.extend(detector.feed(sample))
        out.extend(inference.feed(sample))
    out.extend(detector.close())
    out.extend(inference.close())
    out.sort(key=lambda e: e.time)
    return [e for e in out if keep(e)]
