#!/usr/bin/env python3
"""Interleaved A B A B benchmark of balloontop against textual_baseline.py --per-line.

    python3 bench/run_bench.py /work/shared/tools/tuimeter.py [--reps 3] [--seconds 30] [--src DIR]
        [--frame-reps 15]

Each repetition runs balloontop (120x40, 1 s refresh, full default screen, ready when
``virtio0`` is on screen) then the baseline (ready on ``MemTotal``), through tuimeter.py,
and prints the medians and ratios as a Markdown table. Then an in-process benchmark:
graph frame build time (plotext, off the UI thread) and UI-thread time per tick.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The console script next to this interpreter: not a pyenv shim (a bash script and a second
# process that would add their start-up to balloontop's first frame).
BALLOONTOP = str(Path(sys.executable).with_name("balloontop"))


def meter(tuimeter: str, seconds: float, ready: str, command: list[str],
          pythonpath: str | None = None) -> dict:
    env = dict(os.environ)
    if pythonpath is not None:  # another source tree of balloontop, first on the path
        env["PYTHONPATH"] = os.pathsep.join([pythonpath, env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, tuimeter, "--json", "--cols", "120", "--rows", "40",
         "--seconds", str(seconds), "--ready-text", ready, "--", *command],
        capture_output=True, text=True, check=True, env=env)
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return {"first_byte_s": d["first_byte_s"], "first_frame_s": d["first_frame_s"],
            "cpu_pct": d["window"]["cpu_pct_one_core"], "bytes_per_s": d["window"]["bytes_per_s"],
            "peak_rss_mb": d["peak_rss_tree_mb"]}


def in_process(src: Path, ticks: int = 20) -> dict:
    sys.path.insert(0, str(src))
    from balloontop.tui.app import make_app

    async def go():
        app = make_app(root="/")
        async with app.run_test(size=(120, 40)) as pilot:
            while app.tick_count < ticks:
                await pilot.pause(0.2)
            return list(app.graph_ms), list(app.ui_ms)

    graph, ui = asyncio.run(go())
    import math

    from balloontop.tui.graph import GraphBuilder
    builder = GraphBuilder()
    times = [float(i) for i in range(300)]
    series = {"balloon": [512 * 1024 * (1 + math.sin(i / 30)) for i in range(300)],
              "MemTotal": [2048 * 1024.0] * 300, "MemAvailable": [900 * 1024.0] * 300}
    builds = []
    for _ in range(20):
        builds.append(builder.build(times, series, 299, 60, 58, 18, {}).build_ms)
    return {"graph_build_ms_median": statistics.median(builds),
            "graph_build_ms_live_median": statistics.median(graph) if graph else None,
            "ui_ms_per_tick_median": statistics.median(ui[2:] or ui),
            "ui_ms_per_tick_p90": sorted(ui)[int(len(ui) * 0.9) - 1] if ui else None}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tuimeter")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--src", type=Path, default=REPO,
                    help="the balloontop source tree to measure (put first on PYTHONPATH)")
    ap.add_argument("--frame-reps", type=int, default=0,
                    help="also this many short interleaved runs for the first frame alone (its "
                         "spread between runs is larger than the difference measured)")
    ap.add_argument("--before", type=Path, default=None,
                    help="also measure this older source tree, interleaved in the same run "
                         "(before/after a change, side by side)")
    args = ap.parse_args()
    src = args.src.resolve()
    if args.before is not None:
        return before_after(args, src)
    if src != REPO:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])
    baseline = str(Path(args.tuimeter).with_name("textual_baseline.py"))
    a, b = [], []
    for rep in range(args.reps):
        a.append(meter(args.tuimeter, args.seconds, "virtio0", [BALLOONTOP]))
        b.append(meter(args.tuimeter, args.seconds, "MemTotal",
                       [sys.executable, baseline, "--per-line"]))
        print(f"rep {rep + 1}: balloontop {a[-1]}  baseline {b[-1]}", file=sys.stderr)
    print("| metric | balloontop | baseline --per-line | ratio | target |")
    print("|---|---|---|---|---|")
    targets = {"first_frame_s": "<= 1.1x", "cpu_pct": "<= 1.5x", "bytes_per_s": "<= 900 B/s",
               "peak_rss_mb": "<= 1.3x"}
    targets["first_byte_s"] = "-"
    for key in ("first_byte_s", "first_frame_s", "cpu_pct", "bytes_per_s", "peak_rss_mb"):
        ma = statistics.median(r[key] for r in a)
        mb = statistics.median(r[key] for r in b)
        print(f"| {key} | {ma:.2f} | {mb:.2f} | {ma / mb:.2f}x | {targets[key]} |")
    ratios = [x["first_frame_s"] / y["first_frame_s"] for x, y in zip(a, b, strict=True)]
    print(f"\nfirst frame, ratio of each A/B pair: {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"median {statistics.median(ratios):.2f}x")
    if args.frame_reps:
        fa, fb = [], []
        for _ in range(args.frame_reps):
            fa.append(meter(args.tuimeter, 0.5, "virtio0", [BALLOONTOP])["first_frame_s"])
            fb.append(meter(args.tuimeter, 0.5, "MemTotal", [sys.executable, baseline, "--per-line"])
                      ["first_frame_s"])
        pair = [x / y for x, y in zip(fa, fb, strict=True)]
        print(f"first frame alone, {args.frame_reps} A/B pairs: balloontop median "
              f"{statistics.median(fa):.3f} s, baseline {statistics.median(fb):.3f} s, ratio of "
              f"medians {statistics.median(fa) / statistics.median(fb):.2f}x, median of pair ratios "
              f"{statistics.median(pair):.2f}x")
    print()
    print(json.dumps({"balloontop": a, "baseline": b}))
    print(json.dumps(in_process(src), indent=1))
    return 0


def before_after(args: argparse.Namespace, src: Path) -> int:
    """A (this tree), P (the --before tree) and the baseline, interleaved A P B per repetition."""
    baseline = str(Path(args.tuimeter).with_name("textual_baseline.py"))
    runs: dict[str, list[dict]] = {"after": [], "before": [], "baseline": []}
    for rep in range(args.reps):
        runs["after"].append(meter(args.tuimeter, args.seconds, "virtio0", [BALLOONTOP], str(src)))
        runs["before"].append(meter(args.tuimeter, args.seconds, "virtio0", [BALLOONTOP],
                                    str(args.before.resolve())))
        runs["baseline"].append(meter(args.tuimeter, args.seconds, "MemTotal",
                                      [sys.executable, baseline, "--per-line"]))
        print(f"rep {rep + 1}: " + "  ".join(f"{k} {v[-1]}" for k, v in runs.items()), file=sys.stderr)
    print("| metric | after | before | baseline --per-line | after/before | after/baseline |")
    print("|---|---|---|---|---|---|")
    for key in ("first_byte_s", "first_frame_s", "cpu_pct", "bytes_per_s", "peak_rss_mb"):
        med = {k: statistics.median(r[key] for r in v) for k, v in runs.items()}
        print(f"| {key} | {med['after']:.2f} | {med['before']:.2f} | {med['baseline']:.2f} | "
              f"{med['after'] / med['before']:.2f}x | {med['after'] / med['baseline']:.2f}x |")
    print()
    print(json.dumps(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
