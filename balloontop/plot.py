"""One plot module for the monitor's graph and the report's chart (plotext 5, no Textual).

Both draw memory against time on a private plotext figure (never plotext's global one),
with the same axis rules:

* one unit per axis: every label of an axis in MiB (``768M``) or every one in GiB
  (``1.5G``), never ``0M`` next to ``1G``;
* round tick steps from ``nice_step`` (powers of two for memory from 256 MiB up);
* an axis that starts at 0 for the balloon, and one scaled to the data for MemTotal and
  MemAvailable (23.5 GiB and 23.1 GiB must not share a row of a 0-32G axis);
* every value clipped to its axis, so no line is drawn past the frame;
* long series cut to the points that draw the same picture (``thin``);
* tick labels placed in a fixed order (plotext keeps them in a set, whose order would
  follow the process's string hash seed).

plotext is loaded lean (``import_plotext``): the figure class without plotext's global API.
"""

from __future__ import annotations

import math
import operator
import threading
from bisect import bisect_right
from collections.abc import Sequence
from itertools import islice
from typing import Any, NamedTuple

PLOTEXT_LOCK = threading.RLock()
"""plotext keeps state outside its figures (the ANSI code cache, the docstring registry, the
terminal-size read swapped in ``new_figure``): one build at a time in the process."""

BASE2_FROM_MIB = 256.0
"""Memory spans from this many MiB up get power-of-two tick steps."""


class Axis(NamedTuple):
    lo: float
    hi: float
    ticks: list[float]
    labels: list[str]


def nice_step(span: float, count: int, base2_from: float | None = None,
              multiples: Sequence[float] = (1, 2, 2.5, 3, 5, 10)) -> float:
    """A round tick step (``multiples`` of a power of ten) giving about ``count`` ticks over
    ``span`` (up to a sixth more); a power of two if ``span`` reaches ``base2_from``."""
    raw = max(span, 1e-9) / max(count - 1, 1)
    if base2_from is not None and span >= base2_from:
        return float(2 ** math.ceil(math.log2(raw)))
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in multiples if m * mag >= raw * 0.85)


MEMORY_MULTIPLES = (1, 2, 2.5, 5, 10)
"""Memory steps: 0.25 and 0.5 GiB are familiar, 0.3 GiB is not."""


def tick_label(value: float) -> str:
    """``25``, ``0.1``: a number without trailing zeros."""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def memory_labels(ticks: Sequence[float]) -> list[str]:
    """MiB ticks as labels in one unit: all ``G`` when the axis reaches 1 GiB (``0G 0.5G 1G``,
    ``23.1G 23.2G``), else all ``M`` (``384M 512M``)."""
    if ticks and max(abs(t) for t in ticks) >= 1024:
        return [f"{tick_label(round(t / 1024, 3))}G" for t in ticks]
    return [f"{tick_label(round(t, 2))}M" for t in ticks]


def memory_axis(lo_mib: float, hi_mib: float, count: int, from_zero: bool = True) -> Axis:
    """A memory axis over the data: from 0 (``from_zero``) or from a round value under
    ``lo_mib``, to a round value at or over ``hi_mib``; about ``count`` ticks.

    Steps: MiB below 1 GiB (powers of two from a 256 MiB span, at least 1 MiB); GiB from
    1 GiB (powers of two from a 4 GiB span, else 0.1, 0.2, 0.25, 0.5 ...: 23.1 and 23.5 GiB
    read as such, not as 23680M and 24064M)."""
    if not (math.isfinite(lo_mib) and math.isfinite(hi_mib)):
        lo_mib, hi_mib = 0.0, 1.0
    lo_mib, hi_mib = (0.0 if from_zero else min(lo_mib, hi_mib)), max(lo_mib, hi_mib)
    if hi_mib - lo_mib < 1.0:  # a flat line: a little room around it
        pad = max(1.0, hi_mib * 0.02)
        lo_mib, hi_mib = (0.0 if from_zero else max(lo_mib - pad, 0.0)), hi_mib + pad
    count = max(count, 2)

    def ticks_of(step: float) -> list[float]:
        first = math.floor(lo_mib / step + 1e-9) * step
        last = math.ceil(hi_mib / step - 1e-9) * step
        return [first + i * step for i in range(int(round((last - first) / step)) + 1)]

    ticks = ticks_of(max(nice_step(hi_mib - lo_mib, count, BASE2_FROM_MIB, MEMORY_MULTIPLES), 1.0))
    if ticks[-1] >= 1024:  # a GiB axis: GiB steps
        ticks = ticks_of(nice_step((hi_mib - lo_mib) / 1024, count, 4.0, MEMORY_MULTIPLES) * 1024)
    return Axis(ticks[0], ticks[-1], ticks, memory_labels(ticks))


def clip(values: Sequence[float], lo: float, hi: float) -> list[float]:
    return [min(max(v, lo), hi) for v in values]


