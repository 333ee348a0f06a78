"""What a command reads: this machine or a folder (``--root``), or remote guests
(``--via``, ``--ssh``, ``--guest``, the config's ``[[guest]]`` tables), each with the host's
view when it has a QMP socket (``--qmp``).

Every front end opens its sources here, so ``snapshot``, ``record``, ``export`` and the
monitor pair options alike: a ``--qmp`` belongs to the ``--via``/``--ssh`` given just before
it (``guests.guest_specs``); with no guest option it pairs with the local root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import argparse

    from .remote.source import RemoteSource
    from .sources import SampleSource


class Target(NamedTuple):
    """One thing to watch."""

    name: str
    """The guest's label (config name, else target); empty for the local root."""
    source: SampleSource
    remote: RemoteSource | None
    """The connection behind ``source`` for a remote guest (state, processes), else None."""


def open_targets(args: argparse.Namespace, root: str, *, several: bool,
                 qmp_prefix: str = "") -> list[Target]:
    """The sources the command line asks for (``UsageError``/``RootError`` as the options
    say; nothing is connected yet: a remote source connects on its first sample)."""
    from .guests import guest_specs

    specs = guest_specs(args, several=several)
    interval = getattr(args, f"{qmp_prefix}qmp_stats_interval", None)
    if not specs:
        from .host.options import wrap_source
        from .rootfs import check_root
        from .sampler import Sampler

        return [Target("", wrap_source(args, Sampler(check_root(root)), qmp_prefix), None)]
    from .remote.source import RemoteSource

    targets: list[Target] = []
    for spec in specs:
        remote = RemoteSource(spec)
        source: SampleSource = remote
        if spec.qmp is not None:
            from .host.reader import HostReader
            from .host.source import HostSource

            source = HostSource(remote, HostReader(spec.qmp, stats_interval=interval))
        targets.append(Target(spec.label, source, remote))
    return targets
