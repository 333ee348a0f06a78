"""Recordings: JSON lines of samples and events that survive a crash, and their replay.

Format (schema 1), one JSON object per line, UTF-8:

* first line, the header:
  ``{"type": "header", "schema": 1, "host", "kernel", "interval", "started", "balloontop"}``
* one line per sample: ``{"type": "sample", **sample.to_json()}`` (the snapshot schema;
  its ``time`` is the sample's wall-clock time, seconds since the epoch);
* one line per event or marker: ``event.to_json()`` (``"type": "event"``).

Crash safety: each line is handed to the OS whole and flushed at once (no fsync). A file whose
name ends in ``.gz`` is a gzip stream with a ``Z_SYNC_FLUSH`` after every line, so everything
up to the last complete line can be decompressed even when the writer was killed with SIGKILL
and the stream never got its trailer. ``read_recording`` reads what is valid from a damaged
file (truncated last line, garbage line, truncated or corrupt gzip stream) and lists what it
skipped.
"""

from __future__ import annotations

import bisect
import io
import json
import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from . import __version__
from .host.reading import host_reading_from_json
from .model import (
    BalloonTotal,
    DriverReading,
    Event,
    FeatureSet,
    Sample,
    Stat,
    SystemInfo,
    VirtioDevice,
    frozen_map,
)

RECORDING_SCHEMA = 1


# -- rebuilding samples and events ------------------------------------------------------


def _features(obj: dict[str, Any] | None) -> FeatureSet | None:
    if not obj:
        return None
    return FeatureSet(
        raw=str(obj.get("raw", "")),
        bits=tuple(int(b) for b in obj.get("bits", ())),
        unknown_bits=tuple(int(b) for b in obj.get("unknown_bits", ())),
    )


def _driver(obj: dict[str, Any]) -> DriverReading:
    stats = {
        name: Stat(value=s.get("value"), unit=s.get("unit", ""), meaning=s.get("meaning", ""))
        for name, s in (obj.get("stats") or {}).items()
    }
    return DriverReading(
        driver=obj["driver"],
        instance=obj["instance"],
        inflated_kib=obj.get("inflated_kib"),
        source=obj.get("source"),
        exact=bool(obj.get("exact", False)),
        accounting=obj.get("accounting"),
        stats=frozen_map(stats),
        warnings=tuple(obj.get("warnings") or ()),
        features=_features(obj.get("features")),
        counts_in_total=bool(obj.get("counts_in_total", True)),
    )


def _virtio(obj: dict[str, Any]) -> VirtioDevice:
    return VirtioDevice(
        instance=obj["instance"],
        device_id=obj.get("device_id"),
        type=obj.get("type"),
        vendor=obj.get("vendor"),
        status=obj.get("status"),
        status_flags=tuple(obj.get("status_flags") or ()),
        bus_address=obj.get("bus_address"),
        driver=obj.get("driver"),
        features=_features(obj.get("features")),
        offered_bits=tuple(obj["offered_bits"]) if obj.get("offered_bits") is not None else None,
    )


def sample_from_json(obj: dict[str, Any]) -> Sample:
    """The ``Sample`` that ``sample.to_json()`` (or a recording's sample line) describes.

    Raises ``KeyError``/``TypeError``/``ValueError`` when ``obj`` is not such a document.
    """
    system = obj["system"]
    balloon = obj.get("balloon") or {}
    return Sample(
        time=float(obj["time"]),
        root=str(obj.get("root", "")),
        system=SystemInfo(
            kernel=system.get("kernel"),
            hostname=system.get("hostname"),
            page_size=int(system.get("page_size") or 4096),
            page_size_source=str(system.get("page_size_source", "")),
            uptime_s=system.get("uptime_s"),
            mem_total_kib=system.get("mem_total_kib"),
            mem_free_kib=system.get("mem_free_kib"),
            mem_available_kib=system.get("mem_available_kib"),
        ),
        meminfo=frozen_map({str(k): int(v) for k, v in (obj.get("meminfo") or {}).items()}),
        vmstat=frozen_map({str(k): int(v) for k, v in (obj.get("vmstat") or {}).items()}),
        balloon=BalloonTotal(
            kib=balloon.get("kib"), source=balloon.get("source"), exact=bool(balloon.get("exact"))
        ),
        drivers=tuple(_driver(d) for d in obj.get("drivers") or ()),
        virtio_devices=tuple(_virtio(d) for d in obj.get("virtio_devices") or ()),
        warnings=tuple(obj.get("warnings") or ()),
        host=host_reading_from_json(obj.get("host")),  # absent in recordings made before it
    )


