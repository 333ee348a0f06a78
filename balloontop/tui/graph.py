"""The balloon graph: a plotext 5 frame of balloon size, MemTotal and MemAvailable.

``GraphBuilder.build(...)`` runs in the poll worker thread, never on the UI thread: a
plotext build plus the ANSI-to-``Text`` conversion costs milliseconds. Each builder owns
its own plotext figure (a private ``_figure_class``): never plotext's global figure.
plotext 5.3.2 (pure Python) rather than 6.x: 6's compiled core (ctypes, libstdc++) costs
about 5.5 MiB of resident memory, 5.3.2 loaded lean (``_import_plotext``) about 1 MiB.
The frame carries a key of what was drawn, so the caller can skip a frame identical to
the one on screen (the 900 B/s at-rest budget).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from rich.text import Text

SERIES = (
    # label in the history window, theme variable, marker in ASCII mode
    ("balloon", "balloon-graph", "#"),
    ("MemTotal", "total-graph", "="),
    ("MemAvailable", "available-graph", "."),
)


class GraphFrame(NamedTuple):
    text: Text
    key: tuple
    build_ms: float


def _thin(xs: Sequence[float], ys: Sequence[float], limit: int) -> tuple[list, list]:
    """At most ``limit`` points, evenly spread, keeping the first and the last (about twice
    the width is enough)."""
    n = len(xs)
    if n <= limit:
        return list(xs), list(ys)
    if limit < 2:
        return [xs[-1]], [ys[-1]]
    step = (n - 1) / (limit - 1)
    idx = sorted({round(i * step) for i in range(limit)})
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


def _import_plotext() -> tuple[Any, Any]:
    """plotext 5's figure class and its ``_utility`` module, without running ``plotext/__init__``.

    ``plotext/__init__`` imports its whole API (``_core``: the global figure, the CLI parser,
    the demos). The monitor draws with one figure class, so the package is registered as a
    bare package and only ``_doc`` and ``_figure`` (with what they import) are loaded: less
    start time and memory. Anything else asked of ``plotext`` (a test, a user's code in the
    same process) loads the full package on first use, so nothing is lost.

    ``_doc`` comes first: ``_figure``'s class body attaches docstrings from the registry
    ``_doc`` fills, and prints a "Warning ... doc not present" line to stdout (the TUI's
    terminal) for each method missing from it.
    Returns ``(_figure_class, plotext._utility)``.
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

        def _full(name: str) -> Any:  # PEP 562: the rest of plotext, loaded when first asked for
            if name in ("__wrapped__", "__all__", "__getattr__") or spec.origin is None:
                raise AttributeError(name)
            del pkg.__dict__["__getattr__"]
            with open(spec.origin, encoding="utf-8") as f:
                exec(compile(f.read(), spec.origin, "exec"), pkg.__dict__)
            try:
                return pkg.__dict__[name]
            except KeyError:
                raise AttributeError(name) from None

        pkg.__getattr__ = _full  # type: ignore[method-assign]
        sys.modules["plotext"] = pkg
    import plotext._doc  # noqa: F401  (before _figure: see above)
    import plotext._utility as utility
    from plotext._figure import _figure_class

    return _figure_class, utility


def _new_figure(figure_class: Any, utility: Any) -> Any:
    """A private plotext 5 figure that never asks for the terminal size.

    A master figure reads the terminal size when created (``_utility.terminal_size``, i.e.
    ``shutil.get_terminal_size`` on the TUI's terminal, from the poll thread) and by
    default clamps the plot size to it. The read is replaced for the construction (under
    the plotext lock) and the clamp turned off: the size comes from ``plot_size`` alone.
    """
    real = utility.terminal_size
    utility.terminal_size = lambda: [1024, 1024]  # any size: the clamp is off below
    try:
        fig = figure_class()
    finally:
        utility.terminal_size = real
    fig._limit_size(False, False)
    return fig


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
        for t, v in zip(times, series[label]):  # noqa: B905 (no strict= before 3.10)
            if v == v and t - now >= -window_s:
                dots.add((int((t - now + window_s) / window_s * cols), int(v / top * rows)))
        parts.append((label, frozenset(dots)))
    return tuple(parts)


# plotext keeps state outside its figures (the ANSI code cache, the docstring registry, the
# terminal-size read swapped in ``_new_figure``): one build at a time in the process,
# whichever thread (the poll worker, a paused redraw) asks.
_PLOTEXT_LOCK = threading.RLock()


class GraphBuilder:
    def __init__(self) -> None:
        with _PLOTEXT_LOCK:
            self._fig = _new_figure(*_import_plotext())  # one private figure per graph

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
        # One column spare: the frame keeps the width it had with plotext 6, whose last x label
        # ("now") could run one column past it (plotext 5 keeps every label inside).
        width, height = max(width - 1, 24), max(height, 5)
        fig = self._fig
        # Data, limits and colours used; not the size, theme or ticks, all set again below.
        fig.clear_data()
        fig.plot_size(width, height)
        # No background, frame or label colours: the Textual theme's background shows through.
        # With ``color=None`` a series takes the theme's next colour: none in "clear".
        fig.theme("clear")
        key_parts: list = [width, height, window_s, ascii_only, color,
                           tuple(sorted(colors.items()))]
        ymax, drawn = 0.0, False
        for label, var, ascii_marker in SERIES:
            values = series.get(label, ())
            xs, ys = [], []
            for t, v in zip(times, values):  # noqa: B905 (no strict= before 3.10)
                if not math.isnan(v) and t - now >= -window_s:
                    xs.append(t - now)
                    ys.append(v / 1024.0)
            xs, ys = _thin(xs, ys, 2 * width)
            if not xs:
                continue
            ymax, drawn = max(ymax, max(ys)), True
            rgb = colors.get(var) if color else None
            # ``plot`` joins consecutive points on the character grid, so readings far apart
            # (a 10 min / 1 h window) still form a line.
            fig.plot(xs, ys, marker=ascii_marker if ascii_only else "braille",
                     color=tuple(int(c) for c in rgb) if rgb else None)
            # Only what changes the picture goes in the key: x to the column, y to 1 MiB.
            key_parts.append((label, tuple(round(x * 2 * width / window_s) for x in xs),
                              tuple(round(y) for y in ys)))
        if not drawn:  # plotext 5 leaves out the ticks of an axis that no series uses
            fig.plot([], [])
        ticks = nice_ticks(ymax * 1.02, min(5, max(2, height // 3)))
        fig.ylim(0, max(ticks[-1], ymax * 1.02, 1.0))
        fig.yticks(ticks, [mib_label(t) for t in ticks])
        fig.xlim(-window_s, 0)
        pos, labels = window_ticks(window_s)
        fig.xticks(pos, labels)
        # ``xticks``/``yticks`` pass (tick, label) pairs through a set (``_utility.brush``):
        # the order labels are placed in, and so which of two labels too close together is
        # left out, would change with each process's string hash seed. Placed in a fixed
        # order instead: "now" first (it always shows), then from the left.
        monitor = fig.monitor
        monitor.yticks[0], monitor.ylabels[0] = ticks, [mib_label(t) for t in ticks]
        monitor.xticks[0], monitor.xlabels[0] = pos[-1:] + pos[:-1], labels[-1:] + labels[:-1]
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
