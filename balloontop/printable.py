"""Text from a guest made safe for a terminal: control characters become ``?``.

Names and file contents read from a guest (above all a remote one) may hold escape
sequences; a report printed on a terminal must never pass them through raw.
"""

from __future__ import annotations

_CONTROL = {c: "?" for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))}


def printable(text: str, keep: str = "\n") -> str:
    """``text`` with every C0/C1 control character but those in ``keep`` replaced by ``?``."""
    table = {c: r for c, r in _CONTROL.items() if chr(c) not in keep}
    return text.translate(table)