def runs(xs: Sequence[float], lo: float, hi: float, bins: int) -> list[int]:
    """Where each run of consecutive samples in one canvas column starts (and ``len(xs)``).

    The column is the one plotext 5 draws x in, out of ``bins``: ``_utility.get_matrix_data``'s
    arithmetic term for term, which never decreases as x grows. So when the times are in order
    each run's end is found by bisection.
    """
    span, floor, n = (hi - lo) or 1.0, math.floor, len(xs)

    def column(x: float) -> int:
        return floor(round(0.5 + (bins - 1) * (x - lo) / span, 8))

    if all(map(operator.le, xs, islice(xs, 1, None))):
        starts, i = [0], 0
        while i < n:
            i = bisect_right(xs, column(xs[i]), i, n, key=column)
            starts.append(i)
        return starts
    columns = [column(x) for x in xs]
    return [0, *(i for i in range(1, n) if columns[i] != columns[i - 1]), n]


def thin(xs: list[float], ys: list[float], lo: float, hi: float, bins: int) -> tuple[list[float], list[float]]:
    """The samples plotext draws the same line through: of each run of consecutive samples in
    one canvas column (``runs``), the first, the lowest, the highest and the last, in time order.

    plotext joins consecutive points: inside a column a run draws every row between its lowest
    and highest, which the four kept draw too; the segments between runs keep both ends. So the
    picture is the same, steps and one-sample spikes included, from at most four points a run.
    """
    if bins < 2 or len(xs) <= 4:
        return xs, ys
    starts = runs(xs, lo, hi, bins)
    if len(starts) * 4 >= len(xs):
        return xs, ys
    keep: list[int] = []
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        run = ys[a:b]
        low, high = a + run.index(min(run)), a + run.index(max(run))
        keep += sorted({a, low, high, b - 1})
    return [xs[i] for i in keep], [ys[i] for i in keep]


def import_plotext() -> tuple[Any, Any]:
    """plotext 5's figure class and its ``_utility`` module, without running ``plotext/__init__``.

    ``plotext/__init__`` imports its whole API (``_core``: the global figure, the CLI parser,
    the demos). The graph draws with one figure class, so the package is registered as a
    bare package and only ``_doc`` and ``_figure`` (with what they import) are loaded: less
    start time and memory. Anything else asked of ``plotext`` (the report's ``uncolorize``, a
    user's code) loads the full package on first use, so nothing is lost.

    ``_doc`` comes first: ``_figure``'s class body attaches docstrings from the registry
    ``_doc`` fills, and prints a "Warning ... doc not present" line to stdout (the TUI's
    terminal) for each method missing from it.
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

        pkg.__getattr__ = _full  # type: ignore[attr-defined,method-assign]
        sys.modules["plotext"] = pkg
    import plotext._doc  # noqa: F401  (before _figure: see above)
    import plotext._utility as utility
    from plotext._figure import _figure_class

    return _figure_class, utility


def new_figure() -> Any:
    """A private plotext 5 figure that never asks for the terminal size.

    A master figure reads the terminal size when created (``_utility.terminal_size``) and by
    default clamps the plot size to it. The read is replaced for the construction (under the
    plotext lock) and the clamp turned off: the size comes from ``plot_size`` alone.
    """
    with PLOTEXT_LOCK:
        figure_class, utility = import_plotext()
        real = utility.terminal_size
        utility.terminal_size = lambda: [1024, 1024]  # any size: the clamp is off below
        try:
            fig = figure_class()
        finally:
            utility.terminal_size = real
        fig._limit_size(False, False)
        return fig


def canvas_bins(width: int, left_labels: Sequence[str], right_labels: Sequence[str] = (),
                marker_columns: int = 2) -> int:
    """Columns plotext draws x in: the width less the axes and the labels, times the
    marker's columns per character (2 for braille and plotext's "hd")."""
    axes = 1 + (1 if right_labels else 1)
    labels = max((len(s) for s in left_labels), default=0) + max((len(s) for s in right_labels), default=0)
    return max(width - axes - labels, 1) * marker_columns


def place_ticks(fig: Any, xticks: Sequence[float], xlabels: Sequence[str],
                yticks: Sequence[float], ylabels: Sequence[str], side: int = 0) -> None:
    """Set the ticks and their labels in a fixed order (``xticks``/``yticks`` pass them
    through a set: which of two labels too close together is left out would otherwise follow
    the string hash seed)."""
    yside = "left" if side == 0 else "right"
    fig.yticks(list(yticks), list(ylabels), yside=yside)
    monitor = fig.monitor
    monitor.yticks[side], monitor.ylabels[side] = list(yticks), list(ylabels)
    if xticks:
        fig.xticks(list(xticks), list(xlabels))
        monitor.xticks[0], monitor.xlabels[0] = list(xticks), list(xlabels)
