"""The core against every real capture step: size, source, accounting, devices."""

from __future__ import annotations

from pathlib import Path

import pytest

from balloontop.sampler import Sampler

from .conftest import CAPTURES, capture_info, capture_steps

STEPS = capture_steps()


def test_every_capture_is_present() -> None:
    # 3 captures x (boot, 1024M, 0768M, 0512M, 1024M-again)
    assert len(STEPS) == 15


@pytest.mark.parametrize("step", STEPS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_inflated_size_matches_the_hypervisor(step: Path) -> None:
    expected = capture_info(step)["expected_inflated_kib"]
    sample = Sampler(step, clock=lambda: 1.0).sample()
    virtio = sample.driver("virtio_balloon", "virtio0")
    assert virtio is not None
    assert virtio.inflated_kib == expected
    assert sample.balloon.kib == expected
    if "Balloon" in sample.meminfo:  # 6.18: exact from meminfo
        assert (virtio.source, virtio.exact) == ("meminfo:Balloon", True)
    else:  # 6.1: derived from the vmstat events since boot
        assert (virtio.source, virtio.exact) == ("vmstat:inflate-deflate", False)
    assert not virtio.warnings and not sample.warnings


@pytest.mark.parametrize("step", STEPS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_accounting_follows_deflate_on_oom(step: Path) -> None:
    sample = Sampler(step).sample()
    virtio = sample.driver("virtio_balloon")
    assert virtio is not None and virtio.features is not None
    deflate_on_oom = virtio.features.raw[2] == "1"
    assert deflate_on_oom == ("-deflate" in step.parent.name)
    assert virtio.accounting == ("used" if deflate_on_oom else "total")


def test_memtotal_moves_only_without_deflate_on_oom() -> None:
    def mem_total(capture: str, step: str) -> int:
        return Sampler(CAPTURES / capture / step).sample().system.mem_total_kib or 0

    assert mem_total("virtio-6.1-deflate", "0512M") == mem_total("virtio-6.1-deflate", "1024M") == 983744
    assert mem_total("virtio-6.1-nodeflate", "1024M") - mem_total("virtio-6.1-nodeflate", "0512M") == 524288


def test_snapshot_json_of_6_1_deflate_0512m() -> None:
    step = CAPTURES / "virtio-6.1-deflate" / "0512M"
    doc = Sampler(step, clock=lambda: 1795675990.1).sample().to_json()
    assert doc["schema"] == 1 and doc["time"] == 1795675990.1 and doc["root"] == str(step)
    assert doc["system"]["kernel"] == "6.1.0-56-amd64"
    assert doc["system"]["hostname"] is None  # not in the capture: never this machine's name
    assert doc["system"]["page_size"] == 4096
    assert doc["system"]["mem_total_kib"] == 983744
    assert doc["system"]["mem_free_kib"] == 428236
    assert doc["system"]["mem_available_kib"] == 361452
    assert doc["meminfo"]["HugePages_Total"] == 0
    assert doc["vmstat"]["balloon_inflate"] == 131072 and doc["vmstat"]["oom_kill"] == 0
    assert doc["balloon"] == {"kib": 524288, "source": "vmstat:inflate-deflate", "exact": False}
    (driver,) = doc["drivers"]
    assert driver["driver"] == "virtio_balloon" and driver["instance"] == "virtio0"
    assert driver["accounting"] == "used"
    assert driver["features"] == {
        "raw": "0110000000000000000000000000010010000000100000000000000000000000",
        "bits": [1, 2, 29, 32, 40],
        "unknown_bits": [],
    }
    assert driver["stats"]["balloon_inflate"]["value"] == 131072
    assert driver["stats"]["balloon_inflate"]["unit"] == "pages"
    devices = {d["instance"]: d for d in doc["virtio_devices"]}
    balloon = devices["virtio0"]
    assert balloon["device_id"] == 5 and balloon["type"] == "balloon" and balloon["vendor"] == 0x1AF4
    assert balloon["status"] == 15
    assert balloon["status_flags"] == ["ACKNOWLEDGE", "DRIVER", "DRIVER_OK", "FEATURES_OK"]
    assert balloon["bus_address"] == "0000:00:01.0" and balloon["driver"] == "virtio_balloon"
    assert devices["virtio1"]["device_id"] == 9 and devices["virtio1"]["driver"] == "9pnet_virtio"
    assert doc["warnings"] == []


def test_page_size_is_derived_from_the_root() -> None:
    six18 = Sampler(CAPTURES / "virtio-6.18-nodeflate" / "0512M").sample().system
    assert (six18.page_size, six18.page_size_source) == (4096, "meminfo:Balloon")
    six1 = Sampler(CAPTURES / "virtio-6.1-deflate" / "0512M").sample().system
    assert (six1.page_size, six1.page_size_source) == (4096, "zoneinfo")


def test_development_machine_capture() -> None:
    sample = Sampler(CAPTURES / "devguest-6.18" / "idle").sample()
    virtio = sample.driver("virtio_balloon")
    assert virtio is not None and virtio.features is not None
    assert virtio.features.width == 128
    assert virtio.features.bits == (1, 2, 5, 7, 32)
    assert virtio.features.unknown_bits == (7,)  # the vendor "free bitmap" extension
    assert virtio.accounting == "used"
    assert (virtio.inflated_kib, virtio.source) == (0, "meminfo:Balloon")
    types = [(d.instance, d.type, d.driver) for d in sample.virtio_devices]
    assert types == [
        ("virtio0", "balloon", "virtio_balloon"),
        ("virtio1", "block", "virtio_blk"),
        ("virtio2", "net", "virtio_net"),
        ("virtio3", "vsock", "vmw_vsock_virtio_transport"),
        ("virtio4", "rng", "virtio_rng"),
    ]
