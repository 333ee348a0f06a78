"""Virtio id and feature-bit tables, checked against the Linux uapi headers.

Facts below were read in include/uapi/linux/virtio_{ids,config,ring,balloon,net,blk,
console,scsi,9p,gpu,iommu,mem,snd,pmem,i2c,gpio,bt,scmi,rtc,vsock}.h and the virtio spec
(oasis-tcs/virtio-spec content.tex, device-types/net/description.tex).
"""

from __future__ import annotations

import pytest

from balloontop.virtio import tables
from balloontop.virtio.ids import DEVICE_TYPES, device_type, parse_device
from balloontop.virtio.tables import (
    DEVICE_BITS,
    TRANSPORT_BITS,
    FeatureBit,
    bit_range,
    lookup,
)

# include/uapi/linux/virtio_ids.h
LINUX_IDS = {
    1: "VIRTIO_ID_NET", 2: "VIRTIO_ID_BLOCK", 3: "VIRTIO_ID_CONSOLE", 4: "VIRTIO_ID_RNG",
    5: "VIRTIO_ID_BALLOON", 6: "VIRTIO_ID_IOMEM", 7: "VIRTIO_ID_RPMSG", 8: "VIRTIO_ID_SCSI",
    9: "VIRTIO_ID_9P", 10: "VIRTIO_ID_MAC80211_WLAN", 11: "VIRTIO_ID_RPROC_SERIAL",
    12: "VIRTIO_ID_CAIF", 13: "VIRTIO_ID_MEMORY_BALLOON", 16: "VIRTIO_ID_GPU",
    17: "VIRTIO_ID_CLOCK", 18: "VIRTIO_ID_INPUT", 19: "VIRTIO_ID_VSOCK", 20: "VIRTIO_ID_CRYPTO",
    21: "VIRTIO_ID_SIGNAL_DIST", 22: "VIRTIO_ID_PSTORE", 23: "VIRTIO_ID_IOMMU", 24: "VIRTIO_ID_MEM",
    25: "VIRTIO_ID_SOUND", 26: "VIRTIO_ID_FS", 27: "VIRTIO_ID_PMEM", 28: "VIRTIO_ID_RPMB",
    29: "VIRTIO_ID_MAC80211_HWSIM", 30: "VIRTIO_ID_VIDEO_ENCODER", 31: "VIRTIO_ID_VIDEO_DECODER",
    32: "VIRTIO_ID_SCMI", 33: "VIRTIO_ID_NITRO_SEC_MOD", 34: "VIRTIO_ID_I2C_ADAPTER",
    35: "VIRTIO_ID_WATCHDOG", 36: "VIRTIO_ID_CAN", 37: "VIRTIO_ID_DMABUF",
    38: "VIRTIO_ID_PARAM_SERV", 39: "VIRTIO_ID_AUDIO_POLICY", 40: "VIRTIO_ID_BT",
    41: "VIRTIO_ID_GPIO", 45: "VIRTIO_ID_SPI",
}


@pytest.mark.parametrize("device_id, macro", sorted(LINUX_IDS.items()))
def test_every_linux_device_id(device_id: int, macro: str) -> None:
    t = device_type(device_id)
    assert t is not None and t.macro == macro and t.source == "linux"
    assert t.name == t.name.lower() and t.title


def test_spec_only_ids_are_marked() -> None:
    assert {i for i, t in DEVICE_TYPES.items() if t.source != "linux"} == {42, 43, 44, 46, 47}
    assert device_type(14) is None and device_type(0) is None


def test_short_names() -> None:
    names = {t.id: t.name for t in DEVICE_TYPES.values()}
    assert names[1] == "net" and names[2] == "block" and names[5] == "balloon"
    assert names[24] == "mem" and names[25] == "sound" and names[26] == "fs"
    assert names[9] == "9p" and names[19] == "vsock" and names[4] == "rng"
    assert len(set(names.values())) == len(names)


@pytest.mark.parametrize(
    "text, expected",
    [("net", 1), ("balloon", 5), ("blk", 2), ("block", 2), ("virtio-mem", 24),
     ("virtio_balloon", 5), ("VIRTIO_ID_NET", 1), ("5", 5), ("0x0005", 5), (" 0x13\n", 19),
     ("Balloon", 5), ("virtio-blk", 2), ("virtiofs", 26), ("9p", 9), ("99", 99)],
)
def test_parse_device(text: str, expected: int) -> None:
    assert parse_device(text) == expected


@pytest.mark.parametrize("text", ["", "ballon", "-1", "0x", "0x10000", "1.5", "virtio"])
def test_parse_device_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="balloon|16 bits"):
        parse_device(text)


