"""``--qmp SOCKET`` and ``--qmp-stats-interval S``: the options every command that reads a
host adds with ``add_qmp_options(parser)``, turned into a ``HostReader`` by ``host_reader(args)``.

``--qmp`` with no guest option pairs with the local root (``--root``). Pairing one socket with
each remote guest (``--via``/``--ssh``, ``[[guest]]``'s ``qmp`` key) is the guests module's job:
it hands each guest's socket to ``HostReader`` itself.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:  # the reader and the socket code load only when --qmp is given, argparse
    # only when there is a command line to parse (start-up time)
    import argparse

    from ..model import Sample
    from ..sources import SampleSource
    from .reader import HostReader

MAX_STATS_INTERVAL = 3600


def add_qmp_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """``prefix``: for the dests (``monitor_`` on the main parser, as its other options)."""
    group = parser.add_argument_group("the host's view (QEMU)")
    group.add_argument(
        "--qmp", dest=f"{prefix}qmp", metavar="SOCKET", default=None, action=_qmp_action(),
        help="also read the balloon from QEMU's QMP socket (a path, unix:PATH or tcp:HOST:PORT); "
             "QEMU serves one client per socket: give balloontop its own -qmp",
    )
    group.add_argument(
        "--qmp-stats-interval", dest=f"{prefix}qmp_stats_interval", metavar="S", type=_seconds, default=None,
        help="set the balloon's guest-stats-polling-interval to S seconds (whole, 1-3600); "
             "without it balloontop only reads and statistics stay off unless already on",
    )


def _qmp_action() -> type:
    import argparse

    class QmpAction(argparse.Action):
        """``--qmp``: kept in its own dest (the local root's socket) and, in order, among the
        guest options, so that each pairs with the ``--via``/``--ssh`` just before it."""

        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: object, option_string: str | None = None) -> None:
            setattr(namespace, self.dest, values)
            entries = list(getattr(namespace, "remote", None) or [])
            entries.append(("qmp", str(values)))
            namespace.remote = entries

    return QmpAction


def _seconds(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"wants whole seconds, got {text!r}") from None
    if not 1 <= value <= MAX_STATS_INTERVAL:
        raise argparse.ArgumentTypeError(f"wants 1 to {MAX_STATS_INTERVAL} seconds, got {value}")
    return value


def host_reader(args: argparse.Namespace, prefix: str = "") -> HostReader | None:
    """The reader ``--qmp`` asks for (None without it); ``UsageError`` (exit 2) for a
    statistics interval without a socket or an address that is not one."""
    address = getattr(args, f"{prefix}qmp", None)
    interval = getattr(args, f"{prefix}qmp_stats_interval", None)
    if address is None:
        if interval is not None:
            raise UsageError("--qmp-stats-interval needs --qmp SOCKET")
        return None  # the QMP client is loaded only when asked for (start-up)
    from .qmp import QMPError, parse_address
    from .reader import HostReader

    if not address:
        raise UsageError("--qmp wants a socket path or tcp:HOST:PORT")
    try:
        parse_address(address)
    except QMPError as exc:
        raise UsageError(str(exc)) from None
    return HostReader(address, stats_interval=interval)


def wrap_source(args: argparse.Namespace, source: SampleSource, prefix: str = "") -> SampleSource:
    """``source`` with the host's reading on every sample when ``--qmp`` is given."""
    reader = host_reader(args, prefix)
    if reader is None:
        return source
    from .source import HostSource

    return HostSource(source, reader)


def with_host(sample: Sample, reader: HostReader | None) -> Sample:
    """``sample`` with the host's reading (unchanged without a reader)."""
    if reader is None:
        return sample
    return dataclasses.replace(sample, host=reader.read())
