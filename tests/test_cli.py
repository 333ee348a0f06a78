"""The headless commands: output, exit codes, and one-line errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from balloontop.cli import main

from .conftest import CAPTURES, SYNTHETIC

STEP = CAPTURES / "virtio-6.18-nodeflate" / "0512M"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_snapshot_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "snapshot", "--root", str(STEP))
    assert code == 0
    assert "kernel 6.18.15+deb13-amd64" in out
    assert "Ballooned: 512.0 MiB" in out and "(meminfo:Balloon, exact)" in out
    assert "ballooned memory is removed from MemTotal" in out
    assert "features: 1 STATS_VQ, 28 INDIRECT_DESC, 29 EVENT_IDX, 32 VERSION_1, 40 RING_RESET" in out


def test_snapshot_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "snapshot", "--json", "--root", str(STEP))
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == 1
    assert doc["balloon"] == {"kib": 524288, "source": "meminfo:Balloon", "exact": True}
    assert doc["drivers"][0]["accounting"] == "total"


def test_snapshot_without_any_balloon(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "snapshot", "--root", str(SYNTHETIC / "no-balloon"))
    assert code == 0 and "No balloon driver found" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["snapshot", "--root", "/nonexistent/balloontop"], 3, "does not exist"),
        (["snapshot", "--root", str(STEP / "proc" / "meminfo")], 3, "is not a directory"),
        (["decode", "0120"], 2, "other than 0 and 1"),
        (["decode", "0110", "--device", "toaster"], 2, "toaster"),
        (["decode", "--bits", "1,x"], 2, ""),
        (["decode"], 2, "give a features value"),
        (["snapshot", "--bogus"], 2, "unrecognized arguments"),
    ],
)
def test_errors_are_one_line_with_documented_codes(argv: list[str], code: int, message: str) -> None:
    # stdin closed: `decode` with no value reads a piped stdin (not this test's terminal or pipe)
    result = subprocess.run([sys.executable, "-m", "balloontop", *argv], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == code
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert message in lines[0]


def test_help_documents_exit_codes() -> None:
    result = subprocess.run([sys.executable, "-m", "balloontop", "--help"], capture_output=True, text=True)
    assert "3  the root does not exist or is not a directory" in result.stdout


def test_decode_balloon_string_json(capsys: pytest.CaptureFixture[str]) -> None:
    raw = "0110000000000000000000000000010010000000100000000000000000000000"
    code, out, _ = run(capsys, "decode", raw, "--device", "balloon", "--json")
    bits = {b["bit"]: b for b in json.loads(out)["bits"]}
    assert code == 0 and sorted(bits) == [1, 2, 29, 32, 40]
    assert bits[2]["name"] == "VIRTIO_BALLOON_F_DEFLATE_ON_OOM" and bits[2]["known"] is True
    assert bits[40]["name"] == "VIRTIO_F_RING_RESET"
    assert set(bits[1]) >= {"bit", "name", "meaning", "known"}


def test_decode_hex_and_list_agree(capsys: pytest.CaptureFixture[str]) -> None:
    _, from_hex, _ = run(capsys, "decode", hex((1 << 1) | (1 << 2) | (1 << 32)), "--device", "5", "--json")
    _, from_list, _ = run(capsys, "decode", "--bits", "1,2,32", "--device", "balloon", "--json")
    assert json.loads(from_hex)["bits"] == json.loads(from_list)["bits"]


def test_decode_without_device_names_transport_bits_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "--bits", "2,32", "--json")
    bits = {b["bit"]: b for b in json.loads(out)["bits"]}
    assert code == 0
    assert bits[32]["name"] == "VIRTIO_F_VERSION_1" and bits[32]["known"]
    assert bits[2]["kind"] == "device-specific" and bits[2]["name"] is None


def test_decode_development_machine_bit_7_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    raw = (CAPTURES / "devguest-6.18/idle/sys/bus/virtio/devices/virtio0/features").read_text()
    code, out, _ = run(capsys, "decode", raw.strip(), "--device", "balloon")
    assert code == 0 and "5 bits set of 128" in out
    line7 = next(line for line in out.splitlines() if line.strip().startswith("7 "))
    assert "(unknown)" in line7


def test_decode_all(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "--all", "--json", "--root", str(CAPTURES / "devguest-6.18" / "idle"))
    devices = json.loads(out)["devices"]
    assert code == 0 and [d["instance"] for d in devices] == [f"virtio{i}" for i in range(5)]
    net = devices[2]
    assert net["type"] == "net" and any(b["name"] == "VIRTIO_NET_F_MAC" for b in net["bits"])


def test_installed_entry_point_runs(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("balloontop")
    if not exe.exists():
        pytest.skip("balloontop console script not installed next to this Python")
    result = subprocess.run([str(exe), "snapshot", "--root", str(STEP)], capture_output=True, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0 and "512.0 MiB" in result.stdout


def test_plain_balloontop_builds_no_parser_and_piped_prints_a_snapshot() -> None:
    """``balloontop`` alone has nothing to parse: argparse is not even imported (start-up
    time); with stdout piped it prints the snapshot of ``/`` and exits 0."""
    code = ("import sys; from balloontop.cli import main; rc = main([]); "
            "sys.stderr.write(repr(('argparse' in sys.modules, rc)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stderr.strip() == "(False, 0)"
    assert out.stdout.startswith("balloontop snapshot of /\n")
    code = ("import sys; from balloontop.cli import main; rc = main(['--interval', '2']); "
            "sys.stderr.write(repr(('argparse' in sys.modules, rc)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stderr.strip() == "(True, 0)" and out.stdout.startswith("balloontop snapshot of /\n")
