"""Hostile recordings and the recorder told to stop: `report` and `record` as processes."""

from __future__ import annotations

import gzip
import json
import os
import resource
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

from balloontop.recording import read_recording

from .conftest import BASE, one_line, run


def recorded(tmp_path: Path, samples: int = 4) -> list[str]:
    """The lines of a real recording of the capture (header, samples, closing events)."""
    path = tmp_path / "real.jsonl"
    result = run("record", str(path), "--root", str(BASE), "--interval", "0.2",
                 "--duration", str(0.2 * (samples - 1)))
    assert result.returncode == 0, result.stderr
    return path.read_text().splitlines()


def sample_line(lines: list[str], **changes: object) -> str:
    obj = json.loads(next(line for line in lines if '"type":"sample"' in line))
    for key, value in changes.items():
        target = obj
        *path, last = key.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return json.dumps(obj)


def test_poisoned_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    lines = recorded(tmp_path)
    poison = [
        sample_line(lines, balloon__kib="lots"),
        sample_line(lines, time="NaN"),
        sample_line(lines, balloon__kib=1e308),
        sample_line(lines).replace('"time": ', '"time": NaN, "x": '),
        sample_line(lines, system__uptime_s=-5),
        sample_line(lines, meminfo__MemTotal=2**80),
        '{"type": "event", "kind": "inflate", "time": 1e400, "message": "x"}',
        "[1, 2]",
        "not json at all",
    ]
    path = tmp_path / "poisoned.jsonl"
    path.write_text("\n".join([lines[0], *poison, *lines[1:]]) + "\n")
    result = run("report", str(path))
    assert result.returncode == 0
    assert one_line(result.stderr).startswith(f"balloontop: {path}: {len(poison)} line(s) or part(s) skipped")
    assert "4 samples over 0.6 s" in result.stdout
    assert "max 512.0 MiB" in result.stdout
    summary = run("report", str(path), "--json")
    doc = json.loads(summary.stdout, parse_constant=lambda name: (_ for _ in ()).throw(AssertionError(name)))
    assert doc["skipped_count"] == len(poison) and doc["samples"] == 4


