"""Recordings store a driver statistic's value only; recordings written before (schema 1, each
statistic with its unit and meaning) still read, replay and report the same."""

from __future__ import annotations

import dataclasses
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

from balloontop import drivers
from balloontop.cli import main
from balloontop.commands.report import summarise
from balloontop.recording import Recorder, read_recording
from balloontop.replay import ReplaySource
from balloontop.sampler import Sampler

HERE = Path(__file__).parent / "fixtures"
OLD = HERE / "recordings" / "virtio-6.1-deflate-schema1-v0.1.jsonl"
CAPTURE = HERE / "captures" / "virtio-6.1-deflate"
STEPS = ["boot", "0512M", "0768M", "1024M", "1024M-again"]
T0 = 1767225600.0


def rewrite(path: Path) -> None:
    """The old recording's samples and events written again by today's Recorder."""
    old = read_recording(str(OLD))
    with Recorder(str(path), old.interval or 0.0, started=T0) as rec:
        for sample in old.samples:
            rec.write_sample(sample)
        for event in old.events:
            rec.write_event(event)


def test_old_recording_reads_as_the_captures_read_today() -> None:
    rec = read_recording(str(OLD))
    assert rec.skipped == [] and rec.header is not None and rec.header["schema"] == 1
    assert len(rec.samples) == len(STEPS)
    for i, (sample, step) in enumerate(zip(rec.samples, STEPS)):
        today = dataclasses.replace(Sampler(str(CAPTURE / step)).sample(), time=T0 + 5.0 * i,
                                    root=sample.root)  # where the recording was made: another checkout
        assert sample.to_json() == today.to_json(), step
    # the capture's balloon: none at boot, 512 MiB at 0512M (QMP target 512 MiB below 1 GiB)
    assert [s.balloon.kib for s in rec.samples][:2] == [0, 524288]
    assert [e.kind for e in rec.events] == ["inflate", "marker", "deflate"]


def test_old_units_and_meanings_are_the_drivers_declarations() -> None:
    rec = read_recording(str(OLD))
    stats = [(r.driver, name, stat) for s in rec.samples for r in s.drivers for name, stat in r.stats.items()]
    assert {name for _, name, _ in stats} >= {"balloon_inflate", "balloon_deflate", "deflate_on_oom"}
    for driver, name, stat in stats:
        assert stat.spec == drivers.stat_spec(driver, name), name


def test_new_lines_store_values_only(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    rewrite(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["schema"] == 2
    samples = [line for line in lines if line["type"] == "sample"]
    stats = samples[1]["drivers"][0]["stats"]
    assert stats["balloon_inflate"] == 131072 and stats["deflate_on_oom"] == "yes"
    assert all(not isinstance(v, dict) for s in samples for d in s["drivers"] for v in d["stats"].values())
    assert path.stat().st_size < OLD.stat().st_size
    # read back: the same samples as the old file gives
    new, old = read_recording(str(path)), read_recording(str(OLD))
    assert new.skipped == []
    assert [s.to_json() for s in new.samples] == [s.to_json() for s in old.samples]
    assert new.events == old.events


def test_old_and_new_recordings_report_and_replay_alike(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    rewrite(path)
    old, new = summarise(read_recording(str(OLD))), summarise(read_recording(str(path)))
    assert old["balloon_kib"]["max"] == 524288 and len(old["episodes"]) == 2
    assert old["header"] == {**new["header"], "schema": 1}
    assert {k: v for k, v in old.items() if k not in ("file", "header")} == {
        k: v for k, v in new.items() if k not in ("file", "header")}
    texts = []
    for file in (OLD, path):
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["report", str(file)]) == 0
        texts.append(out.getvalue().replace(str(file), "FILE"))
    assert texts[0] == texts[1] and "max 512.0 MiB" in texts[0]
    replay = ReplaySource(str(OLD))
    got = [replay.step() for _ in STEPS]
    assert [s.balloon.kib for s in got if s] == [s.balloon.kib for s in read_recording(str(path)).samples]
    assert replay.step() is None and [e.kind for e in replay.take_events()] == ["inflate", "marker", "deflate"]
