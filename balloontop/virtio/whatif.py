"""What-if for virtio feature bits: what would change if a device had other bits negotiated.

Pure functions over ``VirtioDevice`` (no Textual): the feature decoder's screen shows their
words, tests call them directly. For a balloon the accounting line comes from the balloon
driver's own rule (``accounting_of``), so it cannot disagree with the monitor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from ..drivers.virtio_balloon import accounting_of
from ..model import FeatureSet, VirtioDevice
from .decode import decode_bits, short_name, unknown_bits
from .tables import (
    BALLOON_F_DEFLATE_ON_OOM,
    BALLOON_F_FREE_PAGE_HINT,
    BALLOON_F_MUST_TELL_HOST,
    BALLOON_F_PAGE_POISON,
    BALLOON_F_REPORTING,
    BALLOON_F_STATS_VQ,
    F_VERSION_1,
    bit_range,
)

BALLOON_ID = 5


def feature_set(bits: Sequence[int], width: int, device_id: int | None) -> FeatureSet:
    """A ``FeatureSet`` for ``bits`` as the kernel would print it in ``width`` characters."""
    chosen = set(bits)
    raw = "".join("1" if i in chosen else "0" for i in range(max(width, max(chosen, default=-1) + 1)))
    ordered = tuple(sorted(chosen))
    return FeatureSet(raw=raw, bits=ordered, unknown_bits=unknown_bits(ordered, device_id))


def toggled(device: VirtioDevice, what_if: Iterable[int]) -> list[int]:
    """The bits that differ between the device's negotiated set and ``what_if``."""
    actual = set(device.features.bits) if device.features else set()
    return sorted(actual ^ set(what_if))


def mask(bits: Iterable[int]) -> str:
    """The bits as a hex mask (``0x100000006``), as QEMU traces and bug reports give them."""
    return f"0x{sum(1 << b for b in set(bits)):x}"


def whatif_effects(device: VirtioDevice, what_if: Iterable[int]) -> list[str]:
    """What would change, in words, if ``device`` had ``what_if`` negotiated instead.

    One line per toggled bit, by bit."""
    chosen = frozenset(what_if)
    lines: list[str] = []
    for bit in toggled(device, chosen):
        on = bit in chosen
        decoded = decode_bits([bit], device.device_id)[0]
        head = f"bit {bit} {decoded.short_name or 'unknown bit'} turned {'on' if on else 'off'}: "
        text = balloon_effect(device, bit, on, chosen) if device.device_id == BALLOON_ID else None
        if text is None and bit == F_VERSION_1:
            text = ("the device would be a modern (virtio 1.0+) device: little-endian, spec semantics" if on else
                    "the device would be driven as a legacy (pre-1.0) device: native-endian config, "
                    "legacy feature semantics")
        if text is None:
            if decoded.known:
                verb = "would be used" if on else "would no longer be used"
                text = f"{decoded.meaning} -- {verb}"
            elif decoded.kind == "device-specific":
                text = "what it does depends on the device type (none given)"
            else:
                text = f"no table says what it does ({bit_range(bit)})"
        lines.append(head + text)
    return lines


def balloon_effect(device: VirtioDevice, bit: int, on: bool, what_if: frozenset[int]) -> str | None:
    """What toggling ``bit`` of a virtio balloon would change, or ``None`` for a bit without
    a balloon-specific effect."""
    if bit == BALLOON_F_DEFLATE_ON_OOM:
        width = device.features.width if device.features else 64
        now = accounting_of(device)
        then = accounting_of(replace(device, features=feature_set(sorted(what_if), width, device.device_id)))
        if then == "used":
            why = ("ballooned memory would stay in MemTotal and show as used, and the guest would "
                   "deflate the balloon (oom_pages per OOM event) before the OOM killer runs")
        else:
            why = ("ballooned memory would be removed from MemTotal (MemTotal shrinks as the balloon "
                   "inflates), and the guest would not give pages back when it runs out of memory")
        if now is None:  # no features file: the monitor cannot tell the mode today
            return f"accounting would be {then} (today unknown: features not readable): {why}"
        return f"accounting would change from {now} to {then}: {why}"
    if bit == BALLOON_F_STATS_VQ:
        return ("the host would receive memory statistics from the guest (stats virtqueue)" if on else
                "the host would not receive memory statistics from the guest (no stats virtqueue)")
    if bit == BALLOON_F_REPORTING:
        return ("free page reporting: the guest would report free pages so the host can drop their "
                "backing (host RSS shrinks; guest MemFree and MemTotal unchanged)" if on else
                "no free page reporting: the host would keep backing the guest's free pages")
    if bit == BALLOON_F_FREE_PAGE_HINT:
        return ("free page hinting: on a host request the guest would list free pages so live "
                "migration can skip them" if on else
                "no free page hinting: live migration would copy free pages too")
    if bit == BALLOON_F_PAGE_POISON:
        return ("the host would keep the guest's poison value in reported/hinted pages" if on else
                "if the guest poisons freed pages (page_poison, init_on_free), Linux would turn free "
                "page reporting off")
    if bit == BALLOON_F_MUST_TELL_HOST:
        return "only the order of deflation changes; no effect on the numbers balloontop shows"
    return None
