"""``/proc/meminfo``: ``Key:   value kB`` lines (``fs/proc/meminfo.c``)."""

from __future__ import annotations

import re

from . import MAX_COUNTER, MAX_KIB, MAX_NUMBER_CHARS, Parsed, bad_line, implausible

_NUMBER = re.compile(r"^-?[0-9]+$")


def parse_meminfo(text: str, source: str = "/proc/meminfo") -> Parsed:
    """Every field as an integer (kB for lines that carry a unit), with warnings.

    Handles the mainline ``Balloon:`` line (Linux >= 6.15) and vendor lines such as the
    RFC's ``InflatedTotal:``/``InflatedFree:`` like any other field. The kernel prints each
    field once, unsigned: for a repeated field the first line counts; a negative value, or
    one beyond what 64 bits can count, is dropped; each with a warning.
    """
    values: dict[str, int] = {}
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, rest = line.partition(":")
        fields = rest.split()
        key = key.strip()
        if not sep or not key or " " in key or not 1 <= len(fields) <= 2:
            warnings.append(bad_line(source, number, line))
            continue
        kib = len(fields) == 2
        if kib and fields[1] != "kB":
            warnings.append(bad_line(source, number, line))
            continue
        raw = fields[0]
        if len(raw) > MAX_NUMBER_CHARS + 1 and _NUMBER.match(raw):
            warnings.append(f"{source} line {number}: {key} has a {len(raw)}-digit value, ignored")
            continue
        if not _NUMBER.match(raw):
            warnings.append(bad_line(source, number, line))
            continue
        value = int(raw)
        if key in values:
            warnings.append(f"{source} line {number}: {key} repeated, the first line counts")
            continue
        if not 0 <= value < (MAX_KIB if kib else MAX_COUNTER):
            warnings.append(implausible(f"{source} line {number}", key, value, "kB" if kib else ""))
            continue
        values[key] = value
    return values, warnings
