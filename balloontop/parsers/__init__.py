"""Pure parsers: each takes a file's text and returns values plus warnings; none raises."""

from __future__ import annotations

Parsed = tuple[dict[str, int], list[str]]


MAX_NUMBER_CHARS = 40
"""No kernel file prints a longer number (a 128-bit value is 39 decimal digits): longer text
is not parsed at all (``int()`` of a huge string costs quadratic time, or raises)."""

MAX_KIB = 1 << 54
"""A size in kB at or above this is more bytes than a 64-bit kernel can count (2**64)."""

MAX_COUNTER = 1 << 64
"""The kernel's counters are 64-bit unsigned: a value at or above this cannot be one."""


def implausible(source: str, key: str, value: int, unit: str = "") -> str:
    return f"{source}: {key} {value}{' ' + unit if unit else ''} is implausible, ignored"


def parse_int(text: str) -> int | None:
    """A decimal (or ``0x`` hex) integer of at most ``MAX_NUMBER_CHARS`` characters, else ``None``."""
    text = text.strip()
    if len(text) > MAX_NUMBER_CHARS:
        return None
    try:
        return int(text, 16) if text[:2].lower() == "0x" else int(text)
    except ValueError:
        return None


def bad_line(source: str, number: int, line: str) -> str:
    shown = line if len(line) <= 60 else line[:57] + "..."
    return f"{source} line {number} did not parse: {shown!r}"
