"""``/proc/meminfo``: ``Key:   value kB`` lines (``fs/proc/meminfo.c``)."""

from __future__ import annotations

from . import Parsed, bad_line


def parse_meminfo(text: str, source: str = "/proc/meminfo") -> Parsed:
    """Every field as an integer (kB for lines that carry a unit), with warnings.

    Handles the mainline ``Balloon:`` line (Linux >= 6.15) and vendor lines such as the
    RFC's ``InflatedTotal:``/``InflatedFree:`` like any other field.
    """
    values: dict[str, int] = {}
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or not key or " " in key.strip() or not 1 <= len(fields) <= 2:
            warnings.append(bad_line(source, number, line))
            continue
        if len(fields) == 2 and fields[1] != "kB":
            warnings.append(bad_line(source, number, line))
            continue
        try:
            values[key.strip()] = int(fields[0])
        except ValueError:
            warnings.append(bad_line(source, number, line))
    return values, warnings
