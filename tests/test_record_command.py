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
