"""Virtio device types: the ``device`` number in sysfs, named.

Source: ``include/uapi/linux/virtio_ids.h`` (torvalds/linux; ids 1-41 read in the tree,
45 ``VIRTIO_ID_SPI`` read in the patch adding it and in QEMU's header sync of it).
Ids the header does not define but the virtio spec's "Device Types" table does
(virtio-spec ``content.tex``, chapter "Device Types") carry ``source="spec"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple


class DeviceType(NamedTuple):
    """One virtio device type."""

    id: int
    name: str
    """Short lower-case name: ``"net"``, ``"balloon"``, ``"mem"``."""
    title: str
    """Words for a person: ``"Network card"``."""
    macro: str
    """``VIRTIO_ID_*`` macro (a spec-only id gets the name the spec's wording suggests)."""
    source: str = "linux"
    """``"linux"``: defined in ``virtio_ids.h``; ``"spec"``: only in the virtio spec's table."""


def _t(id: int, name: str, title: str, macro: str, source: str = "linux") -> DeviceType:
    return DeviceType(id=id, name=name, title=title, macro=macro, source=source)


_ALL = (
    _t(1, "net", "Network card", "VIRTIO_ID_NET"),
    _t(2, "block", "Block device (disk)", "VIRTIO_ID_BLOCK"),
    _t(3, "console", "Console (serial ports)", "VIRTIO_ID_CONSOLE"),
    _t(4, "rng", "Entropy source (random numbers)", "VIRTIO_ID_RNG"),
    _t(5, "balloon", "Memory balloon (traditional)", "VIRTIO_ID_BALLOON"),
    _t(6, "iomem", "ioMemory", "VIRTIO_ID_IOMEM"),
    _t(7, "rpmsg", "Remote processor messaging", "VIRTIO_ID_RPMSG"),
    _t(8, "scsi", "SCSI host", "VIRTIO_ID_SCSI"),
    _t(9, "9p", "9P file transport", "VIRTIO_ID_9P"),
    _t(10, "mac80211-wlan", "mac80211 WLAN", "VIRTIO_ID_MAC80211_WLAN"),
    _t(11, "rproc-serial", "Remoteproc serial link", "VIRTIO_ID_RPROC_SERIAL"),
    _t(12, "caif", "CAIF", "VIRTIO_ID_CAIF"),
    _t(13, "memory-balloon", "Memory balloon (new, reserved, unused)", "VIRTIO_ID_MEMORY_BALLOON"),
    _t(16, "gpu", "GPU", "VIRTIO_ID_GPU"),
    _t(17, "clock", "Clock / timer (RTC)", "VIRTIO_ID_CLOCK"),
    _t(18, "input", "Input device", "VIRTIO_ID_INPUT"),
    _t(19, "vsock", "Socket device (vsock)", "VIRTIO_ID_VSOCK"),
    _t(20, "crypto", "Crypto accelerator", "VIRTIO_ID_CRYPTO"),
    _t(21, "signal-dist", "Signal distribution", "VIRTIO_ID_SIGNAL_DIST"),
    _t(22, "pstore", "pstore", "VIRTIO_ID_PSTORE"),
    _t(23, "iommu", "IOMMU", "VIRTIO_ID_IOMMU"),
    _t(24, "mem", "Memory device (virtio-mem)", "VIRTIO_ID_MEM"),
    _t(25, "sound", "Sound card", "VIRTIO_ID_SOUND"),
    _t(26, "fs", "File system (virtiofs)", "VIRTIO_ID_FS"),
    _t(27, "pmem", "Persistent memory", "VIRTIO_ID_PMEM"),
    _t(28, "rpmb", "RPMB (replay-protected memory block)", "VIRTIO_ID_RPMB"),
    _t(29, "mac80211-hwsim", "mac80211 hwsim wireless simulation", "VIRTIO_ID_MAC80211_HWSIM"),
    _t(30, "video-encoder", "Video encoder", "VIRTIO_ID_VIDEO_ENCODER"),
    _t(31, "video-decoder", "Video decoder", "VIRTIO_ID_VIDEO_DECODER"),
    _t(32, "scmi", "SCMI (Arm system control)", "VIRTIO_ID_SCMI"),
    _t(33, "nitro-sec-mod", "Nitro secure module", "VIRTIO_ID_NITRO_SEC_MOD"),
    _t(34, "i2c", "I2C adapter", "VIRTIO_ID_I2C_ADAPTER"),
    _t(35, "watchdog", "Watchdog", "VIRTIO_ID_WATCHDOG"),
    _t(36, "can", "CAN bus", "VIRTIO_ID_CAN"),
    _t(37, "dmabuf", "dmabuf", "VIRTIO_ID_DMABUF"),
    _t(38, "param-serv", "Parameter server", "VIRTIO_ID_PARAM_SERV"),
    _t(39, "audio-policy", "Audio policy", "VIRTIO_ID_AUDIO_POLICY"),
    _t(40, "bt", "Bluetooth", "VIRTIO_ID_BT"),
    _t(41, "gpio", "GPIO", "VIRTIO_ID_GPIO"),
    # Spec-only ids (virtio-spec content.tex, "Device Types" table); not in virtio_ids.h.
    _t(42, "rdma", "RDMA device", "VIRTIO_ID_RDMA", "spec"),
    _t(43, "camera", "Camera", "VIRTIO_ID_CAMERA", "spec"),
    _t(44, "ism", "ISM device", "VIRTIO_ID_ISM", "spec"),
    # 45: in virtio_ids.h since the virtio-spi driver (~6.18); read in the patch mail.
    _t(45, "spi", "SPI controller", "VIRTIO_ID_SPI"),
    _t(46, "tee", "TEE device", "VIRTIO_ID_TEE", "spec"),
    _t(47, "cpu-balloon", "CPU balloon", "VIRTIO_ID_CPU_BALLOON", "spec"),
)

DEVICE_TYPES: Mapping[int, DeviceType] = MappingProxyType({t.id: t for t in _ALL})
"""Every known device type by id."""


_ALIASES = {
    "blk": 2,
    "disk": 2,
    "network": 1,
    "nic": 1,
    "entropy": 4,
    "random": 4,
    "memballoon": 5,
    "socket": 19,
    "sock": 19,
    "9pfs": 9,
    "p9": 9,
    "9pnet": 9,
    "virtiofs": 26,
    "snd": 25,
    "rtc": 17,
    "timer": 17,
    "bluetooth": 40,
    "i2c-adapter": 34,
    "nsm": 33,
}


def _key(text: str) -> str:
    key = text.strip().lower().replace("_", "-")
    for prefix in ("virtio-id-", "virtio-"):
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix):]
    return key


