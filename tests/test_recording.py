"""Recordings: round trip, damaged files, gzip streams cut short, replay."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from balloontop.events import EventDetector, marker
from balloontop.model import Sample
from balloontop.recording import RECORDING_SCHEMA, Recorder, read_recording, sample_from_json
from balloontop.replay import ReplaySource
from balloontop.sampler import Sampler

CAPTURES = Path(__file__).parent / "fixtures" / "captures"
STEPS = ["1024M", "0768M", "0512M", "1024M-again"]


def capture_samples(capture: str = "virtio-6.18-nodeflate", repeat: int = 2) -> list[Sample]:
    times = iter(float(t) for t in range(1_700_000_000, 1_700_001_000))
    out = []
    for step in STEPS:
        sampler = Sampler(str(CAPTURES / capture / step), clock=lambda: next(times))
        out += [sampler.sample() for _ in range(repeat)]
    return out


@pytest.mark.parametrize("capture", ["virtio-6.18-nodeflate", "devguest-6.18/idle"])
def test_sample_json_round_trip(capture: str) -> None:
    folder = CAPTURES / capture
    root = folder if (folder / "proc").is_dir() else folder / "0512M"
    sample = Sampler(str(root), clock=lambda: 5.0).sample()
    again = sample_from_json(json.loads(json.dumps(sample.to_json())))
    assert again.to_json() == sample.to_json()
    assert again.drivers == sample.drivers
    assert again.balloon == sample.balloon


def write(path: Path, samples: list[Sample], with_events: bool = True) -> None:
    detector = EventDetector()
    with Recorder(str(path), 1.0, started=1.0) as rec:
        for i, s in enumerate(samples):
            rec.write_sample(s)
            for e in detector.feed(s) if with_events else []:
                rec.write_event(e)
            if i == 3:
                rec.write_event(marker(s.time, "phase 2"))
        for e in detector.close() if with_events else []:
            rec.write_event(e)


@pytest.mark.parametrize("name", ["rec.jsonl", "rec.jsonl.gz"])
def test_write_and_read_back(tmp_path: Path, name: str) -> None:
    samples = capture_samples()
    path = tmp_path / name
    write(path, samples)
    rec = read_recording(str(path))
    assert rec.skipped == []
    assert rec.header is not None
    # schema 2 since statistics are recorded as values (tests/test_recording_formats.py)
    assert rec.header["type"] == "header" and rec.header["schema"] == RECORDING_SCHEMA == 2
    assert rec.header["kernel"] == "6.18.15+deb13-amd64" and rec.header["interval"] == 1.0
    assert rec.header["balloontop"]
    assert [s.to_json() for s in rec.samples] == [s.to_json() for s in samples]
    kinds = [e.kind for e in rec.events]
    assert kinds.count("inflate") == 1 and kinds.count("deflate") == 1 and "marker" in kinds
    if name.endswith(".gz"):
        assert gzip.decompress(path.read_bytes()).count(b"\n") == 1 + len(samples) + len(kinds)


def test_truncated_last_line_and_garbage(tmp_path: Path) -> None:
    samples = capture_samples()
    path = tmp_path / "rec.jsonl"
    write(path, samples, with_events=False)
    lines = path.read_bytes().split(b"\n")
    lines.insert(3, b"\x00\x01 garbage {")
    data = b"\n".join(lines).rstrip(b"\n")
    path.write_bytes(data[:-40])  # cut the last sample short
    rec = read_recording(str(path))
    assert len(rec.samples) == len(samples) - 1
    assert rec.skipped == ["line 4: not JSON", f"line {len(samples) + 3}: truncated last line"]  # + header, marker


def test_gzip_cut_anywhere_keeps_the_complete_lines(tmp_path: Path) -> None:
    samples = capture_samples(repeat=1)
    path = tmp_path / "rec.jsonl.gz"
    rec = Recorder(str(path), 1.0)
    sizes = []
    for s in samples:
        rec.write_sample(s)
        sizes.append(path.stat().st_size)
    data = path.read_bytes()  # never closed: no gzip trailer, as after SIGKILL
    for i, size in enumerate(sizes):
        cut = tmp_path / f"cut{i}.gz"
        cut.write_bytes(data[:size])
        got = read_recording(str(cut))
        assert len(got.samples) == i + 1
        assert any("truncated" in s for s in got.skipped)
        cut.write_bytes(data[: size + 7])  # part of the next line's deflate block
        assert len(read_recording(str(cut)).samples) == i + 1
    rec.close()
    assert len(read_recording(str(path)).samples) == len(samples)


def test_gzip_garbage_after_data(tmp_path: Path) -> None:
    samples = capture_samples(repeat=1)
    path = tmp_path / "rec.jsonl.gz"
    with Recorder(str(path), 1.0) as rec:
        for s in samples[:2]:
            rec.write_sample(s)
    path.write_bytes(path.read_bytes()[:-8] + b"\xff" * 40)
    got = read_recording(str(path))
    assert len(got.samples) == 2
    assert got.skipped


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_replay_reproduces_the_samples_in_time(tmp_path: Path) -> None:
    samples = capture_samples()
    path = tmp_path / "rec.jsonl"
    write(path, samples)
    clock = FakeClock()
    source = ReplaySource(str(path), speed=2.0, clock=clock)
    got = [source.sample()]
    assert source.sample() is None  # the next is 1 s later: due after 0.5 s at speed 2
    clock.now += 0.5
    got.append(source.sample())
    clock.now += 10
    got += source.due()
    assert source.finished and source.sample() is None
    assert [s.to_json() for s in got] == [s.to_json() for s in samples]
    # the graph data as it was: balloon sizes over time
    assert [(s.time, s.balloon.kib) for s in source.history()] == [
        (s.time, s.balloon.kib) for s in samples
    ]
    assert [e.kind for e in source.take_events()].count("inflate") == 1
    assert source.take_events() == []


def test_replay_pause_step_seek(tmp_path: Path) -> None:
    samples = capture_samples()
    path = tmp_path / "rec.jsonl"
    write(path, samples)
    clock = FakeClock()
    source = ReplaySource(read_recording(str(path)), clock=clock)
    assert source.sample() is samples[0] or source.history()[0].time == samples[0].time
    source.paused = True
    clock.now += 100
    assert source.sample() is None and source.position == samples[0].time
    assert source.step().time == samples[1].time
    assert source.paused and source.position == samples[1].time
    source.seek(samples[5].time)
    assert [s.time for s in source.history()] == [s.time for s in samples[:6]]
    events = source.take_events()
    assert all(e.time <= samples[5].time for e in events)
    assert "marker" in [e.kind for e in events]
    source.paused = False
    clock.now += 1
    assert source.sample().time == samples[6].time
    source.seek(0)
    assert source.position == samples[0].time
    source.speed = 4
    clock.now += 0.25
    assert [s.time for s in source.due()] == [samples[1].time]


def test_empty_or_headerless(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    rec = read_recording(str(path))
    assert rec.samples == [] and rec.skipped == ["no header line"]
    Recorder(str(path), 2.0).close()
    rec = read_recording(str(path))
    assert rec.header is not None and rec.header["interval"] == 2.0 and rec.skipped == []
