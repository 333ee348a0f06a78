"""``balloontop export``: Prometheus metrics over HTTP, or a textfile for node_exporter.

* ``--listen HOST:PORT`` (default 127.0.0.1:9477): serve ``/metrics`` until SIGINT/SIGTERM.
  Each scrape reads a fresh sample, or reuses one younger than ``--interval`` seconds
  (default 1). A non-loopback address is allowed because it was asked for, with a warning.
* ``--textfile DIR``: write ``DIR/balloontop.prom`` atomically once and exit; with
  ``--interval S`` as well, rewrite it every S seconds until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

DEFAULT_CACHE = 1.0


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


def run(args: argparse.Namespace) -> int:
    import os

    from ..rootfs import check_root
    from ..errors import BalloontopError, UsageError
    from ..export import (
        DEFAULT_LISTEN,
        BalloonCollector,
        is_loopback,
        make_registry,
        parse_listen,
        serve,
        write_textfile,
    )
    from ..sampler import Sampler
    from .record import check_interval

    try:
        import prometheus_client  # noqa: F401
    except ImportError as exc:
        raise BalloontopError(
            "export needs prometheus_client: pip install 'balloontop[export]'"
        ) from exc
    if args.interval is not None:
        check_interval(args.interval)
    if args.textfile is not None and args.listen is not None:
        raise UsageError("--textfile and --listen exclude each other")
    root = check_root(args.root)
    sampler = Sampler(root)

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    if args.textfile is not None:
        if not os.path.isdir(args.textfile):
            raise UsageError(f"--textfile {args.textfile!r} is not a directory")
        registry = make_registry(BalloonCollector(sampler.sample))
        while True:
            try:
                write_textfile(args.textfile, registry)
            except OSError as exc:
                raise BalloontopError(f"cannot write in {args.textfile}: {exc}") from exc
            if args.interval is None or stop.wait(args.interval):
                return 0

    try:
        host, port = parse_listen(args.listen or DEFAULT_LISTEN)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    cache = DEFAULT_CACHE if args.interval is None else args.interval
    registry = make_registry(BalloonCollector(sampler.sample, max_age=cache))
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
    try:
        while not stop.wait(3600):
            pass
    finally:
        server.shutdown()
        server.server_close()
    return 0
