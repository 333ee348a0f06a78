"""Recordings: JSON lines of samples and events that survive a crash; writing and reading them.

Playing one back is ``balloontop.replay``.

Format (schema 2), one JSON object per line, UTF-8:

* first line, the header:
  ``{"type": "header", "schema": 2, "host", "kernel", "interval", "started", "balloontop"}``
* one line per sample: ``{"type": "sample", **sample.to_json()}`` (the snapshot schema;
  its ``time`` is the sample's wall-clock time, seconds since the epoch), except that a
  driver statistic is its value alone (``"stats": {"current": 29696}``): its unit and
  meaning are the driver's declaration (``balloontop.drivers.stat_spec``), not repeated on
  every line. Schema 1 (before) wrote ``{"value", "unit", "meaning"}`` objects; both are read;
* one line per event or marker: ``event.to_json()`` (``"type": "event"``).

Crash safety: each line is handed to the OS whole and flushed at once (no fsync). A file whose
name ends in ``.gz`` is a gzip stream with a ``Z_SYNC_FLUSH`` after every line, so everything
up to the last complete line can be decompressed even when the writer was killed with SIGKILL
and the stream never got its trailer. ``read_recording`` reads what is valid from a damaged
file (truncated last line, garbage line, truncated or corrupt gzip stream) and lists what it
skipped.
"""

from __future__ import annotations

import json
import os
import stat
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from . import __version__
from .fromjson import event_from_json, sample_from_json  # noqa: F401 - rebuilt and checked there
from .model import Event, Sample

RECORDING_SCHEMA = 2
READABLE_SCHEMAS = (1, 2)
"""1: statistics with their unit and meaning on every line; 2: values only."""


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
        self.non_finite = 0
        """Values written as ``null`` because they were not finite numbers."""
        self._file: IO[bytes] | None = _open_for_writing(path)
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
        self._write(sample_line(sample))
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
        replaced: list[str] = []
        data += _line(obj, replaced)
        self.non_finite += len(replaced)
        if self._zip is not None:
            data = self._zip.compress(data) + self._zip.flush(zlib.Z_SYNC_FLUSH)
        self._file.write(data)
        self._file.flush()
        self.bytes_written += len(data)

    def abandon(self) -> None:
        """Close the file without writing more (after a write error)."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None

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


def sample_line(sample: Sample) -> dict[str, Any]:
    """A recording's line for ``sample``: its JSON with each driver statistic as its value."""
    obj = sample.to_json()
    for reading, out in zip(sample.drivers, obj["drivers"]):
        out["stats"] = {name: stat.value for name, stat in reading.stats.items()}
    return {"type": "sample", **obj}


