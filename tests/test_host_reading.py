"""HostReading, MovementTracker and guest_lag: pure functions, and the host block in samples
and recordings (a reading from a real, paused QEMU; see tests/paused_qemu.py)."""

from __future__ import annotations

import dataclasses
import gzip
import json

import pytest

from balloontop.host.reader import HostReader
from balloontop.host.reading import (
    HostReading,
    Lag,
    MovementTracker,
    guest_lag,
    host_reading_from_json,
    stats_are_stale,
)
from balloontop.recording import Recorder, read_recording, sample_from_json
from balloontop.sampler import Sampler
from tests.conftest import CAPTURES
from tests.paused_qemu import MEM_MIB, paused_qemu

MIB = 1024
ROOT = CAPTURES / "virtio-6.1-deflate" / "0512M"


def test_one_move_from_first_to_last_event():
    t = MovementTracker(idle_s=3.0)
    t.poll(100.0, 1024 * MIB)
    assert t.current(100.0) is None
    t.event(101.0, 1023 * MIB)  # QEMU sends the first change at once
    t.event(102.0, 900 * MIB)  # then at most one a second
    t.event(103.0, 768 * MIB)
    move = t.current(103.5)
    assert move is not None and move.in_progress
    assert (move.from_kib, move.to_kib, move.events) == (1024 * MIB, 768 * MIB, 3)
    assert move.delta_kib == 256 * MIB and move.direction == "inflate"
    assert move.duration_s == 2.0 and move.rate_kib_s == 128 * MIB
    done = t.current(110.0)
    assert done is not None and not done.in_progress and done.end == 103.0


def test_a_new_move_after_the_idle_gap_starts_from_the_last_figure():
    t = MovementTracker(idle_s=3.0)
    t.poll(100.0, 1024 * MIB)
    t.event(101.0, 768 * MIB)
    t.poll(104.0, 768 * MIB)
    t.event(120.0, 1024 * MIB)
    move = t.current(120.0)
    assert move.from_kib == 768 * MIB and move.direction == "deflate" and move.events == 1
    assert move.rate_kib_s is None  # one event: no duration to divide by
    assert move.to_json()["delta_kib"] == -256 * MIB


def test_an_event_older_than_a_poll_takes_the_figure_before_it():
    t = MovementTracker()
    t.poll(100.0, 1024 * MIB)
    t.poll(102.0, 768 * MIB)  # our poll saw the end before the (throttled) event arrived
    t.event(101.0, 768 * MIB)
    assert t.current(102.0).from_kib == 1024 * MIB
    assert [p[0] for p in t.points()] == [100.0, 101.0, 102.0]


def test_first_event_without_an_earlier_figure():
    t = MovementTracker()
    t.event(5.0, 512 * MIB)
    move = t.current(5.0)
    assert move.from_kib is None and move.delta_kib is None and move.direction is None


def test_guest_lag_exact_counter():
    ram = 1024 * MIB
    host = [(100.0, 1024 * MIB), (101.0, 900 * MIB), (102.0, 768 * MIB)]
    guest = [(100.5, 0), (101.5, 100 * MIB), (102.5, 200 * MIB), (103.5, 256 * MIB), (104.5, 256 * MIB)]
    lag = guest_lag(host, guest, ram)
    assert lag == Lag(seconds=1.5, max_gap_kib=56 * MIB)  # at 102.5: host 256 MiB, guest 200


def test_guest_lag_within_a_batch_and_never():
    ram = 1024 * MIB
    host = [(0.0, 1024 * MIB), (1.0, 768 * MIB)]
    assert guest_lag(host, [(2.0, 256 * MIB - 1000)], ram, tolerance_kib=1024).seconds == 1.0
    assert guest_lag(host, [(2.0, 256 * MIB - 1000)], ram).seconds is None
    assert guest_lag(host, [(0.5, 256 * MIB)], ram).seconds == -0.5  # guest before the host's event
    assert guest_lag([], [(1.0, 0)], ram) == Lag(None, None)


def test_stale_rule():
    assert stats_are_stale(1000, 2, now=1004.0) is False
    assert stats_are_stale(1000, 2, now=1004.5) is True  # older than two intervals
    assert stats_are_stale(None, 2, now=1000.0) is True  # polling on, nothing ever came
    assert stats_are_stale(1000, 0, now=1000.0) is True  # polling off: what is there is old
    assert stats_are_stale(None, 0, now=1000.0) is False
    assert stats_are_stale(1000, None, now=1e9) is False  # interval unknown: say nothing


@pytest.mark.parametrize("bad", [None, [], "x", {"source": "libvirt"}, {"source": "qmp", "time": "noon"},
                                 {"source": "qmp", "stats": {"stat-x": "1"}, "movement": {"start": 1}}])
def test_malformed_host_blocks_are_none_or_tolerated(bad):
    got = host_reading_from_json(bad)
    assert got is None or isinstance(got, HostReading)
    if isinstance(bad, dict) and "stats" in bad:
        assert got.stats == {"stat-x": None} and got.movement is None


@pytest.fixture(scope="module")
def real_host_reading() -> HostReading:
    with paused_qemu() as address, HostReader(address, stats_interval=2) as reader:
        return reader.read()


