"""The balloon graph: a plotext 6 frame of balloon size, MemTotal and MemAvailable.

``GraphBuilder.build(...)`` runs in the poll worker thread, never on the UI thread: a
plotext build plus the ANSI-to-``Text`` conversion costs milliseconds. Each builder owns
its own plotext figure (a private ``terminal``): no shared global figure between threads.
The frame carries a key of what was drawn, so the caller can skip a frame identical to
the one on screen (the 900 B/s at-rest budget).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text

SERIES = (
    # label in the history window, theme variable, marker in ASCII mode
    ("balloon", "balloon-graph", "#"),
    ("MemTotal", "total-graph", "="),
    ("MemAvailable", "available-graph", "."),
)


@dataclass(frozen=True)
class GraphFrame:
    text: Text
    key: tuple
    build_ms: float


def _thin(xs: Sequence[float], ys: Sequence[float], limit: int) -> tuple[list, list]:
    """At most ``limit`` points, keeping the last (about twice the width is enough)."""
    n = len(xs)
    if n <= limit:
        return list(xs), list(ys)
    step = n / limit
    idx = sorted({min(n - 1, int(i * step)) for i in range(limit)} | {n - 1})
    return [xs[i] for i in idx], [ys[i] for i in idx]


def mib_label(mib: float) -> str:
    if mib >= 1024:
        gib = mib / 1024
        return f"{gib:.0f}G" if gib == int(gib) else f"{gib:.1f}G"
    return f"{mib:.0f}M"


def nice_ticks(top_mib: float, count: int) -> list[float]:
    """Round tick values from 0 to at least ``top_mib``."""
    count = max(count, 2)
    raw = max(top_mib, 1.0) / (count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 4, 5, 10):
        step = mult * mag
        if step >= raw:
            break
    if top_mib >= 256:  # memory reads best in powers of two
        step = 2 ** math.ceil(math.log2(raw))
    return [i * step for i in range(count) if i * step <= top_mib + step]


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


def _import_plotext():
    """The three plotext pieces the graph uses, without running ``plotext/__init__``.

    ``plotext/__init__`` imports its whole API: demos, tests (unittest, argparse, csv),
    image/video helpers and the interactive documentation tree (about 0.5 s on a loaded
    machine). The monitor draws with one figure class, a marker and a pixel, so the
    package is registered as a bare package and only those modules are loaded: less start
    time and less memory. Anything else asked of ``plotext`` (a test, a user's code in the
    same process) loads the full package on first use, so nothing is lost.
    Returns ``(terminal, marker, pixel)``.
    """
    import importlib.util
    import sys
    import types

    if "plotext" not in sys.modules:
        spec = importlib.util.find_spec("plotext")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("plotext is not installed")
        pkg = types.ModuleType("plotext")
        pkg.__spec__ = spec
        pkg.__loader__ = spec.loader
        pkg.__file__ = spec.origin
        pkg.__package__ = "plotext"
        pkg.__path__ = list(spec.submodule_search_locations)

        def _full(name: str):  # PEP 562: the rest of plotext, loaded when first asked for
            if name in ("__wrapped__", "__all__", "__getattr__") or spec.origin is None:
                raise AttributeError(name)
            del pkg.__dict__["__getattr__"]
            if "plotext._doc.doc" not in sys.modules:  # never build the documentation tree
                stub = types.ModuleType("plotext._doc.doc")
                stub.docs = None  # type: ignore[attr-defined]
                sys.modules["plotext._doc.doc"] = stub
            with open(spec.origin, encoding="utf-8") as f:
                exec(compile(f.read(), spec.origin, "exec"), pkg.__dict__)
            try:
                return pkg.__dict__[name]
            except KeyError:
                raise AttributeError(name) from None

        pkg.__getattr__ = _full  # type: ignore[attr-defined]
        sys.modules["plotext"] = pkg
    from plotext._kernel.terminal import terminal
    from plotext._primitives.marker import marker
    from plotext._primitives.pixel import pixel

    return terminal, marker, pixel


def raster_key(times: Sequence[float], series: Mapping[str, Sequence[float]], now: float,
               window_s: float, width: int, height: int) -> tuple:
    """What the frame would look like, at braille resolution, without building it.

    Two readings that land on the same dots give the same key, so a balloon at rest (a
    flat line that only slides in time) does not rebuild or repaint the graph.
    """
    cols, rows = max(width - 7, 1) * 2, max(height - 3, 1) * 4
    top = 0.0
    for values in series.values():
        for v in values:
            if v == v and v > top:
                top = v
    top = top * 1.02 or 1.0
    parts: list = [width, height, window_s, round(top / 1024)]
    for label in sorted(series):
        dots = set()
        for t, v in zip(times, series[label], strict=False):
            if v == v and t - now >= -window_s:
                dots.add((int((t - now + window_s) / window_s * cols), int(v / top * rows)))
        parts.append((label, frozenset(dots)))
    return tuple(parts)


# plotext keeps state outside its figures (settings, the drawing kernel): one build at a
# time in the process, whichever thread (the poll worker, a paused redraw) asks.
_PLOTEXT_LOCK = threading.RLock()


class GraphBuilder:
    def __init__(self) -> None:
        with _PLOTEXT_LOCK:
            terminal, self._marker, self._pixel = _import_plotext()
            self._fig = terminal()._master  # one private figure per graph

    def build(self, *args, **kwargs) -> GraphFrame:
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
        # One column spare: plotext lets the last x label ("now") run past the width.
        width, height = max(width - 1, 24), max(height, 5)
        fig = self._fig
        fig.clear()
        fig.plot_size(width, height)
        fig.theme("colorless")
        fig.legend(active=False)
        if ascii_only:
            fig.axes(style="default")
        key_parts: list = [width, height, window_s, ascii_only, color,
                           tuple(sorted(colors.items()))]
        ymax = 0.0
        for label, var, ascii_marker in SERIES:
            values = series.get(label, ())
            xs, ys = [], []
            for t, v in zip(times, values, strict=False):
                if not math.isnan(v) and t - now >= -window_s:
                    xs.append(t - now)
                    ys.append(v / 1024.0)
            xs, ys = _thin(xs, ys, 2 * width)
            if not xs:
                continue
            ymax = max(ymax, max(ys))
            rgb = colors.get(var) if color else None
            symbol = ascii_marker if ascii_only else "braille"
            mark = self._marker(symbol, pixel=self._pixel(rgb)) if rgb else symbol
            signal = fig.signal(xs, ys, marker=mark)
            if len(xs) > 1:
                signal.lines(True)  # readings far apart (10 min / 1 h) still form a line
            fig.draw(signal)
            # Only what changes the picture goes in the key: x to the column, y to 1 MiB.
            key_parts.append((label, tuple(round(x * 2 * width / window_s) for x in xs),
                              tuple(round(y) for y in ys)))
        ticks = nice_ticks(ymax * 1.02, min(5, max(2, height // 3)))
        fig.ruler("y").lim(0, max(ticks[-1], ymax * 1.02, 1.0))
        fig.ruler("y").ticks(ticks, [mib_label(t) for t in ticks])
        fig.ruler("x").lim(-window_s, 0)
        pos, labels = window_ticks(window_s)
        fig.ruler("x").ticks(pos, labels)
        rendered = fig.build().string()
        if ascii_only:
            rendered = rendered.translate(_ASCII_BOX)
        text = Text.from_ansi(rendered, no_wrap=True, end="")
        text.rstrip()
        return GraphFrame(text, tuple(key_parts), (time.perf_counter() - start) * 1000)


_ASCII_BOX = str.maketrans({
    "┌": "+", "┐": "+", "└": "+", "┘": "+", "─": "-", "│": "|", "┤": "|", "├": "|",
    "┬": "+", "┴": "+", "┼": "+", "╭": "+", "╮": "+", "╰": "+", "╯": "+",
})
