"""``balloontop record FILE``: write samples and events to a recording, headless.

One sample every ``--interval`` seconds (on a fixed schedule: a slow read does not shift the
following ones) until ``--duration`` seconds have passed, or SIGINT/SIGTERM: the line being
written is finished, the file closed, and the exit status is 0. On a terminal a progress line
(samples, events, file size) is kept up to date on stderr; otherwise nothing is printed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

MIN_INTERVAL = 0.2
DEFAULT_INTERVAL = 1.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record samples and events to a file (JSON lines; .gz for gzip)",
        description="Record the balloon headless: one JSON line per sample and per event, "
        "flushed as written, so a recording killed at any moment stays readable. "
        "A FILE ending in .gz is gzip-compressed (flushed each line).",
    )
    parser.add_argument("file", metavar="FILE", help="recording to write (overwritten)")
    parser.add_argument("--root", default="/", metavar="DIR", help="read this root instead of /")
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        metavar="S",
        help=f"seconds between samples (default {DEFAULT_INTERVAL:g}, at least {MIN_INTERVAL:g})",
    )
    parser.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stop after S seconds"
    )


def check_interval(interval: float) -> float:
    from ..errors import UsageError

    if not interval >= MIN_INTERVAL:  # also catches NaN
        raise UsageError(f"--interval must be at least {MIN_INTERVAL:g} s (got {interval:g})")
    return interval


class _Stop(Exception):
    """Raised by the signal handler to cut a sleep short."""


def run(args: argparse.Namespace) -> int:
    from ..rootfs import check_root
    from ..errors import BalloontopError, UsageError
    from ..events import EventDetector
    from ..recording import Recorder
    from ..sampler import Sampler

    interval = check_interval(args.interval)
    if args.duration is not None and not args.duration >= 0:
        raise UsageError(f"--duration must be >= 0 (got {args.duration:g})")
    root = check_root(args.root)
    sampler = Sampler(root)
    detector = EventDetector()
    try:
        recorder = Recorder(args.file, interval)
    except OSError as exc:
        raise BalloontopError(f"cannot write {args.file}: {exc.strerror or exc}") from exc

    progress = sys.stderr.isatty()
    state = {"busy": False, "stop": False}

    def on_signal(signum: int, frame: object) -> None:
        state["stop"] = True
        if not state["busy"]:
            raise _Stop

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    start = time.monotonic()
    tick = 0
    try:
        while not state["stop"]:
            state["busy"] = True
            sample = sampler.sample()
            recorder.write_sample(sample)
            for event in detector.feed(sample):
                recorder.write_event(event)
            if progress:
                _progress(recorder)
            state["busy"] = False
            if state["stop"]:
                break
            tick += 1
            due = start + tick * interval
            now = time.monotonic()
            if due < now:  # fell behind (suspended, slow disk): skip the missed ticks
                tick = int((now - start) / interval) + 1
                due = start + tick * interval
            if args.duration is not None and due - start > args.duration + 1e-6:
                break
            time.sleep(max(0.0, due - time.monotonic()))
    except _Stop:
        pass
    finally:
        state["busy"] = True  # a late signal must not interrupt the closing lines
        try:
            for event in detector.close():
                recorder.write_event(event)
        finally:
            recorder.close()
            for sig, handler in old.items():
                signal.signal(sig, handler)
        if progress:
            _progress(recorder)
            sys.stderr.write("\n")
            sys.stderr.flush()
    return 0


def _progress(recorder: Any) -> None:
    from ..units import KIB, format_kib

    size = os.path.getsize(recorder.path) if os.path.exists(recorder.path) else 0
    sys.stderr.write(
        f"\rrecording {recorder.path}: {recorder.samples} samples, {recorder.events} events,"
        f" {format_kib(size / KIB)}   "
    )
    sys.stderr.flush()
