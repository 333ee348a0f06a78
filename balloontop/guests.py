"""Which guests to read: ``--via``, ``--ssh``, ``--guest`` and the config file's fleet.

A ``GuestSpec`` names one remote guest: how to reach its shell (``via``: the user's
command, run by the local ``sh -c``; ``ssh``: ``[USER@]HOST[:PORT]`` with the system ssh
client), the directory on the guest that stands for its ``/`` and the timeouts.

The config file (``config.config_path()``) may hold a fleet::

    [[guest]]
    name = "db1"
    ssh = "admin@db1.example:2222"
    ssh_options = ["ProxyJump=bastion"]

    [[guest]]
    name = "vm7"
    via = "socat - UNIX-CONNECT:/run/vm7/console.sock"
    root = "/"
    # qmp = "/run/vm7/qmp.sock"   (the host-side reader, another issue)

Flags win: ``--via``/``--ssh`` name guests directly; ``--guest NAME`` (repeatable) picks
from the fleet; with neither, the monitor, ``record`` and ``export`` read every guest of
the fleet (``several=True``) while ``snapshot``, ``oom`` and ``decode`` read the local root.
No Textual; errors are ``UsageError`` (exit 2).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:
    import argparse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TICK_TIMEOUT = 5.0
_TABLE_KEYS = {"name", "via", "ssh", "ssh_options", "root", "qmp"}

GUEST_HELP = """\
remote guests (nothing is installed in the guest: it needs sh and head):
  --ssh [USER@]HOST[:PORT]   read the guest through the system ssh client (BatchMode,
                             compression, ~/.ssh/config and ssh-agent apply)
  --via 'COMMAND'            COMMAND's stdin/stdout is a POSIX sh on the guest, e.g.
                             'docker exec -i NAME sh', 'kubectl exec -i POD -- sh',
                             'socat - UNIX-CONNECT:/path/to/virtio-console.sock'
  --root DIR                 then names a directory on the guest (missing: exit 3)
  config file                [[guest]] tables (name, via or ssh, ssh_options, root)
                             define a fleet; --guest NAME picks from it; flags win"""


@dataclass(frozen=True)
class GuestSpec:
    """One remote guest and how to reach it."""

    name: str | None
    transport: str  # "via" or "ssh"
    target: str  # the command (via) or [USER@]HOST[:PORT] (ssh)
    ssh_options: tuple[str, ...] = ()
    root: str = "/"
    qmp: str | None = None  # the host-side QMP socket (filled by the QMP issue)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    tick_timeout: float = DEFAULT_TICK_TIMEOUT

    @property
    def label(self) -> str:
        """How messages name the guest: its name, else its target."""
        return self.name or self.target

    def argv(self) -> list[str]:
        """The local command that gives a shell on the guest."""
        from .remote.transport import ssh_argv, via_argv

        if self.transport == "ssh":
            return ssh_argv(self.target, self.ssh_options, self.connect_timeout)
        return via_argv(self.target)


def add_guest_arguments(parser: argparse.ArgumentParser, several: bool) -> None:
    """``--via``, ``--ssh``, ``--ssh-option``, ``--guest`` and the two timeouts.

    ``several``: the command reads several guests at once (monitor, record, export).
    """
    group = parser.add_argument_group("remote guest" + ("s (repeatable)" if several else ""))
    group.add_argument("--via", dest="remote", action="append", type=lambda v: ("via", v), metavar="'COMMAND'",
                       help="read the guest through COMMAND, whose stdin/stdout is a POSIX sh on the guest "
                            "(run by the local sh -c, without a terminal)")
    group.add_argument("--ssh", dest="remote", action="append", type=lambda v: ("ssh", v),
                       metavar="[USER@]HOST[:PORT]", help="read the guest through the system ssh client")
    group.add_argument("--ssh-option", dest="ssh_options", action="append", default=[], metavar="OPT",
                       help="passed to ssh as -o OPT (repeatable)")
    group.add_argument("--guest", dest="guest_names", action="append", default=[], metavar="NAME",
                       help="a guest of the config file's [[guest]] tables" + (" (repeatable)" if several else ""))
    group.add_argument("--connect-timeout", type=float, default=None, metavar="SECONDS",
                       help=f"give up connecting after SECONDS (default {DEFAULT_CONNECT_TIMEOUT:g})")
    group.add_argument("--tick-timeout", type=float, default=None, metavar="SECONDS",
                       help=f"a reading that takes longer drops the connection (default {DEFAULT_TICK_TIMEOUT:g})")


def _timeout(value: Any, flag: str, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{flag}: expected seconds, got {value!r}") from None
    if not 0 < seconds <= 3600:
        raise UsageError(f"{flag}: expected seconds between 0 and 3600, got {value!r}")
    return seconds


def guest_specs(args: argparse.Namespace, several: bool = False, fleet: list[GuestSpec] | None = None) -> list[GuestSpec]:
    """The guests the command line asks for (empty: the local root).

    ``fleet``: the config file's guests (read from the file when ``None``).
    """
    remote = getattr(args, "remote", None) or []
    names = getattr(args, "guest_names", None) or []
    connect = _timeout(getattr(args, "connect_timeout", None), "--connect-timeout", DEFAULT_CONNECT_TIMEOUT)
    tick = _timeout(getattr(args, "tick_timeout", None), "--tick-timeout", DEFAULT_TICK_TIMEOUT)
    root = getattr(args, "root", None) or "/"
    options = tuple(getattr(args, "ssh_options", None) or ())
    if options and not any(kind == "ssh" for kind, _ in remote) and not names:
        raise UsageError("--ssh-option needs --ssh")
    specs = _paired(remote, options, root, connect, tick)
    remote = [(kind, target) for kind, target in remote if kind != "qmp"]
    if not several and len(remote) + len(names) > 1:
        raise UsageError("this command reads one guest: give one --via, --ssh or --guest")
    if remote and not names:
        return specs
    if fleet is None:
        if not names and not several:
            return specs
        fleet = read_fleet()
    for spec in fleet:
        spec = replace(spec, connect_timeout=connect, tick_timeout=tick,
                       ssh_options=spec.ssh_options + (options if spec.transport == "ssh" else ()))
        if names and spec.name not in names:
            continue
        specs.append(spec)
    missing = [n for n in names if n not in {s.name for s in fleet}]
    if missing:
        known = ", ".join(str(s.name) for s in fleet) or "none"
        raise UsageError(f"--guest {missing[0]!r}: no such [[guest]] in the config file (known: {known})")
    return specs


def _paired(entries: list[tuple[str, str]], options: tuple[str, ...], root: str,
            connect: float, tick: float) -> list[GuestSpec]:
    """The command line's guests in order, each ``--qmp`` given to the ``--via``/``--ssh``
    just before it. A ``--qmp`` before any guest pairs with the local root (``--qmp``'s own
    dest): with guests as well, it is an error, as is a second ``--qmp`` for one guest."""
    specs: list[GuestSpec] = []
    local = False
    for kind, value in entries:
        if kind != "qmp":
            specs.append(GuestSpec(None, kind, value, options if kind == "ssh" else (), root, None,
                                   connect, tick))
        elif not specs:
            if local:
                raise UsageError(f"--qmp {value}: one --qmp for the local root")
            local = True
        elif specs[-1].qmp is not None:
            raise UsageError(f"--qmp {value}: {specs[-1].label} has a QMP socket already; give each "
                             "--qmp just after the --via or --ssh it belongs to")
        else:
            specs[-1] = replace(specs[-1], qmp=value)
    if local and specs:
        raise UsageError("--qmp before any --via/--ssh pairs with the local root: with remote guests, "
                         "give each guest's --qmp just after its --via or --ssh")
    return specs


def read_fleet(path: Path | None = None, environ: Mapping[str, str] | None = None) -> list[GuestSpec]:
    """The ``[[guest]]`` tables of the config file (missing file: none)."""
    from .config import config_path

    path = path or config_path(environ)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"config file {path}: {exc}") from None
    return fleet_from_tables(data.get("guest", []), str(path))


def fleet_from_tables(tables: Any, where: str) -> list[GuestSpec]:
    """``GuestSpec``s from parsed ``[[guest]]`` tables; a bad table is a ``UsageError``."""
    if not isinstance(tables, list):
        raise UsageError(f"config file {where}: 'guest' must be [[guest]] tables")
    specs: list[GuestSpec] = []
    for number, table in enumerate(tables, 1):
        at = f"config file {where}: [[guest]] #{number}"
        if not isinstance(table, dict):
            raise UsageError(f"{at}: not a table")
        unknown = set(table) - _TABLE_KEYS
        if unknown:
            raise UsageError(f"{at}: unknown key {sorted(unknown)[0]!r}")
        kinds = [k for k in ("via", "ssh") if k in table]
        if len(kinds) != 1:
            raise UsageError(f"{at}: give exactly one of 'via' or 'ssh'")
        values = {k: table[k] for k in ("name", "via", "ssh", "root", "qmp") if k in table}
        for key, value in values.items():
            if not isinstance(value, str) or not value:
                raise UsageError(f"{at}: {key} must be a non-empty string")
        options = table.get("ssh_options", [])
        if not isinstance(options, list) or not all(isinstance(o, str) and o for o in options):
            raise UsageError(f"{at}: ssh_options must be a list of strings")
        name = values.get("name")
        if name is not None and any(s.name == name for s in specs):
            raise UsageError(f"{at}: the name {name!r} is used twice")
        specs.append(GuestSpec(name, kinds[0], values[kinds[0]], tuple(options), values.get("root", "/"), values.get("qmp")))
    return specs
