"""The demo guest: every scenario runs headless through the real sampler, deterministically."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from balloontop.demo import SCENARIOS, DemoSource
from balloontop.demo.guest import set_meminfo
from balloontop.events import EventDetector


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run(scenario: str, seconds: int, step: float = 1.0, speed: float = 1.0):
    clock = FakeClock()
    samples, events = [], []
    detector = EventDetector()
    with DemoSource(scenario, clock=clock, speed=speed) as source:
        root = source.root
        for _ in range(int(seconds / step / speed) + 1):
            sample = source.sample()
            samples.append(sample)
            events += detector.feed(sample)
            clock.now += step
    assert not os.path.exists(root)  # close() removed the tree
    return samples, events + detector.close()


EXPECTED_DRIVER = {
    "virtio": ("virtio_balloon", "used"),
    "hv": ("hv_balloon", "total"),
    "vmw": ("vmw_balloon", "used"),
    "xen": ("xen_balloon", "total"),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_runs_for_minutes_without_errors(scenario: str) -> None:
    samples, events = run(scenario, seconds=400, step=2.0)
    driver, accounting = EXPECTED_DRIVER[scenario]
    kinds = Counter(e.kind for e in events)
    assert kinds["inflate"] >= 2 and kinds["deflate"] >= 2
    for sample in samples:
        assert sample.warnings == ()
        assert [d.driver for d in sample.drivers] == [driver]
        reading = sample.drivers[0]
        assert reading.accounting == accounting
        assert sample.balloon.kib is not None and sample.balloon.kib >= 0
        assert sample.system.page_size == 4096 and sample.system.page_size_source != "default"
        assert sample.system.hostname == f"demo-{scenario}"
        assert sample.system.mem_available_kib is not None
        assert 0 <= sample.system.mem_available_kib <= sample.system.mem_total_kib
        meminfo_balloon = sample.meminfo["Balloon"]
        assert meminfo_balloon == sample.vmstat["nr_balloon_pages"] * 4
        if scenario != "vmw":  # vmw's 2 MiB pages are not in Balloon:
            assert meminfo_balloon == sample.balloon.kib
        if accounting == "total":
            assert sample.system.mem_total_kib == 986228 - sample.balloon.kib
        else:
            assert sample.system.mem_total_kib == 986228
    assert max(s.balloon.kib for s in samples) >= 256 * 1024
    # time moves with the simulated clock
    assert samples[-1].time - samples[0].time == pytest.approx(400)
    assert samples[-1].system.uptime_s - samples[0].system.uptime_s == pytest.approx(400)


def test_virtio_story() -> None:
    samples, events = run("virtio", seconds=180)
    kinds = Counter(e.kind for e in events)
    assert kinds["oom_kill"] == 1
    assert kinds["stall"] > 0 and kinds["low_memory"] == 2
    features = samples[0].drivers[0].features
    assert features is not None and set(features.bits) == {1, 2, 32}
    assert len(features.raw) == 128
    # deflate under pressure: the balloon shrinks while the host target stays 768 MiB
    pressure = [e for e in events if e.kind == "deflate" and 60 <= e.time - samples[0].time < 80]
    assert pressure and pressure[0].kib > 200 * 1024
    first = samples[0].vmstat
    last = samples[-1].vmstat
    assert last["balloon_inflate"] - first["balloon_inflate"] == (768 + 512) * 256
    assert last["oom_kill"] == first["oom_kill"] + 1


def test_vmw_counts_2m_pages_in_vmstat_but_not_in_balloon_line() -> None:
    samples, _ = run("vmw", seconds=40)
    last = samples[-1]
    assert last.balloon.kib == 601 * 1024 + 512
    assert last.meminfo["Balloon"] == 384 * 4  # only the 4 KiB pages
    assert last.vmstat["balloon_inflate"] == 601 * 256 + 128


def test_same_clock_same_timeline() -> None:
    a, _ = run("virtio", seconds=120, step=0.7)
    b, _ = run("virtio", seconds=120, step=0.7)
    assert [s.to_json() | {"root": ""} for s in a] == [s.to_json() | {"root": ""} for s in b]


def test_speed_keeps_simulated_rates() -> None:
    fast, events = run("virtio", seconds=180, step=1.0, speed=10.0)
    assert len(fast) == 19  # one sample every 10 simulated seconds
    assert fast[-1].time - fast[0].time == pytest.approx(180)


def test_default_scenario() -> None:
    with DemoSource(None, clock=FakeClock()) as source:
        assert source.name == "virtio" and "virtio" in source.title


def test_unknown_scenario() -> None:
    with pytest.raises(ValueError, match="unknown demo scenario"):
        DemoSource("nope")


def test_meminfo_layout_is_the_kernels() -> None:
    text = "MemTotal:         461940 kB\nVmallocTotal:   34359738367 kB\nHugePages_Total:       0\n"
    assert set_meminfo(text, {"MemTotal": 1024, "HugePages_Total": 12}) == (
        "MemTotal:           1024 kB\nVmallocTotal:   34359738367 kB\nHugePages_Total:      12\n"
    )
