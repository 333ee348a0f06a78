"""Replay: a recording played back in (scaled) real time as the monitor's sample source.

``ReplaySource`` delivers a recording's samples as their time comes, and its events and
markers with them; it pauses, steps and seeks. ``guests_of`` names the guests of a recording
of several, one of which a replay plays. Reading the file is ``balloontop.recording``.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

from .model import Event, Sample
from .recording import Recording, guest_label, read_recording
from .sources import SourceKind


class ReplaySource:
    """Plays a recording back in (scaled) real time, for the monitor.

    Positions are recording times (the samples' own ``time``, epoch seconds); ``start`` and
    ``end`` bound them. How the monitor drives it, on each tick:

    * ``sample()`` returns the next recorded sample whose time has come (the replay clock
      runs at ``speed`` times wall time from ``start``), or ``None`` when none is due yet, the
      source is paused, or the recording is over (``finished``). Samples are never skipped:
      at a high speed call ``due()`` to take all that are due at once.
    * ``take_events()`` returns the recorded events and markers up to the last sample
      delivered, each once: show those instead of running an ``EventDetector`` (they are the
      log as it was, markers included).
    * ``paused`` (settable) stops the replay clock; ``step()`` delivers exactly the next
      sample (and pauses); ``seek(t)`` jumps to recording time ``t`` (clamped): the monitor
      should then clear its graph and event log and refill them from ``history(seconds)``
      and ``take_events()``; the next ``sample()`` continues after ``t``.
    * ``position`` is the replay clock, ``speed`` is settable at any time.
    """

    @property
    def kind(self) -> SourceKind:
        return "replay"

    def __init__(
        self,
        recording: Recording | str,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        guest: str | None = None,
    ) -> None:
        if isinstance(recording, str):
            recording = read_recording(recording)
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.recording = recording
        self.guest = guest
        """Play only this guest's samples and events (a recording of several guests)."""
        samples = [s for s in recording.samples if guest is None or guest_label(s) == guest]
        events = [e for e in recording.events if guest is None or e.guest in (None, guest)]
        self.samples = sorted(samples, key=lambda s: s.time)
        self.events = sorted(events, key=lambda e: e.time)
        self._clock = clock
        self._speed = float(speed)
        self._next = 0  # index of the next sample to deliver
        self._next_event = 0
        self._paused = False
        self._anchor_wall = clock()
        self._anchor_pos = self.start

    # -- figures ---------------------------------------------------------------------

    @property
    def start(self) -> float:
        return self.samples[0].time if self.samples else 0.0

    @property
    def end(self) -> float:
        return self.samples[-1].time if self.samples else 0.0

    @property
    def interval(self) -> float | None:
        return self.recording.interval

    @property
    def finished(self) -> bool:
        """Every sample has been delivered."""
        return self._next >= len(self.samples)

    @property
    def position(self) -> float:
        """The replay clock, in recording time, within ``[start, end]``."""
        if self._paused:
            pos = self._anchor_pos
        else:
            pos = self._anchor_pos + (self._clock() - self._anchor_wall) * self._speed
        return min(max(pos, self.start), self.end)

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value <= 0:
            raise ValueError("speed must be > 0")
        self._rebase(self.position)
        self._speed = float(value)

    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        pos = self.position
        self._paused = bool(value)
        self._rebase(pos)

    def _rebase(self, pos: float) -> None:
        self._anchor_pos = pos
        self._anchor_wall = self._clock()

    # -- delivery --------------------------------------------------------------------

    def sample(self) -> Sample | None:
        """The next sample that is due, or ``None``."""
        if self.finished or self._paused:
            return None
        candidate = self.samples[self._next]
        if candidate.time > self.position:
            return None
        self._next += 1
        return candidate

    def due(self) -> list[Sample]:
        """Every sample due now, in order (empty when paused or none is due)."""
        out: list[Sample] = []
        while (s := self.sample()) is not None:
            out.append(s)
        return out

    def step(self) -> Sample | None:
        """Pause and deliver exactly the next sample (``None`` at the end)."""
        self._paused = True
        if self.finished:
            return None
        sample = self.samples[self._next]
        self._next += 1
        self._rebase(sample.time)
        return sample

    def seek(self, t: float) -> None:
        """Jump to recording time ``t``: samples up to ``t`` count as delivered."""
        t = min(max(t, self.start), self.end)
        self._rebase(t)
        self._next = _count_upto([s.time for s in self.samples], t)
        self._next_event = 0  # the caller refills its log from take_events()

    @property
    def last_time(self) -> float | None:
        """Time of the last sample delivered."""
        return self.samples[self._next - 1].time if self._next else None

    def history(self, seconds: float | None = None) -> list[Sample]:
        """Delivered samples within ``seconds`` before the last one (all when ``None``)."""
        done = self.samples[: self._next]
        if seconds is None or not done:
            return list(done)
        since = done[-1].time - seconds
        return [s for s in done if s.time >= since]

    def take_events(self) -> list[Event]:
        """Recorded events up to the last delivered sample not yet taken, in order."""
        limit = self.last_time
        if limit is None:
            return []
        out: list[Event] = []
        while self._next_event < len(self.events) and self.events[self._next_event].time <= limit:
            out.append(self.events[self._next_event])
            self._next_event += 1
        return out

    def close(self) -> None:
        """Nothing to release; here so every source can be closed alike."""


def guests_of(recording: Recording) -> list[str]:
    """The guests a recording holds samples of, in the order they first appear."""
    seen: dict[str, None] = {}
    for sample in recording.samples:
        label = guest_label(sample)
        if label is not None:
            seen.setdefault(label, None)
    return list(seen)


def _count_upto(times: list[float], t: float) -> int:
    return bisect.bisect_right(times, t)
