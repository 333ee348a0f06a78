"""``balloontop oom [--root DIR] [--log FILE] [--json]``: the balloon's part in each OOM kill."""

from __future__ import annotations

import argparse
import json
import os
import sys

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
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", default="/", metavar="DIR",
                        help="read this folder as the guest's / (default /)")
    parser.add_argument("--log", metavar="FILE",
                        help="read this recorded kmsg or dmesg file instead of the root's log")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list of the reports (balloon_kib null where the "
                             "report carried none; the account says what was used instead)")


def run(args: argparse.Namespace) -> int:
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
    sample = Sampler(root).sample()
    live_log = root.is_live and not args.log
    boot_time = boot_time_of(sample) if live_log else None
    found = accounts(parse_reports(records), sample, boot_time)
    if args.json:
        json.dump([a.to_json() for a in found], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    ooms = [a for a in found if a.report.kind == "oom"]
    others = [a for a in found if a.report.kind != "oom"]
    out = sys.stdout
    if not ooms:
        span = f" (uptime {records[-1].time_s:.0f} s)" if records and records[-1].time_s else ""
        out.write(f"No OOM kill in the kernel log: {len(records)} records from {reader.source}"
                  f"{span}.\n")
    for item in ooms:
        out.write(item.text + "\n\n")
    if others:
        out.write("Memory reports (show_mem) in the log:\n" if not ooms else
                  "Other memory reports (show_mem) in the log:\n")
        for item in others:
            out.write(item.text + "\n")
    if reader.skipped:
        out.write(f"({reader.skipped} log lines that are not records were skipped)\n")
    return 0
