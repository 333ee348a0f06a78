"""``balloontop replay FILE [--speed X]``: the monitor over a recording.

The monitor (``balloontop.tui``) drives a ``ReplaySource``: space pauses, ``.``/``n`` steps,
``[``/``]`` seek; the event log is the recorded one (markers included), not re-detected.
It polls every ``interval / speed`` seconds so that it takes the recorded samples as fast as
they come due.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a recording in the monitor (pause, step, seek)",
        description="Open the monitor over a recording made by `balloontop record`.",
    )
    parser.add_argument("file", metavar="FILE", help="recording to replay (.gz or plain)")
    parser.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help="replay X times faster (default 1)"
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import BalloontopError, UsageError
    from ..recording import ReplaySource, read_recording

    if not args.speed > 0:
        raise UsageError(f"--speed must be > 0 (got {args.speed:g})")
    try:
        rec = read_recording(args.file)
    except OSError as exc:
        raise BalloontopError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    if not rec.samples:
        raise UsageError(f"{args.file} holds no samples to replay")
    for line in rec.skipped:
        print(f"balloontop: {args.file}: skipped {line}", file=sys.stderr)
    from ..tui.app import make_app

    source = ReplaySource(rec, speed=args.speed)
    interval = max((rec.interval or 1.0) / args.speed, 0.05)
    header = rec.header or {}
    app = make_app(
        source=source,
        interval=interval,
        process_source=None,
        hostname=header.get("host") or None,
        source_label=f" · replay {os.path.basename(args.file)} ×{args.speed:g}",
    )
    try:
        app.run()
    finally:
        source.close()
    return 0