def event_from_json(obj: dict[str, Any]) -> Event:
    """The ``Event`` that ``event.to_json()`` describes."""
    return Event(
        time=float(obj["time"]),
        kind=str(obj["kind"]),
        message=str(obj.get("message", "")),
        kib=obj.get("kib"),
        driver=obj.get("driver"),
        instance=obj.get("instance"),
        details=frozen_map(obj.get("details") or {}),
    )


# -- writing ---------------------------------------------------------------------------


class Recorder:
    """Appends samples and events to a recording, one whole, flushed line at a time.

    The header is written before the first line: ``host`` and ``kernel`` default to those of
    the first sample written (or ``None`` when an event comes first). ``started`` defaults to
    the time the recorder was made. The file is created (or truncated) at once. Use it as a
    context manager or call ``close()``; a ``.gz`` recording that was not closed is still
    readable up to its last line.
    """

    def __init__(
        self,
        path: str,
        interval: float,
        *,
        host: str | None = None,
        kernel: str | None = None,
        started: float | None = None,
    ) -> None:
        self.path = path
        self.interval = interval
        self.host = host
        self.kernel = kernel
        self.started = time.time() if started is None else started
        self.samples = 0
        self.events = 0
        self.bytes_written = 0
        self._gzip = path.endswith(".gz")
        self._file: IO[bytes] | None = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 31) if self._gzip else None
        self._header_done = False

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._file is None

    def write_sample(self, sample: Sample) -> None:
        if not self._header_done:
            self.host = self.host if self.host is not None else sample.system.hostname
            self.kernel = self.kernel if self.kernel is not None else sample.system.kernel
        self._write({"type": "sample", **sample.to_json()})
        self.samples += 1

    def write_event(self, event: Event) -> None:
        """Write an event or a marker (``balloontop.events.marker``)."""
        self._write(event.to_json())
        self.events += 1

    def header(self) -> dict[str, Any]:
        return {
            "type": "header",
            "schema": RECORDING_SCHEMA,
            "host": self.host,
            "kernel": self.kernel,
            "interval": self.interval,
            "started": self.started,
            "balloontop": __version__,
        }

    def _write(self, obj: dict[str, Any]) -> None:
        if self._file is None:
            raise ValueError("recording is closed")
        data = b""
        if not self._header_done:
            self._header_done = True
            data = _line(self.header())
        data += _line(obj)
        if self._zip is not None:
            data = self._zip.compress(data) + self._zip.flush(zlib.Z_SYNC_FLUSH)
        self._file.write(data)
        self._file.flush()
        self.bytes_written += len(data)

    def close(self) -> None:
        """Write the header if nothing was written, end the gzip stream, close the file."""
        if self._file is None:
            return
        try:
            if not self._header_done:
                self._header_done = True
                data = _line(self.header())
                if self._zip is not None:
                    data = self._zip.compress(data)
                self._file.write(data)
                self.bytes_written += len(data)
            if self._zip is not None:
                tail = self._zip.flush(zlib.Z_FINISH)
                self._file.write(tail)
                self.bytes_written += len(tail)
            self._file.flush()
        finally:
            self._file.close()
            self._file = None


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


# -- reading ---------------------------------------------------------------------------


