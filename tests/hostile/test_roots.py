"""Hostile roots: a copy of a real capture with one file poisoned, read by the real commands."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import FIXTURES
from .conftest import fifo, one_line, run

KMSG = FIXTURES / "kmsg"

FEATURES = "sys/bus/virtio/devices/virtio0/features"


def strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    return json.loads(text, parse_constant=refuse)


def test_fifo_as_meminfo_is_a_warning_not_a_hang(make_root) -> None:
    root = make_root({"proc/meminfo": fifo})
    result = run("snapshot", "--root", str(root), "--json")
    assert result.returncode == 0
    doc = strict_json(result.stdout)
    assert doc["meminfo"] == {}
    assert "/proc/meminfo: not a regular file (a FIFO)" in doc["warnings"]
    assert doc["vmstat"]["nr_balloon_pages"] == 131072  # the rest is still read


def test_fifo_as_features_and_as_kernel_log(make_root) -> None:
    root = make_root({FEATURES: fifo, "dev/kmsg": fifo})
    result = run("snapshot", "--root", str(root), "--json")
    assert result.returncode == 0
    doc = strict_json(result.stdout)
    assert "virtio0: features unreadable: not a regular file (a FIFO)" in doc["warnings"]
    oom = run("oom", "--root", str(root))
    assert oom.returncode == 1
    assert "not a regular file (a FIFO)" in one_line(oom.stderr)


def test_fifo_as_log_file(tmp_path: Path) -> None:
    log = tmp_path / "log"
    fifo(log)
    result = run("oom", "--log", str(log))
    assert result.returncode == 1 and "not a regular file" in one_line(result.stderr)


def test_uptime_that_is_not_finite_or_negative(make_root) -> None:
    for text, shown in (("inf 1.0\n", "'inf'"), ("nan 1.0\n", "'nan'"), ("-120.5 1.0\n", "'-120.5'")):
        root = make_root({"proc/uptime": text}, name=f"up{shown.strip(chr(39))}")
        result = run("snapshot", "--root", str(root), "--json")
        doc = strict_json(result.stdout)
        assert doc["system"]["uptime_s"] is None
        assert f"/proc/uptime: {shown} is not a plausible uptime: shown as unknown" in doc["warnings"]
        text_out = run("snapshot", "--root", str(root)).stdout
        assert "uptime unknown" in text_out


def test_huge_numbers_and_strings_are_cheap_and_said(make_root) -> None:
    digits = "9" * 5000
    root = make_root({
        "proc/zoneinfo": f"Node 0, zone   Normal\n  pages free 1\n        managed  {digits}\n",
        "sys/bus/virtio/devices/virtio0/status": "0x" + "f" * 20000 + "\n",
        "sys/bus/virtio/devices/virtio0/device": "7" * 20000 + "\n",
        FEATURES: "1" * 1_000_000 + "\n",
    })
    result = run("snapshot", "--root", str(root), "--json")
    assert result.returncode == 0
    assert len(result.stdout) < 20_000  # 1,000,000 bits made 15.9 MB of output
    doc = strict_json(result.stdout)
    warnings = doc["warnings"]
    assert any("features file holds 1000000 characters" in w for w in warnings)
    assert any("/sys/bus/virtio/devices/virtio0/status: not a number" in w and "(20002 characters)" in w
               for w in warnings)
    device = doc["virtio_devices"][0]
    assert device["status"] is None and device["device_id"] is None
    assert len(device["features"]["raw"]) == 128
    assert doc["system"]["page_size"] == 4096  # the zoneinfo count was not believed
    text = run("snapshot", "--root", str(root)).stdout
    assert len(text) < 20_000


def test_duplicated_negative_and_implausible_meminfo(make_root) -> None:
    import re

    real = (make_root() / "proc/meminfo").read_text()
    poisoned = (
        re.sub(r"Committed_AS: +\d+ kB", f"Committed_AS:   {2**70} kB", real)
        .replace("Balloon:          524288 kB", "Balloon:         -524288 kB")
        + "MemTotal:              5 kB\n"
    )
    assert "Balloon:         -524288 kB" in poisoned
    root = make_root({"proc/meminfo": poisoned}, name="dup")
    doc = strict_json(run("snapshot", "--root", str(root), "--json").stdout)
    assert doc["meminfo"]["MemTotal"] == 461940  # the first line counts, as the kernel prints it once
    warnings = doc["warnings"]
    assert any("MemTotal repeated, the first line counts" in w for w in warnings)
    assert any("Balloon -524288 kB is implausible, ignored" in w for w in warnings)
    assert any(f"Committed_AS {2**70} kB is implausible, ignored" in w for w in warnings)
    assert "Balloon" not in doc["meminfo"] and "Committed_AS" not in doc["meminfo"]
    # without Balloon: the size comes from the vmstat counters and is not called exact
    assert doc["balloon"]["exact"] is False


def test_share_above_100_percent_says_why(make_root) -> None:
    meminfo = (make_root() / "proc/meminfo").read_text().replace("Balloon:          524288 kB",
                                                                  "Balloon:         1048576 kB")
    root = make_root({"proc/meminfo": meminfo, "sys/bus/virtio/devices/virtio0": "gone"}, name="share")
    text = run("snapshot", "--root", str(root)).stdout
    assert "No balloon driver found" in text
    assert "227.0% of the guest's memory" in text
    assert "! the balloon (1048576 kB) is 227.0% of the guest's memory (461940 kB): no driver says how" in text


def test_control_characters_from_the_guest_never_reach_the_terminal(make_root) -> None:
    root = make_root({
        "proc/sys/kernel/hostname": "evil\x1b]0;pwned\x07\x9b2J\n",
        "proc/sys/kernel/osrelease": "6.18\u202egnp.exe\n",
    })
    out = run("snapshot", "--root", str(root)).stdout
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\u202e" not in out
    assert "host evil\\x1b]0;pwned\\x07\\x9b2J, kernel 6.18\\u202egnp.exe" in out
    # a real OOM report whose victim named itself with an escape sequence (prctl PR_SET_NAME)
    real = (KMSG / "6.18-oom-kill" / "event-kmsg.txt").read_text()
    log = root / "dev" / "kmsg"
    log.parent.mkdir(exist_ok=True)
    log.write_text(real.replace("(hog)", "(h\x1b]0;x\x07g)").replace("comm:hog", "comm:h\x1b]0;x\x07g"))
    out = run("oom", "--root", str(root)).stdout
    assert "killed: h\\x1b]0;x\\x07g (pid 385)" in out
    assert "\x1b" not in out and "\x07" not in out


def test_non_ascii_tree_on_an_ascii_terminal(make_root) -> None:
    root = make_root({"proc/sys/kernel/hostname": "h\u00f4te-\u00b7-\u4e2d\n"})
    for env in ({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}, {"PYTHONIOENCODING": "ascii"}):
        result = run("snapshot", "--root", str(root), env=env)
        assert result.returncode == 0
        assert "host h\\xf4te-\\xb7-\\u4e2d" in result.stdout
        assert run("snapshot", "--root", str(root), "--json", env=env).returncode == 0


def test_file_larger_than_the_cap_is_cut_with_a_warning(make_root) -> None:
    real = (make_root() / "proc/vmstat").read_text()
    root = make_root({"proc/vmstat": real + "x" * (2 << 20)}, name="big")
    doc = strict_json(run("snapshot", "--root", str(root), "--json").stdout)
    assert "/proc/vmstat: longer than 1 MiB: only the first 1 MiB read" in doc["warnings"]
    assert doc["vmstat"]["nr_balloon_pages"] == 131072
