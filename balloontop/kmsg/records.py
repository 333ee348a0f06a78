"""Kernel log records: ``/dev/kmsg`` records and pasted ``dmesg`` text, parsed.

``/dev/kmsg`` hands out one record per ``read()``::

    prio,seq,usec,flags[,more];text
     KEY=VALUE            <- optional dictionary lines, each starting with a space

``prio`` is ``facility << 3 | level``; the kernel escapes bytes below 0x20, at or above 0x7f
and the backslash as ``\\xNN`` (so a multi-line record such as the ``Mem-Info:`` counters
carries ``\\x0a``). A file of recorded records is the same records one after another.

``dmesg`` text (``[   22.552126] text``, ``dmesg -r``'s ``<4>[   22.552126] text``, ``dmesg
-T``'s ``[Mon Mar  3 12:00:00 2026] text`` and syslog/journal ``... kernel: text`` lines) is
accepted too, because that is what people paste. A multi-line record shows up there as
lines with the same time stamp whose text starts with a space; those are joined again
(except at time 0, where many separate boot records share the stamp).

Nothing here raises on any text: a line that does not parse is skipped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, str] = MappingProxyType({})

LEVEL_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

_KMSG_HEAD = re.compile(r"^(\d{1,10}),(\d{1,20}),(-?\d{1,20}),([^;,]*)((?:,[^;]*)?);")
_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_DMESG_MONO = re.compile(r"^(?:<(\d{1,4})>)?\[\s*(\d{1,12})\.(\d{1,9})\](?: ?)(.*)$")
_DMESG_CTIME = re.compile(
    r"^(?:<(\d{1,4})>)?\[([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})\] ?(.*)$"
)
_SYSLOG = re.compile(r"^(\S.{0,80}?)\skernel: (?:\[\s*(\d{1,12})\.(\d{1,9})\] ?)?(.*)$")


@dataclass(frozen=True)
class Record:
    """One kernel log record."""

    level: int | None
    """Syslog level 0 (emerg) .. 7 (debug); ``None`` when the text did not say."""
    facility: int | None
    seq: int | None
    """The kernel's record number (``/dev/kmsg`` only)."""
    usec: int | None
    """Time stamp: microseconds since boot (CLOCK_MONOTONIC, the ``dmesg`` time base)."""
    text: str
    """The message, unescaped; a multi-line record keeps its ``\\n``."""
    flags: str = "-"
    dictionary: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    """``KEY=VALUE`` continuation lines (``SUBSYSTEM=``, ``DEVICE=``)."""
    source: str = "kmsg"
    """``kmsg`` (raw records), ``dmesg`` (pasted text) or ``syslog``."""
    wall: str | None = None
    """A wall-clock stamp as printed (``dmesg -T``, syslog), when the text had one."""

    @property
    def time_s(self) -> float | None:
        """Seconds since boot, or ``None``."""
        return None if self.usec is None else self.usec / 1_000_000

    @property
    def level_name(self) -> str | None:
        return None if self.level is None else LEVEL_NAMES[self.level]

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "time_s": self.time_s,
            "level": self.level,
            "facility": self.facility,
            "text": self.text,
        }
        if self.dictionary:
            out["dictionary"] = dict(self.dictionary)
        if self.wall is not None:
            out["wall"] = self.wall
        return out


@dataclass(frozen=True)
class ParseResult:
    """Records parsed from a text, and what could not be parsed."""

    records: tuple[Record, ...]
    skipped: int = 0
    warnings: tuple[str, ...] = field(default=())


