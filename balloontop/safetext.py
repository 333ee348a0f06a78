"""Text from a guest, made safe to show: no terminal control bytes, any output encoding.

Everything a guest (or a capture, a log, a recording) holds is data: a host name of
``ESC ] 0 ; ... BEL`` would retitle the terminal if written as it is, a ``CSI`` sequence
could move the cursor or hide lines. ``clean()`` shows every control character as an
escape (``\\x1b``), visible and harmless; the front ends (the text reports here, the TUI)
call it on guest text before it reaches a terminal. ``safe_output()`` makes stdout write
what an ASCII terminal cannot show as escapes instead of failing with
``UnicodeEncodeError`` (``LC_ALL=C PYTHONUTF8=0``, ``PYTHONIOENCODING=ascii``).
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

# C0 (except tab and newline, which the caller decides about), DEL, C1, and the Unicode
# format characters that reorder or hide text (bidi overrides and isolates, line and
# paragraph separators, zero-width joiners are left: they are needed by some scripts).
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``).

    Tabs are kept; newlines too with ``keep_newlines`` (a multi-line report), else escaped
    (one field that must stay on one line).
    """
    pattern = _UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE
    return pattern.sub(_escape, text)


def shorten(text: str, limit: int = 200) -> str:
    """At most ``limit`` characters of ``text``, saying how long it was when cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def safe_output(stream: TextIO | None = None) -> TextIO:
    """``stream`` (stdout) set to write characters its encoding lacks as escapes."""
    out = sys.stdout if stream is None else stream
    encoding = (getattr(out, "encoding", None) or "").lower().replace("_", "-")
    if encoding not in ("utf-8", "utf8") and hasattr(out, "reconfigure"):
        try:
            out.reconfigure(errors="backslashreplace")
        except (ValueError, OSError):  # a stream that cannot be reconfigured: leave it
            pass
    return out