def _line(obj: dict[str, Any], replaced: list[str] | None = None) -> bytes:
    """One line of strict JSON (a value that is not finite is written as ``null``)."""
    from .strictjson import dumps

    return (dumps(obj, replaced, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def _open_for_writing(path: str) -> IO[bytes]:
    """``path`` created or truncated for writing. A FIFO with no reader is an error (ENXIO)
    instead of a wait: opened ``O_NONBLOCK``, then switched back to blocking writes."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o644)
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def check_new_recording(path: str, force: bool = False) -> None:
    """Refuse (``UsageError``, exit 2) to replace a file that already holds data, unless
    ``force``: ``record FILE`` and the monitor's ``--record FILE`` call this before the
    ``Recorder`` truncates the file. A missing or empty file, or one that is not a regular
    file (``/dev/null``, a pipe), is fine."""
    from .errors import UsageError

    if force:
        return
    try:
        info = os.stat(path)
    except OSError:
        return  # missing (or unreachable: opening it says why)
    if stat.S_ISREG(info.st_mode) and info.st_size > 0:
        raise UsageError(f"{path} already exists ({info.st_size} bytes): not replaced (--force to replace it)")


# -- reading ---------------------------------------------------------------------------


MAX_DECOMPRESSED_BYTES = 512 << 20
"""What ``read_recording`` reads of a recording at most (after gunzip): a week at one sample a
second is about this; a gzip bomb stops here with a line in ``skipped``, memory bounded."""
MAX_LINES = 5_000_000  # a week at one sample a second is 0.6 million; many more is not a recording
MAX_LINE_BYTES = 1 << 20  # a sample line is a few KiB; a longer one is skipped, never buffered whole
MAX_SKIPPED_LISTED = 20  # reasons kept in ``skipped``; ``skipped_count`` counts them all
_GZIP_STEP = 16 << 10  # compressed bytes fed at a time (bounds the byte-by-byte salvage)
_OUT_STEP = 256 << 10  # decompressed bytes produced at a time (bounds memory)


@dataclass
class Recording:
    """What a recording file holds; ``skipped`` says in words what could not be read (the
    first ``MAX_SKIPPED_LISTED`` reasons), ``skipped_count`` how many lines or parts that was."""

    header: dict[str, Any] | None
    samples: list[Sample] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    path: str | None = None
    skipped_count: int = 0

    def skip(self, why: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append(why)

    @property
    def interval(self) -> float | None:
        value = (self.header or {}).get("interval")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) if 0 < value <= 3600 else None  # the cap record and config enforce

    @property
    def start(self) -> float | None:
        return min(s.time for s in self.samples) if self.samples else None

    @property
    def end(self) -> float | None:
        return max(s.time for s in self.samples) if self.samples else None


def _file_chunks(path: str) -> Iterator[bytes]:
    """The bytes of the file at ``path``, a chunk at a time. Only a regular file (or a
    character device such as ``/dev/stdin`` on a terminal is refused too): a FIFO named as a
    recording is an error, not a hang. Raises ``OSError``."""
    from .rootfs import open_host_file

    fd = open_host_file(path)
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return
            yield chunk
    finally:
        os.close(fd)


def _gunzip(chunks: Iterator[bytes], rec: Recording) -> Iterator[bytes]:
    """Decompress every gzip member as it streams in, ``_OUT_STEP`` bytes at a time; keep
    what came out of a truncated member, and of a damaged one up to the damaged byte."""
    unzip = zlib.decompressobj(31)
    offset = 0  # compressed bytes consumed
    started = False
    for chunk in chunks:
        for i in range(0, len(chunk), _GZIP_STEP):
            data = chunk[i : i + _GZIP_STEP]
            while data:
                if unzip.eof:  # the member before ended: another member, or zero padding
                    if data.strip(b"\0") == b"":
                        break
                    unzip = zlib.decompressobj(31)
                saved = unzip.copy()
                try:
                    out = unzip.decompress(data, _OUT_STEP)
                except zlib.error as exc:
                    # decompressobj keeps no partial output on error: again byte by byte
                    unzip = saved
                    for j in range(len(data)):
                        try:
                            yield unzip.decompress(data[j : j + 1])
                        except zlib.error:
                            break
                    rec.skip(f"gzip stream damaged after byte {offset}: {exc}")
                    return
                started = True
                if out:
                    yield out
                rest = unzip.unused_data if unzip.eof else unzip.unconsumed_tail
                offset += len(data) - len(rest)
                data = rest
    if started and not unzip.eof:
        rec.skip("gzip stream truncated (writer did not finish): read up to the cut")


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _lines(path: str, rec: Recording, max_bytes: int) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, ended with a newline) for every line of the file, streamed: at
    most ``max_bytes`` of (decompressed) data and ``MAX_LINES`` lines are read, at most
    ``MAX_LINE_BYTES`` of one line held in memory."""
    chunks = _file_chunks(path)
    first = next(chunks, b"")
    while len(first) < 2:
        more = next(chunks, None)
        if more is None:
            break
        first += more
    stream = _chain(first, chunks)
    if first[:2] == b"\x1f\x8b":
        stream = _gunzip(stream, rec)
    buffer = bytearray()
    number = 0
    total = 0
    too_long = False
    for data in stream:
        total += len(data)
        if total > max_bytes:
            data = data[: len(data) - (total - max_bytes)]
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                if not too_long:
                    buffer += data[start:]
                    if len(buffer) > MAX_LINE_BYTES:
                        too_long, buffer = True, bytearray()
                break
            number += 1
            if number > MAX_LINES:
                rec.skip(f"stopped after {MAX_LINES} lines: the rest of the file is not read")
                return
            if too_long:
                rec.skip(f"line {number}: longer than {MAX_LINE_BYTES >> 20} MiB, not read")
                too_long = False
            else:
                buffer += data[start:end]
                yield number, bytes(buffer), True
            buffer = bytearray()
            start = end + 1
        if total > max_bytes:
            rec.skip(
                f"stopped after {max_bytes >> 20} MiB of data (decompressed): the rest of the file "
                "is not read (a recording this large, or a gzip bomb)"
            )
            return
    if too_long:
        rec.skip(f"line {number + 1}: longer than {MAX_LINE_BYTES >> 20} MiB, not read")
    elif buffer:
        yield number + 1, bytes(buffer), False


def read_recording(path: str, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> Recording:
    """Everything valid in the recording at ``path``; raises ``OSError`` if it cannot be read.

    A line that is not JSON, not an object, or not a valid sample/event (a value of the
    wrong type, not finite, or beyond what a kernel can report) is skipped and counted
    (``skipped_count``; the first reasons in ``skipped``: "line 7: not JSON"); so is a last
    line cut short. Samples and events are kept in file order (``replay.ReplaySource`` and
    ``report`` sort them by time: a clock step can put them out of order).
    """
    rec = Recording(header=None, path=path)
    for number, raw, complete in _lines(path, rec, max_bytes):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            why = "truncated last line" if not complete else "not JSON"
            rec.skip(f"line {number}: {why}")
            continue
        if not isinstance(obj, dict):
            rec.skip(f"line {number}: not a JSON object")
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
                    if schema not in READABLE_SCHEMAS:
                        rec.skip(f"line {number}: header schema {_short(schema)}, read as {RECORDING_SCHEMA}")
                else:
                    rec.skip(f"line {number}: second header ignored")
            else:
                rec.skip(f"line {number}: unknown line type {_short(kind)}")
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            rec.skip(f"line {number}: invalid {_short(kind)}: {_short(exc)}")
    if rec.header is None:
        rec.skip("no header line")
    return rec


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _short(value: object, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, BaseException) else f"{type(value).__name__}: {value}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- guests ----------------------------------------------------------------------------


def guest_label(sample: Sample) -> str | None:
    """The guest a recorded sample came from, as its events name it (``None``: the only one)."""
    guest = sample.guest
    if not guest:
        return None
    name = guest.get("name") or guest.get("target")
    return str(name) if name else None
