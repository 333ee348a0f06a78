"""``balloontop report FILE``: a summary of a recording, on the terminal or as JSON.

Duration, sample count, balloon min/max/mean/last, inflate and deflate episodes, events by
kind (with markers), and a plotext chart of the balloon over time. Episodes are derived again
from the samples (default thresholds), so a recording cut short by a crash still reports the
episode it was in; the event list is the recorded one (markers included).
"""

from __future__ import annotations

import argparse
import math
import operator
import sys
from bisect import bisect_right
from collections import Counter
from itertools import islice
from typing import Any

MAX_EVENTS_SHOWN = 20


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="summarise a recording (balloon min/max/mean, episodes, events, chart)",
        description="Summarise a recording made by `balloontop record` or `--record`.",
    )
    parser.add_argument("file", metavar="FILE", help="recording to read (.gz or plain)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def summarise(rec: Any) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
    from ..monitor import detected_events

    # in time order: a clock step (or samples merged from two runs) can put them out of it
    samples = sorted(rec.samples, key=lambda s: s.time)
    events = sorted(rec.events, key=lambda e: e.time)
    sizes = [s.balloon.kib for s in samples if s.balloon.kib is not None]
    # the monitor pipeline's own detection: the episodes the monitor showed
    episodes = detected_events(samples, keep=lambda e: e.kind in ("inflate", "deflate"))
    start = samples[0].time if samples else None
    end = samples[-1].time if samples else None
    kinds = Counter(e.kind for e in events)
    return {
        "file": rec.path,
        "header": rec.header,
        "samples": len(samples),
        "start": start,
        "end": end,
        "duration_s": (end - start) if start is not None and end is not None else None,
        "balloon_kib": {
            "min": min(sizes) if sizes else None,
            "max": max(sizes) if sizes else None,
            "mean": round(sum(sizes) / len(sizes), 1) if sizes else None,
            "last": sizes[-1] if sizes else None,
        },
        "episodes": [e.to_json() for e in episodes],
        "events": {"counts": dict(sorted(kinds.items())), "list": [e.to_json() for e in events]},
        "skipped": list(rec.skipped),
        "skipped_count": getattr(rec, "skipped_count", len(rec.skipped)),
    }


def _mib(kib: float | None) -> str:
    return "-" if kib is None else f"{kib / 1024:,.1f} MiB"


def _clock(t: float, start: float) -> str:
    return f"+{t - start:7.1f}s"


def _nice_step(span: float, count: int, base2_from: float | None = None) -> float:
    """A round tick step (1, 2, 2.5, 3 or 5 times a power of ten) giving about ``count`` ticks
    over ``span`` (up to a sixth more); a power of two if ``span`` reaches ``base2_from``
    (memory reads best so)."""
    raw = span / max(count - 1, 1)
    if base2_from is not None and span >= base2_from:
        return float(2 ** math.ceil(math.log2(raw)))
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 3, 5, 10) if m * mag >= raw * 0.85)


