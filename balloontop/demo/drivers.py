"""The four demo guests: virtio, Hyper-V, VMware and Xen balloons, in their kernel formats."""

from __future__ import annotations

from .guest import PAGE_KIB
from .scenarios import MIB, Scenario


def features_string(bits: tuple[int, ...], width: int = 128) -> str:
    """A sysfs ``features`` line: one character per bit, bit 0 first (128 since 6.17)."""
    return "".join("1" if i in bits else "0" for i in range(width)) + "\n"


class Virtio(Scenario):
    """virtio_balloon with DEFLATE_ON_OOM: steps up, gives memory back under pressure, OOM."""

    NAME = "virtio"
    TITLE = "virtio balloon with DEFLATE_ON_OOM (simulated guest, 1 GiB)"
    ACCOUNTING = "used"  # DEFLATE_ON_OOM: ballooned pages stay in MemTotal
    DEFLATE_ON_OOM = True
    CYCLE = 180.0
    TARGETS = (
        (0.0, 0),
        (5.0, 256 * MIB),
        (20.0, 512 * MIB),
        (35.0, 768 * MIB),
        (85.0, 256 * MIB),
        (130.0, 512 * MIB),
        (155.0, 0),
    )
    WORKLOADS = (
        (60.0, 80.0, 320 * MIB, 32 * MIB),  # squeezes the balloon: deflate under pressure
        (100.0, 125.0, 1000 * MIB, 64 * MIB),  # more than the guest has: OOM kill
    )
    FEATURES = (1, 2, 32)  # STATS_VQ, DEFLATE_ON_OOM, VERSION_1
    DEVICE = "sys/devices/pci0000:00/0000:00:01.0/virtio0"

    def setup(self) -> None:
        tree, dev = self.tree, self.DEVICE
        tree.write(f"{dev}/device", "0x0005\n")
        tree.write(f"{dev}/vendor", "0x1af4\n")
        tree.write(f"{dev}/status", "0x0000000f\n")
        tree.write(f"{dev}/modalias", "virtio:d00000005v00001AF4\n")
        tree.write(f"{dev}/features", features_string(self.FEATURES))
        tree.link(f"{dev}/driver", "../../../../bus/virtio/drivers/virtio_balloon")
        tree.link("sys/bus/virtio/devices/virtio0", "../../../devices/pci0000:00/0000:00:01.0/virtio0")
        tree.link(
            "sys/bus/virtio/drivers/virtio_balloon/virtio0",
            "../../../../devices/pci0000:00/0000:00:01.0/virtio0",
        )

    def moved(self, delta_kib: int) -> None:
        super().moved(delta_kib)
        name = "balloon_inflate" if delta_kib > 0 else "balloon_deflate"
        self.guest.count(name, abs(delta_kib) // PAGE_KIB)


class HyperV(Scenario):
    """hv_balloon: the host balloons up and down; MemTotal shrinks; debugfs hv-balloon."""

    NAME = "hv"
    TITLE = "Hyper-V Dynamic Memory balloon (simulated guest, 1 GiB)"
    ACCOUNTING = "total"
    CYCLE = 120.0
    TARGETS = ((0.0, 0), (5.0, 256 * MIB), (25.0, 384 * MIB), (60.0, 128 * MIB), (95.0, 0))
    WORKLOADS = ((45.0, 80.0, 460 * MIB, 48 * MIB),)  # pressure until the host deflates
    INFLATE_KIB_S = 64 * MIB
    DEFLATE_KIB_S = 128 * MIB
    STEP_KIB = 2 * MIB  # hv_balloon allocates 2 MiB chunks when it can
    GUID = "525074dc-8985-46e2-8057-a307dc18a502"  # the Dynamic Memory VMBus device

    def setup(self) -> None:
        tree = self.tree
        dev = f"sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/{self.GUID}"
        tree.write(f"{dev}/class_id", "{525074dc-8985-46e2-8057-a307dc18a502}\n")
        tree.link(f"{dev}/driver", "../../../../../../bus/vmbus/drivers/hv_balloon")
        tree.link(
            f"sys/bus/vmbus/drivers/hv_balloon/{self.GUID}", f"../../../../devices/LNXSYSTM:00/"
            f"LNXSYBUS:00/ACPI0004:00/VMBUS:00/{self.GUID}"
        )
        tree.link(f"sys/bus/vmbus/devices/{self.GUID}", f"../../../devices/LNXSYSTM:00/"
                  f"LNXSYBUS:00/ACPI0004:00/VMBUS:00/{self.GUID}")
        tree.write("sys/module/hv_balloon/parameters/hot_add", "Y\n")
        tree.write("sys/module/hv_balloon/parameters/pressure_report_delay", "45\n")
        tree.write("sys/module/hv_balloon/initstate", "live\n")

    def write_driver(self) -> None:
        g = self.guest
        state = {1: "2 (Balloon Up)", -1: "3 (Balloon Down)"}.get(self.direction, "1 (Initialized)")
        ballooned = g.balloon_kib // PAGE_KIB
        used = (self.tree.mem["MemTotal"] - self.tree.mem["MemAvailable"] + g.anon_kib) // PAGE_KIB
        rows = [
            ("host_version", "2.0"),
            ("capabilities", "enabled hot_add"),
            ("state", state),
            ("page_size", "4096"),
            ("pages_added", "0"),
            ("pages_onlined", "0"),
            ("pages_ballooned", str(ballooned)),
            ("total_pages_committed", str(used + ballooned)),
            ("max_dynamic_page_count", "268435456"),
        ]
        self.tree.write(
            "sys/kernel/debug/hv-balloon", "".join(f"{k:<22}: {v}\n" for k, v in rows)
        )


class VMware(Scenario):
    """vmw_balloon: 2 MiB and 4 KiB pages; ballooned memory looks used; debugfs vmmemctl."""

    NAME = "vmw"
    TITLE = "VMware balloon, 2 MiB and 4 KiB pages (simulated guest, 1 GiB)"
    ACCOUNTING = "used"
    CYCLE = 130.0
    # 601.5 MiB: 300 pages of 2 MiB, then 384 frames of 4 KiB
    TARGETS = ((0.0, 0), (5.0, 300 * MIB), (25.0, 601 * MIB + 512), (75.0, 200 * MIB), (100.0, 0))
    WORKLOADS = ((55.0, 90.0, 240 * MIB, 40 * MIB),)
    INFLATE_KIB_S = 96 * MIB
    DEFLATE_KIB_S = 192 * MIB
    STEP_KIB = PAGE_KIB

    def __init__(self, tree: object) -> None:
        super().__init__(tree)  # type: ignore[arg-type]
        self.pages_2m = 0
        self.pages_4k = 0

    def setup(self) -> None:
        tree = self.tree
        tree.write("sys/module/vmw_balloon/initstate", "live\n")
        tree.write("sys/module/vmw_balloon/parameters/vmwballoon_shrinker_enable", "N\n")
        tree.write("sys/class/dmi/id/sys_vendor", "VMware, Inc.\n")

    def moved(self, delta_kib: int) -> None:
        g = self.guest
        frames = abs(delta_kib) // PAGE_KIB
        big, small = divmod(frames, 512)
        if delta_kib > 0:
            self.pages_2m += big
            self.pages_4k += small
            g.count("vmw_2m_lock", big and 1)
            g.count("vmw_batch_lock", small and 1)
            g.count("vmw_alloc_2M", big)
            g.count("vmw_alloc_4k", small)
            g.count("balloon_inflate", big * 512 + small)  # a 2 MiB page counts 512
        else:
            # give back 4 KiB pages first, then 2 MiB pages
            small_back = min(self.pages_4k, frames)
            big_back = min(self.pages_2m, (frames - small_back) // 512)
            if not small_back and not big_back and self.pages_2m:
                big_back = 1  # less than a 2 MiB page to give: give one (then relock 4k)
            self.pages_4k -= small_back
            self.pages_2m -= big_back
            g.count("vmw_batch_unlock", small_back and 1)
            g.count("vmw_2m_unlock", big_back and 1)
            g.count("vmw_free_4k", small_back)
            g.count("vmw_free_2M", big_back)
            g.count("balloon_deflate", big_back * 512 + small_back)
        g.balloon_kib = (self.pages_2m * 512 + self.pages_4k) * PAGE_KIB
        g.balloon_core_kib = self.pages_4k * PAGE_KIB  # 2 MiB pages bypass the balloon core

    def write_driver(self) -> None:
        g, c = self.guest, self.guest.counters
        seconds = int(g.t)
        target = self.target_kib // PAGE_KIB
        current = g.balloon_kib // PAGE_KIB
        lines = [
            f"{'balloon capabilities':<22}: {0x3E:#16x}",
            f"{'used capabilities':<22}: {0x3E:#16x}",
            f"{'is resetting':<22}: {'n':>16}",
            f"{'target':<22}: {target:>16}",
            f"{'current':<22}: {current:>16}",
        ]
        commands = [
            ("start", 1),
            ("target", seconds + 1),
            ("lock", 0),
            ("unlock", 0),
            ("guestType", 1),
            ("batchLock", c.get("vmw_batch_lock", 0)),
            ("batchUnlock", c.get("vmw_batch_unlock", 0)),
            ("2m-lock", c.get("vmw_2m_lock", 0)),
            ("2m-unlock", c.get("vmw_2m_unlock", 0)),
            ("doorbellSet", 1),
        ]
        lines += [f"{name:<22}: {n:>16} (0 failed)" for name, n in commands]
        general = [("timer", seconds), ("doorbell", 0), ("reset", 1), ("shrink", 0), ("shrinkFree", 0)]
        lines += [f"{name:<22}: {n:>16}" for name, n in general]
        for stat in ("alloc", "allocFail", "errAlloc", "errFree", "free"):
            for size in ("4k", "2M"):
                n = c.get(f"vmw_{stat}_{size}", 0)
                lines.append(f"{stat:<18}({size}): {n:>16}")
        self.tree.write("sys/kernel/debug/vmmemctl", "\n".join(lines) + "\n")


class Xen(Scenario):
    """Xen balloon: the toolstack moves the reservation; sysfs xen_memory0."""

    NAME = "xen"
    TITLE = "Xen balloon (simulated guest, 1 GiB reservation)"
    ACCOUNTING = "total"
    CYCLE = 120.0
    TARGETS = ((0.0, 0), (5.0, 256 * MIB), (30.0, 512 * MIB), (65.0, 128 * MIB), (95.0, 0))
    WORKLOADS = ((45.0, 75.0, 320 * MIB, 40 * MIB),)
    INFLATE_KIB_S = 64 * MIB
    DEFLATE_KIB_S = 64 * MIB
    STEP_KIB = PAGE_KIB
    RESERVATION_KIB = 1024 * MIB
    DIR = "sys/devices/system/xen_memory/xen_memory0"

    def setup(self) -> None:
        tree, d = self.tree, self.DIR
        tree.write("sys/hypervisor/type", "xen\n")
        tree.write(f"{d}/schedule_delay", "1\n")
        tree.write(f"{d}/max_schedule_delay", "32\n")
        tree.write(f"{d}/max_retry_count", "0\n")
        tree.write(f"{d}/scrub_pages", "1\n")
        tree.write(f"{d}/info/high_kb", "0\n")

    def write_driver(self) -> None:
        g, d = self.guest, self.DIR
        target_kb = self.RESERVATION_KIB - self.target_kib
        self.tree.write(f"{d}/target_kb", f"{target_kb}\n")
        self.tree.write(f"{d}/target", f"{target_kb * 1024}\n")
        self.tree.write(f"{d}/info/current_kb", f"{self.RESERVATION_KIB - g.balloon_kib}\n")
        self.tree.write(f"{d}/info/low_kb", f"{g.balloon_kib}\n")
        self.tree.write(f"{d}/retry_count", "1\n")


SCENARIOS: dict[str, type[Scenario]] = {s.NAME: s for s in (Virtio, HyperV, VMware, Xen)}
