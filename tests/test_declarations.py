"""Every figure declared once: driver declarations, the one feature-name form, the one
DEFLATE_ON_OOM test, the one accounting text and the one formatter of a size, checked on
readings of the real captures and the synthetic fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from balloontop import drivers
from balloontop.balloon import ACCOUNTING_WORDS
from balloontop.drivers.virtio_balloon import accounting_of, deflate_on_oom, reading_deflate_on_oom
from balloontop.model import NO_SPEC, StatSpec
from balloontop.oom import account
from balloontop.report_text import render_text
from balloontop.sampler import Sampler
from balloontop.units import format_kib, format_mib, pages_to_kib
from balloontop.virtio.decode import decode_bits
from tests.golden.make_golden import fixture_roots

from .conftest import CAPTURES, FIXTURES

ROOTS = fixture_roots()


def test_every_driver_declares_title_place_and_stats() -> None:
    assert [d.NAME for d in drivers.DRIVERS] == drivers.names() and len(drivers.DRIVERS) == 7
    for module in drivers.DRIVERS:
        assert module.TITLE and module.LOOKS_AT and module.STATS
        assert all(isinstance(spec, StatSpec) and spec.meaning for spec in module.STATS.values())
    assert drivers.title("hv_balloon") == "Hyper-V balloon" and drivers.title("nope") == "nope"
    assert drivers.looked_for()[0] == "virtio_balloon (/sys/bus/virtio, meminfo Balloon:, vmstat balloon_*)"


def test_balloon_line_is_declared_once() -> None:
    virtio, hv, vmw = (drivers.BY_NAME[n].STATS["Balloon"] for n in ("virtio_balloon", "hv_balloon", "vmw_balloon"))
    assert virtio is hv  # the same object, not an equal copy
    assert vmw.unit == virtio.unit and vmw.meaning != virtio.meaning  # vmw: 4 KiB pages only


@pytest.mark.parametrize("root", ROOTS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_stat_read_from_a_fixture_is_a_declared_one(root: Path) -> None:
    sample = Sampler(str(root)).sample()
    for reading in sample.drivers:
        for name, stat in reading.stats.items():
            spec = drivers.stat_spec(reading.driver, name)
            assert stat.spec is spec  # shared with the declaration, not copied
            # vmw_balloon passes every other vmmemctl counter through undeclared (the golden
            # JSON pins their empty unit and meaning); every other driver declares all it shows
            assert spec is not NO_SPEC or reading.driver == "vmw_balloon", (reading.driver, name)


def test_feature_names_have_one_short_form() -> None:
    bits = {b.bit: b for b in decode_bits([1, 2, 29, 32], 5)}
    assert bits[2].short_name == "DEFLATE_ON_OOM" and bits[32].short_name == "VERSION_1"
    assert bits[29].short_name == "EVENT_IDX"  # VIRTIO_RING_F_EVENT_IDX
    # the snapshot of the development machine (bit 7 is a vendor extension)
    text = render_text(Sampler(str(CAPTURES / "devguest-6.18" / "idle")).sample())
    assert "features: 1 STATS_VQ, 2 DEFLATE_ON_OOM, 5 REPORTING, 7 unknown, 32 VERSION_1" in text


def test_the_decoders_what_if_uses_the_same_names() -> None:
    pytest.importorskip("textual")
    from balloontop.tui.feature_decoder import whatif_effects

    sample = Sampler(str(CAPTURES / "virtio-6.1-deflate" / "0512M")).sample()
    (device,) = [d for d in sample.virtio_devices if d.device_id == 5]
    assert device.features is not None and device.features.has(32)
    lines = whatif_effects(device, set(device.features.bits) - {32, 2})
    assert lines[0].startswith("bit 2 DEFLATE_ON_OOM turned off")
    assert lines[1].startswith("bit 32 VERSION_1 turned off")


@pytest.mark.parametrize("capture, negotiated, accounting", [
    ("virtio-6.1-deflate", True, "used"), ("virtio-6.1-nodeflate", False, "total"),
    ("virtio-6.18-nodeflate", False, "total"),
])
def test_deflate_on_oom_is_tested_in_one_place(capture: str, negotiated: bool, accounting: str) -> None:
    sample = Sampler(str(CAPTURES / capture / "0512M")).sample()
    reading = sample.driver("virtio_balloon")
    assert reading is not None
    assert reading_deflate_on_oom(reading) is negotiated and deflate_on_oom(reading.features) is negotiated
    (device,) = [d for d in sample.virtio_devices if d.device_id == 5]
    assert accounting_of(device) == accounting == reading.accounting
    assert reading.stats["deflate_on_oom"].value == ("yes" if negotiated else "no")
    hv = Sampler(str(FIXTURES / "synthetic" / "hv-balloon-6.18")).sample().driver("hv_balloon")
    assert hv is not None and reading_deflate_on_oom(hv) is None


def test_the_oom_account_uses_the_one_accounting_text() -> None:
    from balloontop.kmsg.records import parse_log
    from balloontop.kmsg.reports import oom_reports, parse_reports

    log = (FIXTURES / "kmsg" / "6.18-oom-kill" / "kmsg.txt").read_text()
    (report,) = oom_reports(parse_reports(parse_log(log).records))
    sample = Sampler(str(CAPTURES / "virtio-6.18-nodeflate" / "0512M")).sample()
    text = account(report, sample).text
    assert f"accounting: {ACCOUNTING_WORDS['total']} (virtio_balloon without DEFLATE_ON_OOM, current reading)" in text


def test_sizes_have_one_formatter() -> None:
    sample = Sampler(str(CAPTURES / "virtio-6.18-nodeflate" / "0512M")).sample()
    kib = sample.balloon.kib
    assert kib == 524288
    assert format_kib(kib) == "512.0 MiB" and format_mib(kib) == "512 MiB"
    assert format_mib(kib, "-", 1) == "512.0 MiB" and format_mib(None, "-", 1) == "-"
    total = sample.system.mem_total_kib
    assert total is not None and format_mib(total) == f"{total / 1024:,.1f} MiB"  # not a whole MiB
    inflate = sample.vmstat["balloon_inflate"] - sample.vmstat["balloon_deflate"]
    assert pages_to_kib(inflate, sample.system.page_size) == kib  # 4 KiB pages, 512 MiB


def test_the_help_lists_every_declared_statistic() -> None:
    pytest.importorskip("textual")
    from textual.content import Content

    from balloontop.tui.screens import driver_help_lines

    plain = "\n".join(Content.from_markup(line).plain for line in driver_help_lines())
    for module in drivers.DRIVERS:
        assert f"{module.TITLE} ({module.NAME}): {module.LOOKS_AT}" in plain
        for name, spec in module.STATS.items():
            assert f"{name}: {spec.meaning}" in plain
