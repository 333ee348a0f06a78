"""Pure parsers: each takes a file's text and returns values plus warnings; none raises."""

from __future__ import annotations

Parsed = tuple[dict[str, int], list[str]]


def parse_int(text: str) -> int | None:
    """A decimal (or ``0x`` hex) integer, else ``None``."""
    text = text.strip()
    try:
        return int(text, 16) if text[:2].lower() == "0x" else int(text)
    except ValueError:
        return None


def bad_line(source: str, number: int, line: str) -> str:
    shown = line if len(line) <= 60 else line[:57] + "..."
    return f"{source} line {number} did not parse: {shown!r}"
