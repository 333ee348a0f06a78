"""Command-line habits (issue 14, point 7): a closed pipe ends quietly by SIGPIPE, ``decode``
reads a piped value and a features string typed in groups, ``replay --speed`` stays sane.

Pipes here are real (``sh``/``bash`` pipelines and ``os.pipe``), values come from the real
captures under tests/fixtures/captures.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from balloontop.cli import main

from .conftest import CAPTURES, FIXTURES

BALLOONTOP = [sys.executable, "-m", "balloontop"]
STEP_DEFLATE = CAPTURES / "virtio-6.1-deflate" / "1024M"
STEP_NODEFLATE = CAPTURES / "virtio-6.18-nodeflate" / "0512M"
OOM_LOG = FIXTURES / "kmsg" / "6.18-oom-kill" / "kmsg.txt"
RECORDING = FIXTURES / "recordings" / "virtio-6.1-deflate-schema1-v0.1.jsonl"
TIMEOUT = 60

PIPED_COMMANDS = {
    "snapshot": ["snapshot", "--json", "--root", str(STEP_DEFLATE)],
    "report": ["report", str(RECORDING)],
    "oom": ["oom", "--root", str(STEP_NODEFLATE), "--log", str(OOM_LOG)],
    "decode --all": ["decode", "--all", "--root", str(STEP_DEFLATE)],
}


def _balloontop(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BALLOONTOP, *argv], input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True, text=True, timeout=TIMEOUT,
    )


# --- 1. a closed pipe: no message, killed by SIGPIPE as `cat` is ---------------------------


@pytest.mark.parametrize("name", list(PIPED_COMMANDS))
def test_head_closing_the_pipe_ends_by_sigpipe_without_a_message(name: str, tmp_path: Path) -> None:
    """``balloontop CMD | head -c10`` in bash: balloontop's status is 141 (128 + SIGPIPE) and
    it writes nothing on stderr. ``head`` gets its 10 bytes first and exits; balloontop
    starts only after that, so its first write always meets the closed pipe (without the
    head start a short output could fit in the pipe before ``head`` exits)."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    err = tmp_path / "stderr.txt"
    command = shlex.join([*BALLOONTOP, *PIPED_COMMANDS[name]])
    script = (
        f"{{ printf 0123456789; sleep 0.3; exec {command}; }} 2>{shlex.quote(str(err))} | head -c10; "
        'echo " ${PIPESTATUS[0]}"'
    )
    result = subprocess.run([bash, "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.stdout == f"0123456789 {128 + signal.SIGPIPE}\n"
    assert err.read_text() == ""


def test_pipefail_sees_the_signal() -> None:
    """The same with ``set -o pipefail``: the pipeline's status is balloontop's, head
    having succeeded."""
    sh = shutil.which("bash")
    if sh is None:
        pytest.skip("bash is not installed")
    command = shlex.join([*BALLOONTOP, *PIPED_COMMANDS["snapshot"]])
    script = f"set -o pipefail; {{ printf 0123456789; sleep 0.3; exec {command}; }} | head -c10"
    result = subprocess.run([sh, "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 128 + signal.SIGPIPE
    assert result.stdout == "0123456789" and result.stderr == ""


@pytest.mark.parametrize("name", ["snapshot", "decode --all"])
def test_stdout_pipe_closed_before_start_kills_by_sigpipe(name: str) -> None:
    """The reader is gone before balloontop starts (an ``os.pipe`` whose read end is
    closed): the child dies of SIGPIPE, stderr stays empty."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [*BALLOONTOP, *PIPED_COMMANDS[name]], stdin=subprocess.DEVNULL, stdout=write_end,
            stderr=subprocess.PIPE, timeout=TIMEOUT,
        )
    finally:
        os.close(write_end)
    assert result.returncode == -signal.SIGPIPE
    assert result.stderr == b""


def test_an_open_pipe_gets_the_whole_output() -> None:
    """The control: a reader that reads everything gets the whole JSON, status 0."""
    result = _balloontop(*PIPED_COMMANDS["snapshot"])
    assert result.returncode == 0 and result.stderr == ""
    assert json.loads(result.stdout)["meminfo"]["MemTotal"] > 0


def test_a_broken_pipe_elsewhere_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken pipe that is not stdout's (a remote guest's shell that went away) is an
    error in one line, exit 1: the process is not killed in silence."""
    from balloontop.commands import snapshot

    def broken(_args: object) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(snapshot, "run", broken)
    assert main(["snapshot", "--root", str(STEP_DEFLATE)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["balloontop: [Errno 32] Broken pipe"]


# --- 2. a features string typed in groups -------------------------------------------------


def _features(step: Path, instance: str) -> str:
    return (step / "sys" / "bus" / "virtio" / "devices" / instance / "features").read_text()


def test_spaced_features_string_is_joined_and_said(capsys: pytest.CaptureFixture[str]) -> None:
    raw = _features(STEP_DEFLATE, "virtio0").strip()
    grouped = " ".join(raw[i:i + 8] for i in range(0, len(raw), 8))
    assert main(["decode", grouped, "--device", "balloon", "--json"]) == 0
    out, err = capsys.readouterr()
    assert main(["decode", raw, "--device", "balloon", "--json"]) == 0
    whole, whole_err = capsys.readouterr()
    assert json.loads(out) == json.loads(whole) and whole_err == ""
    doc = json.loads(out)
    assert doc["width"] == 64
    assert [b["bit"] for b in doc["bits"]] == [1, 2, 29, 32, 40]
    assert err == f"balloontop: read {grouped!r} as the features string {raw}\n"


def test_issue_example_is_a_features_string(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "0110 0101", "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["width"] == 8 and [b["bit"] for b in doc["bits"]] == [1, 2, 5, 7]
    assert err.splitlines() == ["balloontop: read '0110 0101' as the features string 01100101"]


@pytest.mark.parametrize("value", ["1 10", "0 1", "101 110 111"])
def test_groups_that_could_be_bit_numbers_are_refused(value: str) -> None:
    result = _balloontop("decode", value)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "could be bit numbers or a features string" in line
    assert f"--bits {','.join(value.split())}" in line


def test_bit_numbers_with_spaces_stay_bit_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "1 2 32", "--device", "balloon", "--json"]) == 0
    out, err = capsys.readouterr()
    assert [b["bit"] for b in json.loads(out)["bits"]] == [1, 2, 32] and err == ""


def test_help_documents_groups_and_stdin() -> None:
    result = _balloontop("decode", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "0/1 groups split by spaces are joined" in text
    assert "or - to read it from stdin" in text
    assert "give --bits 1,10,11, or the string without spaces" in text


# --- 3. the value from stdin ---------------------------------------------------------------


@pytest.mark.parametrize(
    "step", [CAPTURES / "virtio-6.1-deflate" / "1024M", CAPTURES / "virtio-6.1-nodeflate" / "0512M",
             CAPTURES / "virtio-6.18-nodeflate" / "1024M", CAPTURES / "devguest-6.18" / "idle"],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_piped_features_file_decodes_as_decode_all_does(step: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every device's features file, piped through ``cat`` into ``decode - --device ID``,
    names the same bits as ``decode --all`` reading the capture itself."""
    assert main(["decode", "--all", "--json", "--root", str(step)]) == 0
    devices = json.loads(capsys.readouterr().out)["devices"]
    assert devices
    for device in devices:
        features = step / "sys" / "bus" / "virtio" / "devices" / device["instance"] / "features"
        script = f"cat {shlex.quote(str(features))} | {shlex.join(BALLOONTOP)} decode - --device {device['device_id']} --json"
        result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        doc = json.loads(result.stdout)
        assert doc["bits"] == device["bits"]
        assert doc["width"] == len(device["features"]["raw"])


def test_deflate_on_oom_read_from_stdin_only_where_negotiated() -> None:
    """The balloon's DEFLATE_ON_OOM (bit 2) is in the deflate capture's features and not in
    the nodeflate one's (the QEMU option each capture was made with)."""
    names = {}
    for step in (STEP_DEFLATE, STEP_NODEFLATE):
        result = _balloontop("decode", "-", "--device", "balloon", stdin=_features(step, "virtio0"))
        assert result.returncode == 0
        names[step.parent.name] = result.stdout
    assert "VIRTIO_BALLOON_F_DEFLATE_ON_OOM" in names["virtio-6.1-deflate"]
    assert "VIRTIO_BALLOON_F_DEFLATE_ON_OOM" not in names["virtio-6.18-nodeflate"]
    assert "VIRTIO_BALLOON_F_STATS_VQ" in names["virtio-6.18-nodeflate"]


def test_no_value_in_a_pipeline_reads_stdin() -> None:
    """No value, stdin and stdout both pipes: the value is read from stdin, as with ``-``."""
    raw = _features(STEP_NODEFLATE, "virtio0")
    implicit = _balloontop("decode", "--device", "balloon", stdin=raw)
    explicit = _balloontop("decode", "-", "--device", "balloon", stdin=raw)
    assert implicit.returncode == 0 and implicit.stdout == explicit.stdout
    # Linux >= 6.17 prints 128 feature bits (this capture is 6.18)
    assert len(raw.strip()) == 128
    assert implicit.stdout.startswith(f"{raw.count('1')} bits set of 128; device balloon (id 5)\n")


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["-"], "", "stdin is empty: give a features value"),
        ([], "", "give a features value"),
        (["-"], "0110\n0101\n", "stdin holds 2 lines"),
        (["-"], "0" * (64 * 1024 + 1), "more than 64 KiB"),
        (["-"], "0120\n", "other than 0 and 1"),
        (["-", "--bits", "1"], "0110\n", "not both"),
    ],
    ids=["empty", "empty-implicit", "two-lines", "too-much", "bad-string", "with-bits"],
)
def test_bad_stdin_is_refused_in_one_line(argv: list[str], stdin: str, message: str) -> None:
    result = _balloontop("decode", *argv, stdin=stdin)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert message in line and "Traceback" not in result.stderr


def test_unreadable_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class Unreadable:
        def isatty(self) -> bool:
            return False

        def read(self, _size: int) -> bytes:
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(sys, "stdin", Unreadable())
    assert main(["decode", "-"]) == 1
    assert capsys.readouterr().err == "balloontop: cannot read the value from stdin: Input/output error\n"
    # no value given: stdin was only tried, so the answer is that a value is missing
    assert main(["decode"]) == 2
    assert capsys.readouterr().err == (
        "balloontop: give a features value, --bits LIST or --all (see balloontop decode --help)\n"
    )


# --- 4. replay --speed ---------------------------------------------------------------------


@pytest.mark.parametrize("speed", ["0.001", "0", "-1", "nan", "inf", "20000"])
def test_replay_speed_out_of_range_is_refused(speed: str) -> None:
    result = _balloontop("replay", str(RECORDING), f"--speed={speed}")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("balloontop: --speed must be between 0.01 and 10000")


@pytest.mark.parametrize(("speed", "interval"), [("0.01", 500.0), ("10000", 0.05)])
def test_replay_speed_at_the_limits_is_accepted(
    speed: str, interval: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limits themselves open the monitor; the recording's 5 s interval becomes a poll
    every 500 s at the slowest and the 0.05 s floor at the fastest."""
    from balloontop.tui import app as tui_app

    seen: dict[str, object] = {}

    class NoApp:
        def run(self) -> None:
            seen["ran"] = True

    def make_app(**kwargs: object) -> NoApp:
        seen.update(kwargs)
        return NoApp()

    monkeypatch.setattr(tui_app, "make_app", make_app)
    assert main(["replay", str(RECORDING), "--speed", speed]) == 0
    assert seen["ran"] and seen["interval"] == pytest.approx(interval)
