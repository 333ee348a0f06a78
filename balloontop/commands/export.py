"""``balloontop export``: Prometheus metrics over HTTP, or a textfile for node_exporter.

* ``--listen HOST:PORT`` (default 127.0.0.1:9477): serve ``/metrics`` until SIGINT/SIGTERM.
  Each scrape reads a fresh sample, or reuses one younger than ``--interval`` seconds
  (default 1). A non-loopback address is allowed because it was asked for, with a warning.
  One line on stdout says where it serves (with the port it got for ``:0``).
* ``--textfile DIR``: write ``DIR/balloontop.prom`` atomically once and exit; with
  ``--interval S`` as well, rewrite it every S seconds until SIGINT/SIGTERM. A directory
  every user may write to is refused unless it has the sticky bit (exit 2).
* Guests: the local root (``--root``), or every guest that ``--via``/``--ssh``/``--guest``
  or the config's ``[[guest]]`` tables name, each with its ``--qmp``; one exporter, every
  series labelled ``guest`` (``balloontop.export``). Each refresh waits at most
  ``--guest-wait`` seconds (default 3) for them: a slower guest is exported from its last
  reading, an unreachable one as ``balloontop_guest_up 0``. A one-shot ``--textfile``
  waits for the guests' connect and tick timeouts instead (no earlier reading to fall
  back on). Two guests with one label are refused (exit 2).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from ..guests import add_guest_arguments

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..export import FleetReader
    from ..remote.source import RemoteSource
    from ..fleet import Fleet

DEFAULT_CACHE = 1.0
DEFAULT_GUEST_WAIT = 3.0


def register(subparsers: Any) -> None:
    from ..export import DEFAULT_LISTEN

    parser = subparsers.add_parser(
        "export",
        help="serve Prometheus metrics (or write a node_exporter textfile)",
        description="Serve the balloon's figures as Prometheus metrics on /metrics, or write "
        "them to DIR/balloontop.prom for node_exporter's textfile collector. Binds to "
        "loopback unless --listen names another address.",
    )
    parser.add_argument(
        "--listen", default=None, metavar="HOST:PORT", help=f"address to serve on (default {DEFAULT_LISTEN})"
    )
    parser.add_argument("--root", default="/", metavar="DIR", help="read this root instead of /")
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="S",
        help="HTTP: reuse a sample younger than S seconds (default 1); "
        "--textfile: rewrite the file every S seconds instead of once",
    )
    parser.add_argument(
        "--textfile", default=None, metavar="DIR", help="write DIR/balloontop.prom instead of serving"
    )
    parser.add_argument(
        "--guest-wait", type=float, default=None, metavar="S",
        help=f"wait at most S seconds for the guests at each scrape (default {DEFAULT_GUEST_WAIT:g}); "
        "a slower guest is exported from its last reading, an unreachable one as balloontop_guest_up 0",
    )
    add_guest_arguments(parser, several=True)
    _register_host(parser)


def _register_host(parser: Any) -> None:
    """``--qmp SOCKET [--qmp-stats-interval S]``: balloontop_host_* metrics from QEMU."""
    from ..host.options import add_qmp_options

    add_qmp_options(parser)


def run(args: argparse.Namespace) -> int:
    from ..errors import BalloontopError, UsageError
    from ..export import (
        DEFAULT_LISTEN,
        BalloonCollector,
        check_textfile_dir,
        is_loopback,
        make_registry,
        parse_listen,
        serve,
    )
    from .record import check_interval

    try:
        import prometheus_client  # noqa: F401
    except ImportError as exc:
        raise BalloontopError(
            "export needs prometheus_client: pip install 'balloontop[export]'"
            " (in a clone of the repository: pip install '.[export]')"
        ) from exc
    if args.interval is not None:
        check_interval(args.interval)
    wait = _guest_wait(args.guest_wait)
    if args.textfile is not None and args.listen is not None:
        raise UsageError("--textfile and --listen exclude each other")
    if args.textfile is not None:
        try:
            check_textfile_dir(args.textfile)
        except FileNotFoundError:
            raise UsageError(f"--textfile {args.textfile!r} does not exist") from None
        except OSError as exc:
            raise UsageError(f"--textfile {args.textfile!r}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        host, port = "", 0
    else:
        try:
            host, port = parse_listen(args.listen or DEFAULT_LISTEN)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    fleet, reader = open_fleet(args, wait)

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        if args.textfile is not None:
            return _textfile(args, reader, stop, first_wait=_first_wait(args, wait))
        cache = DEFAULT_CACHE if args.interval is None else args.interval
        registry = make_registry(BalloonCollector(reader, max_age=cache))
        if not is_loopback(host):
            print(
                f"balloontop: warning: serving metrics on {host}:{port}, reachable from other"
                " machines (no authentication)",
                file=sys.stderr,
            )
        try:
            server, _thread = serve(host, port, registry)
        except OSError as exc:
            raise BalloontopError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        real_port = server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        # one line: where to scrape, with the port :0 got (stderr stays for warnings)
        print(f"serving metrics on http://{shown}:{real_port}/metrics", flush=True)
        try:
            while not stop.wait(3600):
                pass
        finally:
            server.shutdown()
            server.server_close()
        return 0
    finally:
        fleet.close()


def _textfile(args: argparse.Namespace, reader: FleetReader, stop: threading.Event,
              first_wait: float) -> int:
    """Write DIR/balloontop.prom once, or every ``--interval`` seconds until stopped. The
    first writing waits for the guests to connect (no earlier reading to fall back on)."""
    from ..errors import BalloontopError
    from ..export import BalloonCollector, make_registry, write_textfile

    registry = make_registry(BalloonCollector(reader))
    wait, reader.wait = reader.wait, first_wait
    while True:
        try:
            write_textfile(args.textfile, registry)
        except OSError as exc:
            raise BalloontopError(f"cannot write in {args.textfile}: {exc.strerror or exc}") from exc
        reader.wait = wait
        if args.interval is None or stop.wait(args.interval):
            return 0


def _guest_wait(value: float | None) -> float:
    from ..config import check_seconds

    if value is None:
        return DEFAULT_GUEST_WAIT
    return check_seconds(value, "--guest-wait", 0.0)


def _first_wait(args: argparse.Namespace, wait: float) -> float:
    """The first textfile writing's wait: given, or the guests' connect and tick timeouts."""
    if args.guest_wait is not None:
        return wait
    from ..guests import guest_specs

    specs = guest_specs(args, several=True)
    return max([s.connect_timeout + s.tick_timeout for s in specs], default=wait)


def open_fleet(args: argparse.Namespace, wait: float) -> tuple[Fleet, FleetReader]:
    """Every guest the options name, each read through the monitor pipeline (the same
    samples as the monitor and ``record``), in one fleet; a remote guest ticks on its own
    thread, so a scrape waits at most ``wait`` seconds for it. ``UsageError`` when two
    guests would carry the same ``guest`` label."""
    from ..errors import UsageError
    from ..export import FleetReader, local_guest_label
    from ..fleet import Fleet, Guest
    from ..monitor import Monitor
    from ..targets import open_targets

    targets = open_targets(args, args.root, several=True)
    labels = [t.name if t.remote is not None else local_guest_label(args.root) for t in targets]
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            for target in targets:
                target.source.close()
            raise UsageError(f"two guests would both be labelled guest={label!r}: give each its own "
                             "--via/--ssh target, or name them in the config file's [[guest]] tables")
        seen.add(label)
    several = len(targets) > 1
    guests = []
    for target, label in zip(targets, labels):
        monitor = Monitor(target.source, guest=label if several else None)
        remote = target.remote
        if remote is None:
            guests.append(Guest(label, monitor))
        else:
            guests.append(Guest(label, monitor, state=_state_of(remote), last_error=_error_of(remote)))
    fleet = Fleet(guests, inline_single=all(t.remote is None for t in targets))
    return fleet, FleetReader(fleet, labels, wait)


def _state_of(remote: RemoteSource) -> Callable[[], str]:
    return lambda: remote.state


def _error_of(remote: RemoteSource) -> Callable[[], str | None]:
    return lambda: remote.last_error