def unescape(raw: str | bytes) -> str:
    """``\\xNN`` escapes of ``/dev/kmsg`` undone; bytes that are not UTF-8 become U+FFFD."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    try:
        data = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    except Exception:  # pragma: no cover - defensive: never raise on text
        pass
    return data.decode("utf-8", "replace")


def _split_prio(prio: int) -> tuple[int, int]:
    return prio >> 3, prio & 7


def parse_kmsg_record(raw: str | bytes) -> Record | None:
    """One ``/dev/kmsg`` record (a ``read()`` result), or ``None`` when it does not parse."""
    try:
        text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
        lines = text.split("\n")
        head = _parse_head(lines[0])
        if head is None:
            return None
        extra: dict[str, str] = {}
        for line in lines[1:]:
            if line.startswith(" ") and "=" in line:
                key, _, value = line[1:].partition("=")
                extra[key] = unescape(value)
        if extra:
            head = _with_dictionary(head, extra)
        return head
    except Exception:  # pragma: no cover - defensive: never raise on text
        return None


def _parse_head(line: str) -> Record | None:
    match = _KMSG_HEAD.match(line)
    if match is None:
        return None
    prio, seq, usec = int(match.group(1)), int(match.group(2)), int(match.group(3))
    if usec < 0:
        return None
    facility, level = _split_prio(prio)
    body = line[match.end() :]
    return Record(
        level=level,
        facility=facility,
        seq=seq,
        usec=usec,
        text=unescape(body),
        flags=match.group(4) or "-",
    )


def _with_dictionary(record: Record, extra: Mapping[str, str]) -> Record:
    merged = dict(record.dictionary)
    merged.update(extra)
    return Record(
        level=record.level,
        facility=record.facility,
        seq=record.seq,
        usec=record.usec,
        text=record.text,
        flags=record.flags,
        dictionary=MappingProxyType(merged),
        source=record.source,
        wall=record.wall,
    )


def parse_log(text: str | bytes) -> ParseResult:
    """Records from a recorded ``/dev/kmsg`` file or pasted ``dmesg``/syslog text.

    The format is recognised line by line, so a file mixing both still parses. Lines that
    match no format, and dictionary lines with no record before them, are skipped and
    counted; blank lines are ignored.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        return _parse_lines(text.splitlines())
    except Exception as exc:  # pragma: no cover - defensive: never raise on text
        return ParseResult((), 1, (f"kernel log: could not parse ({exc.__class__.__name__})",))


def _parse_lines(lines: Iterable[str]) -> ParseResult:
    records: list[Record] = []
    skipped = 0
    examples: list[str] = []

    def skip(line: str) -> None:
        nonlocal skipped
        skipped += 1
        if len(examples) < 3:
            examples.append(line[:80])

    for line in lines:
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if line.startswith(" "):
            # A /dev/kmsg dictionary line belongs to the record before it.
            prev = records[-1] if records else None
            if prev is not None and prev.source == "kmsg" and "=" in line:
                key, _, value = line[1:].partition("=")
                if key and " " not in key:
                    records[-1] = _with_dictionary(prev, {key: unescape(value)})
                    continue
            skip(line)
            continue
        record = _parse_head(line)
        if record is None:
            record = _parse_dmesg_line(line)
            if record is None:
                skip(line)
                continue
            prev = records[-1] if records else None
            if (
                prev is not None
                and prev.source == record.source
                and prev.source != "kmsg"
                and record.text.startswith(" ")
                and prev.usec == record.usec
                and record.usec != 0
                and prev.wall == record.wall
                and prev.level == record.level
            ):
                # dmesg prints each line of a multi-line record with the record's stamp.
                records[-1] = _joined(prev, record.text)
                continue
        records.append(record)
    warnings: tuple[str, ...] = ()
    if skipped:
        shown = "; ".join(repr(e) for e in examples)
        warnings = (f"kernel log: skipped {skipped} line(s) that are not log records ({shown})",)
    return ParseResult(tuple(records), skipped, warnings)


def _joined(record: Record, more: str) -> Record:
    return Record(
        level=record.level,
        facility=record.facility,
        seq=record.seq,
        usec=record.usec,
        text=record.text + "\n" + more,
        flags=record.flags,
        dictionary=record.dictionary,
        source=record.source,
        wall=record.wall,
    )


def _parse_dmesg_line(line: str) -> Record | None:
    match = _DMESG_MONO.match(line)
    if match is not None:
        level, facility = _prio_of(match.group(1))
        frac = match.group(3)
        usec = int(match.group(2)) * 1_000_000 + int(frac.ljust(6, "0")[:6])
        return Record(level, facility, None, usec, match.group(4), source="dmesg")
    match = _DMESG_CTIME.match(line)
    if match is not None:
        level, facility = _prio_of(match.group(1))
        return Record(level, facility, None, None, match.group(3), source="dmesg",
                      wall=match.group(2))
    match = _SYSLOG.match(line)
    if match is not None:
        stamp: int | None = None
        if match.group(2) is not None:
            stamp = int(match.group(2)) * 1_000_000 + int(match.group(3).ljust(6, "0")[:6])
        return Record(None, 0, None, stamp, match.group(4), source="syslog",
                      wall=match.group(1))
    return None


def _prio_of(group: str | None) -> tuple[int | None, int | None]:
    if group is None:
        return None, None
    facility, level = _split_prio(int(group))
    return level, facility
