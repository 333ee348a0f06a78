"""Event detection over sequences of samples read from real captures (tests/fixtures)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from balloontop.events import EventDetector, Thresholds, marker
from balloontop.model import FeatureSet, Sample
from balloontop.sampler import Sampler

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURES = FIXTURES / "captures"
KMSG = FIXTURES / "kmsg"


class Clock:
    """A fake wall clock: each reading is one ``step`` later."""

    def __init__(self, start: float = 1_000_000.0, step: float = 1.0) -> None:
        self.now = start - step
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def sequence(capture: str, steps: list[tuple[str, int]], step: float = 1.0) -> list[Sample]:
    """Samples of ``capture``: each (step folder, how many samples in a row), ``step`` s apart."""
    clock = Clock(step=step)
    out = []
    for folder, count in steps:
        sampler = Sampler(str(CAPTURES / capture / folder), clock=clock)
        out += [sampler.sample() for _ in range(count)]
    return out


def run(samples: list[Sample], thresholds: Thresholds | None = None) -> list:
    detector = EventDetector(thresholds)
    events = []
    for s in samples:
        events += detector.feed(s)
    return events + detector.close()


STEPS = [("1024M", 3), ("0768M", 3), ("0512M", 3), ("1024M-again", 8)]


@pytest.mark.parametrize(
    "capture", ["virtio-6.1-nodeflate", "virtio-6.1-deflate", "virtio-6.18-nodeflate"]
)
def test_two_step_inflate_is_one_episode_then_one_deflate(capture: str) -> None:
    samples = sequence(capture, STEPS)
    assert [s.balloon.kib for s in samples[::3]][:3] == [0, 262144, 524288]
    events = [e for e in run(samples) if e.kind in ("inflate", "deflate")]
    assert [(e.kind, e.kib) for e in events] == [("inflate", 524288), ("deflate", 524288)]
    inflate, deflate = events
    # starts at the last sample before the first move, ends at the last sample that moved
    assert inflate.details["start"] == samples[2].time
    assert inflate.details["end"] == samples[6].time == inflate.time
    assert inflate.details["peak_rate_mib_s"] == 256.0  # 256 MiB between samples 1 s apart
    assert deflate.details["peak_rate_mib_s"] == 512.0
    assert deflate.details["from_kib"] == 524288 and deflate.details["to_kib"] == 0
    assert deflate.driver == "virtio_balloon"
    assert "inflated by 512 MiB" in inflate.message


def test_long_pause_splits_the_inflate() -> None:
    samples = sequence("virtio-6.18-nodeflate", [("1024M", 2), ("0768M", 7), ("0512M", 2)])
    events = run(samples)
    assert [(e.kind, e.kib) for e in events] == [("inflate", 262144), ("inflate", 262144)]


def test_pause_rule_follows_idle_ticks() -> None:
    samples = sequence("virtio-6.18-nodeflate", [("1024M", 2), ("0768M", 7), ("0512M", 2)])
    events = run(samples, Thresholds(idle_ticks=10))
    assert [(e.kind, e.kib) for e in events] == [("inflate", 524288)]


def test_active_episode_while_inflating() -> None:
    samples = sequence("virtio-6.18-nodeflate", [("1024M", 2), ("0768M", 2)])
    detector = EventDetector()
    for s in samples:
        assert detector.feed(s) == []
    active = detector.active_episode
    assert active is not None and active.kind == "inflate" and active.moved_kib == 262144
    assert detector.close()[0].kib == 262144
    assert detector.active_episode is None


def test_first_sample_is_a_baseline() -> None:
    samples = sequence("virtio-6.18-nodeflate", [("0512M", 1)])
    assert EventDetector().feed(samples[0]) == []


def test_driver_vanishing_and_appearing() -> None:
    with_balloon = sequence("virtio-6.18-nodeflate", [("0512M", 1)])[0]
    without = replace(with_balloon, time=with_balloon.time + 1, drivers=())
    back = replace(with_balloon, time=with_balloon.time + 2)
    detector = EventDetector()
    detector.feed(with_balloon)
    gone = detector.feed(without)
    assert [(e.kind, e.driver, e.instance) for e in gone] == [
        ("driver_removed", "virtio_balloon", "virtio0")
    ]
    assert [e.kind for e in detector.feed(back)] == ["driver_added"]


def test_feature_bits_change() -> None:
    sample = sequence("devguest-6.18", [("idle", 1)])[0]
    reading = sample.driver("virtio_balloon")
    assert reading is not None and reading.features is not None
    assert set(reading.features.bits) >= {1, 2, 5, 7, 32}
    bits = tuple(b for b in reading.features.bits if b != 2)
    raw = "".join("1" if i in bits else "0" for i in range(len(reading.features.raw)))
    changed = replace(reading, features=FeatureSet(raw=raw, bits=bits))
    later = replace(sample, time=sample.time + 1, drivers=(changed,))
    detector = EventDetector()
    detector.feed(sample)
    (event,) = detector.feed(later)
    assert event.kind == "features_changed"
    assert event.details["removed"] == [2] and event.details["added"] == []


def kmsg_root(tmp_path: Path, capture: str, when: str) -> str:
    """A root made of the meminfo, vmstat and uptime captured before/after a kmsg event."""
    root = tmp_path / capture / when
    (root / "proc").mkdir(parents=True)
    for name in ("meminfo", "vmstat", "uptime"):
        shutil.copy(KMSG / capture / when / name, root / "proc" / name)
    return str(root)


def test_oom_kill_increment(tmp_path: Path) -> None:
    clock = Clock()
    before = Sampler(kmsg_root(tmp_path, "6.18-oom-kill", "before"), clock=clock).sample()
    after = Sampler(kmsg_root(tmp_path, "6.18-oom-kill", "after"), clock=clock).sample()
    detector = EventDetector()
    detector.feed(before)
    events = detector.feed(after) + detector.close()
    # the hog also stalled in allocation twice (allocstall_movable 0 -> 2)
    assert [e.kind for e in events] == ["oom_kill", "stall"]
    assert events[0].details["count"] == 1
    assert events[1].details["allocstall"] == 2
    assert "oom_kill 0 -> 1" in events[0].message


def test_deflate_under_pressure_with_allocation_stalls(tmp_path: Path) -> None:
    clock = Clock()
    before = Sampler(kmsg_root(tmp_path, "6.18-deflate-on-oom", "before"), clock=clock).sample()
    after = Sampler(kmsg_root(tmp_path, "6.18-deflate-on-oom", "after"), clock=clock).sample()
    detector = EventDetector()
    detector.feed(before)
    events = detector.feed(after) + detector.close()
    kinds = {e.kind: e for e in events}
    assert set(kinds) == {"stall", "deflate"}
    assert kinds["stall"].details["allocstall"] == 180 + 560  # normal + movable
    assert kinds["deflate"].kib == 524288 - 179200  # 86272 pages of 4 KiB


def test_stall_ticks_in_a_row_are_one_burst() -> None:
    base = sequence("virtio-6.18-nodeflate", [("0512M", 1)])[0]

    def at(t: float, stalls: int, steal: int) -> Sample:
        vm = dict(base.vmstat, allocstall_normal=stalls, pgsteal_direct=steal, pgscan_direct=steal)
        return replace(base, time=t, vmstat=vm)

    detector = EventDetector(Thresholds(idle_ticks=3))
    counts = [(0, 0), (2, 100), (5, 300), (5, 300), (9, 2000), (9, 2000), (9, 2000), (9, 2000)]
    counts += [(10, 2000)] + [(10, 2000)] * 3
    events = []
    for t, (stalls, steal) in enumerate(counts):
        events += detector.feed(at(float(t), stalls, steal))
    assert [(e.kind, e.time) for e in events] == [("stall", 4.0), ("stall", 8.0)]
    first = events[0].details
    assert (first["start"], first["allocstall"], first["pgsteal_direct"]) == (1.0, 9, 2000)
    assert events[0].kib == 2000 * 4
    assert "9 allocation stalls" in events[0].message


def test_low_memory_once_per_crossing() -> None:
    base = sequence("virtio-6.18-nodeflate", [("0512M", 1)])[0]
    total = base.system.mem_total_kib
    assert total == 461940

    def at(t: float, avail: int) -> Sample:
        return replace(base, time=t, system=replace(base.system, mem_available_kib=avail))

    detector = EventDetector(Thresholds(low_memory_fraction=0.10))
    kinds = []
    for t, avail in enumerate([354636, 40000, 30000, 20000, 354636, 10000]):
        kinds += [e.kind for e in detector.feed(at(float(t), avail))]
    assert kinds == ["low_memory", "low_memory"]


def test_marker_is_one_line() -> None:
    event = marker(12.5, "load test\nphase 2 starts")
    assert event.kind == "marker" and event.message == "load test phase 2 starts"
    assert event.to_json() == {
        "type": "event",
        "kind": "marker",
        "time": 12.5,
        "message": "load test phase 2 starts",
    }
