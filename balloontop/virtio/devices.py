"""Read every ``/sys/bus/virtio/devices/virtioN`` of a root (``drivers/virtio/virtio.c``).

Per device: ``device`` and ``vendor`` (``0x%04x``), ``status`` (``0x%08x``), the bound
driver (the ``driver`` link), the bus address (the parent of the device's real directory:
a PCI address, a virtio-mmio platform device or a ccw bus id) and ``features`` (one
``0``/``1`` per bit, bit 0 first, 64 or 128 characters; the negotiated set). With
CONFIG_VIRTIO_DEBUG and debugfs mounted, ``virtio/virtioN/device_features`` adds the bits
the device offered.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Hashable

from ..model import FeatureSet, VirtioDevice
from ..parsers import parse_int
from ..tree import FileTree
from .decode import parse_bitstring, unknown_bits
from .ids import device_type

DEVICES_DIR = "sys/bus/virtio/devices"
MAX_FEATURE_BITS = 128  # sysfs prints 64 bits, 128 since Linux 6.17 (VIRTIO_FEATURES_MAX)
DEBUG_DIR = "sys/kernel/debug/virtio"  # drivers/virtio/virtio_debug.c

# include/uapi/linux/virtio_config.h: VIRTIO_CONFIG_S_*
STATUS_FLAGS = (
    (0x01, "ACKNOWLEDGE"),
    (0x02, "DRIVER"),
    (0x04, "DRIVER_OK"),
    (0x08, "FEATURES_OK"),
    (0x20, "SUSPEND"),
    (0x40, "NEEDS_RESET"),
    (0x80, "FAILED"),
)


def status_flags(status: int) -> tuple[str, ...]:
    """Names of the status bits set, in bit order; unnamed bits as ``0x..``."""
    names = [name for bit, name in STATUS_FLAGS if status & bit]
    named = sum(bit for bit, _ in STATUS_FLAGS)
    if status & ~named:
        names.append(f"0x{status & ~named:x}")
    return tuple(names)


@functools.lru_cache(maxsize=64)
def decode_features(text: str, device_id: int | None) -> FeatureSet | None:
    """A sysfs ``features`` string as a ``FeatureSet``, or ``None`` when it is not one.

    Cached: a device's string changes only when its driver negotiates again.
    """
    raw = text.strip()
    try:
        bits, _width = parse_bitstring(raw)
    except ValueError:
        return None
    return FeatureSet(raw=raw, bits=bits, unknown_bits=unknown_bits(bits, device_id))


class DeviceCache:
    """What never changes while a device exists (its type, vendor and bus address), kept
    between readings. A device directory is the same device while its inode is: a device
    removed and another added under the same ``virtioN`` name is read afresh."""

    def __init__(self) -> None:
        self._static: dict[str, tuple[Hashable, tuple]] = {}

    def get(self, instance: str, inode: Hashable) -> tuple | None:
        entry = self._static.get(instance)
        return entry[1] if entry is not None and entry[0] == inode else None

    def put(self, instance: str, inode: Hashable, static: tuple) -> None:
        self._static[instance] = (inode, static)

    def keep_only(self, instances: set[str]) -> None:
        for gone in self._static.keys() - instances:
            del self._static[gone]


def _static_fields(root: FileTree, base: str, warnings: list[str] | None = None) -> tuple:
    """(device id, type name, vendor, bus address) of the device at ``base``."""
    device_id = _hex_file(root, f"{base}/device", warnings)
    kind = device_type(device_id) if device_id is not None else None
    real = root.real_rel(base)
    return (device_id, kind.name if kind else None, _hex_file(root, f"{base}/vendor"),
            posixpath.basename(posixpath.dirname(real)) if real else None)


def read_device(root: FileTree, instance: str, warnings: list[str],
                cache: DeviceCache | None = None) -> VirtioDevice | None:
    """One device, or ``None`` when its directory vanished before it could be read."""
    base = f"{DEVICES_DIR}/{instance}"
    inode = root.dir_identity(base)
    if inode is None:
        warnings.append(f"virtio device {instance} vanished while it was being read")
        return None
    static = cache.get(instance, inode) if cache is not None else None
    if static is None:
        static = _static_fields(root, base, warnings)
        if cache is not None:
            cache.put(instance, inode, static)
    device_id, kind, vendor, bus_address = static
    status = _hex_file(root, f"{base}/status", warnings)
    features = None
    text, error = root.read_text(f"{base}/features")
    if text is not None and len(text.strip()) > MAX_FEATURE_BITS:
        warnings.append(f"{instance}: features file holds {len(text.strip())} characters, more than the "
                        f"{MAX_FEATURE_BITS} bits virtio defines: only the first {MAX_FEATURE_BITS} read")
        text = text.strip()[:MAX_FEATURE_BITS]
    if text is not None:
        features = decode_features(text, device_id)
        if features is None:
            warnings.append(f"{instance}: features file is not a bit string: {text[:40]!r}")
    elif error is not None and error.reason != "missing":
        warnings.append(f"{instance}: features unreadable: {error.detail}")
    driver_link = root.readlink(f"{base}/driver")
    return VirtioDevice(
        instance=instance,
        device_id=device_id,
        type=kind,
        vendor=vendor,
        status=status,
        status_flags=status_flags(status) if status is not None else (),
        bus_address=bus_address,
        driver=posixpath.basename(driver_link) if driver_link else None,
        features=features,
        offered_bits=read_offered_bits(root, instance),
    )


def read_offered_bits(root: FileTree, instance: str) -> tuple[int, ...] | None:
    """The device's offered bits from debugfs (one decimal per line), if readable."""
    text = root.text(f"{DEBUG_DIR}/{instance}/device_features")
    if text is None:
        return None
    bits = {parse_int(line) for line in text.split()}
    return tuple(sorted(b for b in bits if b is not None and 0 <= b < 1024))


def read_virtio_devices(root: FileTree, warnings: list[str],
                        cache: DeviceCache | None = None) -> tuple[VirtioDevice, ...]:
    """All virtio devices of the root, in ``virtioN`` order (``cache``: a poller's
    ``DeviceCache``, so each tick reads only what can change)."""
    names = [n for n in root.listdir(DEVICES_DIR) if n.startswith("virtio")]
    names.sort(key=lambda n: (len(n), n))
    if cache is not None:
        cache.keep_only(set(names))
    devices = (read_device(root, name, warnings, cache) for name in names)
    return tuple(d for d in devices if d is not None)


def _hex_file(root: FileTree, rel: str, warnings: list[str] | None = None) -> int | None:
    """A ``0x%04x``/``0x%08x`` attribute; a value that is not one (or too long to be one) is
    ``None``, with a warning that shows at most its first characters."""
    text = root.text(rel)
    if not text:
        return None
    value = parse_int(text)
    if value is None or not 0 <= value < 1 << 64:
        if warnings is not None:
            shown = text.strip()
            shown = shown if len(shown) <= 40 else f"{shown[:40]}... ({len(shown)} characters)"
            warnings.append(f"/{rel}: not a number: {shown!r}")
        return None
    return value
