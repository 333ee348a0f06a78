"""Decode virtio feature sets: parse what the user or sysfs gives, name every bit.

Pure functions. Bad input raises ``ValueError`` (with a message fit for the user) and
nothing else. Three input forms:

* a sysfs ``features`` string: one ``'0'``/``'1'`` per bit, **bit 0 first**, any length
  (32, 64 and 128 are real; ``drivers/virtio/virtio.c: features_show()``);
* hex: ``0x...``, bit 0 = least significant bit (as in ``1ULL << bit`` masks);
* a list of bit numbers: ``"1,2,32"`` or ``"1 2 32"`` (e.g. debugfs ``device_features``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from .tables import TRANSPORT_BITS, bit_range, is_device_specific, lookup

MAX_LIST_BIT = 127
"""Largest bit a hex value or bit list may name (Linux keeps 128 bits since 6.17)."""

_HEX = re.compile(r"0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*")
_LIST_SPLIT = re.compile(r"[\s,]+")


def _show(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_bitstring(text: str) -> tuple[tuple[int, ...], int]:
    """A sysfs features string -> (set bits in ascending order, width in characters).

    Surrounding whitespace (the trailing newline) is ignored.
    """
    if not isinstance(text, str):
        raise ValueError(f"features string must be text, not {type(text).__name__}")
    s = text.strip()
    if not s or s.strip("01"):
        raise ValueError(f"features string has characters other than 0 and 1: {_show(s)}")
    return tuple(i for i, c in enumerate(s) if c == "1"), len(s)


def parse_hex(text: str) -> tuple[int, ...]:
    """``0x...`` (bit 0 = least significant) -> set bits; at most 128 bits."""
    if not isinstance(text, str):
        raise ValueError(f"hex features must be text, not {type(text).__name__}")
    s = text.strip()
    if not _HEX.fullmatch(s):
        raise ValueError(f"not a hex feature mask (expected 0x followed by hex digits): {_show(s)}")
    value = int(s.replace("_", ""), 16)
    if value.bit_length() > MAX_LIST_BIT + 1:
        raise ValueError(f"hex feature mask sets bits above {MAX_LIST_BIT}: {_show(s)}")
    return tuple(b for b in range(value.bit_length()) if value >> b & 1)


def parse_bit_list(text: str) -> tuple[int, ...]:
    """``"1,2,32"`` / ``"1 2 32"`` -> sorted, de-duplicated bits (each 0..127)."""
    if not isinstance(text, str):
        raise ValueError(f"bit list must be text, not {type(text).__name__}")
    tokens = [t for t in _LIST_SPLIT.split(text.strip()) if t]
    if not tokens:
        raise ValueError("empty list of feature bits")
    bits = set()
    for tok in tokens:
        if not (tok.isascii() and tok.isdigit()):
            raise ValueError(f"not a feature bit number: {_show(tok)} (give numbers 0-{MAX_LIST_BIT})")
        bit = int(tok)
        if bit > MAX_LIST_BIT:
            raise ValueError(f"feature bit {bit} is above {MAX_LIST_BIT}")
        bits.add(bit)
    return tuple(sorted(bits))


def parse_any(text: str) -> tuple[tuple[int, ...], int | None]:
    """Guess the form and parse it -> (bits, width of a bit string or ``None``).

    Rule, after stripping whitespace: a ``0x``/``0X`` prefix means hex; one run of digits
    that no bit number could be (more than 3 digits, or a leading ``0``) means a sysfs bit
    string (bit 0 first), so a mistyped string such as ``0120...`` is reported as one;
    anything else is a list of bit numbers. So ``"10"`` is bit 10, while ``"00000001"`` is
    bit 7.
    """
    if not isinstance(text, str):
        raise ValueError(f"features must be text, not {type(text).__name__}")
    s = text.strip()
    if s[:2] in ("0x", "0X"):
        return parse_hex(s), None
    if s.isdigit() and (len(s) > 3 or (len(s) > 1 and s[0] == "0")):
        return parse_bitstring(s)
    return parse_bit_list(s), None


def short_name(macro: str) -> str:
    """The one short form of a feature macro, used by every output that shortens names:
    ``VIRTIO_BALLOON_F_DEFLATE_ON_OOM`` -> ``DEFLATE_ON_OOM``, ``VIRTIO_F_VERSION_1`` ->
    ``VERSION_1``, ``VIRTIO_RING_F_EVENT_IDX`` -> ``EVENT_IDX``."""
    if "_F_" in macro:
        return macro.split("_F_", 1)[1]
    return macro.removeprefix("VIRTIO_")


class DecodedBit(NamedTuple):
    """One set bit, named (or explained as unknown) for a device type."""

    bit: int
    name: str | None
    """Macro name; ``None`` unless ``known``."""
    meaning: str
    known: bool
    """A Linux header or the virtio spec defines the bit for this device (or transport)."""
    kind: str
    """``transport``, ``device``, ``device-specific`` (no device given) or ``unknown``."""
    header: str | None
    detail: str
    status: str | None
    """Table status (``linux``, ``spec``, ``legacy``; ``proposed``/``vendor`` for hints)."""

    @property
    def range(self) -> str:
        return bit_range(self.bit)

    @property
    def short_name(self) -> str | None:
        """The macro without its prefix (``DEFLATE_ON_OOM``, ``VERSION_1``); ``None`` if unnamed."""
        return short_name(self.name) if self.name else None

    def to_json(self) -> dict[str, Any]:
        return {
            "bit": self.bit,
            "name": self.name,
            "meaning": self.meaning,
            "known": self.known,
            "kind": self.kind,
            "range": self.range,
            "header": self.header,
            "detail": self.detail,
            "status": self.status,
        }


def _check_bits(bits: Iterable[int]) -> list[int]:
    try:
        items = list(bits)
    except TypeError as exc:
        raise ValueError(f"feature bits must be a collection of integers: {exc}") from None
    out = set()
    for b in items:
        if isinstance(b, bool) or not isinstance(b, int):
            raise ValueError(f"feature bit must be an integer, not {b!r}")
        if b < 0:
            raise ValueError(f"feature bit must not be negative: {b}")
        out.add(b)
    return sorted(out)


def _decode_one(bit: int, device_id: int | None) -> DecodedBit:
    entry = lookup(bit, device_id)
    if entry is not None and entry.known:
        kind = "transport" if TRANSPORT_BITS.get(bit) is entry else "device"
        return DecodedBit(bit, entry.name, entry.meaning, True, kind, entry.header,
                          entry.detail, entry.status)
    where = bit_range(bit)
    if device_id is None and is_device_specific(bit):
        return DecodedBit(bit, None, f"{where}: its meaning depends on the device type (none given)",
                          False, "device-specific", None, "", None)
    meaning = f"not defined by Linux or the virtio spec: {where}; a vendor extension?"
    if entry is not None:
        meaning += f" ({entry.status}: {entry.name}, {entry.meaning})"
        return DecodedBit(bit, None, meaning, False, "unknown", entry.header, entry.detail,
                          entry.status)
    return DecodedBit(bit, None, meaning, False, "unknown", None, "", None)


def decode_bits(bits: Iterable[int], device_id: int | None) -> list[DecodedBit]:
    """Every bit of ``bits`` named for ``device_id`` (``None``: transport bits only), by bit."""
    return [_decode_one(b, device_id) for b in _check_bits(bits)]


def unknown_bits(bits: Iterable[int], device_id: int | None) -> tuple[int, ...]:
    """Bits no table defines for ``device_id``.

    With ``device_id=None`` device-specific bits (0-23, 50-127) are not counted: only bits
    outside those ranges that no transport entry names.
    """
    return tuple(d.bit for d in decode_bits(bits, device_id) if d.kind == "unknown")