@dataclass
class Recording:
    """What a recording file holds; ``skipped`` says in words what could not be read."""

    header: dict[str, Any] | None
    samples: list[Sample] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    path: str | None = None

    @property
    def interval(self) -> float | None:
        value = (self.header or {}).get("interval")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def start(self) -> float | None:
        return self.samples[0].time if self.samples else None

    @property
    def end(self) -> float | None:
        return self.samples[-1].time if self.samples else None


def _gunzip(data: bytes, skipped: list[str]) -> bytes:
    """Decompress every gzip member; keep what came out of a truncated or damaged one."""
    out = io.BytesIO()
    offset = 0
    while offset < len(data):
        unzip = zlib.decompressobj(31)
        try:
            out.write(unzip.decompress(data[offset:]))
        except zlib.error as exc:
            # decompressobj keeps no partial output on error: salvage line by line below
            out.write(_salvage(data[offset:]))
            skipped.append(f"gzip stream damaged after byte {offset}: {exc}")
            break
        if not unzip.eof:
            skipped.append("gzip stream truncated (writer did not finish): read up to the cut")
            break
        rest = unzip.unused_data
        offset = len(data) - len(rest)
        if rest.strip(b"\0") == b"":
            break
    return out.getvalue()


def _salvage(data: bytes) -> bytes:
    """Decompress ``data`` up to the first damaged byte, keeping all output before it."""
    unzip = zlib.decompressobj(31)
    out = io.BytesIO()
    for i in range(0, len(data), 4096):
        saved = unzip.copy()
        try:
            out.write(unzip.decompress(data[i : i + 4096]))
        except zlib.error:
            unzip = saved  # again byte by byte, to keep what precedes the damage
            for j in range(i, min(i + 4096, len(data))):
                try:
                    out.write(unzip.decompress(data[j : j + 1]))
                except zlib.error:
                    break
            break
        if unzip.eof:
            break
    return out.getvalue()


def _lines(path: str, skipped: list[str]) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, ended with a newline) for every line of the file."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, skipped)
    lines = data.split(b"\n")
    last = lines.pop()  # b"" when the file ends with a newline
    for number, line in enumerate(lines, 1):
        yield number, line, True
    if last:
        yield len(lines) + 1, last, False


def read_recording(path: str) -> Recording:
    """Everything valid in the recording at ``path``; raises ``OSError`` if it cannot be read.

    A line that is not JSON, not an object, or not a valid sample/event is skipped and
    listed in ``skipped`` ("line 7: not JSON"); so is a last line cut short.
    """
    skipped: list[str] = []
    rec = Recording(header=None, path=path, skipped=skipped)
    for number, raw, complete in _lines(path, skipped):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            why = "truncated last line" if not complete else "not JSON"
            skipped.append(f"line {number}: {why}")
            continue
        if not isinstance(obj, dict):
            skipped.append(f"line {number}: not a JSON object")
            continue
        kind = obj.get("type")
        try:
            if kind == "sample":
                rec.samples.append(sample_from_json(obj))
            elif kind == "event":
                rec.events.append(event_from_json(obj))
            elif kind == "header":
                if rec.header is None:
                    rec.header = obj
                    schema = obj.get("schema")
                    if schema != RECORDING_SCHEMA:
                        skipped.append(f"line {number}: header schema {schema!r}, read as 1")
                else:
                    skipped.append(f"line {number}: second header ignored")
            else:
                skipped.append(f"line {number}: unknown line type {kind!r}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            skipped.append(f"line {number}: invalid {kind}: {exc!r}")
    if rec.header is None:
        skipped.append("no header line")
    return rec


# -- replay ----------------------------------------------------------------------------


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

    def __init__(
        self,
        recording: Recording | str,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(recording, str):
            recording = read_recording(recording)
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.recording = recording
        self.samples = sorted(recording.samples, key=lambda s: s.time)
        self.events = sorted(recording.events, key=lambda e: e.time)
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


def _count_upto(times: list[float], t: float) -> int:
    return bisect.bisect_right(times, t)


def file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
