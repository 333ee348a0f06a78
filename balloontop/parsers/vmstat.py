"""``/proc/vmstat``: ``name value`` lines (``mm/vmstat.c``), counters and gauges alike."""

from __future__ import annotations

import re
from collections.abc import Mapping

from . import MAX_COUNTER, MAX_NUMBER_CHARS, Parsed, bad_line, implausible

from . import Parsed, bad_line

_NUMBER = re.compile(r"^-?[0-9]+$")


def parse_vmstat(text: str, source: str = "/proc/vmstat") -> Parsed:
    """Every counter as an integer, with warnings. The kernel prints each name once, as an
    unsigned 64-bit value: a repeated name keeps its first line; a negative value or one
    that 64 bits cannot hold is dropped; each with a warning."""
    values: dict[str, int] = {}
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2 or not _NUMBER.match(fields[1]):
            warnings.append(bad_line(source, number, line))
            continue
        name, raw = fields
        if len(raw) > MAX_NUMBER_CHARS + 1:
            warnings.append(f"{source} line {number}: {name} has a {len(raw)}-digit value, ignored")
            continue
        value = int(raw)
        if name in values:
            warnings.append(f"{source} line {number}: {name} repeated, the first line counts")
            continue
        if not 0 <= value < MAX_COUNTER:
            warnings.append(implausible(f"{source} line {number}", name, value))
            continue
        values[name] = value
    return values, warnings


def allocation_stalls(vmstat: Mapping[str, int]) -> int | None:
    """Σ ``allocstall_*`` (one counter per zone since 4.x), ``None`` when absent: the one sum
    that events, the deflate-on-OOM inference, the host's stats and the metrics use."""
    stalls = [v for k, v in vmstat.items() if k.startswith("allocstall")]
    return sum(stalls) if stalls else None
