"""``balloontop oom [--root DIR] [--log FILE] [--json]``: the balloon's part in each OOM kill."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..guests import GUEST_HELP, add_guest_arguments

HELP_EPILOG = """\
The kernel log is /dev/kmsg on the live system (root /), <root>/dev/kmsg (a file of
recorded records) for any other root, or FILE with --log (raw /dev/kmsg records or pasted
dmesg output). Kernels >= 6.15 print the balloon's size in every OOM and SysRq-m report
(show_mem "Balloon:"); for older kernels the current reading is used, and said so.

exit status: 0 also when the log holds no OOM report; 1 when no kernel log can be read
(for example /dev/kmsg with kernel.dmesg_restrict=1 and not root, or a missing file);
3 when the root is not a directory."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "oom",
        help="explain each OOM kill in the kernel log and the balloon's part in it",
        description=(
            "For each OOM report in the kernel log: when it happened, which process was killed "
            "and how large it was, how much memory the balloon held at that moment, whether "
            "that memory was removed from MemTotal or counted as used, and what MemTotal would "
            "have been without it. SysRq-m and allocation-failure memory reports are listed "
            "with their balloon figures too."
        ),
        epilog=HELP_EPILOG + "\n\n" + GUEST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", default="/", metavar="DIR",
                        help="read this folder as the guest's / (default /)")
    parser.add_argument("--log", metavar="FILE",
                        help="read this recorded kmsg or dmesg file instead of the root's log")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list of the reports (balloon_kib null where the "
                             "report carried none; the account says what was used instead)")
    add_guest_arguments(parser, several=False)


def run(args: argparse.Namespace) -> int:
    from ..guests import guest_specs

    specs = guest_specs(args)
    if specs:
        return _run_remote(args, specs[0])
    from ..rootfs import check_root
    from ..errors import BalloontopError
    from ..kmsg.reader import KmsgReader
    from ..kmsg.reports import parse_reports
    from ..oom import accounts, boot_time_of
    from ..rootfs import Root
    from ..sampler import Sampler

    root = Root(check_root(args.root))
    if args.log:
        reader = KmsgReader(Root("/"), path=os.path.abspath(args.log))
    else:
        reader = KmsgReader(root)
    with reader:
        records = reader.read_new()
    if not records and reader.warnings:
        raise BalloontopError(f"no kernel log: {reader.warnings[0].removeprefix('kernel log: ')}")
    for problem in reader.warnings:  # read, but not all of it (a log cut at the read cap)
        print(f"balloontop: warning: {problem}", file=sys.stderr)
    sample = Sampler(root).sample()
    live_log = root.is_live and not args.log
    boot_time = boot_time_of(sample) if live_log else None
    found = accounts(parse_reports(records), sample, boot_time)
    return _print(args, found, records, reader.source, reader.skipped)


def _run_remote(args: argparse.Namespace, spec: object) -> int:
    """``oom`` over a remote guest: its ``dmesg`` (or DIR/dev/kmsg under a remote --root)
    and one reading, through the same connection."""
    from ..errors import BalloontopError
    from ..kmsg.reader import KmsgReader
    from ..kmsg.records import parse_log
    from ..kmsg.reports import parse_reports
    from ..oom import accounts, boot_time_of
    from ..remote.source import RemoteSource

    source = RemoteSource(spec)  # type: ignore[arg-type]
    try:
        sample = source.read_once()
        live_log = source.spec.root == "/" and not args.log
        if args.log:
            reader = KmsgReader("/", path=os.path.abspath(args.log))
            with reader:
                records = reader.read_new()
            if not records and reader.warnings:
                raise BalloontopError(f"no kernel log: {reader.warnings[0].removeprefix('kernel log: ')}")
            where, skipped = reader.source, reader.skipped
        elif live_log:
            text, why = source.kernel_log()
            if text is None:
                raise BalloontopError(f"no kernel log: {(why or 'unreadable').removeprefix('kernel log: ')}")
            result = parse_log(text)
            records, skipped, where = list(result.records), result.skipped, f"dmesg on {source.name}"
        else:
            reader = KmsgReader("/")  # replaced below: the guest's tree, once connected

            def read(tree: object) -> list:
                nonlocal reader
                reader = KmsgReader(tree)  # type: ignore[arg-type]
                return reader.read_new()

            records = source.read_with(read)
            if not records and reader.warnings:
                raise BalloontopError(f"no kernel log: {reader.warnings[0].removeprefix('kernel log: ')}")
            where, skipped = f"{source.name}:{reader.source}", reader.skipped
    finally:
        source.close()
    found = accounts(parse_reports(records), sample, boot_time_of(sample) if live_log else None)
    return _print(args, found, records, where, skipped)


def _print(args: argparse.Namespace, found: list[Any], records: list[Any], where: str, skipped: int) -> int:
    from ..safetext import clean, safe_output
    from ..strictjson import dumps, warning

    out = safe_output(sys.stdout)  # an ASCII terminal gets escapes, not UnicodeEncodeError
    if args.json:
        replaced: list[str] = []
        out.write(dumps([a.to_json() for a in found], replaced, indent=1) + "\n")
        if replaced:
            print(f"balloontop: warning: {warning(replaced)}", file=sys.stderr)
        return 0

    ooms = [a for a in found if a.report.kind == "oom"]
    others = [a for a in found if a.report.kind != "oom"]
    lines: list[str] = []
    if not ooms:
        last = records[-1].time_s if records else None
        span = f" (the log reaches {last:.0f} s after boot)" if last else ""
        lines.append(f"No OOM kill in the kernel log: {len(records)} records from {where}{span}.")
    for item in ooms:
        lines.append(item.text + "\n")
    if others:
        lines.append("Memory reports (show_mem) in the log:" if not ooms else
                     "Other memory reports (show_mem) in the log:")
        lines.extend(item.text for item in others)
    if skipped:
        lines.append(f"({skipped} log lines that are not records were skipped)")
    # the log's text is the guest's: control characters are shown escaped, never sent raw
    out.write(clean("\n".join(lines) + "\n", keep_newlines=True))
    return 0
