"""The core against fixtures built from kernel format strings (no capture exists):
each folder's EXPECTED.json says what balloontop must report (see its README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from balloontop.sampler import Sampler

from .conftest import SYNTHETIC

FIXTURES = sorted(p.parent for p in SYNTHETIC.glob("*/EXPECTED.json"))


def _expected(path: Path) -> dict:
    return json.loads((path / "EXPECTED.json").read_text())


def test_synthetic_fixtures_are_present() -> None:
    names = {p.name for p in FIXTURES}
    assert {"hv-balloon-6.18", "hv-balloon-designnote", "vmw-balloon-new", "vmw-balloon-old", "xen-balloon",
            "pseries-cmm", "s390-cmm", "virtio-mem", "vzkernel-virtio", "no-balloon"} <= names


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_driver_figures(fixture: Path) -> None:
    expected = _expected(fixture)
    sample = Sampler(fixture).sample()
    assert sample.system.kernel == expected["kernel"]
    assert sample.system.page_size == expected["page_size"]
    if expected["driver"] is None:
        assert [r for r in sample.drivers if r.counts_in_total] == []
        assert (sample.balloon.kib, sample.balloon.source) == (expected["inflated_kib"], expected["source"])
        return
    reading = sample.driver(expected["driver"], expected["instance"])
    assert reading is not None, [r.driver for r in sample.drivers]
    assert reading.inflated_kib == expected["inflated_kib"]
    assert reading.source == expected["source"]
    assert reading.exact == expected["exact"]
    assert reading.accounting == expected["accounting"]
    assert sample.balloon.kib == expected["inflated_kib"]
    for name, value in expected["stats"].items():
        assert name in reading.stats, f"{name} missing from {sorted(reading.stats)}"
        assert reading.stats[name].value == value, name
    for fragment in expected["warnings_contain"]:
        assert any(fragment in w for w in reading.warnings), (fragment, reading.warnings)
    if not expected["warnings_contain"]:
        assert reading.warnings == ()
    if "features" in expected:
        assert reading.features is not None and list(reading.features.bits) == expected["features"]


def test_vmware_two_mib_pages_missing_from_balloon_line() -> None:
    sample = Sampler(SYNTHETIC / "vmw-balloon-new").sample()
    vmw = sample.driver("vmw_balloon")
    assert vmw is not None
    assert sample.meminfo["Balloon"] == 36864 < vmw.inflated_kib == 118784
    assert any("80 MiB less" in w for w in vmw.warnings)


def test_hv_balloon_both_label_sets_give_the_same_names() -> None:
    mainline = Sampler(SYNTHETIC / "hv-balloon-6.18").sample().driver("hv_balloon")
    earlier = Sampler(SYNTHETIC / "hv-balloon-designnote").sample().driver("hv_balloon")
    assert mainline is not None and earlier is not None
    assert {"pages_ballooned", "total_pages_committed"} <= set(mainline.stats) & set(earlier.stats)
    assert "vm_pages_committed" in earlier.stats


def test_virtio_mem_is_present_but_not_counted() -> None:
    sample = Sampler(SYNTHETIC / "virtio-mem").sample()
    mem = sample.driver("virtio_mem", "virtio1")
    assert mem is not None and not mem.counts_in_total and mem.inflated_kib is None
    assert mem.stats["plugged_kib"].value == 524288
    assert sample.balloon.kib == 98304  # the virtio balloon alone


def test_offered_features_from_virtio_debugfs() -> None:
    sample = Sampler(SYNTHETIC / "virtio-debug-features").sample()
    expected = _expected(SYNTHETIC / "virtio-debug-features")
    device = sample.virtio_devices[0]
    assert device.offered_bits == tuple(expected["offered_features"])
    assert device.features is not None
    assert sorted(set(device.offered_bits) - set(device.features.bits)) == expected["offered_not_negotiated"]


def test_xen_target_and_deficit() -> None:
    xen = Sampler(SYNTHETIC / "xen-balloon").sample().driver("xen_balloon")
    expected = _expected(SYNTHETIC / "xen-balloon")
    assert xen is not None
    assert xen.stats["target_kb"].value == expected["target_kib"]
    assert xen.stats["deficit_kb"].value == expected["deficit_kib"]


def test_pseries_page_size_is_derived_as_64k() -> None:
    system = Sampler(SYNTHETIC / "pseries-cmm").sample().system
    assert (system.page_size, system.page_size_source) == (65536, "meminfo:Balloon")
