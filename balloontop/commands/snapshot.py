"""``balloontop snapshot [--root DIR] [--json]``: one reading, as text or JSON."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="print one reading of the balloon and exit",
        description="Read the guest's balloon interfaces once and print them.",
    )
    parser.add_argument("--root", default="/", metavar="DIR", help="read this folder as the guest's / (default /)")
    parser.add_argument("--json", action="store_true", help="print the JSON document (schema 1)")


def run(args: argparse.Namespace) -> int:
    from ..rootfs import check_root
    from ..sampler import Sampler

    sample = Sampler(check_root(args.root)).sample()
    if args.json:
        json.dump(sample.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        from ..report_text import render_text

        sys.stdout.write(render_text(sample))
    return 0
