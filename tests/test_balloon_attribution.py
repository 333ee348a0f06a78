"""How the kernel's shared balloon counters are attributed to drivers."""

from __future__ import annotations

import shutil
from pathlib import Path

from balloontop.balloon import attribute_shared, balloon_share, balloon_total
from balloontop.model import DriverReading
from balloontop.sampler import Sampler

from .conftest import CAPTURES, SYNTHETIC


def _pending(driver: str, instance: str, accounting: str = "total") -> DriverReading:
    return DriverReading(driver, instance, None, None, False, accounting)  # type: ignore[arg-type]


def test_balloon_line_goes_to_the_one_driver_without_a_figure() -> None:
    xen = DriverReading("xen_balloon", "xen_memory0", 1024, "sysfs:xen_memory", True, "total")
    readings = attribute_shared([xen, _pending("virtio_balloon", "virtio0")], {"Balloon": 5120}, {}, 4096)
    assert (readings[1].inflated_kib, readings[1].source) == (4096, "meminfo:Balloon")
    assert balloon_total(readings, {}).kib == 5120


def test_balloon_line_shared_by_two_drivers_is_not_guessed() -> None:
    readings = attribute_shared(
        [_pending("virtio_balloon", "virtio0"), _pending("hv_balloon", "hv-balloon")], {"Balloon": 5120}, {}, 4096
    )
    assert [r.inflated_kib for r in readings] == [None, None]
    assert all("counts several drivers together" in r.warnings[-1] for r in readings)
    assert balloon_total(readings, {"Balloon": 5120}).kib is None


def test_vendor_inflated_lines_without_debugfs(tmp_path: Path) -> None:
    root = tmp_path / "vz"
    shutil.copytree(SYNTHETIC / "vzkernel-virtio", root, symlinks=True)
    (root / "sys/kernel/debug/virtio-balloon").unlink()
    virtio = Sampler(root).sample().driver("virtio_balloon")
    assert virtio is not None
    assert (virtio.inflated_kib, virtio.source, virtio.accounting) == (176128, "meminfo:Inflated", "total")


def test_no_driver_but_a_balloon_line() -> None:
    assert balloon_total([], {"Balloon": 0}).source == "meminfo:Balloon"
    assert balloon_total([], {}).kib is None


def test_share_counts_memory_removed_from_memtotal() -> None:
    sample = Sampler(CAPTURES / "virtio-6.18-nodeflate" / "0512M").sample()
    share = balloon_share(sample.drivers, sample.meminfo, sample.balloon.kib)
    assert share == 524288 / (461940 + 524288)  # guest memory = MemTotal + what left it
