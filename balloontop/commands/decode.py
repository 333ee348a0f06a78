"""``balloontop decode``: name every bit of a virtio ``features`` value.

Forms: a sysfs string of ``0``/``1`` (bit 0 first), ``0xHEX`` (bit 0 is the least
significant bit), ``--bits 1,2,32``, or ``--all`` for every virtio device of a root.
Without ``--device`` only the transport bits can be named; the others are listed as
device-specific, not as errors. ``-`` (or no value when neither stdin nor stdout is a
terminal) reads the value from stdin: a ``features`` file's content.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..guests import GUEST_HELP, add_guest_arguments

EPILOG = """\
examples:
  balloontop decode 0110000000000000000000000000010010000000100000000000000000000000 --device balloon
  balloontop decode 0x100000006 --device 5
  balloontop decode --bits 1,2,32 --device balloon --json
  balloontop decode --all --root /
  cat /sys/bus/virtio/devices/virtio0/features | balloontop decode - --device balloon

a value of 0/1 groups split by spaces ("0110 0101") is a features string written in
groups: the groups are joined (said on stderr). When every group could also be a bit
number ("1 10 11") the value is refused (exit 2): give --bits 1,10,11, or the string
without spaces.
value "-", or no value when neither stdin nor stdout is a terminal: the value is read
from stdin (one line, at most 64 KiB), e.g. a features file's content."""

STDIN_LIMIT = 64 * 1024
"""Most bytes of a value read from stdin (a features file holds at most 129)."""

NO_VALUE = "give a features value, --bits LIST or --all (see balloontop decode --help)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "decode",
        help="explain virtio feature bits",
        description="Explain the bits of a virtio features value (sysfs string, 0xHEX or a bit list).",
        epilog=EPILOG + "\n\n" + GUEST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "value",
        nargs="?",
        help="features string (bit 0 first; 0/1 groups split by spaces are joined), 0xHEX, "
        "or - to read it from stdin",
    )
    parser.add_argument("--bits", metavar="LIST", help="comma-separated bit numbers, e.g. 1,2,32")
    parser.add_argument("--device", metavar="TYPE|ID", help="device type by name (net, block, balloon, ...) or id")
    parser.add_argument("--all", action="store_true", help="decode every virtio device of the root")
    parser.add_argument("--root", default="/", metavar="DIR", help="with --all: the guest's / (default /)")
    parser.add_argument("--json", action="store_true", help='print {"bits": [{"bit", "name", "meaning", "known"}]}')
    add_guest_arguments(parser, several=False)


def _reads_stdin(args: argparse.Namespace) -> bool:
    """``-``, or no value at all in a pipeline (neither stdin nor stdout a terminal)."""
    if args.bits is not None:
        return False  # with "-" too: "not both" is said when the value is parsed
    if args.value == "-":
        return True
    if args.value is not None:
        return False
    stdin = sys.stdin
    return stdin is not None and not stdin.isatty() and not sys.stdout.isatty()


def value_from_stdin(explicit: bool) -> str:
    """The one line piped to stdin (a features file's content), at most ``STDIN_LIMIT``
    bytes; ``UsageError`` when there is none, more than one, or too much; a stdin that
    cannot be read is an error (exit 1) only when ``-`` asked for it (``explicit``)."""
    from ..errors import BalloontopError, UsageError

    stream = sys.stdin
    if stream is None:
        raise UsageError(f"no stdin to read the value from: {NO_VALUE}")
    try:
        data = getattr(stream, "buffer", stream).read(STDIN_LIMIT + 1)
    except OSError as exc:
        if not explicit:  # stdin was only a guess at where the value is: none was given
            raise UsageError(NO_VALUE) from None
        raise BalloontopError(f"cannot read the value from stdin: {exc.strerror or exc}") from None
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if len(data) > STDIN_LIMIT:
        raise UsageError(f"stdin holds more than {STDIN_LIMIT // 1024} KiB: not a features value")
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        raise UsageError(f"stdin is empty: {NO_VALUE}" if explicit else NO_VALUE)
    if len(lines) > 1:
        raise UsageError(
            f"stdin holds {len(lines)} lines: give one features value (--all decodes every device)"
        )
    return lines[0]


def join_spaced_bitstring(value: str) -> tuple[str, str | None]:
    """A features string typed in groups (``"0110 0101"``) -> the string joined and a note
    for stderr; any other value unchanged (``None`` for the note).

    Joined only when every group is made of 0s and 1s and one of them cannot be a bit
    number (a leading 0, or more than 3 digits: the rule ``parse_any`` applies to one
    run); when every group could be a bit number (``"1 10"``) ``ValueError`` says both
    readings.
    """
    groups = value.split()
    if len(groups) < 2 or any(group.strip("01") for group in groups):
        return value, None
    if not any(len(g) > 3 or (len(g) > 1 and g[0] == "0") for g in groups):
        raise ValueError(
            f"{value.strip()!r} could be bit numbers or a features string: give --bits "
            f"{','.join(groups)} for bit numbers, or the string without spaces"
        )
    joined = "".join(groups)
    return joined, f"read {value.strip()!r} as the features string {joined}"


