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

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from ..demo import DemoSource
    from ..host.source import HostSource


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
    _register_host(parser)
    epilog = parser.epilog or ""
    parser.epilog = (epilog + "\n\n" if epilog else "") + PRECEDENCE_HELP


def _register_host(parser: argparse.ArgumentParser) -> None:
    """``--qmp SOCKET [--qmp-stats-interval S]``: the host's figures in the balloon's pane."""
    from ..host.options import add_qmp_options

    add_qmp_options(parser, prefix="monitor_")


def _host_source(args: argparse.Namespace, root: str, demo: str | None) -> HostSource | None:
    """A ``Sampler`` over ``root`` with the host's reading, when ``--qmp`` is given."""
    if getattr(args, "monitor_qmp", None) is None and getattr(args, "monitor_qmp_stats_interval", None) is None:
        return None  # plain `balloontop`: nothing more to import
    from ..host.options import host_reader

    reader = host_reader(args, prefix="monitor_")
    if reader is None:
        return None
    if demo:
        from ..errors import UsageError

        reader.close()
        raise UsageError("--qmp reads a real QEMU machine: not with --demo")
    from ..host.source import HostSource
    from ..sampler import Sampler

    return HostSource(Sampler(root), reader)


def _demo_source(scenario: str, clock: Callable[[], float]) -> DemoSource:
    from ..demo import DemoSource
    from ..errors import UsageError

    try:
        return DemoSource(None if scenario == "default" else scenario, clock=clock)
    except (KeyError, ValueError) as exc:
        raise UsageError(f"--demo: {exc}") from None


def run(args: argparse.Namespace) -> int:
    import time

    from ..rootfs import check_root
    from ..config import config_dir, resolve

    config = resolve({
        "root": getattr(args, "monitor_root", None),
        "interval": getattr(args, "monitor_interval", None),
        "theme": getattr(args, "monitor_theme", None),
        "no_color": getattr(args, "monitor_no_color", None),
    })
    root = check_root(config.root)
    demo = getattr(args, "monitor_demo", None)

    if not sys.stdout.isatty():
        # Piped or redirected: a one-shot report instead of a screen nobody sees.
        from ..report_text import render_text
        from ..sampler import Sampler

        reader = _host_source(args, root, demo) or (_demo_source(demo, time.time) if demo else Sampler(root))
        try:
            sample = reader.sample()
        finally:
            reader.close()  # the demo's temporary tree
        if sample is not None:
            sys.stdout.write(render_text(sample))
        return 0

    if config.no_color:
        os.environ["NO_COLOR"] = "1"  # Textual drops colours when it sees NO_COLOR

    from ..tui.app import make_app

    recorder = None
    record = getattr(args, "monitor_record", None)
    if record:
        from ..recording import Recorder

        try:
            recorder = Recorder(record, config.interval)
        except OSError as exc:
            from ..errors import UsageError

            raise UsageError(f"--record {record}: {exc.strerror or exc}") from None
    source: DemoSource | None = None
    host: HostSource | None = None
    try:
        host = _host_source(args, root, demo)
        source = _demo_source(demo, time.time) if demo else None
        app = make_app(
            root=root, interval=config.interval, theme=config.theme, source=source or host,
            process_interval=config.process_interval, user_theme_dir=config_dir() / "themes",
            color=not config.no_color, recorder=recorder,
            source_label=f" · {source.title}" if source is not None else None,
        )
        code = app.run()
    finally:
        if source is not None:
            source.close()  # the demo removes its temporary tree
        if host is not None:
            host.close()  # lets the QMP socket go (QEMU serves one client per socket)
        if recorder is not None:
            recorder.close()
    return int(code or app.return_code or 0)
