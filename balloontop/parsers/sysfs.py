"""One-value sysfs and sysctl files (Xen, powerpc CMM, s390 CMM)."""

from __future__ import annotations

from . import MAX_COUNTER, parse_int


def parse_value(text: str | None) -> int | None:
    """An integer file; ``Y``/``N`` booleans become 1/0; anything else is ``None``."""
    if text is None:
        return None
    text = text.strip()
    if text in ("Y", "N"):
        return 1 if text == "Y" else 0
    value = parse_int(text) if text else None
    return value if value is not None and 0 <= value < MAX_COUNTER else None  # 64-bit unsigned


def parse_pair(text: str | None) -> tuple[int, int] | None:
    """Two integers on one line (s390 ``cmm_timeout``: ``<pages> <seconds>``)."""
    if text is None:
        return None
    fields = text.split()
    if len(fields) != 2:
        return None
    first, second = parse_value(fields[0]), parse_value(fields[1])
    return (first, second) if first is not None and second is not None else None
