"""``balloontop snapshot [--root DIR] [--json] [--via CMD | --ssh HOST]``: one reading, as
text or JSON, of the local root or of one remote guest."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import Sample

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
    _register_host(parser)


def _register_host(parser: argparse.ArgumentParser) -> None:
    """``--qmp SOCKET [--qmp-stats-interval S]``: the host's view beside the guest's."""
    from ..host.options import add_qmp_options

    add_qmp_options(parser)


def run(args: argparse.Namespace) -> int:
    from ..rootfs import check_root
    from ..safetext import clean, safe_output
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
        sample = _with_host(args, sample, specs[0].qmp)
    else:
        sample = _with_host(args, Sampler(check_root(args.root)).sample(), args.qmp)
    out = safe_output(sys.stdout)  # an ASCII terminal gets escapes, not UnicodeEncodeError
    if args.json:
        out.write(json_document(sample.to_json()) + "\n")
    else:
        from ..report_text import render_text

        out.write(clean(render_text(sample), keep_newlines=True))  # guest text: no control bytes
    return 0


def json_document(doc: dict) -> str:
    """``doc`` as strict JSON; a value that is not finite is ``null`` and named in its warnings."""
    from ..strictjson import dumps, warning

    replaced: list[str] = []
    text = dumps(doc, replaced, indent=1)
    if replaced and isinstance(doc.get("warnings"), list):
        doc = {**doc, "warnings": [*doc["warnings"], warning(replaced)]}
        text = dumps(doc, None, indent=1)
    return text


def _with_host(args: argparse.Namespace, sample: Sample, socket: str | None) -> Sample:
    """The sample with ``host`` read from its ``--qmp`` socket (a failure is a line on stderr
    and the reading's ``error``: the guest's view is printed all the same, exit 0)."""
    from ..host.options import host_reader, with_host

    reader = host_reader(argparse.Namespace(qmp=socket, qmp_stats_interval=args.qmp_stats_interval))
    if reader is None:
        return sample
    with reader:
        sample = with_host(sample, reader)
    if sample.host is not None and sample.host.error:
        sys.stderr.write(f"balloontop: {sample.host.error}\n")
    return sample
