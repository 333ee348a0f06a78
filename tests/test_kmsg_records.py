"""Kernel log records: /dev/kmsg records, dmesg text, malformed input, the live reader."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from balloontop.kmsg import reader as reader_mod
from balloontop.kmsg.reader import KmsgReader
from balloontop.kmsg.records import parse_kmsg_record, parse_log, unescape

KMSG = Path(__file__).parent / "fixtures" / "kmsg"


def test_kmsg_record_fields() -> None:
    rec = parse_kmsg_record(b"4,390,19542620,-;Node 0 active_anon:386400kB Balloon:524288kB")
    assert rec is not None
    assert (rec.facility, rec.level, rec.seq, rec.usec) == (0, 4, 390, 19542620)
    assert rec.time_s == pytest.approx(19.54262)
    assert rec.text.endswith("Balloon:524288kB")
    assert rec.level_name == "warning"


def test_prio_splits_facility_and_level() -> None:
    rec = parse_kmsg_record("14,5,100,-;hello from user space")  # 14 = user(1) << 3 | info(6)
    assert rec is not None and (rec.facility, rec.level) == (1, 6)


def test_escapes_and_multiline_mem_info_record() -> None:
    text = (KMSG / "6.18-oom-kill" / "kmsg.txt").read_text()
    records = parse_log(text).records
    counters = [r for r in records if r.text.startswith("active_anon:96600")]
    assert len(counters) == 1
    lines = counters[0].lines
    assert lines[0] == "active_anon:96600 inactive_anon:0 isolated_anon:0"
    assert lines[-1] == " free:11663 free_pcp:1607 free_cma:0"
    assert len(lines) == 8
    assert unescape(r"back\x5cslash caf\xc3\xa9") == "back\\slash café"


def test_dictionary_lines_belong_to_the_record_before() -> None:
    records = parse_log((KMSG / "6.1-sysrq-m" / "kmsg.txt").read_text()).records
    rec = next(r for r in records if r.seq == 179)
    assert dict(rec.dictionary) == {"SUBSYSTEM": "acpi", "DEVICE": "+acpi:PNP0A08:00"}
    one = parse_kmsg_record(b"6,179,1046046,-;acpi x\n SUBSYSTEM=acpi\n DEVICE=+acpi:1\n")
    assert one is not None and one.dictionary["DEVICE"] == "+acpi:1"


@pytest.mark.parametrize("capture", ["6.1-sysrq-m", "6.18-sysrq-m", "6.18-oom-kill",
                                     "6.18-deflate-on-oom"])
def test_whole_captures_parse_without_skips(capture: str) -> None:
    result = parse_log((KMSG / capture / "kmsg.txt").read_bytes())
    assert result.skipped == 0 and result.warnings == ()
    seqs = [r.seq for r in result.records]
    assert seqs == sorted(seqs) and seqs[0] == 0


def test_dmesg_text_same_records_as_kmsg() -> None:
    kmsg = parse_log((KMSG / "6.18-oom-kill" / "event-kmsg.txt").read_text()).records
    dmesg = parse_log((KMSG / "6.18-oom-kill" / "dmesg.txt").read_text()).records
    by_time = {(r.usec, r.text) for r in dmesg}
    assert all((r.usec, r.text) in by_time for r in kmsg)
    raw = parse_log((KMSG / "6.18-oom-kill" / "dmesg-raw.txt").read_text()).records
    killed = next(r for r in raw if "Killed process" in r.text)
    assert killed.level == 3 and killed.usec == 19551980 and killed.seq is None


def test_dmesg_human_and_syslog_formats() -> None:
    text = (
        "[Sat May  3 11:18:33 2025] hv_balloon: Max. dynamic memory size: 16192 MB\n"
        "Jun 11 20:16:31 hyperv kernel: hv_balloon: Max. dynamic memory size: 1048576 MB\n"
    )
    result = parse_log(text)
    assert [r.text for r in result.records] == [
        "hv_balloon: Max. dynamic memory size: 16192 MB",
        "hv_balloon: Max. dynamic memory size: 1048576 MB",
    ]
    assert result.records[0].wall == "Sat May  3 11:18:33 2025"
    assert result.records[0].time_s is None


def test_malformed_and_truncated_records_are_skipped_and_counted() -> None:
    text = (
        "4,359,19532446,-;hog invoked oom-killer: gfp_mask=0x140dca, order=0, oom_score_adj=1000\n"
        "4,360,195\n"  # truncated header
        "x,361,19533274,-;not a number\n"
        "garbage without any header\n"
        " KEY=VALUE\n"  # dictionary line: attaches to the record before, not skipped
        "4,362,19533740,-;Call Trace:\n"
        "4,363,-5,-;negative time\n"
        "\n"
        "4,364,19534617"  # truncated at the end of the file
    )
    result = parse_log(text)
    assert [r.seq for r in result.records] == [359, 362]
    assert result.records[0].dictionary["KEY"] == "VALUE"
    assert result.skipped == 5
    assert "skipped 5" in result.warnings[0]
    assert parse_kmsg_record(b"4,364,19534617") is None
    assert parse_kmsg_record(b"") is None
    orphan = parse_log(" SUBSYSTEM=acpi\n")
    assert orphan.records == () and orphan.skipped == 1


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_log_never_raises_on_text(text: str) -> None:
    result = parse_log(text)
    assert result.skipped >= 0
    for record in result.records:
        assert isinstance(record.text, str)


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_parse_never_raises_on_bytes(data: bytes) -> None:
    parse_log(data)
    parse_kmsg_record(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 1023), st.integers(0, 2**40), st.integers(0, 2**40),
       st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_kmsg_record_roundtrip(prio: int, seq: int, usec: int, message: str) -> None:
    escaped = "".join(
        f"\\x{b:02x}" if (b < 0x20 or b >= 0x7F or b == 0x5C) else chr(b)
        for b in message.encode("utf-8")
    )
    rec = parse_kmsg_record(f"{prio},{seq},{usec},-;{escaped}".encode("ascii"))
    assert rec is not None
    assert (rec.level, rec.facility, rec.seq, rec.usec, rec.text) == (
        prio & 7, prio >> 3, seq, usec, message)


# -- the reader ------------------------------------------------------------------------


class _FakeKmsg:
    """Stands in for os.open/os.read on /dev/kmsg: one record per read, EPIPE, EAGAIN."""

    def __init__(self, chunks: list[object]) -> None:
        self.chunks = chunks

    def read(self, fd: int, size: int) -> bytes:
        if not self.chunks:
            raise BlockingIOError(errno.EAGAIN, "again")
        item = self.chunks.pop(0)
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, bytes)
        return item


def _fake_device(monkeypatch: pytest.MonkeyPatch, chunks: list[object]) -> _FakeKmsg:
    fake = _FakeKmsg(chunks)
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"x")  # poll() says readable
    monkeypatch.setattr(reader_mod, "_open_kmsg", lambda path: read_fd)
    monkeypatch.setattr(reader_mod, "_is_char_device", lambda fd: True)  # the pipe stands for /dev/kmsg
    monkeypatch.setattr(reader_mod.os, "read", fake.read)
    return fake


def test_live_reader_reads_record_by_record(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_device(monkeypatch, [
        b"6,0,0,-;Linux version 6.18\n",
        BrokenPipeError(errno.EPIPE, "overwritten"),
        b"4,5,1000,-;sysrq: Show Memory\n",
        b"not a record\n",
    ])
    reader = KmsgReader("/")
    first = reader.read_new()
    assert [r.seq for r in first] == [0, 5]
    assert reader.lost == 1 and reader.skipped == 1 and reader.warnings == []
    assert reader.read_new() == []
    fake.chunks.append(b"4,6,2000,-;Mem-Info:\n")
    assert [r.text for r in reader.read_new()] == ["Mem-Info:"]
    reader.close()


def test_no_permission_warns_once_and_carries_on(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def denied(path: str) -> int:
        calls.append(path)
        raise PermissionError(errno.EPERM, "Operation not permitted", path)

    monkeypatch.setattr(reader_mod, "_open_kmsg", denied)
    reader = KmsgReader("/")
    assert reader.read_new() == []
    assert reader.read_new() == []
    assert calls == ["/dev/kmsg"]
    assert len(reader.warnings) == 1
    assert "dmesg_restrict" in reader.warnings[0]


def test_live_reader_on_this_system() -> None:
    if not os.path.exists("/dev/kmsg"):
        pytest.skip("no /dev/kmsg here")
    with KmsgReader("/") as reader:
        records = reader.read_new()
        assert reader.warnings == [] or records == []


def test_file_root_reads_recorded_records(tmp_path: Path) -> None:
    (tmp_path / "dev").mkdir()
    source = (KMSG / "6.18-oom-kill" / "kmsg.txt").read_text()
    lines = source.splitlines(keepends=True)
    (tmp_path / "dev" / "kmsg").write_text("".join(lines[:100]))
    reader = KmsgReader(str(tmp_path))
    first = reader.read_new()
    assert first[0].seq == 0 and reader.warnings == []
    (tmp_path / "dev" / "kmsg").write_text(source)
    rest = reader.read_new()
    assert len(first) + len(rest) == 413
    assert reader.read_new() == []


def test_file_root_permission_is_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "kmsg").write_text("6,0,0,-;x\n")

    def denied(path: str, *args: object) -> bytes:
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr("balloontop.rootfs._read_bytes", denied)
    reader = KmsgReader(str(tmp_path))
    assert reader.read_new() == [] and reader.read_new() == []
    assert len(reader.warnings) == 1 and "permission denied" in reader.warnings[0]


def test_missing_file_root_is_a_warning(tmp_path: Path) -> None:
    reader = KmsgReader(str(tmp_path))
    assert reader.read_new() == []
    assert len(reader.warnings) == 1


# -- the monitor's kernel log ------------------------------------------------------------


def _grow(root: Path, lines: list[str], upto: int) -> None:
    (root / "dev").mkdir(exist_ok=True)
    (root / "dev" / "kmsg").write_text("".join(lines[:upto]))


def test_kernel_log_emits_each_report_once_when_complete(tmp_path: Path) -> None:
    from balloontop.kmsg.reader import KernelLog

    lines = (KMSG / "6.18-sysrq-m" / "kmsg.txt").read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "sysrq: Show Memory" in line)
    log = KernelLog(str(tmp_path), boot_time=1000.0)
    _grow(tmp_path, lines, start + 3)  # the report is still being printed
    assert log.poll() == []
    _grow(tmp_path, lines, len(lines))
    assert log.poll() == []  # new records came: still held (its stamps are < settle_s apart)
    (event,) = log.poll()  # a poll with nothing new completes it
    assert event.kind == "show_mem" and event.kib == 524288
    assert event.time == pytest.approx(1015.955553)
    assert log.poll() == [] and [r.kind for r in log.reports] == ["registered"] * 2 + ["show_mem"]
    kinds = {c for _, c in log.highlighted()}
    assert {"sysrq", "show_mem", "balloon"} <= kinds


def test_kernel_log_oom_report_complete_at_the_kill_line(tmp_path: Path) -> None:
    from balloontop.kmsg.reader import KernelLog

    lines = (KMSG / "6.18-oom-kill" / "kmsg.txt").read_text().splitlines(keepends=True)
    kill = next(i for i, line in enumerate(lines) if "Killed process" in line)
    log = KernelLog(str(tmp_path))
    _grow(tmp_path, lines, kill)
    assert [e.kind for e in log.poll()] == []
    _grow(tmp_path, lines, kill + 1)
    (event,) = log.poll()
    assert event.kind == "oom_kill" and event.details["victim"]["pid"] == 385
    assert event.details["balloon_kib"] == 524288
    _grow(tmp_path, lines, len(lines))
    assert log.poll() == [] and log.poll() == []


def test_kernel_log_without_permission_carries_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from balloontop.kmsg.reader import KernelLog

    def denied(path: str) -> int:
        raise PermissionError(errno.EPERM, "Operation not permitted", path)

    monkeypatch.setattr(reader_mod, "_open_kmsg", denied)
    log = KernelLog("/")
    assert log.poll() == [] and log.poll() == []
    assert len(log.warnings) == 1 and list(log.records) == []
