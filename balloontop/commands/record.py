"""``balloontop record FILE``: write samples and events to a recording, headless.

One sample every ``--interval`` seconds (on a fixed schedule: a slow read does not shift the
following ones) until ``--duration`` seconds have passed, or SIGINT/SIGTERM/SIGHUP: the line being
written is finished, the file closed, and the exit status is 0. On a terminal a progress line
(samples, events, file size) is kept up to date on stderr; otherwise nothing is printed.
SIGHUP ends it the same way. An existing non-empty FILE is refused (exit 2) without
``--force``; a write error (a full disk, ``/dev/full``) is one line naming the file, exit 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

from ..guests import add_guest_arguments

if TYPE_CHECKING:
    from ..fleet import Fleet
    from ..recording import Recorder

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
    parser.add_argument("file", metavar="FILE", help="recording to write (an existing one only with --force)")
    parser.add_argument("--force", action="store_true", help="replace FILE if it already holds a recording")
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
    add_guest_arguments(parser, several=True)
    _register_host(parser)


def _register_host(parser: argparse.ArgumentParser) -> None:
    """``--qmp SOCKET [--qmp-stats-interval S]``: the host's view in every sample."""
    from ..host.options import add_qmp_options

    add_qmp_options(parser)


def check_interval(interval: float) -> float:
    """``interval`` when it lies in [0.2 s, one hour]; else a ``UsageError`` (exit 2): NaN,
    infinities and values that would overflow a timer are refused (``config.check_seconds``)."""
    from ..config import check_seconds

    return check_seconds(interval, "--interval", MIN_INTERVAL)


def check_new_recording(path: str, force: bool = False) -> None:
    """Refuse (``UsageError``, exit 2) to replace a file that already holds data unless
    ``force``; the monitor's ``--record`` calls this too. An empty file, a missing one, or
    something that is not a regular file (``/dev/null``, a pipe) is fine."""
    from ..recording import check_new_recording as check

    check(path, force)


class _Stop(Exception):
    """Raised by the signal handler to cut a sleep short."""


def run(args: argparse.Namespace) -> int:
    from ..errors import BalloontopError, UsageError
    from ..fleet import Fleet, Guest
    from ..monitor import Monitor, kernel_log_root_for
    from ..recording import Recorder
    from ..targets import open_targets

    interval = check_interval(args.interval)
    if args.duration is not None and not args.duration >= 0:
        raise UsageError(f"--duration must be >= 0 (got {args.duration:g})")
    targets = open_targets(args, args.root, several=True)
    check_new_recording(args.file, args.force)
    try:
        recorder = Recorder(args.file, interval)
    except OSError as exc:
        raise BalloontopError(f"cannot write {args.file}: {exc.strerror or exc}") from exc
    # The same pipeline as the monitor: the same events (kernel log included) are recorded;
    # several guests share the file, each sample and event naming its guest.
    several = len(targets) > 1
    fleet = Fleet([Guest(t.name, Monitor(
        t.source, recorder=recorder, guest=t.name if several else None,
        kernel_log_root=kernel_log_root_for(t.source, args.root) if t.remote is None else None))
        for t in targets])
    try:
        return _record(args, interval, fleet, recorder)
    except OSError as exc:  # ENOSPC (/dev/full), EIO, ...: say which file
        raise BalloontopError(f"cannot write {args.file}: {exc.strerror or exc}") from exc


def _record(args: argparse.Namespace, interval: float, fleet: Fleet, recorder: Recorder) -> int:
    from ..errors import BalloontopError

    progress = sys.stderr.isatty()
    state = {"busy": False, "stop": False}

    def on_signal(signum: int, frame: object) -> None:
        state["stop"] = True
        if not state["busy"]:
            raise _Stop

    # SIGHUP too (the terminal closed): every way of being told to stop finishes the file,
    # the gzip trailer included
    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    start = time.monotonic()
    tick = 0
    try:
        while not state["stop"]:
            state["busy"] = True
            for part in fleet.tick(interval * 0.8):
                failure = part.guest.monitor.record_failure
                if failure is not None:
                    raise failure
                if part.result is not None and part.result.error is not None:
                    raise BalloontopError(f"reading failed: {part.result.error}")
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
            fleet.close()  # the open episodes' events, recorded; connections closed
        finally:
            try:
                recorder.close()
            except OSError:
                recorder.abandon()  # the error that stopped us is the one to report
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