def _by_name() -> dict[str, int]:
    names: dict[str, int] = {}
    for t in _ALL:
        names[t.name] = t.id
        names[_key(t.macro)] = t.id
    names.update(_ALIASES)
    return names


_NAMES = _by_name()


def device_type(device_id: int) -> DeviceType | None:
    """The device type of ``device_id``, or ``None`` for an id no table names."""
    return DEVICE_TYPES.get(device_id)


def parse_device(text: str) -> int:
    """A device id from a name (``net``, ``blk``, ``virtio-mem``, ``virtio_balloon``,
    ``VIRTIO_ID_NET``), a decimal id (``5``) or hex (``0x0005``).

    Numbers need not be in ``DEVICE_TYPES`` (an unnamed device still has an id), but must
    fit in 16 bits. Raises ``ValueError`` naming the valid names otherwise.
    """
    if not isinstance(text, str):
        raise ValueError(f"device must be a name or a number, not {type(text).__name__}")
    s = text.strip()
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
        value = int(s, 16)
    elif re.fullmatch(r"[0-9]+", s):
        value = int(s, 10)
    else:
        found = _NAMES.get(_key(s))
        if found is not None:
            return found
        names = ", ".join(t.name for t in _ALL)
        raise ValueError(
            f"unknown virtio device {text.strip()!r}: give a number (5, 0x0005) or one of: {names}"
        )
    if value > 0xFFFF:
        raise ValueError(f"virtio device id {text.strip()!r} does not fit in 16 bits")
    return value
