"""``balloontop snapshot [--root DIR] [--json]``: one reading, as text or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import Sample


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="print one reading of the balloon and exit",
        description="Read the guest's balloon interfaces once and print them.",
    )
    parser.add_argument("--root", default="/", metavar="DIR", help="read this folder as the guest's / (default /)")
    parser.add_argument("--json", action="store_true", help="print the JSON document (schema 1)")
    _register_host(parser)


def _register_host(parser: argparse.ArgumentParser) -> None:
    """``--qmp SOCKET [--qmp-stats-interval S]``: the host's view beside the guest's."""
    from ..host.options import add_qmp_options

    add_qmp_options(parser)


def run(args: argparse.Namespace) -> int:
    from ..cli import check_root
    from ..sampler import Sampler

    sample = Sampler(check_root(args.root)).sample()
    sample = _with_host(args, sample)
    if args.json:
        json.dump(sample.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        from ..report_text import render_text

        sys.stdout.write(render_text(sample))
    return 0


def _with_host(args: argparse.Namespace, sample: Sample) -> Sample:
    """The sample with ``host`` read from ``--qmp`` (a failure is a line on stderr and the
    reading's ``error``: the guest's view is printed all the same, exit 0)."""
    from ..host.options import host_reader, with_host

    reader = host_reader(args)
    if reader is None:
        return sample
    with reader:
        sample = with_host(sample, reader)
    if sample.host is not None and sample.host.error:
        sys.stderr.write(f"balloontop: {sample.host.error}\n")
    return sample
