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

MIN_SPEED = 0.01
MAX_SPEED = 10000.0
"""``--speed`` range: below it the poll interval grows past hours, above it a recording
is over before the first frame."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a recording in the monitor (pause, step, seek)",
        description="Open the monitor over a recording made by `balloontop record`.",
    )
    parser.add_argument("file", metavar="FILE", help="recording to replay (.gz or plain)")
    parser.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help=f"replay X times faster, {MIN_SPEED:g} to {MAX_SPEED:g} (default 1)"
    )
    parser.add_argument("--guest", default=None, metavar="NAME",
                        help="a recording of several guests: the guest to replay (default the first)")


def run(args: argparse.Namespace) -> int:
    from ..errors import BalloontopError, UsageError
    from ..recording import read_recording
    from ..replay import ReplaySource, guests_of

    if not MIN_SPEED <= args.speed <= MAX_SPEED:  # nan fails both comparisons
        raise UsageError(f"--speed must be between {MIN_SPEED:g} and {MAX_SPEED:g} (got {args.speed:g})")
    try:
        rec = read_recording(args.file)
    except OSError as exc:
        raise BalloontopError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    if not rec.samples:
        raise UsageError(f"{args.file} holds no samples to replay")
    for line in rec.skipped:
        print(f"balloontop: {args.file}: skipped {line}", file=sys.stderr)
    from ..tui.app import make_app

    guests = guests_of(rec)
    guest = _which_guest(getattr(args, "guest", None), guests, args.file)
    source = ReplaySource(rec, speed=args.speed, guest=guest)
    interval = max((rec.interval or 1.0) / args.speed, 0.05)
    header = rec.header or {}
    app = make_app(
        source=source,
        interval=interval,
        process_source=None,
        hostname=header.get("host") or None,
        source_label=f" · replay {os.path.basename(args.file)} ×{args.speed:g}"
                     + (f" · guest {guest}" if guest else ""),
    )
    try:
        app.run()
    finally:
        source.close()
    return 0


def _which_guest(wanted: str | None, guests: list[str], path: str) -> str | None:
    """The guest to replay: ``--guest``, else the first of several (said on stderr)."""
    from ..errors import UsageError

    if wanted is not None:
        if wanted not in guests:
            known = ", ".join(guests) or "none (a recording of one machine)"
            raise UsageError(f"--guest {wanted!r}: {path} holds no such guest (it holds: {known})")
        return wanted
    if len(guests) > 1:
        print(f"balloontop: {path} holds {len(guests)} guests ({', '.join(guests)}); replaying "
              f"{guests[0]} (--guest NAME for another)", file=sys.stderr)
    return guests[0] if guests else None
