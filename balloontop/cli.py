"""The ``balloontop`` command line: a thin layer over the core and the monitor.

``balloontop`` alone opens the live monitor; subcommands (``snapshot``, ``decode``, ...)
live in ``balloontop.commands``, one module each. Every error is one line on stderr and a
documented exit code (``balloontop.errors``), never a traceback. Output into a pipe whose
reader went away (``| head``) ends as ``cat`` does: killed by SIGPIPE, without a message.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Sequence
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING

from . import __version__
from .commands import COMMAND_MODULES
from .errors import EXIT_CODES_HELP, EXIT_FAILURE, EXIT_USAGE, BalloontopError

if TYPE_CHECKING:
    import argparse


def _parser_class() -> type[argparse.ArgumentParser]:
    """argparse that fails with one line and exit status 2 (argparse is imported only
    when there is a command line to parse)."""
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    return _Parser


def _command_modules(names: Sequence[str]) -> dict[str, ModuleType]:
    return {name: importlib.import_module(f"balloontop.commands.{name}") for name in names}


def build_parser(argv: Sequence[str] = ()) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The parser; when ``argv`` starts with a subcommand, only that command is loaded.

    Loading one command instead of all keeps ``balloontop snapshot`` quick to start (the
    monitor's options and the other commands' modules are not imported for it).
    """
    only = argv[0] if argv and argv[0] in COMMAND_MODULES else None
    # The monitor (no command anywhere, no help asked): the commands' names are enough to
    # reject a stray word as argparse would; their modules stay unloaded (start-up time).
    names_only = only is None and not any(a in COMMAND_MODULES or a in ("-h", "--help") for a in argv)
    import argparse

    parser_class = _parser_class()
    parser = parser_class(
        prog="balloontop",
        description="Watch what the memory balloon of this Linux guest is doing.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"balloontop {__version__}")
    if not only:
        _monitor_module().register_top(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=parser_class)
    if names_only:
        for name in COMMAND_MODULES:
            sub.add_parser(name)
        return parser, {}
    modules = _command_modules([only] if only else COMMAND_MODULES)
    for module in modules.values():
        module.register(sub)
    return parser, modules


def _monitor_module() -> ModuleType:
    return importlib.import_module("balloontop.commands.monitor")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    modules: dict[str, ModuleType] = {}
    args: argparse.Namespace | SimpleNamespace
    if not argv:
        # Plain ``balloontop``: nothing to parse, so no parser is built (start-up time); the
        # monitor reads its options with getattr defaults, as for an empty command line.
        args = SimpleNamespace(command=None)
    else:
        parser, modules = build_parser(argv)
        args = parser.parse_args(argv)
    try:
        if args.command is None:
            code = int(_monitor_module().run(args) or 0)
        else:
            code = int(modules[args.command].run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BalloontopError as exc:
        print(f"balloontop: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError as exc:
        if _stdout_reader_gone():
            _die_of_sigpipe()  # output piped into `head` and closed: end as `cat` does
        print(f"balloontop: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        print(f"balloontop: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe (or socket) whose reader has closed it; a broken pipe of
    another kind (a remote guest's shell) is an error to report instead."""
    import select

    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & select.POLLERR for _fd, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _die_of_sigpipe() -> None:
    """End as a command killed by SIGPIPE does (``cat``, ``ls``): no message, and the shell
    sees the signal (status 141 in ``$PIPESTATUS``). Python ignores SIGPIPE at start-up, so
    the default action is restored just for this; the monitor never runs with it."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # what is still buffered goes nowhere, not to a second error
        os.close(devnull)
    except OSError:
        pass
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(128 + signal.SIGPIPE)  # not reached unless the signal is blocked


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
