"""``balloontop`` with no subcommand: the live monitor (or a snapshot when not on a TTY).

Importing this module stays cheap: Textual, psutil and plotext are imported inside
``run``. Options are resolved with ``balloontop.config`` (flags > environment > file >
defaults, the order printed in ``--help``).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ..config import INTERVAL_FLOOR, PRECEDENCE_HELP
from ..guests import add_guest_arguments

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from ..demo import DemoSource
    from ..fleet import Guest
    from ..recording import Recorder
    from ..sources import SampleSource
    from ..targets import Target


def register_top(parser: argparse.ArgumentParser) -> None:
    """Add the monitor's options to the main parser (before the subcommands)."""
    group = parser.add_argument_group("live monitor (balloontop with no command)")
    group.add_argument("--root", dest="monitor_root", default=None, metavar="DIR",
                       help="read this folder as the guest's / (a capture); default /")
    group.add_argument("--interval", dest="monitor_interval", type=float, default=None,
                       metavar="S", help=f"seconds between refreshes (default 1, at least "
                       f"{INTERVAL_FLOOR:g}; + and - change it live)")
    group.add_argument("--theme", dest="monitor_theme", default=None, metavar="NAME",
                       help="colour theme: dark (default), light, monochrome, or one of yours")
    group.add_argument("--no-color", dest="monitor_no_color", action="store_true",
                       default=None, help="no colours (NO_COLOR=1 does the same)")
    group.add_argument("--demo", dest="monitor_demo", nargs="?", const="default", default=None,
                       metavar="SCENARIO", help="show a simulated balloon (no guest needed)")
    group.add_argument("--record", dest="monitor_record", default=None, metavar="FILE",
                       help="also record every sample and event to FILE (.gz: compressed)")
    group.add_argument("--force", dest="monitor_force", action="store_true", default=False,
                       help="with --record: overwrite FILE when it holds a recording already")
    add_guest_arguments(parser, several=True)
    _register_host(parser)
    epilog = parser.epilog or ""
    parser.epilog = (epilog + "\n\n" if epilog else "") + PRECEDENCE_HELP


def _register_host(parser: argparse.ArgumentParser) -> None:
    """``--qmp SOCKET [--qmp-stats-interval S]``: the host's figures in the balloon's pane."""
    from ..host.options import add_qmp_options

    add_qmp_options(parser, prefix="monitor_")


def _demo_source(scenario: str, clock: Callable[[], float]) -> DemoSource:
    from ..demo import DemoSource
    from ..errors import UsageError

    try:
        return DemoSource(None if scenario == "default" else scenario, clock=clock)
    except (KeyError, ValueError) as exc:
        raise UsageError(f"--demo: {exc}") from None


def run(args: argparse.Namespace) -> int:
    import time

    from ..config import config_dir, resolve

    config = resolve({
        "root": getattr(args, "monitor_root", None),
        "interval": getattr(args, "monitor_interval", None),
        "theme": getattr(args, "monitor_theme", None),
        "no_color": getattr(args, "monitor_no_color", None),
    })
    demo = getattr(args, "monitor_demo", None)
    targets = _targets(args, config.root, demo, time.time)

    if not sys.stdout.isatty():
        return _one_shot(targets)  # piped or redirected: a report instead of a screen nobody sees

    if config.no_color:
        os.environ["NO_COLOR"] = "1"  # Textual drops colours when it sees NO_COLOR

    from ..tui.app import make_app

    recorder = _recorder(args, config.interval)
    try:
        first = targets[0]
        app = make_app(
            root=config.root, interval=config.interval, theme=config.theme,
            source=first.source,
            process_interval=config.process_interval, user_theme_dir=config_dir() / "themes",
            color=not config.no_color, recorder=recorder,
            source_label=_demo_label(first.source) if demo else None,
            guests=_guests(targets, recorder),
        )
        code = app.run()
    finally:
        for target in targets:
            target.source.close()  # the demo's tree, connections, QMP sockets
        if recorder is not None:
            recorder.close()
            print(f"balloontop: recorded {recorder.samples} samples and {recorder.events} events "
                  f"to {recorder.path}", file=sys.stderr)
    return int(code or app.return_code or 0)


def _demo_label(source: SampleSource) -> str | None:
    """The demo's scenario for the header (the demo module loads only for ``--demo``)."""
    from ..demo import DemoSource

    return f" · {source.title}" if isinstance(source, DemoSource) else None


def _targets(args: argparse.Namespace, root: str, demo: str | None,
             clock: Callable[[], float]) -> list[Target]:
    """What to watch: the demo, this machine or a folder, or remote guests (each with its
    QMP socket when given)."""
    from ..errors import UsageError
    from ..targets import Target, open_targets

    if demo:
        if getattr(args, "monitor_qmp", None) or getattr(args, "remote", None):
            raise UsageError("--demo shows a simulated guest: not with --qmp, --via or --ssh")
        return [Target("", _demo_source(demo, clock), None)]
    args.root = root  # a remote guest's --root names a folder on the guest
    return open_targets(args, root, several=True, qmp_prefix="monitor_")


def _recorder(args: argparse.Namespace, interval: float) -> Recorder | None:
    """``--record FILE``: refused when FILE holds a recording already, unless ``--force``."""
    record = getattr(args, "monitor_record", None)
    if not record:
        return None
    from ..errors import UsageError
    from ..recording import Recorder, check_new_recording

    check_new_recording(record, bool(getattr(args, "monitor_force", False)))
    try:
        return Recorder(record, interval)
    except OSError as exc:
        raise UsageError(f"--record {record}: {exc.strerror or exc}") from None


def _guests(targets: list[Target], recorder: Recorder | None) -> list[Guest] | None:
    """The monitor's guests when remote ones are watched (``None``: the one local source,
    the app builds its own pipeline)."""
    if not any(t.remote is not None for t in targets):
        return None
    several = len(targets) > 1
    return [_remote_guest(target, recorder, several) for target in targets]


def _remote_guest(target: Target, recorder: Recorder | None, several: bool) -> Guest:
    """One remote guest of the monitor: its pipeline, and its connection's state, label,
    processes and last error, read when the screen asks."""
    from ..fleet import Guest
    from ..monitor import Monitor
    from ..remote.kernel_log import RemoteKernelLog

    remote = target.remote
    assert remote is not None
    return Guest(
        target.name,
        Monitor(target.source, recorder=recorder, guest=target.name if several else None,
                kernel_log_reader=lambda: RemoteKernelLog(remote)),
        state=lambda: remote.state, label=lambda: remote.name,
        processes=remote.processes, last_error=lambda: remote.last_error)


def _one_shot(targets: list[Target]) -> int:
    """One reading of each target as text (stdout is not a terminal)."""
    from ..report_text import render_text
    from ..safetext import clean, safe_output

    out = safe_output(sys.stdout)
    try:
        for target in targets:
            sample = target.source.sample()
            if sample is not None:
                out.write(clean(render_text(sample), keep_newlines=True))
            elif target.remote is not None:
                why = target.remote.last_error or target.remote.state
                out.write(clean(f"{target.name}: {why}") + "\n")
    finally:
        for target in targets:
            target.source.close()
    return 0
