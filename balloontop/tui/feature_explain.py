"""What the feature decoder says about a bit, and the pseudo-device a pasted value becomes.

Pure functions over a ``VirtioDevice``, tested without a screen: ``explain`` writes the
detail panel's text (with the what-if effects of toggled bits), ``pasted_device`` turns a
pasted features string, hex value or bit list into the ``pasted`` pseudo-device, and
``device_label`` names a device in the lists and titles.
"""

from __future__ import annotations

from textual.markup import escape

from ..model import VirtioDevice
from ..virtio.decode import DecodedBit, decode_bits, parse_any
from ..virtio.ids import device_type, parse_device
from ..virtio.tables import bit_range
from ..virtio.whatif import feature_set, mask, toggled, whatif_effects

PASTED = "pasted"


def pasted_device(features: str, device: str = "") -> VirtioDevice:
    """The pseudo-device for a pasted value; ``ValueError`` in plain words when it is not one."""
    if not features.strip():
        raise ValueError("nothing to decode: paste a features string (0/1, bit 0 first), 0xHEX or bit numbers")
    device_id = parse_device(device) if device.strip() else None
    bits, width = parse_any(features)
    if width is None:
        width = 128 if bits and max(bits) >= 64 else 64
    kind = device_type(device_id) if device_id is not None else None
    return VirtioDevice(
        instance=PASTED,
        device_id=device_id,
        type=kind.name if kind else (f"id {device_id}" if device_id is not None else None),
        vendor=None,
        status=None,
        status_flags=(),
        bus_address=None,
        driver=None,
        features=feature_set(bits, width, device_id),
    )


def device_label(device: VirtioDevice) -> str:
    kind = device.type or (f"id {device.device_id}" if device.device_id is not None else "no type")
    return f"{device.instance} {kind}"


def explain(device: VirtioDevice, bit: int, what_if: set[int] | frozenset[int] | None = None) -> str:
    """The detail panel's text (Textual markup) for ``bit`` of ``device``."""
    decoded: DecodedBit = decode_bits([bit], device.device_id)[0]
    actual = set(device.features.bits) if device.features else set()
    is_set = bit in actual
    if decoded.known:
        title = f"[b]bit {bit}[/]  [b]{escape(decoded.name or '')}[/]"
    elif decoded.kind == "device-specific":
        title = f"[b]bit {bit}[/]  [b]device-specific[/] (no device type given)"
    else:
        title = f"[b]bit {bit}[/]  [b $warning]UNKNOWN[/]"
    state = "[b $success]SET[/] (negotiated)" if is_set else "not set"
    lines = [f"{title}  --  {state}"]
    if device.features is None:
        lines[0] = f"{title}  --  features not readable"
    lines.append(escape(decoded.meaning))
    where = f"range: {bit_range(bit)}"
    if decoded.header and not decoded.known:  # a proposed/vendor hint: its source, not a definition
        lines.append(f"[$text-muted]hint from {escape(decoded.header)}; {where}[/]")
    elif decoded.header:
        lines.append(f"[$text-muted]from {escape(decoded.header)}; {where}[/]")
    elif decoded.known or decoded.kind == "device-specific":
        lines.append(f"[$text-muted]{where}[/]")
    if device.offered_bits is not None:
        offered = bit in device.offered_bits
        if offered and not is_set:
            lines.append("[b $accent]offered by the device, not negotiated[/] (the driver or Linux turned it off)")
        elif is_set and not offered:
            lines.append("negotiated but not in the device's offered list (debugfs)")
        else:
            lines.append(f"offered by the device: {'yes' if offered else 'no'}")
    elif device.instance != PASTED:
        lines.append("[$text-muted]offered bits: not known (needs CONFIG_VIRTIO_DEBUG and debugfs)[/]")
    if decoded.detail:
        lines += ["", escape(decoded.detail)]
    if what_if is not None:
        effects = whatif_effects(device, what_if)
        if effects:
            # The user's own change comes first: at 80x24 the panel shows about 8 lines.
            changes = " ".join(f"{'+' if b in what_if else '-'}{b}" for b in toggled(device, what_if))
            head = [f"[b $primary]what-if[/] {changes} = {mask(what_if)} (hypothetical, nothing is "
                    "written; r resets):"]
            head += [f"  {escape(e)}" for e in effects]
            lines = head + [""] + lines
        else:
            lines += ["", "[$text-muted]what-if: space toggles this bit to see what would change[/]"]
    return "\n".join(lines)
