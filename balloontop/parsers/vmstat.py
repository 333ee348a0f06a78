"""``/proc/vmstat``: ``name value`` lines (``mm/vmstat.c``), counters and gauges alike."""

from __future__ import annotations

from collections.abc import Mapping

from . import Parsed, bad_line


def parse_vmstat(text: str, source: str = "/proc/vmstat") -> Parsed:
    values: dict[str, int] = {}
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2:
            warnings.append(bad_line(source, number, line))
            continue
        try:
            values[fields[0]] = int(fields[1])
        except ValueError:
            warnings.append(bad_line(source, number, line))
    return values, warnings


def allocation_stalls(vmstat: Mapping[str, int]) -> int | None:
    """Σ ``allocstall_*`` (one counter per zone since 4.x), ``None`` when absent: the one sum
    that events, the deflate-on-OOM inference, the host's stats and the metrics use."""
    stalls = [v for k, v in vmstat.items() if k.startswith("allocstall")]
    return sum(stalls) if stalls else None
