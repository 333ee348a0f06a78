"""The balloon graph: balloon size (left axis, from 0; with ``--qmp`` also the host's view of
it) and MemTotal, MemAvailable (right axis, scaled to their data), drawn by ``balloontop.plot``
(plotext 5, shared with ``report``).

``GraphBuilder.build(...)`` runs in the poll thread, never on the UI thread: a plotext
build plus the ANSI-to-``Text`` conversion costs milliseconds. Each builder owns its own
plotext figure. plotext 5.3.2 (pure Python) rather than 6.x: 6's compiled core (ctypes,
libstdc++) costs about 5.5 MiB of resident memory, 5.3.2 loaded lean about 1 MiB. The frame
carries a key of what was drawn, so the caller can skip a frame identical to the one on
screen (the 900 B/s at-rest budget).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from rich.text import Text

from ..plot import PLOTEXT_LOCK as _PLOTEXT_LOCK
from ..plot import Axis, canvas_bins, clip, import_plotext, memory_axis, new_figure, place_ticks, thin

__all__ = ["SERIES", "GraphBuilder", "GraphFrame", "raster_key", "window_ticks", "y_axes", "_PLOTEXT_LOCK",
           "import_plotext"]
_import_plotext = import_plotext  # the name tests and the report's lean-load test use

SERIES = (
    # label in the history window, theme variable, marker in ASCII mode, axis (0 left, 1 right);
    # drawn in this order, a later line over an earlier one: the host's balloon (``--qmp``,
    # only when the window holds a host reading) under the guest's, so it shows where the
    # guest has not followed (yet).
    ("host", "host-graph", "*", 0),
    ("balloon", "balloon-graph", "#", 0),
    ("MemTotal", "total-graph", "=", 1),
    ("MemAvailable", "available-graph", ".", 1),
)


class GraphFrame(NamedTuple):
    text: Text
    key: tuple
    build_ms: float


def window_ticks(window_s: float) -> tuple[list[float], list[str]]:
    if window_s <= 60:
        step, unit, div = 15, "s", 1
    elif window_s <= 600:
        step, unit, div = 120, "m", 60
    else:
        step, unit, div = 900, "m", 60
    pos = [-window_s + i * step for i in range(int(window_s // step) + 1)]
    labels = ["now" if p == 0 else f"-{int(-p // div)}{unit}" for p in pos]
    return pos, labels


def _in_window(times: Sequence[float], values: Sequence[float], now: float,
               window_s: float) -> tuple[list[float], list[float]]:
    """(seconds before ``now``, MiB) of the readings inside the window, NaN left out."""
    xs, ys = [], []
    for t, v in zip(times, values):  # noqa: B905 (no strict= before 3.10)
        if v == v and t - now >= -window_s and t <= now:
            xs.append(t - now)
            ys.append(v / 1024.0)
    return xs, ys


def y_axes(times: Sequence[float], series: Mapping[str, Sequence[float]], now: float,
           window_s: float, height: int) -> tuple[Axis, Axis | None]:
    """The balloon's axis (from 0: the guest's balloon and the host's view of it) and the
    memory axis (scaled to MemTotal and MemAvailable in the window; ``None`` without them)."""
    count = min(5, max(2, height // 3))
    sides: list[list[float]] = [[], []]
    for label, _var, _marker, side in SERIES:
        sides[side] += _in_window(times, series.get(label, ()), now, window_s)[1]
    left = memory_axis(0.0, max(sides[0], default=0.0), count)
    right = memory_axis(min(sides[1]), max(sides[1]), count, from_zero=False) if sides[1] else None
    return left, right


def raster_key(times: Sequence[float], series: Mapping[str, Sequence[float]], now: float,
               window_s: float, width: int, height: int) -> tuple:
    """What the frame would look like, at braille resolution, without building it.

    Two readings that land on the same dots give the same key, so a balloon at rest (a
    flat line that only slides in time) does not rebuild or repaint the graph.
    """
    cols, rows = max(width - 12, 1) * 2, max(height - 3, 1) * 4
    left, right = y_axes(times, series, now, window_s, height)
    parts: list = [width, height, window_s, tuple(left.labels), tuple(right.labels) if right else ()]
    for label, _var, _marker, side in SERIES:
        axis = left if side == 0 or right is None else right
        span = (axis.hi - axis.lo) or 1.0
        xs, ys = _in_window(times, series.get(label, ()), now, window_s)
        dots = {(int((x + window_s) / window_s * cols), int((y - axis.lo) / span * rows))
                for x, y in zip(xs, ys)}  # noqa: B905
        parts.append((label, frozenset(dots)))
    return tuple(parts)


class GraphBuilder:
    def __init__(self) -> None:
        self._fig = new_figure()  # one private figure per graph

    def build(self, *args: Any, **kwargs: Any) -> GraphFrame:
        """``_build`` under the process-wide plotext lock (see ``_build`` for the arguments)."""
        with _PLOTEXT_LOCK:
            return self._build(*args, **kwargs)

    def _build(
        self,
        times: Sequence[float],
        series: Mapping[str, Sequence[float]],
        now: float,
        window_s: float,
        width: int,
        height: int,
        colors: Mapping[str, tuple[int, int, int]],
        ascii_only: bool = False,
        color: bool = True,
    ) -> GraphFrame:
        start = time.perf_counter()
        # One column spare: plotext 5 keeps every label inside the width it is given.
        width, height = max(width - 1, 24), max(height, 5)
        fig = self._fig
        # Data, limits and colours used; not the size, theme or ticks, all set again below.
        fig.clear_data()
        fig.plot_size(width, height)
        # No background, frame or label colours: the Textual theme's background shows through.
        fig.theme("clear")
        left, right = y_axes(times, series, now, window_s, height)
        key_parts: list = [width, height, window_s, ascii_only, color, tuple(sorted(colors.items())),
                           tuple(left.labels), tuple(right.labels) if right else ()]
        bins = canvas_bins(width, left.labels, right.labels if right else ())
        drawn = [False, False]
        for label, var, ascii_marker, side in SERIES:
            axis = left if side == 0 or right is None else right
            side = side if right is not None else 0
            xs, ys = _in_window(times, series.get(label, ()), now, window_s)
            xs, ys = thin(xs, clip(ys, axis.lo, axis.hi), -window_s, 0.0, bins)
            if not xs:
                continue
            drawn[side] = True
            rgb = colors.get(var) if color else None
            # ``plot`` joins consecutive points on the character grid, so readings far apart
            # (a 10 min / 1 h window) still form a line.
            fig.plot(xs, ys, marker=ascii_marker if ascii_only else "braille",
                     color=tuple(int(c) for c in rgb) if rgb else None,
                     yside="right" if side else "left")
            # Only what changes the picture goes in the key: x to the column, y to 1/64 of the axis.
            span = (axis.hi - axis.lo) or 1.0
            key_parts.append((label, tuple(round((x + window_s) * bins / window_s) for x in xs),
                              tuple(round((y - axis.lo) / span * 64) for y in ys)))
        if not drawn[0]:  # plotext 5 leaves out the ticks of an axis that no series uses
            fig.plot([], [])
        fig.ylim(left.lo, left.hi, yside="left")
        fig.xlim(-window_s, 0)
        pos, labels = window_ticks(window_s)
        # "now" first (it always shows), then from the left: see ``plot.place_ticks``.
        place_ticks(fig, pos[-1:] + pos[:-1], labels[-1:] + labels[:-1], left.ticks, left.labels)
        if right is not None and drawn[1]:
            fig.ylim(right.lo, right.hi, yside="right")
            place_ticks(fig, (), (), right.ticks, right.labels, side=1)
        rendered = fig.build()
        if ascii_only:
            rendered = rendered.translate(_ASCII_BOX)
        text = Text.from_ansi(rendered, no_wrap=True, end="")
        text.rstrip()
        return GraphFrame(text, tuple(key_parts), (time.perf_counter() - start) * 1000)


_ASCII_BOX = str.maketrans({
    "┌": "+", "┐": "+", "└": "+", "┘": "+", "─": "-", "│": "|", "┤": "|", "├": "|",
    "┬": "+", "┴": "+", "┼": "+", "╭": "+", "╮": "+", "╰": "+", "╯": "+",
})
