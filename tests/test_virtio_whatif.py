"""The decoder's what-if core (``balloontop.virtio.whatif``), without a screen, on real devices."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from balloontop.rootfs import Root
from balloontop.virtio.devices import read_virtio_devices
from balloontop.virtio.whatif import feature_set, mask, short_name, toggled, whatif_effects

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEVGUEST = FIXTURES / "captures" / "devguest-6.18" / "idle"
NODEFLATE = FIXTURES / "captures" / "virtio-6.18-nodeflate" / "0512M"


def balloon(root: Path):
    return next(d for d in read_virtio_devices(Root(str(root)), []) if d.device_id == 5)


def test_deflate_on_oom_off_moves_a_devguest_balloon_from_used_to_total():
    device = balloon(DEVGUEST)
    assert device.features is not None and device.features.bits == (1, 2, 5, 7, 32)
    what_if = set(device.features.bits) - {2}
    assert toggled(device, what_if) == [2]
    [line] = whatif_effects(device, what_if)
    assert line.startswith("bit 2 DEFLATE_ON_OOM turned off: accounting would change from used to total")
    assert whatif_effects(device, device.features.bits) == []  # nothing toggled, nothing said


def test_deflate_on_oom_on_moves_a_nodeflate_balloon_from_total_to_used():
    device = balloon(NODEFLATE)
    assert device.features is not None and 2 not in device.features.bits
    [line] = whatif_effects(device, set(device.features.bits) | {2})
    assert "accounting would change from total to used" in line


def test_one_line_per_toggled_bit_in_bit_order():
    device = balloon(DEVGUEST)
    what_if = (set(device.features.bits) - {1, 32}) | {4}
    lines = whatif_effects(device, what_if)
    assert [line.split(" turned")[0] for line in lines] == [
        "bit 1 STATS_VQ", "bit 4 PAGE_POISON", "bit 32 VERSION_1"]
    assert "would not receive memory statistics" in lines[0]
    assert "legacy (pre-1.0) device" in lines[2]
    assert mask(what_if) == "0xb4"  # bits 2, 4, 5, 7


def test_unreadable_features_and_untyped_bits_say_so():
    device = replace(balloon(DEVGUEST), features=None)
    [line] = whatif_effects(device, {2})
    assert "accounting would be used (today unknown" in line
    untyped = replace(balloon(DEVGUEST), device_id=None)
    [line] = whatif_effects(untyped, set(untyped.features.bits) | {3})
    assert "depends on the device type" in line


def test_feature_set_prints_as_the_kernel_would_and_names_match_the_pane():
    fs = feature_set([1, 2, 32], 64, 5)
    assert fs.raw == "0110" + "0" * 28 + "1" + "0" * 31 and fs.width == 64
    assert fs.bits == (1, 2, 32) and fs.unknown_bits == ()
    assert feature_set([7], 64, 5).unknown_bits == (7,)
    assert [short_name(n) for n in ("VIRTIO_BALLOON_F_STATS_VQ", "VIRTIO_F_VERSION_1",
                                    "VIRTIO_RING_F_EVENT_IDX")] == ["STATS_VQ", "VERSION_1", "EVENT_IDX"]


def test_the_whatif_core_and_the_plot_module_do_not_import_textual():
    code = ("import sys, balloontop.virtio.whatif, balloontop.plot\n"
            "balloontop.plot.new_figure()\n"
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