def _tick_label(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _plotext_figure() -> Any:
    """A private plotext 5 figure (not plotext's global one), its size not clamped to the terminal.

    ``plotext._doc`` before ``plotext._figure``: the figure class body prints a warning to
    stdout for each method missing from ``_doc``'s registry (see ``tui/graph.py``). Here
    ``plotext`` normally loads whole (its ``__init__`` imports them in that order); if the
    monitor's graph loaded it lean first (a test run), the bare package needs ``_doc`` first.
    The master figure reads the terminal size once when created, harmless in a one-shot
    command (``run`` just did too); the size clamp is turned off so the chart has the width
    asked for, on a terminal or not.
    """
    import plotext._doc  # noqa: F401  (before _figure: see above)
    from plotext._figure import _figure_class

    fig = _figure_class()
    fig._limit_size(False, False)
    return fig


def _runs(xs: list[float], lo: float, hi: float, bins: int) -> list[int]:
    """Where each run of consecutive samples in one canvas column starts (and ``len(xs)``).

    The column is the one plotext 5 draws x in, out of ``bins``: ``_utility.get_matrix_data``'s
    arithmetic term for term, which never decreases as x grows. So when the times are in order
    (a recording's are, unless the clock was set back) each run's end is found by bisection.
    """
    span, floor, n = hi - lo, math.floor, len(xs)

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


def _thin(xs: list[float], ys: list[float], starts: list[int]) -> tuple[list[float], list[float]]:
    """The samples plotext would draw the same line through: of each run of consecutive samples
    in one canvas column (``_runs``), the first, the lowest, the highest and the last, in time order.

    plotext joins consecutive points with a line: inside a column the samples of a run draw
    every row between their lowest and highest (and no other), which the four kept draw too;
    the segments from one run to the next keep both their ends. So the chart is the same,
    steps and one-sample spikes included, from at most four points a run instead of thousands.
    """
    if len(starts) * 4 >= len(xs):
        return xs, ys
    keep: list[int] = []
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        run = ys[a:b]
        low, high = a + run.index(min(run)), a + run.index(max(run))
        keep += sorted({a, low, high, b - 1})
    return [xs[i] for i in keep], [ys[i] for i in keep]


def chart(rec: Any, width: int, height: int, color: bool, thin: bool = True) -> str:
    """The balloon (MiB) against seconds since the first sample, as text (plotext 5).

    The y axis starts at 0 MiB; ticks are round numbers (MiB in powers of two from 256 up).
    With ``thin`` (the default) a long recording is cut down first to the samples that draw the
    same chart (``_thin``): plotext 5 is pure Python, a week of samples takes seconds otherwise.
    """
    samples = [s for s in rec.samples if s.balloon.kib is not None]
    if len(samples) < 2:
        return ""
    start = samples[0].time
    xs = [s.time - start for s in samples]
    ys = [s.balloon.kib / 1024 for s in samples]
    width, height = max(width, 30), max(height, 8)
    xlo, xhi = float(min(0.0, min(xs))), float(max(xs))
    if xhi <= xlo:
        xhi = xlo + 1.0
    ymax = max(max(ys), 1.0)
    xstep = _nice_step(xhi - xlo, max(2, (width - 8) // 10))  # a label every 10 columns or more
    xticks = [i * xstep for i in range(math.ceil(xlo / xstep - 1e-9), math.floor(xhi / xstep + 1e-9) + 1)]
    ystep = _nice_step(ymax, max(2, min(6, height // 3)), base2_from=256)
    yticks = [i * ystep for i in range(math.ceil(ymax / ystep - 1e-9) + 1)]
    xlabels, ylabels = [_tick_label(t) for t in xticks], [_tick_label(t) for t in yticks]

    fig = _plotext_figure()
    monitor = fig.monitor
    if thin:
        from plotext._utility import marker_factor, plot_marker

        # plotext's canvas: the width less the two y axes and the left labels (``_build``), in
        # columns of the line's marker (two a character for "hd", plotext's default on unix)
        canvas = width - sum(monitor.yaxes) - max(len(label) for label in ylabels)
        bins = canvas * marker_factor(plot_marker, 2, 2, 2)
        if bins > 1:
            xs, ys = _thin(xs, ys, _runs(xs, xlo, xhi, bins))
    fig.plot_size(width, height)
    fig.title("balloon (MiB) over time (s)")
    fig.plot(xs, ys)  # joins consecutive samples: a step in the balloon shows as a vertical line
    fig.xlim(xlo, xhi)
    fig.ylim(0, yticks[-1])
    fig.xticks(xticks, xlabels)
    fig.yticks(yticks, ylabels)
    # plotext 5's ``xticks``/``yticks`` pass (tick, label) pairs through a set: the order labels
    # are placed in, and so which of two labels too close together is left out, would change
    # with the process's string hash seed (PYTHONHASHSEED). Placed in a fixed order instead,
    # from the left and from the bottom (``tui/graph.py`` does the same).
    monitor.xticks[0], monitor.xlabels[0] = xticks, xlabels
    monitor.yticks[0], monitor.ylabels[0] = yticks, ylabels
    text = fig.build()
    if not color:
        from plotext._utility import uncolorize

        text = uncolorize(text)
    return text


def run(args: argparse.Namespace) -> int:
    import shutil

    from ..errors import BalloontopError, UsageError
    from ..recording import read_recording
    from ..safetext import clean, safe_output
    from ..strictjson import dumps, warning

    try:
        rec = read_recording(args.file)
    except OSError as exc:
        raise BalloontopError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    if not rec.samples and rec.header is None:
        raise UsageError(f"{args.file} is not a balloontop recording")
    skipped = getattr(rec, "skipped_count", len(rec.skipped))
    if skipped:  # one line, however many: the details are in --json
        first = f" (first: {clean(rec.skipped[0])})" if rec.skipped else ""
        print(f"balloontop: {args.file}: {skipped} line(s) or part(s) skipped{first}", file=sys.stderr)
    if not rec.samples and skipped:
        raise UsageError(f"{args.file}: no valid sample")
    rec.samples.sort(key=lambda s: s.time)  # the chart and the listing go in time order
    rec.events.sort(key=lambda e: e.time)
    summary = summarise(rec)
    out = safe_output(sys.stdout)  # an ASCII terminal gets escapes, not UnicodeEncodeError
    if args.json:
        replaced: list[str] = []
        out.write(dumps(summary, replaced, indent=1) + "\n")
        if replaced:
            print(f"balloontop: warning: {warning(replaced)}", file=sys.stderr)
        return 0
    header = rec.header or {}
    b = summary["balloon_kib"]
    lines = [f"recording {args.file}"]
    lines.append(
        f"  host {header.get('host') or '-'}, kernel {header.get('kernel') or '-'},"
        f" interval {header.get('interval', '-')} s, balloontop {header.get('balloontop', '-')}"
    )
    duration = summary["duration_s"]
    lines.append(f"  {summary['samples']} samples over {'-' if duration is None else f'{duration:.1f} s'}")
    lines.append(
        f"balloon: min {_mib(b['min'])}, max {_mib(b['max'])}, mean {_mib(b['mean'])}, last {_mib(b['last'])}"
    )
    start = summary["start"] or 0.0
    lines.append(f"episodes: {len(summary['episodes'])}")
    for e in summary["episodes"]:
        lines.append(f"  {_clock(e['time'], start)}  {e['kind']:<8} {e['message']}")
    counts = summary["events"]["counts"]
    listed = ", ".join(f"{k} {n}" for k, n in counts.items()) or "none"
    lines.append(f"events: {listed}")
    for e in rec.events[:MAX_EVENTS_SHOWN]:
        lines.append(f"  {_clock(e.time, start)}  {e.kind:<16} {e.message}")
    if len(rec.events) > MAX_EVENTS_SHOWN:
        lines.append(f"  ... {len(rec.events) - MAX_EVENTS_SHOWN} more (--json lists all)")
    # everything above may hold the recording's text (host names, messages): no raw control bytes
    out.write("\n".join(clean(line) for line in lines) + "\n")
    encoding = (getattr(out, "encoding", None) or "").lower().replace("_", "-")
    if encoding not in ("utf-8", "utf8"):
        out.write("(chart left out: the terminal's encoding cannot show its braille characters)\n")
        return 0
    size = shutil.get_terminal_size((100, 24))
    text = chart(rec, min(size.columns, 120), 15, color=out.isatty())
    if text:
        out.write(text.rstrip("\n") + "\n")
    return 0