def test_sample_carries_host_and_round_trips(real_host_reading):
    assert real_host_reading.actual_kib == MEM_MIB * 1024
    sample = dataclasses.replace(Sampler(ROOT, clock=lambda: 1795675990.25).sample(), host=real_host_reading)
    doc = sample.to_json()
    assert doc["host"]["actual_kib"] == MEM_MIB * 1024 and doc["host"]["stats_interval"] == 2
    again = sample_from_json(json.loads(json.dumps(doc)))
    assert again.host == real_host_reading
    assert again.to_json() == doc


def test_recording_keeps_host_and_old_recordings_replay(tmp_path, real_host_reading):
    plain = Sampler(ROOT, clock=lambda: 1795675990.25).sample()
    path = str(tmp_path / "rec.jsonl.gz")
    with Recorder(path, 1.0) as rec:
        rec.write_sample(dataclasses.replace(plain, host=real_host_reading))
        rec.write_sample(plain)
    got = read_recording(path)
    assert not got.skipped
    assert got.samples[0].host == real_host_reading and got.samples[1].host is None
    # a recording made before the host block existed: no "host" key at all
    old = tmp_path / "old.jsonl.gz"
    lines = gzip.decompress(open(path, "rb").read()).decode().splitlines()
    stripped = []
    for line in lines:
        obj = json.loads(line)
        obj.pop("host", None)
        stripped.append(json.dumps(obj))
    old.write_bytes(gzip.compress(("\n".join(stripped) + "\n").encode()))
    old_rec = read_recording(str(old))
    assert not old_rec.skipped and [s.host for s in old_rec.samples] == [None, None]
    assert old_rec.samples[0].balloon == plain.balloon


def test_a_poisoned_host_block_is_bounded_and_shown_as_data():
    from balloontop.host.text import host_lines

    got = host_reading_from_json({
        "source": "qmp", "time": 1.0, "address": "\x1b]0;owned\x07",
        "stats": {"stat-\x1b[2J": 1 << 70, "stat-nan": float("nan")},
        "notes": ["n" * 100_000], "movement": {"start": float("inf"), "end": 1, "to_kib": 1},
        "memory_devices": [{"type": "virtio-mem", "size_kib": "\x1b[31m"}],
    })
    assert got is not None
    assert set(got.stats.values()) == {None} and got.movement is None
    assert len(got.notes[0]) == 4096
    sample = dataclasses.replace(Sampler(ROOT, clock=lambda: 1795675990.25).sample(), host=got)
    text = "\n".join(host_lines(sample))
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;owned\\x07" in text
    assert host_reading_from_json({"source": "qmp", "time": float("nan")}) is None


class _ListSource:
    """Guest samples from the real 6.1 captures, stepped through (kind "capture")."""

    kind = "capture"

    def __init__(self, samples):
        self.samples = list(samples)

    def sample(self):
        return self.samples.pop(0) if self.samples else None

    def close(self):
        pass


class _ScriptedReader:
    """A HostReader's tracker fed with the BALLOON_CHANGE times of a move; read() returns
    what the tracker says (the QMP side is tested against a real QEMU in test_host_qmp)."""

    def __init__(self, events):
        self.tracker = MovementTracker()
        self.events = list(events)
        self.now = 0.0

    def read(self):
        while self.events and self.events[0][0] <= self.now:
            self.tracker.event(*self.events.pop(0))
        return HostReading(address="scripted", time=self.now, actual_kib=None, ram_kib=1024 * MIB,
                           movement=self.tracker.current(self.now))

    def close(self):
        pass


def test_host_source_measures_the_guests_lag():
    from balloontop.host.source import HostSource

    steps = [CAPTURES / "virtio-6.1-deflate" / s for s in ("1024M", "0768M", "0768M", "0768M")]
    samples = [Sampler(step, clock=lambda t=t: 100.0 + t).sample() for t, step in enumerate(steps)]
    assert [s.balloon.kib for s in samples] == [0, 262144, 262144, 262144]
    reader = _ScriptedReader([(100.2, 1000 * MIB), (100.6, 900 * MIB), (101.6, 768 * MIB)])
    reader.tracker.poll(99.0, 1024 * MIB)
    source = HostSource(_ListSource(samples), reader)
    got = []
    for t in (100.0, 101.0, 102.0, 103.0):
        reader.now = t
        got.append(source.sample().host)
    assert got[0].movement is None and got[0].lag is None  # no BALLOON_CHANGE yet
    assert got[1].movement.events == 2 and got[1].movement.in_progress
    last = got[-1]
    assert last.movement.to_kib == 768 * MIB and last.movement.from_kib == 1024 * MIB
    # the guest's figure (derived, 6.1: tolerance one batch) showed 256 MiB at 101.0,
    # before the host's throttled last event at 101.6
    assert last.lag.seconds == -0.6
    assert last.lag.max_gap_kib == 256 * MIB - (1024 * MIB - 900 * MIB)  # at 101.0: host 124 MiB, guest 256
    assert last.to_json()["lag"] == {"seconds": -0.6, "max_gap_kib": 135168}
    assert host_reading_from_json(last.to_json()) == last
