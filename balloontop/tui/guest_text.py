"""Text from a guest, put on screen as data: never parsed as markup, never raw terminal bytes.

Guest text (process names, host names, kernel releases, kernel log lines, file contents,
device names) reaches the screen only through ``content(template, **values)``: the template
is markup the program wrote (styles, theme ``$variables``), the values are inserted as plain
text by Textual's own variable substitution, so no value is ever parsed as markup (escaping
cannot do that: ``escape("[/x")`` is still a markup error for Textual's parser).

``clean`` drops control characters (ESC, BEL, ...), so a host name holding ``ESC]0;...BEL``
cannot retitle the terminal. The ``hostile`` branch adds ``balloontop/safetext.py`` for the
same job in the core; when it is merged, ``clean`` should become that module's function.
"""

from __future__ import annotations

import re
from functools import lru_cache

from textual.content import Content

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile("[\t\n]")


def clean(text: object) -> str:
    """``text`` as a string without control characters (tabs and newlines become spaces)."""
    return _CONTROL.sub("", _SPACES.sub(" ", str(text)))


def content(template: str, **values: object) -> Content:
    """``template`` (program markup with ``$name`` placeholders) with ``values`` as plain text.

    Parsed once per distinct line (``Content`` is immutable): most lines repeat tick after
    tick, and parsing markup is the costly part."""
    return _parsed(template, tuple((name, clean(value)) for name, value in values.items()))


@lru_cache(maxsize=1024)
def _parsed(template: str, values: tuple[tuple[str, str], ...]) -> Content:
    return Content.from_markup(template, **dict(values))


def plain(text: object, style: str = "") -> Content:
    """Guest text as ``Content`` without any markup, optionally in one style."""
    return Content.styled(clean(text), style) if style else Content(clean(text))
