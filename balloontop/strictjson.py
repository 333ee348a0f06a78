"""Strict JSON out: no ``NaN`` or ``Infinity`` (which strict parsers reject).

Every JSON balloontop writes (``snapshot --json``, ``oom --json``, ``report --json``,
recordings) goes through ``dumps``: a number that is not finite becomes ``null`` and its
place is named in the list of replacements, for the caller to turn into a warning.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(obj: Any, where: str = "", replaced: list[str] | None = None) -> Any:
    """A copy of ``obj`` (dicts, lists, tuples, scalars) with non-finite floats as ``None``;
    their places (``system.uptime_s``) are appended to ``replaced``."""
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        if replaced is not None:
            replaced.append(where or "value")
        return None
    if isinstance(obj, dict):
        return {k: finite(v, f"{where}.{k}" if where else str(k), replaced) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v, f"{where}[{i}]", replaced) for i, v in enumerate(obj)]
    return obj


def dumps(obj: Any, replaced: list[str] | None = None, **kwargs: Any) -> str:
    """``json.dumps`` with ``allow_nan=False`` after ``finite``."""
    return json.dumps(finite(obj, "", replaced), allow_nan=False, **kwargs)


def warning(replaced: list[str]) -> str | None:
    """One line naming the values written as ``null``, or ``None``."""
    if not replaced:
        return None
    shown = ", ".join(replaced[:5]) + (f" and {len(replaced) - 5} more" if len(replaced) > 5 else "")
    return f"not a finite number, written as null: {shown}"