def _parse_value(args: argparse.Namespace, value: str | None) -> tuple[tuple[int, ...], int | None]:
    from ..errors import UsageError
    from ..safetext import clean, shorten
    from ..virtio.decode import parse_any, parse_bit_list

    if args.value is not None and args.bits is not None:
        raise UsageError("give either a features value or --bits, not both")
    try:
        if args.bits is not None:
            return parse_bit_list(args.bits), None
        text, note = join_spaced_bitstring(value or "")
        if note:
            sys.stderr.write(f"balloontop: {clean(shorten(note, 300))}\n")
        return parse_any(text)
    except ValueError as exc:
        raise UsageError(_message(exc, "--bits" if args.bits is not None else "features value")) from None


def _device(args: argparse.Namespace) -> int | None:
    from ..errors import UsageError
    from ..virtio.ids import parse_device

    if args.device is None:
        return None
    try:
        return parse_device(args.device)
    except ValueError as exc:
        raise UsageError(_message(exc, "--device")) from None


def _message(exc: ValueError, what: str) -> str:
    """The error in one line for the user; Python's digit limit for ``int()`` (a number of
    thousands of digits) is said plainly instead of naming an interpreter setting."""
    from ..safetext import clean, shorten

    text = str(exc)
    if "int_max_str_digits" in text or "integer string conversion" in text:
        return f"{what}: the number has too many digits to be a feature bit or a device id"
    return clean(shorten(text, 300))


def _bit_lines(decoded: list[Any]) -> list[str]:
    width = max((len(b.name or "") for b in decoded), default=0)
    lines = []
    for bit in decoded:
        name = bit.name or ("(device-specific)" if bit.kind == "device-specific" else "(unknown)")
        lines.append(f"  {bit.bit:>3}  {name:<{width}}  {bit.meaning}")
    return lines or ["  no bits set"]


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..virtio.decode import decode_bits
    from ..virtio.ids import device_type

    if args.all:
        from ..safetext import safe_output

        safe_output(sys.stdout)  # an ASCII terminal gets escapes, not UnicodeEncodeError
        return _run_all(args)
    value = args.value
    if _reads_stdin(args):
        value = value_from_stdin(explicit=args.value == "-")
    elif args.value is None and args.bits is None:
        if not sys.stdout.isatty():
            raise UsageError(NO_VALUE)
        # On a terminal: the interactive decoder over the root's devices (Textual only here).
        from ..tui.feature_decoder import FeatureDecoderApp

        devices, where = _devices_of(args, [])
        FeatureDecoderApp(devices, root=where, device=args.device).run()
        return 0
    from ..safetext import safe_output

    safe_output(sys.stdout)  # an ASCII terminal gets escapes, not UnicodeEncodeError
    bits, width = _parse_value(args, value)
    device_id = _device(args)
    decoded = decode_bits(bits, device_id)
    if args.json:
        document: dict[str, Any] = {"device_id": device_id, "width": width, "bits": [b.to_json() for b in decoded]}
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    kind = device_type(device_id) if device_id is not None else None
    title = f"device {kind.name} (id {device_id})" if kind else "no device given: device-specific bits not named"
    sys.stdout.write(f"{len(bits)} bits set" + (f" of {width}" if width else "") + f"; {title}\n")
    sys.stdout.write("\n".join(_bit_lines(decoded)) + "\n")
    return 0


def _devices_of(args: argparse.Namespace, warnings: list[str]) -> tuple[tuple[Any, ...], str]:
    """The virtio devices of the local root or of the remote guest, and where they are."""
    from ..guests import guest_specs
    from ..rootfs import check_root
    from ..rootfs import Root
    from ..virtio.devices import read_virtio_devices

    specs = guest_specs(args)
    if not specs:
        return read_virtio_devices(Root(check_root(args.root)), warnings), args.root
    from ..remote.source import RemoteSource

    def read(tree: Any) -> tuple[tuple[Any, ...], list[str]]:
        found: list[str] = []
        return read_virtio_devices(tree, found), found

    source = RemoteSource(specs[0])
    try:
        devices, found = source.read_with(read)
    finally:
        source.close()
    warnings.extend(found)
    return devices, f"{specs[0].label}:{specs[0].root}"


def _run_all(args: argparse.Namespace) -> int:
    from ..safetext import clean
    from ..virtio.decode import decode_bits

    warnings: list[str] = []
    devices, _where = _devices_of(args, warnings)
    if args.json:
        out = []
        for device in devices:
            decoded = decode_bits(device.features.bits, device.device_id) if device.features else []
            out.append({**device.to_json(), "bits": [b.to_json() for b in decoded]})
        json.dump({"devices": out, "warnings": warnings}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not devices:
        sys.stdout.write("no virtio devices under this root\n")
    for device in devices:
        kind = device.type or f"id {device.device_id}"
        width = f"{device.features.width} bits" if device.features else "no features file"
        sys.stdout.write(clean(f"{device.instance} ({kind}, driver {device.driver or 'none'}, {width})") + "\n")
        if device.features:
            sys.stdout.write("\n".join(_bit_lines(decode_bits(device.features.bits, device.device_id))) + "\n")
    for warning in warnings:
        sys.stderr.write(f"balloontop: {clean(warning)}\n")
    return 0
