"""``balloontop record``: a real process against a fixture root, killed or stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from balloontop.cli import main
from balloontop.recording import read_recording

ROOT = Path(__file__).parent / "fixtures" / "captures" / "virtio-6.18-nodeflate" / "0512M"


def start(path: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "balloontop", "record", str(path), "--root", str(ROOT),
         "--interval", "0.2", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_for_lines(path: Path, lines: int, gz: bool, timeout: float = 20.0) -> None:
    """Until the recording holds ``lines`` complete lines (header included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            rec = read_recording(str(path))
            if rec.header is not None and len(rec.samples) + 1 >= lines:
                return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {lines} lines")


@pytest.mark.parametrize("name", ["kill.jsonl", "kill.jsonl.gz"])
def test_sigkill_mid_write_keeps_every_complete_sample(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    proc = start(path)
    try:
        wait_for_lines(path, 6, gz=name.endswith(".gz"))
        time.sleep(0.13)  # land anywhere in the cycle, possibly mid-write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    rec = read_recording(str(path))
    assert rec.header is not None and rec.header["interval"] == 0.2
    assert len(rec.samples) >= 5
    # all samples but possibly the one in flight: nothing else may be missing or damaged
    assert all("truncated" in s for s in rec.skipped)
    assert len(rec.skipped) <= (2 if name.endswith(".gz") else 1)
    times = [s.time for s in rec.samples]
    assert times == sorted(times)
    for sample in rec.samples:
        assert sample.balloon.kib == 524288
        assert sample.system.mem_total_kib == 461940


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_finish_cleanly(tmp_path: Path, sig: int) -> None:
    path = tmp_path / "stop.jsonl.gz"
    proc = start(path)
    try:
        wait_for_lines(path, 3, gz=True)
    finally:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert err == b""  # not a terminal: silent
    rec = read_recording(str(path))
    assert rec.skipped == []  # closed properly: the gzip stream has its trailer
    assert len(rec.samples) >= 2


def test_duration(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    assert main(["record", str(path), "--root", str(ROOT), "--interval", "0.2",
                 "--duration", "0.4"]) == 0
    rec = read_recording(str(path))
    assert len(rec.samples) == 3  # at 0, 0.2 and 0.4 s
    assert rec.skipped == []


def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.jsonl"
    assert main(["record", str(path), "--root", str(ROOT), "--interval", "0.1"]) == 2
    assert "--interval" in capsys.readouterr().err
    assert main(["record", str(path), "--root", str(tmp_path / "nope")]) == 3
    assert not path.exists()


def demo_recording(path: Path) -> None:
    from balloontop.demo import DemoSource
    from balloontop.events import EventDetector, marker
    from balloontop.recording import Recorder

    now = [1_750_000_000.0]
    detector = EventDetector()
    with DemoSource("virtio", clock=lambda: now[0]) as source, Recorder(str(path), 2.0) as rec:
        for i in range(100):
            sample = source.sample()
            rec.write_sample(sample)
            for event in detector.feed(sample):
                rec.write_event(event)
            if i == 10:
                rec.write_event(marker(sample.time, "phase 2"))
            now[0] += 2.0


def test_report_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    path = tmp_path / "demo.jsonl.gz"
    demo_recording(path)
    assert main(["report", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples"] == 100 and summary["duration_s"] == 198.0
    assert summary["balloon_kib"]["min"] == 0 and summary["balloon_kib"]["max"] == 768 * 1024
    kinds = [e["kind"] for e in summary["episodes"]]
    assert kinds[:3] == ["inflate"] * 3 and "deflate" in kinds
    assert summary["events"]["counts"]["marker"] == 1
    assert summary["events"]["counts"]["oom_kill"] == 1
    assert main(["report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "balloon: min 0.0 MiB, max 768.0 MiB" in out
    assert "phase 2" in out and "balloon over time" in out and "768M┤" in out


def test_report_of_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("hello\n")
    assert main(["report", str(path)]) == 2
    assert main(["report", str(tmp_path / "missing.jsonl")]) == 1


def test_replay_opens_the_monitor_on_a_replay_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from balloontop.replay import ReplaySource
    from balloontop.tui import app as tui_app

    path = tmp_path / "demo.jsonl"
    demo_recording(path)
    seen = {}

    class FakeApp:
        def run(self) -> None:
            seen["ran"] = True

    def fake_make_app(**kwargs):
        seen.update(kwargs)
        return FakeApp()

    monkeypatch.setattr(tui_app, "make_app", fake_make_app)
    assert main(["replay", str(path), "--speed", "4"]) == 0
    assert seen["ran"] and isinstance(seen["source"], ReplaySource)
    assert seen["source"].speed == 4.0 and seen["interval"] == 0.5
    assert seen["hostname"] == "demo-virtio"
