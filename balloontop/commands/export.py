"""``balloontop export``: Prometheus metrics over HTTP, or a textfile for node_exporter.

* ``--listen HOST:PORT`` (default 127.0.0.1:9477): serve ``/metrics`` until SIGINT/SIGTERM.
  Each scrape reads a fresh sample, or reuses one younger than ``--interval`` seconds
  (default 1). A non-loopback address is allowed because it was asked for, with a warning.
  One line on stdout says where it serves (with the port it got for ``:0``).
* ``--textfile DIR``: write ``DIR/balloontop.prom`` atomically once and exit; with
  ``--interval S`` as well, rewrite it every S seconds until SIGINT/SIGTERM. A directory
  every user may write to is refused unless it has the sticky bit (exit 2).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import Sample
    from ..sources import SampleSource

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
    _register_host(parser)


def _register_host(parser: Any) -> None:
    """``--qmp SOCKET [--qmp-stats-interval S]``: balloontop_host_* metrics from QEMU."""
    from ..host.options import add_qmp_options

    add_qmp_options(parser)


def run(args: argparse.Namespace) -> int:
    from ..rootfs import check_root
    from ..errors import BalloontopError, UsageError
    from ..export import (
        DEFAULT_LISTEN,
        BalloonCollector,
        check_textfile_dir,
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
            " (in a clone of the repository: pip install '.[export]')"
        ) from exc
    if args.interval is not None:
        check_interval(args.interval)
    if args.textfile is not None and args.listen is not None:
        raise UsageError("--textfile and --listen exclude each other")
    root = check_root(args.root)
    from ..host.options import wrap_source

    read = pipeline_reader(wrap_source(args, Sampler(root)))

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    if args.textfile is not None:
        try:
            check_textfile_dir(args.textfile)
        except FileNotFoundError:
            raise UsageError(f"--textfile {args.textfile!r} does not exist") from None
        except OSError as exc:
            raise UsageError(f"--textfile {args.textfile!r}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        registry = make_registry(BalloonCollector(read))
        while True:
            try:
                write_textfile(args.textfile, registry)
            except OSError as exc:
                raise BalloontopError(f"cannot write in {args.textfile}: {exc.strerror or exc}") from exc
            if args.interval is None or stop.wait(args.interval):
                return 0

    try:
        host, port = parse_listen(args.listen or DEFAULT_LISTEN)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    cache = DEFAULT_CACHE if args.interval is None else args.interval
    registry = make_registry(BalloonCollector(read, max_age=cache))
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


def pipeline_reader(source: SampleSource) -> Callable[[], Sample]:
    """``source`` read through the monitor pipeline (the same samples and events as the
    monitor and ``record``); a failed reading raises, which the collector counts."""
    from ..monitor import Monitor

    monitor = Monitor(source)

    def read() -> Sample:
        result = monitor.tick()
        if result.sample is None:
            raise RuntimeError(result.error or "the source gave no sample")
        return result.sample

    return read
