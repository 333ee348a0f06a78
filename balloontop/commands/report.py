"""``balloontop report FILE``: a summary of a recording, on the terminal or as JSON.

Duration, sample count, balloon min/max/mean/last, inflate and deflate episodes, events by
kind (with markers), and a plotext chart of the balloon over time. Episodes are derived again
from the samples (default thresholds), so a recording cut short by a crash still reports the
episode it was in; the event list is the recorded one (markers included).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from typing import Any

from ..units import format_mib

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
    """The report as a JSON-ready dict. A recording of several guests is summed up per guest
    (``guests``: each one's balloon figures; episodes name their guest); ``balloon_kib`` is then
    that of the first guest."""
    from ..recording import guest_label

    # in time order: a clock step (or samples merged from two runs) can put them out of it
    samples = sorted(rec.samples, key=lambda s: s.time)
    events = sorted(rec.events, key=lambda e: e.time)
    groups: dict[str | None, list[Any]] = {}
    for sample in samples:
        groups.setdefault(guest_label(sample), []).append(sample)
    per_guest = {label: _guest_summary(label, group) for label, group in groups.items()}
    first = next(iter(per_guest.values()), _guest_summary(None, []))
    episodes = sorted((e for g in per_guest.values() for e in g["episodes"]), key=lambda e: e["time"])
    start = samples[0].time if samples else None
    end = samples[-1].time if samples else None
    kinds = Counter(e.kind for e in events)
    out = {
        "file": rec.path,
        "header": rec.header,
        "samples": len(samples),
        "start": start,
        "end": end,
        "duration_s": (end - start) if start is not None and end is not None else None,
        "balloon_kib": first["balloon_kib"],
        "episodes": episodes,
        "events": {"counts": dict(sorted(kinds.items())), "list": [e.to_json() for e in events]},
        "skipped": list(rec.skipped),
        "skipped_count": getattr(rec, "skipped_count", len(rec.skipped)),
    }
    if any(label is not None for label in per_guest):
        out["guests"] = {str(label): {k: v for k, v in g.items() if k != "episodes"}
                         for label, g in per_guest.items()}
    return out


def _guest_summary(label: str | None, samples: list[Any]) -> dict[str, Any]:
    """One guest's samples summed up: count, balloon figures, episodes (the monitor's own)."""
    from ..monitor import detected_events

    sizes = [s.balloon.kib for s in samples if s.balloon.kib is not None]
    episodes = detected_events(samples, keep=lambda e: e.kind in ("inflate", "deflate"))
    return {
        "samples": len(samples),
        "balloon_kib": {
            "min": min(sizes) if sizes else None,
            "max": max(sizes) if sizes else None,
            "mean": round(sum(sizes) / len(sizes), 1) if sizes else None,
            "last": sizes[-1] if sizes else None,
        },
        "episodes": [(e._replace(guest=label) if label else e).to_json() for e in episodes],
    }


def _clock(t: float, start: float) -> str:
    return f"+{t - start:7.1f}s"


def chart(rec: Any, width: int, height: int, color: bool, thin: bool = True) -> str:
    """The balloon against seconds since the first sample, as text (``balloontop.plot``, the
    module the monitor's graph draws with: the same axis units, tick steps and thinning).

    The y axis starts at 0 and is labelled in one unit (``768M``, or ``1.5G``); ticks are round
    numbers (powers of two from 256 MiB up). With ``thin`` (the default) a long recording is
    cut down first to the samples that draw the same chart (``plot.thin``): plotext 5 is pure
    Python, a week of samples takes seconds otherwise.
    """
    from ..plot import PLOTEXT_LOCK, canvas_bins, memory_axis, new_figure, nice_step, place_ticks, tick_label
    from ..plot import thin as thin_points

    from ..recording import guest_label

    samples = sorted((s for s in rec.samples if s.balloon.kib is not None), key=lambda s: s.time)
    if len(samples) < 2:
        return ""
    start = samples[0].time
    first = guest_label(samples[0])
    samples = [s for s in samples if guest_label(s) == first]  # several guests: the first one's
    xs = [s.time - start for s in samples]
    ys = [s.balloon.kib / 1024 for s in samples]
    width, height = max(width, 30), max(height, 8)
    xlo, xhi = float(min(0.0, min(xs))), float(max(xs))
    if xhi <= xlo:
        xhi = xlo + 1.0
    xstep = nice_step(xhi - xlo, max(2, (width - 8) // 10))  # a label every 10 columns or more
    xticks = [i * xstep for i in range(math.ceil(xlo / xstep - 1e-9), math.floor(xhi / xstep + 1e-9) + 1)]
    xlabels = [tick_label(t) for t in xticks]
    axis = memory_axis(0.0, max(ys), max(2, min(6, height // 3)))
    with PLOTEXT_LOCK:
        fig = new_figure()
        if thin:
            # plotext's canvas: the width less the two y axes and the left labels, in columns of
            # the line's marker (two a character for "hd", plotext's default on unix)
            xs, ys = thin_points(xs, ys, xlo, xhi, canvas_bins(width, axis.labels))
        fig.plot_size(width, height)
        fig.title("balloon over time (s)" if first is None else f"{first}: balloon over time (s)")
        fig.plot(xs, ys)  # joins consecutive samples: a step in the balloon shows as a vertical line
        fig.xlim(xlo, xhi)
        fig.ylim(axis.lo, axis.hi)
        place_ticks(fig, xticks, xlabels, axis.ticks, axis.labels)
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
    for name, figures in (summary.get("guests") or {None: {"balloon_kib": b}}).items():
        mib = {key: format_mib(figures["balloon_kib"][key], "-", 1) for key in ("min", "max", "mean", "last")}
        whose = "balloon" if name is None else f"guest {name}: balloon"
        lines.append(f"{whose}: min {mib['min']}, max {mib['max']}, mean {mib['mean']}, last {mib['last']}")
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