def test_only_poison_is_exit_2(tmp_path: Path) -> None:
    lines = recorded(tmp_path, 1)
    path = tmp_path / "bad.jsonl"
    path.write_text(lines[0] + "\n" + sample_line(lines, time="NaN") + "\n")
    result = run("report", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"balloontop: {path}: no valid sample"


def test_many_bad_lines_are_one_count(tmp_path: Path) -> None:
    lines = recorded(tmp_path, 2)
    path = tmp_path / "many.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(lines[0] + "\n" + "garbage\n" * 100_000 + "\n".join(lines[1:]) + "\n")
    result = run("report", str(path), timeout=120)
    assert result.returncode == 0
    assert "100000 line(s) or part(s) skipped" in one_line(result.stderr)
    assert len(result.stdout) < 10_000


def test_out_of_order_samples_give_the_true_duration(tmp_path: Path) -> None:
    lines = recorded(tmp_path, 4)
    header, *rest = lines
    samples = [line for line in rest if '"type":"sample"' in line]
    times = [json.loads(line)["time"] for line in samples]
    stepped = [samples[2], samples[0], samples[3], samples[1]]  # a clock step back and forth
    path = tmp_path / "order.jsonl"
    path.write_text("\n".join([header, *stepped]) + "\n")
    doc = json.loads(run("report", str(path), "--json").stdout)
    assert doc["duration_s"] == max(times) - min(times)
    assert doc["start"] == min(times)


def test_gzip_bomb_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """600 MiB of zeros behind a valid sample, about 600 KiB compressed: `report` stays under a
    1 GiB address-space limit (the whole file in memory took 2.1 GB)."""
    lines = recorded(tmp_path, 2)
    path = tmp_path / "bomb.jsonl.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as handle:
        handle.write(packer.compress(("\n".join(lines) + "\n").encode()))
        zeros = bytes(1 << 20)
        for _ in range(600):
            handle.write(packer.compress(zeros))
        handle.write(packer.flush())
    assert path.stat().st_size < 2 << 20

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    proc = subprocess.run([sys.executable, "-m", "balloontop", "report", str(path), "--json"],
                          capture_output=True, timeout=120, preexec_fn=limit)
    err = proc.stderr.decode()
    assert "Traceback" not in err and "MemoryError" not in err, err
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert doc["samples"] == 2
    assert any("stopped after 512 MiB" in s for s in doc["skipped"])


def test_sighup_finishes_the_gzip_trailer(tmp_path: Path) -> None:
    path = tmp_path / "hup.jsonl.gz"
    proc = subprocess.Popen([sys.executable, "-m", "balloontop", "record", str(path), "--root", str(BASE),
                             "--interval", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if path.exists() and len(read_recording(str(path)).samples) >= 2:
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    rec = read_recording(str(path))
    assert rec.skipped == [] and len(rec.samples) >= 2  # the stream has its trailer


def test_record_refuses_an_existing_recording(tmp_path: Path) -> None:
    path = tmp_path / "keep.jsonl"
    path.write_text("precious\n")
    result = run("record", str(path), "--root", str(BASE), "--duration", "0")
    assert result.returncode == 2
    assert "already exists" in one_line(result.stderr) and "--force" in result.stderr
    assert path.read_text() == "precious\n"
    forced = run("record", str(path), "--root", str(BASE), "--duration", "0", "--force")
    assert forced.returncode == 0 and len(read_recording(str(path)).samples) == 1
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    assert run("record", str(empty), "--root", str(BASE), "--duration", "0").returncode == 0


def test_record_to_a_full_device_names_the_file() -> None:
    if not os.path.exists("/dev/full"):
        return
    result = run("record", "/dev/full", "--root", str(BASE), "--duration", "0")
    assert result.returncode == 1
    assert one_line(result.stderr) == "balloontop: cannot write /dev/full: No space left on device"


def test_recording_that_is_a_fifo_or_a_directory(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)
    result = run("report", str(pipe))
    assert result.returncode == 1 and "not a regular file" in one_line(result.stderr)
    result = run("record", str(pipe), "--root", str(BASE), "--duration", "0")  # nobody reads it
    assert result.returncode == 1 and str(pipe) in one_line(result.stderr)
    assert run("report", str(tmp_path)).returncode == 1


def test_record_of_a_root_with_a_fifo_stops_on_sigterm(make_root, tmp_path: Path) -> None:
    root = make_root({"proc/meminfo": os.mkfifo})
    path = tmp_path / "fifo-root.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "balloontop", "record", str(path), "--root", str(root),
                             "--interval", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (path.exists() and len(read_recording(str(path)).samples) >= 2):
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    rec = read_recording(str(path))
    assert len(rec.samples) >= 2 and rec.skipped == []
    assert "/proc/meminfo: not a regular file (a FIFO)" in rec.samples[0].warnings


def test_check_new_recording_is_the_monitors_check_too(tmp_path: Path) -> None:
    import pytest

    from balloontop.errors import UsageError
    from balloontop.recording import check_new_recording

    path = tmp_path / "old.jsonl.gz"
    check_new_recording(str(path))  # missing: fine
    path.write_bytes(b"\x1f\x8b")
    with pytest.raises(UsageError, match="already exists"):
        check_new_recording(str(path))
    check_new_recording(str(path), force=True)
    check_new_recording("/dev/null")  # not a regular file: fine


def test_line_caps(tmp_path: Path, monkeypatch) -> None:
    from balloontop import recording

    lines = recorded(tmp_path, 1)
    path = tmp_path / "caps.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"x" * (3 << 20) + b"\n" + b"\n" * 5000)
    monkeypatch.setattr(recording, "MAX_LINES", 1000)
    rec = read_recording(str(path))
    assert len(rec.samples) == 1
    assert rec.skipped == [f"line {len(lines) + 1}: longer than 1 MiB, not read",
                           "stopped after 1000 lines: the rest of the file is not read"]
