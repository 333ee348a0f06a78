"""Balloon drivers' debugfs files: ``hv-balloon``, ``vmmemctl`` and ``virtio-balloon``.

Formats (see the kernel-interfaces reference, sections 1.1, 3 and 4):
- ``hv-balloon`` (``drivers/hv/hv_balloon.c``, Linux >= 6.0): ``"%-22s: ..."`` lines; an
  earlier revision of the patch (the design note, some vendor kernels) used the labels
  ``pages_ballooned_out``, ``vm_pages_commited`` and ``total_pages_commited``.
- ``vmmemctl`` (``drivers/misc/vmw_balloon.c``): since about 4.20 ``"%-22s: %16..."``
  lines where ``target`` appears twice (the size in frames, then the GET_TARGET command
  counter with its failures) and page statistics carry ``(4k)``/``(2M)``; before that,
  unpadded ``target: N pages`` and ``prim*`` statistics.
- ``virtio-balloon`` (vzkernel only): ``InflatedTotal: N kB`` / ``InflatedFree: N kB``.
"""

from __future__ import annotations

import re

from . import MAX_COUNTER, bad_line, implausible, parse_int

MAX_TEXT = 200  # a word list (capabilities) or version string is far shorter

HvStats = dict[str, "int | str"]

HV_LABELS = {
    # Earlier (design note) label -> mainline label.
    "pages_ballooned_out": "pages_ballooned",
    "total_pages_commited": "total_pages_committed",
    "vm_pages_commited": "vm_pages_committed",
}

HV_STATES = {
    0: "Initializing",
    1: "Initialized",
    2: "Balloon Up",
    3: "Balloon Down",
    4: "Hot Add",
    5: "Error",
}


def parse_hv_balloon(text: str, source: str = "hv-balloon") -> tuple[HvStats, list[str]]:
    """Fields of ``/sys/kernel/debug/hv-balloon`` under their mainline names.

    ``state`` becomes ``state`` (number) and ``state_name``; ``capabilities`` stays a
    string of words. ``format`` is ``mainline`` or ``design-note`` (earlier labels).
    """
    values: HvStats = {}
    warnings: list[str] = []
    earlier = False
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("//", 1)[0].rstrip()  # the design note annotates lines with //
        if not line.strip():
            continue
        key, sep, rest = line.partition(":")
        key, rest = key.strip(), rest.strip()
        if not sep or not key or " " in key:
            warnings.append(bad_line(source, number, line))
            continue
        if key in HV_LABELS:
            earlier = True
        key = HV_LABELS.get(key, key)
        if key in ("host_version", "capabilities"):
            if len(rest) > MAX_TEXT:
                warnings.append(f"{source} line {number}: {key} is {len(rest)} characters long: cut")
                rest = rest[:MAX_TEXT] + "..."
            values[key] = rest
        elif key == "state":
            match = re.match(r"^(\d+)\s*(?:\((.*)\))?$", rest)
            if not match:
                warnings.append(bad_line(source, number, line))
                continue
            values["state"] = int(match.group(1))
            values["state_name"] = match.group(2) or HV_STATES.get(int(match.group(1)), "Unknown")
        else:
            number_value = parse_int(rest)
            if number_value is None:
                warnings.append(bad_line(source, number, line))
                continue
            if not 0 <= number_value < MAX_COUNTER:
                warnings.append(implausible(f"{source} line {number}", key, number_value))
                continue
            values[key] = number_value
    if values:
        values["format"] = "design-note" if earlier else "mainline"
    return values, warnings


_VMW_LINE = re.compile(
    r"^(?P<key>[A-Za-z0-9][\w -]*?)\s*(?:\((?P<size>4k|2M)\))?\s*:\s*"
    r"(?P<value>\S+)(?:\s+(?P<unit>pages(?:/sec)?))?"
    r"\s*(?:\(\s*(?P<failed>\d+)\s+failed\))?\s*$"
)


def parse_vmmemctl(text: str, source: str = "vmmemctl") -> tuple[dict[str, int | str], list[str]]:
    """Fields of ``/sys/kernel/debug/vmmemctl``, either format, as flat integer names.

    Sizes are in 4 KiB frames: ``target`` and ``current``. Commands become ``<name>`` and
    ``<name>_failed`` (the GET_TARGET command, also labelled ``target``, is ``cmd_target``);
    page statistics become ``<name>_4k``/``<name>_2M``; ``is_resetting`` stays ``y``/``n``;
    ``format`` is 1 for the padded (>= 4.20) format and 0 for the older one.
    """
    values: dict[str, int | str] = {}
    warnings: list[str] = []
    padded = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _VMW_LINE.match(line.strip())
        if not match:
            warnings.append(bad_line(source, number, line))
            continue
        key = match["key"].strip().replace(" ", "_")
        raw = match["value"]
        padded = padded or bool(re.match(r"^[\w -]+\s{2,}:", line)) or bool(match["size"])
        if key == "is_resetting":
            values[key] = raw[:MAX_TEXT]  # type: ignore[assignment]  # "y" or "n", as the file says
            continue
        value = parse_int(raw)
        if value is None:
            warnings.append(bad_line(source, number, line))
            continue
        if not 0 <= value < MAX_COUNTER:
            warnings.append(implausible(f"{source} line {number}", key, value))
            continue
        if match["size"]:
            key = f"{key}_{match['size']}"
        elif match["failed"] is not None:
            if key == "target":
                key = "cmd_target"
            values[f"{key}_failed"] = int(match["failed"])
        elif key in values:
            warnings.append(f"{source} line {number}: {key!r} repeated")
            continue
        values[key] = value
    if values:
        values["format"] = 1 if padded else 0
    return values, warnings
