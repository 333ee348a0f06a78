"""OOM reports, show_mem reports and balloon driver messages, parsed from real captures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from balloontop.kmsg.records import parse_log
from balloontop.kmsg.reports import (
    BalloonDriverMessage,
    OomReport,
    ShowMemReport,
    classify,
    driver_message,
    oom_reports,
    parse_reports,
    report_events,
    show_mem_reports,
)

KMSG = Path(__file__).parent / "fixtures" / "kmsg"


def _reports(capture: str, name: str = "kmsg.txt") -> list:
    return parse_reports(parse_log((KMSG / capture / name).read_bytes()).records)


@pytest.mark.parametrize("name", ["kmsg.txt", "dmesg.txt", "dmesg-raw.txt", "event-kmsg.txt"])
def test_oom_kill_capture(name: str) -> None:
    reports = _reports("6.18-oom-kill", name)
    ooms = oom_reports(reports)
    assert len(ooms) == 1
    oom = ooms[0]
    assert isinstance(oom, OomReport)
    assert oom.time_s == pytest.approx(19.532446)
    assert oom.seq == (359 if name.startswith(("kmsg", "event")) else None)
    assert oom.invoker == "hog"
    assert oom.gfp_mask == "0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP)"
    assert (oom.order, oom.oom_score_adj) == (0, 1000)
    assert (oom.victim_name, oom.victim_pid, oom.victim_uid) == ("hog", 385, 0)
    assert oom.victim_total_vm_kib == 382448
    assert oom.victim_anon_rss_kib == 380672
    assert oom.victim_file_rss_kib == 0
    assert oom.victim_shmem_rss_kib == 648
    assert oom.victim_rss_kib == 381320
    assert oom.victim_pgtables_kib == 788 and oom.victim_oom_score_adj == 1000
    assert oom.constraint == "CONSTRAINT_NONE" and oom.global_oom is True
    assert oom.task_memcg == "/" and oom.memcg_oom is False and oom.killed is True
    assert oom.balloon_kib == 524288 and oom.balloon_source == "show_mem:Balloon"
    assert (oom.pages_ram, oom.pages_reserved) == (262014, 146529)
    assert oom.show_mem is not None and oom.show_mem.trigger == "oom"
    assert show_mem_reports(reports) == []
    assert show_mem_reports(reports, include_oom=True) == [oom.show_mem]


@pytest.mark.parametrize("name", ["kmsg.txt", "dmesg.txt"])
def test_sysrq_m_618(name: str) -> None:
    reports = _reports("6.18-sysrq-m", name)
    assert oom_reports(reports) == []
    (show,) = show_mem_reports(reports)
    assert show.trigger == "sysrq"
    assert show.time_s == pytest.approx(15.955553)
    assert show.balloon_kib == 524288 and show.balloon_source == "show_mem:Balloon"
    assert dict(show.node_balloon_kib) == {0: 524288}
    assert (show.pages_ram, show.pages_reserved) == (262014, 146529)
    assert show.accounting is None  # 6.15's Balloon: does not say


@pytest.mark.parametrize("name", ["kmsg.txt", "dmesg.txt"])
def test_sysrq_m_61_has_no_balloon_figure(name: str) -> None:
    (show,) = show_mem_reports(_reports("6.1-sysrq-m", name))
    assert show.trigger == "sysrq" and show.time_s == pytest.approx(12.551754)
    assert show.balloon_kib is None and show.balloon_source is None
    assert (show.pages_ram, show.pages_reserved) == (262014, 147150)


def test_deflate_on_oom_capture_two_alloc_failures() -> None:
    reports = _reports("6.18-deflate-on-oom")
    assert oom_reports(reports) == []
    shows = show_mem_reports(reports)
    assert [s.trigger for s in shows] == ["alloc_failure", "alloc_failure"]
    assert [s.balloon_kib for s in shows] == [394224, 179200]
    assert [s.time_s for s in shows] == [pytest.approx(22.552126), pytest.approx(32.901104)]
    assert [(s.comm, s.order) for s in shows] == [("init", 6), ("init", 6)]
    assert shows[0].gfp_mode == "0x40dc0(GFP_KERNEL|__GFP_ZERO|__GFP_COMP)"
    assert [s.pages_reserved for s in shows] == [15457, 15457]


def test_driver_messages_in_captures() -> None:
    messages = [r for r in _reports("6.18-oom-kill") if isinstance(r, BalloonDriverMessage)]
    assert [(m.driver, m.kind) for m in messages] == [("hv_balloon", "registered")] * 2
    old = [r for r in _reports("6.1-sysrq-m") if isinstance(r, BalloonDriverMessage)]
    assert {m.kind for m in old} == {"module_error"}
    # neither is news for the event log
    assert [e.kind for e in report_events(_reports("6.1-sysrq-m"))] == ["show_mem"]


def _msg(text: str) -> BalloonDriverMessage | None:
    (record,) = parse_log(f"[   48.391813] {text}\n").records
    return driver_message(record)


@pytest.mark.parametrize(
    ("text", "driver", "kind", "kib", "instance"),
    [
        ("hv_balloon: Balloon request will be partially fulfilled. Balloon floor reached.",
         "hv_balloon", "partially_fulfilled", None, None),
        ("hv_balloon: Max. dynamic memory size: 3916 MB", "hv_balloon", "max_dynamic_memory",
         3916 * 1024, None),
        ("hv_balloon: Using Dynamic Memory protocol version 2.0", "hv_balloon", "protocol",
         None, None),
        ("virtio_balloon virtio3: Out of puff! Can't get 1 pages", "virtio_balloon",
         "out_of_puff", None, "virtio3"),
        ("xen:balloon: Initialising balloon driver", "xen_balloon", "init", None, None),
        ("xen_balloon: Initialising balloon driver.", "xen_balloon", "init", None, None),
        ("xen:balloon: Waiting for initial ballooning down having finished.", "xen_balloon",
         "message", None, None),
        ("vmw_balloon: failed to send guest type", "vmw_balloon", "message", None, None),
    ],
)
def test_driver_message_strings(text: str, driver: str, kind: str, kib: int | None,
                                instance: str | None) -> None:
    msg = _msg(text)
    assert msg is not None
    assert (msg.driver, msg.kind, msg.kib, msg.instance) == (driver, kind, kib, instance)


def test_design_note_inflated_line_and_multi_node() -> None:
    text = "\n".join([
        "[  100.000001] sysrq: Show Memory",
        "[  100.000002] Mem-Info:",
        "[  100.000003] Node 0 active_anon:1kB all_unreclaimable? no Balloon:1024kB",
        "[  100.000004] Node 1 active_anon:1kB all_unreclaimable? no Balloon:2048kB",
        "[  100.000005] 1000 pages RAM",
        "[  100.000006] 10 pages reserved",
        "[  200.000001] sysrq: Show Memory",
        "[  200.000002] Mem-Info:",
        "[  200.000003] Balloon InflatedTotal:0kB InflatedFree:4096kB",
        "[  200.000004] 1000 pages RAM",
    ])
    first, second = show_mem_reports(parse_reports(parse_log(text).records))
    assert first.balloon_kib == 3072 and dict(first.node_balloon_kib) == {0: 1024, 1: 2048}
    assert second.balloon_kib == 4096 and second.balloon_source == "show_mem:Inflated"
    assert second.accounting == "used" and second.pages_reserved is None


def test_truncated_oom_report_and_orphan_lines() -> None:
    text = "\n".join([
        # a kill line with no invocation before it (start of the buffer overwritten)
        "<3>[   20.000000] Out of memory: Killed process 42 (my prog) total-vm:100kB, "
        "anon-rss:10kB, file-rss:2kB, shmem-rss:0kB, UID:1000 pgtables:4kB oom_score_adj:0",
        # an OOM report whose log was cut before the kill lines (the next report starts)
        "<4>[   25.000000] a.out invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=2, "
        "oom_score_adj=0",
        "<4>[   25.000100] Mem-Info:",
        # memcg OOM, old format without UID/pgtables
        "<4>[   29.000000] web invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), nodemask=(null), "
        "order=0, oom_score_adj=0",
        "<4>[   30.000000] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,"
        "mems_allowed=0,oom_memcg=/a,task_memcg=/a,task=web, worker,pid=7,uid=33",
        "<3>[   30.000100] Memory cgroup out of memory: Killed process 7 (web, worker) "
        "total-vm:5kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB",
        "<4>[   40.000000] 12 pages reserved",  # a show_mem line with no block: ignored
    ])
    second, first, third = oom_reports(parse_reports(parse_log(text).records))
    assert first.invoker == "a.out" and first.order == 2 and first.killed is False
    assert first.victim_name is None and first.balloon_kib is None
    assert first.show_mem is not None and first.show_mem.pages_reserved is None
    assert (second.victim_name, second.victim_pid, second.victim_uid) == ("my prog", 42, 1000)
    assert second.invoker is None and second.victim_rss_kib == 12
    assert (third.victim_name, third.victim_pid, third.memcg_oom) == ("web, worker", 7, True)
    assert third.constraint == "CONSTRAINT_MEMCG" and third.global_oom is False
    assert third.victim_uid == 33 and third.victim_pgtables_kib is None


def test_classify_for_a_log_view() -> None:
    records = parse_log((KMSG / "6.18-oom-kill" / "kmsg.txt").read_bytes()).records
    kinds = {r.seq: classify(r) for r in records}
    assert kinds[359] == "oom" and kinds[411] == "oom" and kinds[412] == "oom"
    assert kinds[390] == "balloon"  # the per-node line with Balloon:
    assert kinds[388] == "show_mem" and kinds[404] == "show_mem"
    assert kinds[0] is None


def test_events_from_reports() -> None:
    events = report_events(_reports("6.18-oom-kill"), boot_time=1000.0)
    (event,) = events
    assert event.kind == "oom_kill" and event.kib == 381320
    assert event.time == pytest.approx(1019.532446)
    assert event.details["uptime_s"] == pytest.approx(19.532446)
    assert "hog" in event.message and "512 MiB" in event.message
    shows = report_events(_reports("6.18-deflate-on-oom"))
    assert [(e.kind, e.kib) for e in shows] == [("show_mem", 394224), ("show_mem", 179200)]
    assert shows[0].time == pytest.approx(22.552126)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    "hog invoked oom-killer: gfp_mask=0x1, order=0, oom_score_adj=0",
    "Mem-Info:",
    "Node 0 active_anon:1kB Balloon:5kB",
    "Balloon InflatedTotal:1kB InflatedFree:2kB",
    "1 pages RAM",
    "2 pages reserved",
    "oom-kill:constraint=CONSTRAINT_NONE,task=x,pid=1,uid=0",
    "oom-kill:",
    "Out of memory: Killed process 1 (x) total-vm:1kB, anon-rss:1kB, file-rss:1kB, shmem-rss:1kB",
    "sysrq: Show Memory",
    "x: page allocation failure: order:1, mode:0x0",
    "hv_balloon: Balloon request will be partially fulfilled.",
    "something else",
]) | st.text(max_size=40), max_size=30))
def test_grouping_never_raises(lines: list[str]) -> None:
    text = "\n".join(f"4,{i},{i},-;{line}" for i, line in enumerate(lines))
    reports = parse_reports(parse_log(text).records)
    for report in reports:
        assert isinstance(report, (OomReport, ShowMemReport, BalloonDriverMessage))
        report.to_json()
    report_events(reports)