def test_parse_device_error_lists_names() -> None:
    with pytest.raises(ValueError) as info:
        parse_device("ballon")
    assert "net" in str(info.value) and "balloon" in str(info.value)


def test_constants() -> None:
    assert (tables.BALLOON_F_MUST_TELL_HOST, tables.BALLOON_F_STATS_VQ,
            tables.BALLOON_F_DEFLATE_ON_OOM, tables.BALLOON_F_FREE_PAGE_HINT,
            tables.BALLOON_F_PAGE_POISON, tables.BALLOON_F_REPORTING) == (0, 1, 2, 3, 4, 5)
    assert tables.F_VERSION_1 == 32


# include/uapi/linux/virtio_balloon.h: the whole feature bitmap.
BALLOON = {
    0: "VIRTIO_BALLOON_F_MUST_TELL_HOST", 1: "VIRTIO_BALLOON_F_STATS_VQ",
    2: "VIRTIO_BALLOON_F_DEFLATE_ON_OOM", 3: "VIRTIO_BALLOON_F_FREE_PAGE_HINT",
    4: "VIRTIO_BALLOON_F_PAGE_POISON", 5: "VIRTIO_BALLOON_F_REPORTING",
}


@pytest.mark.parametrize("bit, name", sorted(BALLOON.items()))
def test_balloon_bits(bit: int, name: str) -> None:
    fb = DEVICE_BITS[5][bit]
    assert fb.name == name and fb.status == "linux" and fb.known
    assert fb.header == "include/uapi/linux/virtio_balloon.h"
    assert len(fb.detail) > 80, "balloon bits need a practical explanation"


def test_balloon_details_say_what_matters() -> None:
    oom = DEVICE_BITS[5][2].detail
    assert "MemTotal" in oom and "used" in oom
    assert "free page reporting" in DEVICE_BITS[5][5].meaning.lower()


def test_balloon_bit_7_stays_unknown() -> None:
    assert 7 not in DEVICE_BITS[5]
    assert lookup(7, 5) is None
    assert not lookup(8, 5).known  # crosvm's WS_REPORTING is only a vendor hint


TRANSPORT = {
    24: ("VIRTIO_F_NOTIFY_ON_EMPTY", "legacy"), 27: ("VIRTIO_F_ANY_LAYOUT", "legacy"),
    28: ("VIRTIO_RING_F_INDIRECT_DESC", "linux"), 29: ("VIRTIO_RING_F_EVENT_IDX", "linux"),
    30: ("VIRTIO_F_BAD_FEATURE", "legacy"), 32: ("VIRTIO_F_VERSION_1", "linux"),
    33: ("VIRTIO_F_ACCESS_PLATFORM", "linux"), 34: ("VIRTIO_F_RING_PACKED", "linux"),
    35: ("VIRTIO_F_IN_ORDER", "linux"), 36: ("VIRTIO_F_ORDER_PLATFORM", "linux"),
    37: ("VIRTIO_F_SR_IOV", "linux"), 38: ("VIRTIO_F_NOTIFICATION_DATA", "linux"),
    39: ("VIRTIO_F_NOTIF_CONFIG_DATA", "linux"), 40: ("VIRTIO_F_RING_RESET", "linux"),
    41: ("VIRTIO_F_ADMIN_VQ", "linux"), 42: ("VIRTIO_F_SUSPEND", "proposed"),
}


def test_transport_table_is_exactly_these() -> None:
    assert {b: (fb.name, fb.status) for b, fb in TRANSPORT_BITS.items()} == TRANSPORT


@pytest.mark.parametrize("bit", sorted(TRANSPORT))
def test_transport_bits_have_details(bit: int) -> None:
    fb = TRANSPORT_BITS[bit]
    assert fb.detail and fb.meaning and fb.bit == bit
    if fb.status == "linux":
        assert fb.header in (tables.H_CONFIG, tables.H_RING)


