"""``balloontop oom``: the balloon's part in each OOM kill, from real captures."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from balloontop.cli import main
from balloontop.kmsg import reader as reader_mod

FIXTURES = Path(__file__).parent / "fixtures"
KMSG = FIXTURES / "kmsg"
NODEFLATE_618 = FIXTURES / "captures" / "virtio-6.18-nodeflate" / "0512M"
DEFLATE_61 = FIXTURES / "captures" / "virtio-6.1-deflate" / "0512M"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["oom", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:
    code, out, err = _run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_oom_kill_report_with_balloon_from_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    (report,) = _json(capsys, "--root", str(NODEFLATE_618),
                      "--log", str(KMSG / "6.18-oom-kill" / "kmsg.txt"))
    assert report["type"] == "oom"
    assert report["victim"]["name"] == "hog" and report["victim"]["pid"] == 385
    assert report["victim"]["anon_rss_kib"] == 380672
    assert report["victim"]["total_vm_kib"] == 382448
    assert report["balloon_kib"] == 524288
    assert report["pages_ram"] == 262014 and report["pages_reserved"] == 146529
    acc = report["account"]
    assert acc["balloon_from"] == "log" and acc["accounting"] == "total"
    assert "without DEFLATE_ON_OOM" in acc["accounting_from"]
    # (262014 - 146529) pages x 4 KiB = 461940 kB: the capture's MemTotal exactly
    assert acc["mem_total_kib"] == 461940
    assert acc["mem_total_without_balloon_kib"] == 986228
    assert report["wall_time"] is None  # a recorded log: no wall time


def test_oom_kill_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--root", str(NODEFLATE_618),
                        "--log", str(KMSG / "6.18-oom-kill" / "dmesg.txt"))
    assert code == 0
    assert "OOM kill 19.5 s after boot" in out
    assert "killed: hog (pid 385), 372.4 MiB resident" in out
    assert "512.0 MiB held by the host at that moment" in out
    assert "removed from MemTotal" in out
    assert "without the balloon it would have been 963.1 MiB" in out


def test_pre_615_log_uses_the_current_reading_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    old = (KMSG / "6.18-oom-kill" / "kmsg.txt").read_text().replace(" Balloon:524288kB", "")
    log = tmp_path / "old-kernel-kmsg.txt"
    log.write_text(old)
    (report,) = _json(capsys, "--root", str(NODEFLATE_618), "--log", str(log))
    assert report["balloon_kib"] is None and report["balloon_source"] is None
    assert report["account"]["balloon_kib"] == 524288
    assert report["account"]["balloon_from"] == "current reading"
    _, out, _ = _run(capsys, "--root", str(NODEFLATE_618), "--log", str(log))
    assert "no balloon figure (kernel before 6.15)" in out
    assert "current reading" in out


def test_61_sysrq_m_has_no_balloon_figure(capsys: pytest.CaptureFixture[str]) -> None:
    (report,) = _json(capsys, "--root", str(FIXTURES / "captures" / "virtio-6.1-nodeflate" /
                                            "0512M"),
                      "--log", str(KMSG / "6.1-sysrq-m" / "kmsg.txt"))
    assert report["type"] == "show_mem" and report["trigger"] == "sysrq"
    assert report["balloon_kib"] is None
    assert report["account"]["balloon_from"] == "current reading"
    assert report["pages_reserved"] == 147150
    code, out, _ = _run(capsys, "--root", str(FIXTURES / "captures" / "virtio-6.1-nodeflate" /
                                              "0512M"),
                        "--log", str(KMSG / "6.1-sysrq-m" / "kmsg.txt"))
    assert code == 0 and out.startswith("No OOM kill in the kernel log")
    assert "SysRq-m memory report 12.6 s after boot" in out


def test_deflate_on_oom_capture_counts_balloon_as_used(capsys: pytest.CaptureFixture[str]) -> None:
    reports = _json(capsys, "--root", str(DEFLATE_61),
                    "--log", str(KMSG / "6.18-deflate-on-oom" / "kmsg.txt"))
    assert [r["type"] for r in reports] == ["show_mem", "show_mem"]
    assert [r["balloon_kib"] for r in reports] == [394224, 179200]
    assert {r["account"]["accounting"] for r in reports} == {"used"}
    assert reports[0]["account"]["mem_total_kib"] == 986228
    assert reports[0]["account"]["mem_total_without_balloon_kib"] == 986228


def test_capture_root_with_dev_kmsg(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = tmp_path / "guest"
    shutil.copytree(NODEFLATE_618, root, symlinks=True)
    (root / "dev").mkdir(exist_ok=True)
    shutil.copy(KMSG / "6.18-oom-kill" / "kmsg.txt", root / "dev" / "kmsg")
    (report,) = _json(capsys, "--root", str(root))
    assert report["victim"]["name"] == "hog" and report["account"]["accounting"] == "total"


def test_no_log_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _run(capsys, "--root", str(tmp_path))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "no kernel log" in err
    code, _, err = _run(capsys, "--log", str(tmp_path / "missing.txt"))
    assert code == 1 and "not found" in err
    code, _, err = _run(capsys, "--root", str(tmp_path / "nope"))
    assert code == 3


def test_live_log_without_permission(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: str) -> int:
        raise PermissionError(errno.EPERM, "Operation not permitted", path)

    monkeypatch.setattr(reader_mod, "_open_kmsg", denied)
    code, out, err = _run(capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "dmesg_restrict" in err


def test_live_log_gets_wall_time(capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.path.exists("/proc/uptime"):
        pytest.skip("no /proc/uptime")
    lines = (KMSG / "6.18-oom-kill" / "event-kmsg.txt").read_bytes().splitlines()
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"x")
    chunks = list(lines)

    def fake_read(fd: int, size: int) -> bytes:
        if fd != read_fd:
            return real_read(fd, size)
        if not chunks:
            raise BlockingIOError(errno.EAGAIN, "again")
        return chunks.pop(0)

    real_read = os.read
    monkeypatch.setattr(reader_mod, "_open_kmsg", lambda path: read_fd)
    monkeypatch.setattr(reader_mod, "_is_char_device", lambda fd: True)  # the pipe stands for /dev/kmsg
    monkeypatch.setattr(reader_mod.os, "read", fake_read)
    (report,) = _json(capsys)
    assert report["victim"]["pid"] == 385
    assert isinstance(report["wall_time"], float)


def test_history_gives_the_balloon_at_the_moment(tmp_path: Path) -> None:
    import dataclasses

    from balloontop.kmsg.records import parse_log
    from balloontop.kmsg.reports import parse_reports
    from balloontop.model import BalloonTotal
    from balloontop.oom import account
    from balloontop.sampler import Sampler

    old = (KMSG / "6.18-oom-kill" / "kmsg.txt").read_text().replace(" Balloon:524288kB", "")
    (report,) = [r for r in parse_reports(parse_log(old).records) if r.kind == "oom"]
    now = Sampler(str(NODEFLATE_618), clock=lambda: 2000.0).sample()
    boot = 1000.0  # the kill was at 1019.53 wall time
    before = dataclasses.replace(now, time=1019.0, balloon=BalloonTotal(262144, "x", True))
    after = dataclasses.replace(now, time=1020.0, balloon=BalloonTotal(0, "x", True))
    acc = account(report, now, boot, history=[before, after])
    assert (acc.balloon_kib, acc.balloon_from) == (262144, "history")
    assert acc.wall_time == pytest.approx(1019.532446)
    assert "just before it showed 256.0 MiB" in acc.text
    stale = dataclasses.replace(before, time=900.0)
    assert account(report, now, boot, history=[stale]).balloon_from == "current reading"


def test_foreign_log_against_a_deflate_on_oom_reading_keeps_the_reports_own_accounting() -> None:
    # The 6.18 OOM log (deflate-on-oom off) read beside a reading of a guest that has
    # DEFLATE_ON_OOM on (the development machine): a 512 MiB balloon cannot have been inside
    # a 451 MiB MemTotal, so the report's own figures win over the unrelated reading.
    from balloontop.kmsg import parse_log, parse_reports
    from balloontop.kmsg.reports import OomReport
    from balloontop.oom import account
    from balloontop.sampler import Sampler

    records = parse_log((KMSG / "6.18-oom-kill" / "kmsg.txt").read_text()).records
    (oom,) = [r for r in parse_reports(records) if isinstance(r, OomReport)]
    reading = Sampler(KMSG.parent / "captures" / "devguest-6.18" / "idle").sample()
    result = account(oom, sample=reading)
    assert result.balloon_kib == 524288 and result.mem_total_kib == 461940
    assert result.accounting == "total"
    assert result.mem_total_without_balloon_kib == 461940 + 524288
