"""``balloontop snapshot [--root DIR] [--json]``: one reading, as text or JSON."""

from __future__ import annotations

import argparse
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
    from ..safetext import clean, safe_output
    from ..sampler import Sampler

    sample = Sampler(check_root(args.root)).sample()
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