# Samples per device type, from the uapi headers (status "spec": virtio spec only).
SAMPLES = [
    (1, 0, "VIRTIO_NET_F_CSUM"), (1, 3, "VIRTIO_NET_F_MTU"), (1, 5, "VIRTIO_NET_F_MAC"),
    (1, 17, "VIRTIO_NET_F_CTRL_VQ"), (1, 22, "VIRTIO_NET_F_MQ"),
    (1, 50, "VIRTIO_NET_F_DEVICE_STATS"), (1, 56, "VIRTIO_NET_F_HOST_USO"),
    (1, 60, "VIRTIO_NET_F_RSS"), (1, 61, "VIRTIO_NET_F_RSC_EXT"),
    (1, 63, "VIRTIO_NET_F_SPEED_DUPLEX"), (1, 65, "VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO"),
    (1, 68, "VIRTIO_NET_F_HOST_UDP_TUNNEL_GSO_CSUM"),
    (2, 1, "VIRTIO_BLK_F_SIZE_MAX"), (2, 9, "VIRTIO_BLK_F_FLUSH"), (2, 12, "VIRTIO_BLK_F_MQ"),
    (2, 13, "VIRTIO_BLK_F_DISCARD"), (2, 16, "VIRTIO_BLK_F_SECURE_ERASE"), (2, 17, "VIRTIO_BLK_F_ZONED"),
    (3, 1, "VIRTIO_CONSOLE_F_MULTIPORT"), (8, 3, "VIRTIO_SCSI_F_T10_PI"),
    (9, 0, "VIRTIO_9P_MOUNT_TAG"), (16, 4, "VIRTIO_GPU_F_CONTEXT_INIT"),
    (17, 0, "VIRTIO_RTC_F_ALARM"), (19, 1, "VIRTIO_VSOCK_F_SEQPACKET"),
    (23, 6, "VIRTIO_IOMMU_F_BYPASS_CONFIG"), (24, 0, "VIRTIO_MEM_F_ACPI_PXM"),
    (24, 1, "VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE"), (25, 0, "VIRTIO_SND_F_CTLS"),
    (27, 0, "VIRTIO_PMEM_F_SHMEM_REGION"), (32, 1, "VIRTIO_SCMI_F_SHARED_MEMORY"),
    (34, 0, "VIRTIO_I2C_F_ZERO_LENGTH_REQUEST"), (40, 3, "VIRTIO_BT_F_CONFIG_V2"),
    (41, 0, "VIRTIO_GPIO_F_IRQ"),
]


@pytest.mark.parametrize("device_id, bit, name", SAMPLES)
def test_device_bit_samples(device_id: int, bit: int, name: str) -> None:
    fb = DEVICE_BITS[device_id][bit]
    assert fb.name == name and fb.status == "linux"
    assert fb.header.startswith("include/uapi/linux/virtio_")


def test_net_gaps_and_non_linux_bits() -> None:
    net = DEVICE_BITS[1]
    assert 4 not in net and 58 not in net and 46 not in net  # 46/47 are offload-mask slots
    assert net[6].status == "legacy" and net[51].status == "spec" and net[64].status == "spec"
    assert net[25].status == "proposed"


def test_devices_without_bits() -> None:
    assert dict(DEVICE_BITS[4]) == {} and dict(DEVICE_BITS[18]) == {}


def test_every_table_is_consistent() -> None:
    for device_id, table in DEVICE_BITS.items():
        assert device_id in DEVICE_TYPES
        for bit, fb in table.items():
            assert isinstance(fb, FeatureBit) and fb.bit == bit and fb.name.startswith("VIRTIO_")
            assert fb.meaning and "\n" not in fb.meaning
            assert fb.status in tables.STATUSES


def test_lookup_order() -> None:
    assert lookup(32, 5).name == "VIRTIO_F_VERSION_1"
    assert lookup(32, None).name == "VIRTIO_F_VERSION_1"
    assert lookup(2, 5).name == "VIRTIO_BALLOON_F_DEFLATE_ON_OOM"
    assert lookup(2, None) is None
    assert lookup(41, 1).name == "VIRTIO_F_ADMIN_VQ"  # transport wins over net's legacy RSC4
    assert lookup(42, 1).name == "VIRTIO_NET_F_GUEST_RSC6"  # a proposed transport bit gives way
    assert lookup(42, 5).name == "VIRTIO_F_SUSPEND" and not lookup(42, 5).known
    assert lookup(3, 999) is None


@pytest.mark.parametrize(
    "bit, words",
    [(0, "device-specific (0-23)"), (23, "device-specific (0-23)"),
     (24, "reserved for queue and feature negotiation mechanisms (24-41)"),
     (41, "reserved for queue and feature negotiation mechanisms (24-41)"),
     (42, "reserved for future extensions (42-49)"), (49, "reserved for future extensions (42-49)"),
     (50, "device-specific (50-127)"), (127, "device-specific (50-127)"),
     (128, "reserved for future extensions (128 and above)")],
)
def test_bit_range(bit: int, words: str) -> None:
    assert bit_range(bit) == words


def test_bit_range_rejects_negative() -> None:
    with pytest.raises(ValueError):
        bit_range(-1)


def test_feature_bit_rejects_bad_status() -> None:
    with pytest.raises(ValueError):
        FeatureBit(0, "X", "x", "h", status="maybe")
