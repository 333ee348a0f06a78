"""``balloontop snapshot [--root DIR] [--json] [--via CMD | --ssh HOST]``: one reading, as
text or JSON, of the local root or of one remote guest."""

from __future__ import annotations

import argparse
import json
import sys

from ..guests import GUEST_HELP, add_guest_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="print one reading of the balloon and exit",
        description="Read the guest's balloon interfaces once and print them.",
        epilog=GUEST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", default="/", metavar="DIR",
                        help="read this folder as the guest's / (default /; with --via/--ssh a folder on the guest)")
    parser.add_argument("--json", action="store_true", help="print the JSON document (schema 1)")
    add_guest_arguments(parser, several=False)


def run(args: argparse.Namespace) -> int:
    from ..cli import check_root
    from ..guests import guest_specs
    from ..sampler import Sampler

    specs = guest_specs(args)
    if specs:
        from ..remote.source import RemoteSource

        source = RemoteSource(specs[0])
        try:
            sample = source.read_once()
        finally:
            source.close()
    else:
        sample = Sampler(check_root(args.root)).sample()
    if args.json:
        json.dump(sample.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        from ..printable import printable
        from ..report_text import render_text

        sys.stdout.write(printable(render_text(sample)))
    return 0
