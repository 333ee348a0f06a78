"""Virtio feature bits: the transport (device-independent) bits and each device type's.

Bit numbers and macro names are copied from the Linux uapi headers named in each table's
``header``; ``status`` says where a bit is defined:

* ``linux``    -- in the Linux uapi header (normally also in the virtio spec);
* ``spec``     -- in the virtio spec (oasis-tcs/virtio-spec) but not in Linux uapi;
* ``legacy``   -- only for legacy (pre-1.0) devices;
* ``proposed`` -- in a patch or spec draft, not merged (decoded as *unknown*, with the hint);
* ``vendor``   -- used by one VMM/kernel only (decoded as *unknown*, with the hint).

Bit ranges (virtio spec, "Feature Bits" and chapter "Reserved Feature Bits"):
0-23 and 50-127 device-specific; 24-41 queue and feature negotiation mechanisms;
42-49 and 128 and above reserved for future extensions. Linux keeps up to 128 bits since
6.17 (``VIRTIO_FEATURES_MAX``); sysfs shows the *negotiated* set only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

STATUSES = ("linux", "spec", "legacy", "proposed", "vendor")
KNOWN_STATUSES = ("linux", "spec", "legacy")
"""Statuses that make a bit *known*; ``proposed``/``vendor`` entries are only hints."""

H_CONFIG = "include/uapi/linux/virtio_config.h"
H_RING = "include/uapi/linux/virtio_ring.h"
H_SPEC = "virtio spec (not in Linux uapi)"

# Constants used by the rest of the code (virtio_balloon.h, virtio_config.h).
BALLOON_F_MUST_TELL_HOST = 0
BALLOON_F_STATS_VQ = 1
BALLOON_F_DEFLATE_ON_OOM = 2
BALLOON_F_FREE_PAGE_HINT = 3
BALLOON_F_PAGE_POISON = 4
BALLOON_F_REPORTING = 5
F_VERSION_1 = 32

DEVICE_SPECIFIC_LOW = range(0, 24)
TRANSPORT_RANGE = range(24, 42)
FUTURE_RANGE = range(42, 50)
DEVICE_SPECIFIC_HIGH = range(50, 128)


class _FeatureBitFields(NamedTuple):
    """The fields of ``FeatureBit`` (which checks them when made)."""

    bit: int
    name: str
    """Macro name, e.g. ``VIRTIO_BALLOON_F_DEFLATE_ON_OOM``."""
    meaning: str
    """One plain line."""
    header: str
    """Where it is defined, e.g. ``include/uapi/linux/virtio_balloon.h``."""
    detail: str = ""
    """What it changes in practice (balloon and transport bits)."""
    status: str = "linux"


class FeatureBit(_FeatureBitFields):
    """One named feature bit."""

    # A NamedTuple (a frozen dataclass costs about 1 ms to create at import); this subclass
    # only checks the values, as the dataclass's ``__post_init__`` did.
    __slots__ = ()

    def __new__(
        cls, bit: int, name: str, meaning: str, header: str, detail: str = "", status: str = "linux"
    ) -> FeatureBit:
        if status not in STATUSES:
            raise ValueError(f"bad status {status!r} for {name}")
        if bit < 0:
            raise ValueError(f"negative bit for {name}")
        return tuple.__new__(cls, (bit, name, meaning, header, detail, status))

    @property
    def known(self) -> bool:
        return self.status in KNOWN_STATUSES


def _table(header: str, *rows: tuple) -> Mapping[int, FeatureBit]:
    """Rows ``(bit, name, meaning[, detail[, status]])`` as a read-only bit -> FeatureBit map."""
    out: dict[int, FeatureBit] = {}
    for row in rows:
        bit, name, meaning = row[0], row[1], row[2]
        detail = row[3] if len(row) > 3 else ""
        status = row[4] if len(row) > 4 else "linux"
        hdr = H_SPEC if status == "spec" else header
        if bit in out:
            raise ValueError(f"bit {bit} twice in {header}")
        out[bit] = FeatureBit(bit, name, meaning, hdr, detail, status)
    return MappingProxyType(out)


def _merge(*tables: Mapping[int, FeatureBit]) -> Mapping[int, FeatureBit]:
    out: dict[int, FeatureBit] = {}
    for t in tables:
        for bit, fb in t.items():
            if bit in out:
                raise ValueError(f"bit {bit} defined twice ({out[bit].name}, {fb.name})")
            out[bit] = fb
    return MappingProxyType(dict(sorted(out.items())))


# --- Transport ---------------------------------------------------------------------------
# include/uapi/linux/virtio_config.h (VIRTIO_TRANSPORT_F_START 28, VIRTIO_TRANSPORT_F_END 42;
# 24 and 27 under #ifndef VIRTIO_CONFIG_NO_LEGACY) and include/uapi/linux/virtio_ring.h
# (28, 29). Spec: chapter "Reserved Feature Bits" and "Legacy Interface: Reserved Feature
# Bits". Linux's vring_transport_features() clears transport bits it does not implement, so
# sysfs shows only bits this kernel understands.
_TRANSPORT_CONFIG = _table(
    H_CONFIG,
    (24, "VIRTIO_F_NOTIFY_ON_EMPTY",
     "Device notifies when a queue runs empty, even with notifications suppressed (legacy)",
     "Legacy-only. Used by old network drivers to free transmitted packets without a "
     "timer. Modern (VERSION_1) devices never negotiate it.", "legacy"),
    (27, "VIRTIO_F_ANY_LAYOUT",
     "Device accepts any descriptor layout of a request (legacy)",
     "Legacy-only name: with VERSION_1 any layout is always allowed, so a modern device "
     "does not negotiate it.", "legacy"),
    (32, "VIRTIO_F_VERSION_1",
     "Virtio 1.0+ (modern) device: little-endian, spec-compliant",
     "Set on every modern device. Missing means a legacy (pre-1.0) device driven through "
     "the transitional interface: native-endian config space and legacy feature "
     "semantics."),
    (33, "VIRTIO_F_ACCESS_PLATFORM",
     "Device memory access goes through the platform's IOMMU / restricted DMA",
     "Reverse polarity: off means the device reads guest-physical memory directly; on "
     "means the guest must map buffers through the DMA API (IOMMU, swiotlb bounce "
     "buffers). Confidential guests (SEV, TDX, pKVM) need it; it costs copies. Old name "
     "VIRTIO_F_IOMMU_PLATFORM."),
    (34, "VIRTIO_F_RING_PACKED",
     "Packed virtqueue layout instead of the split ring",
     "One descriptor ring used in both directions; fewer cache misses, mostly a "
     "performance choice of the VMM. No effect on what the device does."),
    (35, "VIRTIO_F_IN_ORDER",
     "Device uses buffers in the order they were made available",
     "Lets the driver batch completions; performance only."),
    (36, "VIRTIO_F_ORDER_PLATFORM",
     "Memory ordering as the platform defines for hardware devices",
     "Driver uses real hardware barriers (needed for hardware virtio devices, e.g. "
     "SmartNICs/vDPA); software devices leave it off and get cheaper SMP barriers."),
    (37, "VIRTIO_F_SR_IOV",
     "Device supports SR-IOV (PCI virtual functions)",
     "PCI only: the driver may enable virtual functions through the SR-IOV capability."),
    (38, "VIRTIO_F_NOTIFICATION_DATA",
     "Driver sends extra data (ring position) with its notifications",
     "Notifications carry the avail index/wrap counter, so a hardware device need not "
     "read the ring to learn what is new."),
    (39, "VIRTIO_F_NOTIF_CONFIG_DATA",
     "Driver uses a device-provided value as the queue id in notifications",
     "PCI: the device gives a per-queue notification value to write instead of the "
     "queue index."),
    (40, "VIRTIO_F_RING_RESET",
     "Driver can reset and re-enable a single queue",
     "Lets Linux resize or re-set-up one queue (e.g. ethtool -G on virtio-net, AF_XDP) "
     "without resetting the whole device. Common in QEMU guests since Linux 6.0."),
    (41, "VIRTIO_F_ADMIN_VQ",
     "Device has administration virtqueues",
     "PCI only: an owner device (PF) manages member devices (VFs) through admin "
     "commands, e.g. legacy access or live migration of VFs."),
)
_TRANSPORT_RING = _table(
    H_RING,
    (28, "VIRTIO_RING_F_INDIRECT_DESC",
     "Driver may use indirect descriptor tables",
     "One ring slot can point to a table of descriptors, so large requests fit in small "
     "rings. Spec name VIRTIO_F_INDIRECT_DESC."),
    (29, "VIRTIO_RING_F_EVENT_IDX",
     "Notification suppression with used_event/avail_event indexes",
     "Both sides say up to which index they want to be notified, cutting interrupts and "
     "exits. Spec name VIRTIO_F_EVENT_IDX."),
)
_TRANSPORT_OTHER = _table(
    "QEMU hw/virtio (legacy); not in Linux uapi",
    (30, "VIRTIO_F_BAD_FEATURE",
     "Never to be accepted: a driver that acks it negotiates features wrongly (legacy QEMU)",
     "QEMU's legacy interface offered bit 30 as a trap: a driver accepting it blindly "
     "acks every bit. A correct driver never has it in its negotiated set.", "legacy"),
)
_TRANSPORT_PROPOSED = _table(
    "proposals only: VIRTIO_F_SUSPEND (virtio spec patch), VIRTIO_F_SHM_PAGE_SIZE (2025 Linux patch)",
    (42, "VIRTIO_F_SUSPEND",
     "Device suspend; also proposed as VIRTIO_F_SHM_PAGE_SIZE; neither is in mainline uapi",
     "Not defined by mainline Linux or the published spec; if a device shows it, the "
     "kernel or VMM carries an out-of-tree patch.", "proposed"),
)
TRANSPORT_BITS: Mapping[int, FeatureBit] = _merge(
    _TRANSPORT_CONFIG, _TRANSPORT_RING, _TRANSPORT_OTHER, _TRANSPORT_PROPOSED
)
"""Device-independent bits (24-42), by bit."""


# --- Balloon (id 5) ----------------------------------------------------------------------
# include/uapi/linux/virtio_balloon.h; spec 5.5.3 "Traditional Memory Balloon Device /
# Feature bits" (spec name of bit 5: VIRTIO_BALLOON_F_PAGE_REPORTING). Nothing newer is
# defined in mainline or the spec. crosvm's working-set reporting (bit 8) is a vendor hint
# only; the development guest's bit 7 (an out-of-tree "free bitmap" extension) is not
# listed on purpose: it must decode as unknown.
_H_BALLOON = "include/uapi/linux/virtio_balloon.h"
BALLOON_BITS = _table(
    _H_BALLOON,
    (0, "VIRTIO_BALLOON_F_MUST_TELL_HOST",
     "Host must be told before the guest reuses pages taken out of the balloon",
     "Orders deflation: the driver reports pages on the deflate queue before using them "
     "again (Linux always does it in this order). Without it a legacy guest may reuse "
     "pages first. No effect on the numbers balloontop shows."),
    (1, "VIRTIO_BALLOON_F_STATS_VQ",
     "Statistics virtqueue: the guest sends memory statistics to the host",
     "The host (e.g. QEMU's guest-stats-polling-interval) asks and the guest answers "
     "with swap in/out, faults, free/total/available memory, caches, hugetlb and (6.12+) "
     "OOM kills, stalls, scan/reclaim counts. Only the host sees them: nothing in the "
     "guest exposes them; balloontop computes the same figures from /proc."),
    (2, "VIRTIO_BALLOON_F_DEFLATE_ON_OOM",
     "Balloon deflates when the guest runs out of memory",
     "Decides the accounting. Off: Linux takes inflated pages out of MemTotal "
     "(adjust_managed_page_count), so ballooned memory simply disappears and MemTotal "
     "shrinks. On: the pages stay in MemTotal and show as used, and an OOM notifier "
     "gives pages back (oom_pages, default 256 per OOM event) before the OOM killer "
     "runs."),
    (3, "VIRTIO_BALLOON_F_FREE_PAGE_HINT",
     "Free page hinting: the guest hints free pages to the host (live migration)",
     "On a host request (config free_page_hint_cmd_id) the guest allocates free pages "
     "and lists them on a hint queue so the host can skip sending them during "
     "migration; a shrinker returns them under memory pressure. They are not balloon "
     "pages: not in Balloon: or nr_balloon_pages. QEMU: free-page-hint=on."),
    (4, "VIRTIO_BALLOON_F_PAGE_POISON",
     "Guest poisons or zeroes freed pages; config poison_val holds the value",
     "Linux keeps it only with page poisoning or init_on_free, so the host keeps the "
     "poison value in hinted/reported pages. If the guest poisons freed pages but the "
     "device lacks this bit, Linux turns free page reporting off."),
    (5, "VIRTIO_BALLOON_F_REPORTING",
     "Free page reporting: the guest reports free memory so the host can reclaim it",
     "The guest reports free buddy pages of order >= page_reporting_order (2 MiB on "
     "x86 by default; /sys/module/page_reporting/parameters/) on a reporting queue; the "
     "host discards their backing. They stay free in the guest: MemFree and MemTotal "
     "do not change and nothing shows in Balloon:, only the host's RSS shrinks. Spec "
     "name VIRTIO_BALLOON_F_PAGE_REPORTING."),
)
_BALLOON_VENDOR = _table(
    "crosvm devices/src/virtio/balloon.rs (vendor)",
    (8, "VIRTIO_BALLOON_F_WS_REPORTING",
     "crosvm's working-set reporting, not enabled anywhere (a spec draft proposed bit 6)",
     "", "vendor"),
)

# --- Network (id 1) ----------------------------------------------------------------------
# include/uapi/linux/virtio_net.h (read: a 6.18 tree with the 6.17 extended-feature bits
# 65-68); spec 5.1.3 "Network Device / Feature bits" (50-64, legacy 6, 41, 42).
# Bits 25/26 (AccECN) are a patch under review. 46/47 (..._UDP_TUNNEL_GSO_*_MAPPED) are
# offload-mask positions used only by VIRTIO_NET_CTRL_GUEST_OFFLOADS, not feature bits.
_H_NET = "include/uapi/linux/virtio_net.h"
NET_BITS = _table(
    _H_NET,
    (0, "VIRTIO_NET_F_CSUM", "Device handles packets with partial checksum (TX checksum offload)"),
    (1, "VIRTIO_NET_F_GUEST_CSUM", "Driver handles packets with partial checksum (RX)"),
    (2, "VIRTIO_NET_F_CTRL_GUEST_OFFLOADS", "Offloads can be reconfigured via the control queue"),
    (3, "VIRTIO_NET_F_MTU", "Device reports its maximum MTU"),
    (5, "VIRTIO_NET_F_MAC", "Device has given a MAC address"),
    (6, "VIRTIO_NET_F_GSO", "Device handles packets with any GSO type (legacy)", "", "legacy"),
    (7, "VIRTIO_NET_F_GUEST_TSO4", "Driver can receive TSOv4"),
    (8, "VIRTIO_NET_F_GUEST_TSO6", "Driver can receive TSOv6"),
    (9, "VIRTIO_NET_F_GUEST_ECN", "Driver can receive TSO with ECN"),
    (10, "VIRTIO_NET_F_GUEST_UFO", "Driver can receive UFO"),
    (11, "VIRTIO_NET_F_HOST_TSO4", "Device can receive TSOv4"),
    (12, "VIRTIO_NET_F_HOST_TSO6", "Device can receive TSOv6"),
    (13, "VIRTIO_NET_F_HOST_ECN", "Device can receive TSO with ECN"),
    (14, "VIRTIO_NET_F_HOST_UFO", "Device can receive UFO"),
    (15, "VIRTIO_NET_F_MRG_RXBUF", "Driver can merge receive buffers"),
    (16, "VIRTIO_NET_F_STATUS", "Link status field in config is available"),
    (17, "VIRTIO_NET_F_CTRL_VQ", "Control virtqueue is available"),
    (18, "VIRTIO_NET_F_CTRL_RX", "Control channel RX mode (promiscuous, allmulti)"),
    (19, "VIRTIO_NET_F_CTRL_VLAN", "Control channel VLAN filtering"),
    (20, "VIRTIO_NET_F_CTRL_RX_EXTRA", "Control channel extra RX modes"),
    (21, "VIRTIO_NET_F_GUEST_ANNOUNCE", "Driver can send gratuitous packets (after migration)"),
    (22, "VIRTIO_NET_F_MQ", "Multiqueue with automatic receive steering"),
    (23, "VIRTIO_NET_F_CTRL_MAC_ADDR", "Set MAC address through the control channel"),
    (25, "VIRTIO_NET_F_HOST_ACCECN", "Device can handle GSO of AccECN (patch under review)",
     "", "proposed"),
    (26, "VIRTIO_NET_F_GUEST_ACCECN", "Driver can handle GSO of AccECN (patch under review)",
     "", "proposed"),
    (41, "VIRTIO_NET_F_GUEST_RSC4", "Device coalesces TCP/IPv4 packets (legacy, Windows driver)",
     "", "legacy"),
    (42, "VIRTIO_NET_F_GUEST_RSC6", "Device coalesces TCP/IPv6 packets (legacy, Windows driver)",
     "", "legacy"),
    (50, "VIRTIO_NET_F_DEVICE_STATS", "Device provides device-level statistics"),
    (51, "VIRTIO_NET_F_HASH_TUNNEL", "Inner header hash for encapsulated packets", "", "spec"),
    (52, "VIRTIO_NET_F_VQ_NOTF_COAL", "Per-virtqueue notification coalescing"),
    (53, "VIRTIO_NET_F_NOTF_COAL", "Notification coalescing"),
    (54, "VIRTIO_NET_F_GUEST_USO4", "Driver can receive USOv4"),
    (55, "VIRTIO_NET_F_GUEST_USO6", "Driver can receive USOv6"),
    (56, "VIRTIO_NET_F_HOST_USO", "Device can receive USO (UDP segmentation)"),
    (57, "VIRTIO_NET_F_HASH_REPORT", "Device reports the per-packet hash"),
    (59, "VIRTIO_NET_F_GUEST_HDRLEN", "Driver provides the exact hdr_len"),
    (60, "VIRTIO_NET_F_RSS", "Receive-side scaling (Toeplitz hash steering)"),
    (61, "VIRTIO_NET_F_RSC_EXT", "Extended receive segment coalescing info"),
    (62, "VIRTIO_NET_F_STANDBY", "Standby for a primary device with the same MAC (failover)"),
    (63, "VIRTIO_NET_F_SPEED_DUPLEX", "Device reports link speed and duplex"),
    (64, "VIRTIO_NET_F_RSS_CONTEXT", "Multiple RSS contexts", "", "spec"),
    (65, "VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO", "Driver can receive GSO-over-UDP-tunnel packets"),
    (66, "VIRTIO_NET_F_GUEST_UDP_TUNNEL_GSO_CSUM",
     "Driver handles GSO-over-UDP-tunnel packets with partial outer checksum"),
    (67, "VIRTIO_NET_F_HOST_UDP_TUNNEL_GSO", "Device can receive GSO-over-UDP-tunnel packets"),
    (68, "VIRTIO_NET_F_HOST_UDP_TUNNEL_GSO_CSUM",
     "Device handles GSO-over-UDP-tunnel packets with partial outer checksum"),
)

# --- Block (id 2) ------------------------------------------------------------------------
# include/uapi/linux/virtio_blk.h (0, 7 under VIRTIO_BLK_NO_LEGACY; FLUSH 9 and CONFIG_WCE
# 11 are in that block in Linux but normal features in the spec); spec 5.2.3. 15 LIFETIME is
# spec-only here: "virtio_blk: add VIRTIO_BLK_F_LIFETIME feature support" reached a 6.2-era
# tree and was reverted (from mail, not checked in a tree); no uapi header read defines it.
_H_BLK = "include/uapi/linux/virtio_blk.h"
BLOCK_BITS = _table(
    _H_BLK,
    (0, "VIRTIO_BLK_F_BARRIER", "Device supports request barriers (legacy)", "", "legacy"),
    (1, "VIRTIO_BLK_F_SIZE_MAX", "Maximum segment size is in config"),
    (2, "VIRTIO_BLK_F_SEG_MAX", "Maximum number of segments per request is in config"),
    (4, "VIRTIO_BLK_F_GEOMETRY", "Legacy disk geometry is in config"),
    (5, "VIRTIO_BLK_F_RO", "Disk is read-only"),
    (6, "VIRTIO_BLK_F_BLK_SIZE", "Block size of the disk is in config"),
    (7, "VIRTIO_BLK_F_SCSI", "SCSI command passthrough (legacy)", "", "legacy"),
    (9, "VIRTIO_BLK_F_FLUSH", "Cache flush command (write-back cache); old name VIRTIO_BLK_F_WCE"),
    (10, "VIRTIO_BLK_F_TOPOLOGY", "Topology (alignment, I/O sizes) is in config"),
    (11, "VIRTIO_BLK_F_CONFIG_WCE", "Write-back/write-through cache mode can be toggled in config"),
    (12, "VIRTIO_BLK_F_MQ", "More than one request queue"),
    (13, "VIRTIO_BLK_F_DISCARD", "Discard (TRIM) is supported"),
    (14, "VIRTIO_BLK_F_WRITE_ZEROES", "Write-zeroes is supported"),
    (15, "VIRTIO_BLK_F_LIFETIME", "Device lifetime (wear) information is available", "", "spec"),
    (16, "VIRTIO_BLK_F_SECURE_ERASE", "Secure erase is supported"),
    (17, "VIRTIO_BLK_F_ZONED", "Zoned block device"),
)

# --- Console (id 3) ---- include/uapi/linux/virtio_console.h; spec 5.3.3.
CONSOLE_BITS = _table(
    "include/uapi/linux/virtio_console.h",
    (0, "VIRTIO_CONSOLE_F_SIZE", "Console size (columns, rows) is in config"),
    (1, "VIRTIO_CONSOLE_F_MULTIPORT", "Multiple ports and a control queue"),
    (2, "VIRTIO_CONSOLE_F_EMERG_WRITE", "Emergency write register"),
)

# --- SCSI (id 8) ---- include/uapi/linux/virtio_scsi.h; spec 5.6.3.
SCSI_BITS = _table(
    "include/uapi/linux/virtio_scsi.h",
    (0, "VIRTIO_SCSI_F_INOUT", "Requests may have both data-in and data-out buffers"),
    (1, "VIRTIO_SCSI_F_HOTPLUG", "Device reports hot-plug/unplug events"),
    (2, "VIRTIO_SCSI_F_CHANGE", "Device reports LUN parameter changes"),
    (3, "VIRTIO_SCSI_F_T10_PI", "T10 protection information (DIF/DIX)"),
)

# --- 9P (id 9) ---- include/uapi/linux/virtio_9p.h; spec (9P not specified beyond the id).
P9_BITS = _table(
    "include/uapi/linux/virtio_9p.h",
    (0, "VIRTIO_9P_MOUNT_TAG", "The mount tag is in config"),
)

# --- GPU (id 16) ---- include/uapi/linux/virtio_gpu.h; spec 5.7.3. Bit 5 read in the patch
# adding it (2025), not in a stored tree.
GPU_BITS = _table(
    "include/uapi/linux/virtio_gpu.h",
    (0, "VIRTIO_GPU_F_VIRGL", "3D (virgl) commands are supported"),
    (1, "VIRTIO_GPU_F_EDID", "EDID is supported"),
    (2, "VIRTIO_GPU_F_RESOURCE_UUID", "Resources can be exported with UUIDs"),
    (3, "VIRTIO_GPU_F_RESOURCE_BLOB", "Blob resources are supported"),
    (4, "VIRTIO_GPU_F_CONTEXT_INIT", "Context types and multiple timelines"),
    (5, "VIRTIO_GPU_F_BLOB_ALIGNMENT", "Blob create/map requests are aligned to config blob_alignment"),
)

# --- Clock / RTC (id 17) ---- include/uapi/linux/virtio_rtc.h (6.16+); spec "RTC Device".
CLOCK_BITS = _table(
    "include/uapi/linux/virtio_rtc.h",
    (0, "VIRTIO_RTC_F_ALARM", "Device supports alarms"),
)

# --- Socket (id 19) ---- include/uapi/linux/virtio_vsock.h (1); spec 5.10.3 (0, 2).
VSOCK_BITS = _table(
    "include/uapi/linux/virtio_vsock.h",
    (0, "VIRTIO_VSOCK_F_STREAM", "Stream sockets (SOCK_STREAM) are supported", "", "spec"),
    (1, "VIRTIO_VSOCK_F_SEQPACKET", "SOCK_SEQPACKET sockets are supported"),
    (2, "VIRTIO_VSOCK_F_NO_IMPLIED_STREAM", "Stream support is not implied when no type bit is set",
     "", "spec"),
)

# --- Crypto (id 20) ---- Linux uapi (virtio_crypto.h) defines no feature bits; spec 5.9.3
# (numbers cross-checked in two independent driver implementations, not in the spec text).
CRYPTO_BITS = _table(
    "include/uapi/linux/virtio_crypto.h",
    (0, "VIRTIO_CRYPTO_F_REVISION_1", "Revision 1 of the crypto request format", "", "spec"),
    (1, "VIRTIO_CRYPTO_F_CIPHER_STATELESS_MODE", "Stateless cipher requests", "", "spec"),
    (2, "VIRTIO_CRYPTO_F_HASH_STATELESS_MODE", "Stateless hash requests", "", "spec"),
    (3, "VIRTIO_CRYPTO_F_MAC_STATELESS_MODE", "Stateless MAC requests", "", "spec"),
    (4, "VIRTIO_CRYPTO_F_AEAD_STATELESS_MODE", "Stateless AEAD requests", "", "spec"),
    (5, "VIRTIO_CRYPTO_F_AKCIPHER_STATELESS_MODE", "Stateless asymmetric-key requests", "", "spec"),
)

# --- IOMMU (id 23) ---- include/uapi/linux/virtio_iommu.h (bit 1 was DOMAIN_BITS in 0.9);
# spec 5.13.3.
IOMMU_BITS = _table(
    "include/uapi/linux/virtio_iommu.h",
    (0, "VIRTIO_IOMMU_F_INPUT_RANGE", "Supported IOVA range is in config"),
    (1, "VIRTIO_IOMMU_F_DOMAIN_RANGE", "Supported domain id range is in config"),
    (2, "VIRTIO_IOMMU_F_MAP_UNMAP", "Map and unmap requests are supported"),
    (3, "VIRTIO_IOMMU_F_BYPASS", "Unattached endpoints bypass the IOMMU"),
    (4, "VIRTIO_IOMMU_F_PROBE", "Probe requests (reserved regions) are supported"),
    (5, "VIRTIO_IOMMU_F_MMIO", "VIRTIO_IOMMU_MAP_F_MMIO flag is supported"),
    (6, "VIRTIO_IOMMU_F_BYPASS_CONFIG", "Global bypass can be configured by the driver"),
)

# --- Memory device, virtio-mem (id 24) ---- include/uapi/linux/virtio_mem.h; spec 5.15.3.
MEM_BITS = _table(
    "include/uapi/linux/virtio_mem.h",
    (0, "VIRTIO_MEM_F_ACPI_PXM", "node_id is an ACPI proximity domain (NUMA node)"),
    (1, "VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE", "Unplugged memory must not be touched",
     "With it the host may unmap unplugged blocks, so the guest must never read them "
     "(Linux's driver also keeps kdump from touching them). QEMU requires it on x86 "
     "by default (unplugged-inaccessible=on)."),
    (2, "VIRTIO_MEM_F_PERSISTENT_SUSPEND", "Plugged memory stays plugged across suspend/resume"),
)

# --- Sound (id 25) ---- include/uapi/linux/virtio_snd.h (enum); spec 5.14.3.
SOUND_BITS = _table(
    "include/uapi/linux/virtio_snd.h",
    (0, "VIRTIO_SND_F_CTLS", "Device supports control elements (mixer controls)"),
)

# --- File system (id 26) ---- Linux uapi (virtio_fs.h) defines no feature bits; spec 5.11.3.
FS_BITS = _table(
    "include/uapi/linux/virtio_fs.h",
    (0, "VIRTIO_FS_F_NOTIFICATION", "Notification queue is present", "", "spec"),
)

# --- PMEM (id 27) ---- include/uapi/linux/virtio_pmem.h; spec 5.19.3.
PMEM_BITS = _table(
    "include/uapi/linux/virtio_pmem.h",
    (0, "VIRTIO_PMEM_F_SHMEM_REGION", "The memory range is given as shared memory region 0"),
)

# --- SCMI (id 32) ---- include/uapi/linux/virtio_scmi.h; spec 5.17.3.
SCMI_BITS = _table(
    "include/uapi/linux/virtio_scmi.h",
    (0, "VIRTIO_SCMI_F_P2A_CHANNELS", "Device implements notifications or delayed responses"),
    (1, "VIRTIO_SCMI_F_SHARED_MEMORY", "Device implements a statistics shared memory region"),
)

# --- I2C (id 34) ---- include/uapi/linux/virtio_i2c.h; spec 5.16.3.
I2C_BITS = _table(
    "include/uapi/linux/virtio_i2c.h",
    (0, "VIRTIO_I2C_F_ZERO_LENGTH_REQUEST", "Zero-length requests are supported (mandatory)"),
)

# --- Bluetooth (id 40) ---- include/uapi/linux/virtio_bt.h.
BT_BITS = _table(
    "include/uapi/linux/virtio_bt.h",
    (0, "VIRTIO_BT_F_VND_HCI", "Vendor HCI commands are supported"),
    (1, "VIRTIO_BT_F_MSFT_EXT", "Microsoft vendor extension"),
    (2, "VIRTIO_BT_F_AOSP_EXT", "AOSP vendor extension"),
    (3, "VIRTIO_BT_F_CONFIG_V2", "Second version of the config layout"),
)

# --- GPIO (id 41) ---- include/uapi/linux/virtio_gpio.h; spec 5.18.3.
GPIO_BITS = _table(
    "include/uapi/linux/virtio_gpio.h",
    (0, "VIRTIO_GPIO_F_IRQ", "Device supports interrupts on GPIO lines"),
)

_EMPTY: Mapping[int, FeatureBit] = MappingProxyType({})

DEVICE_BITS: Mapping[int, Mapping[int, FeatureBit]] = MappingProxyType({
    1: NET_BITS,
    2: BLOCK_BITS,
    3: CONSOLE_BITS,
    4: _EMPTY,  # rng: no feature bits (virtio_rng.h has none; spec 5.4.3 "None currently defined")
    5: _merge(BALLOON_BITS, _BALLOON_VENDOR),
    8: SCSI_BITS,
    9: P9_BITS,
    16: GPU_BITS,
    17: CLOCK_BITS,
    18: _EMPTY,  # input: none (virtio_input.h has none; spec 5.8.3 "None")
    19: VSOCK_BITS,
    20: CRYPTO_BITS,
    23: IOMMU_BITS,
    24: MEM_BITS,
    25: SOUND_BITS,
    26: FS_BITS,
    27: PMEM_BITS,
    32: SCMI_BITS,
    34: I2C_BITS,
    40: BT_BITS,
    41: GPIO_BITS,
})
"""Device-specific bits by device id, then bit. Devices not listed have no table."""


def device_table(device_id: int | None) -> Mapping[int, FeatureBit]:
    """The device-specific bits of ``device_id`` (empty when none are known)."""
    if device_id is None:
        return _EMPTY
    return DEVICE_BITS.get(device_id, _EMPTY)


def lookup(bit: int, device_id: int | None) -> FeatureBit | None:
    """The entry naming ``bit``: transport table first, then the device's table.

    A *proposed* transport entry gives way to a device entry (net's legacy bit 42).
    Entries may have status ``proposed``/``vendor``: check ``.known``.
    """
    transport = TRANSPORT_BITS.get(bit)
    device = device_table(device_id).get(bit)
    if transport is not None and (transport.known or device is None):
        return transport
    return device


def bit_range(bit: int) -> str:
    """The range the virtio spec ("Feature Bits") puts ``bit`` in, in words."""
    if bit < 0:
        raise ValueError(f"feature bit must not be negative: {bit}")
    if bit in DEVICE_SPECIFIC_LOW:
        return "device-specific (0-23)"
    if bit in TRANSPORT_RANGE:
        return "reserved for queue and feature negotiation mechanisms (24-41)"
    if bit in FUTURE_RANGE:
        return "reserved for future extensions (42-49)"
    if bit in DEVICE_SPECIFIC_HIGH:
        return "device-specific (50-127)"
    return "reserved for future extensions (128 and above)"


def is_device_specific(bit: int) -> bool:
    """Whether the spec gives ``bit`` to the device type (0-23, 50-127)."""
    return bit in DEVICE_SPECIFIC_LOW or bit in DEVICE_SPECIFIC_HIGH
