"""The host block in the text report, in Prometheus metrics and in the monitor's history, from
a real guest's step (tests/fixtures/qmp/README.md: Debian 7.3 under QEMU 7.2, balloon at 768 of
1024 MiB)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from balloontop.history import HOST_BALLOON, History, sample_metrics
from balloontop.host.reading import host_reading_from_json
from balloontop.host.reading import Lag
from balloontop.host.text import compare, host_lines, pane_lines, stat_pairs
from balloontop.recording import sample_from_json
from balloontop.report_text import render_text
from tests.conftest import FIXTURES

STEP = FIXTURES / "qmp" / "trixie-backports-7.3-doom-on-0768M"


@pytest.fixture
def sample():
    guest = sample_from_json(json.loads((STEP / "snapshot.json").read_text()))
    host = host_reading_from_json(json.loads((STEP / "host.json").read_text()))
    assert host is not None
    return dataclasses.replace(guest, host=host)


def test_the_host_block_round_trips_exactly(sample):
    # the fixture was read before the "lag" key existed: absent reads back as null
    assert sample.host.to_json() == {**json.loads((STEP / "host.json").read_text()), "lag": None}


def test_host_and_guest_line_up(sample):
    meminfo_total = next(int(line.split()[1]) for line in (STEP / "meminfo").read_text().splitlines()
                         if line.startswith("MemTotal:"))
    cmp = compare(sample, sample.host)
    assert cmp.host_actual_kib + cmp.guest_balloon_kib == 1024 * 1024  # the boot size
    assert cmp.balloon_difference_kib == 0  # the guest's Balloon: caught up with the host
    assert cmp.guest_mem_total_kib == meminfo_total
    assert sample.host.stats["stat-total-memory"] == meminfo_total * 1024
    assert cmp.actual_minus_mem_total_kib == sample.host.actual_kib - meminfo_total


def test_the_history_carries_the_hosts_balloon_beside_the_guests(sample):
    """The graph's host line: RAM - actual (1048576 - 786432 KiB), beside the guest's own
    figure; None (a gap) when the host could not be read, no series at all without a host."""
    metrics = sample_metrics(sample)
    assert metrics[HOST_BALLOON] == 262144 == sample.host.balloon_kib
    assert metrics["balloon_kib"] == 262144  # the guest caught up with the host
    failed = sample.host._replace(error="QMP /run/vm1/bt.qmp: ConnectionRefusedError: refused")
    assert sample_metrics(dataclasses.replace(sample, host=failed))[HOST_BALLOON] is None
    assert HOST_BALLOON not in sample_metrics(dataclasses.replace(sample, host=None))
    history = History()
    history.add(sample.time, metrics)
    history.add(sample.time + 1, sample_metrics(dataclasses.replace(sample, host=None)))
    _, values = history.window(60, [HOST_BALLOON])
    assert values[HOST_BALLOON][0] == 262144 and values[HOST_BALLOON][1] != values[HOST_BALLOON][1]
    assert not history.has_last(HOST_BALLOON)


def test_text_report_shows_the_host(sample):
    text = render_text(sample)
    lines = host_lines(sample)
    assert text.endswith("\n".join(lines) + "\n")
    # deflate-on-oom on: the balloon stays in MemTotal, so MemTotal is above actual
    assert "  actual 768.0 MiB of 1.0 GiB RAM   guest MemTotal 961.2 MiB   difference -193.2 MiB" in lines
    assert ("  balloon 256.0 MiB (host: RAM − actual)   guest 256.0 MiB (meminfo:Balloon)   "
            "difference 0 KiB") in lines
    assert ("    stat-total-memory      961.2 MiB (1007861760 bytes)        guest now 961.2 MiB") in lines
    assert "    stat-major-faults      3278                                guest now 3278" in lines
    assert any(line.startswith("  last move: inflate of 256.0 MiB to actual 768.0 MiB in 1.0 s") for line in lines)
    assert not any("stale" in line.lower() for line in lines)  # 1.9 s old, polling every 2 s


def test_stale_statistics_are_marked(sample):
    old = sample.host._replace(stats_stale=True)
    lines = host_lines(dataclasses.replace(sample, host=old))
    assert any("STALE: older than two polling intervals" in line for line in lines)
    assert "    stat-swap-in           0 KiB (0 bytes)  (stale)            guest now 0 KiB" in lines


def test_metrics(sample):
    pytest.importorskip("prometheus_client")
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from balloontop.export import BalloonCollector, make_registry

    text = generate_latest(make_registry(BalloonCollector(lambda: sample))).decode()
    got = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            got[(s.name, tuple(sorted(s.labels.items())))] = s.value
    guest = sample.system.hostname or ""
    assert got[("balloontop_host_actual_bytes", (("guest", guest),))] == 786432 * 1024
    assert got[("balloontop_host_guest_stat", (("guest", guest), ("stat", "stat-total-memory")))] == 1007861760
    stats = {k[1][1][1] for k in got if k[0] == "balloontop_host_guest_stat"}
    assert stats == set(sample.host.stats)  # every statistic was supplied in this guest


def test_no_host_no_host_metrics(sample):
    pytest.importorskip("prometheus_client")
    from prometheus_client import generate_latest

    from balloontop.export import BalloonCollector, make_registry

    plain = dataclasses.replace(sample, host=None)
    text = generate_latest(make_registry(BalloonCollector(lambda: plain))).decode()
    assert "balloontop_host_" not in text
    assert plain.to_json()["host"] is None


def test_stat_pairs_put_the_guests_own_figure_beside_the_hosts(sample):
    pairs = {p.name: p for p in stat_pairs(sample)}
    assert set(pairs) == set(sample.host.stats)
    total = pairs["stat-total-memory"]
    assert (total.host, total.guest, total.unit, total.stale) == (1007861760, 1007861760, "bytes", False)
    vmstat = sample.vmstat
    faults = pairs["stat-minor-faults"]
    assert faults.unit == "count" and faults.guest == vmstat["pgfault"]
    assert faults.host <= faults.guest  # QEMU's copy is from its last poll, the guest counted on


def test_pane_lines(sample):
    lines = pane_lines(sample, Lag(1.5, 56 * 1024))
    assert lines[0] == f"host (QMP {sample.host.address}, QEMU 7.2.22)"
    assert "  balloon    256.0 MiB   guest 256.0 MiB   diff 0 KiB" in lines
    assert "  guest lag  1.5 s behind the host, at most 56.0 MiB apart" in lines
    assert lines[-1].startswith("  stats      every 2 s, last ") and "STALE" not in lines[-1]
    assert pane_lines(dataclasses.replace(sample, host=None)) == []
