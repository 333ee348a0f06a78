"""Parsers are pure functions of text: exact on real files, never raising on any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from balloontop.parsers.debugfs import parse_hv_balloon, parse_vmmemctl
from balloontop.parsers.meminfo import parse_meminfo
from balloontop.parsers.sysfs import parse_pair, parse_value
from balloontop.parsers.vmstat import allocation_stalls, parse_vmstat

from .conftest import CAPTURES, SYNTHETIC

PARSERS = (parse_meminfo, parse_vmstat, parse_hv_balloon, parse_vmmemctl)
LINES = st.lists(
    st.one_of(
        st.text(max_size=80),
        st.from_regex(r"[A-Za-z_()]{1,20}:\s*-?\d{0,12}( kB| pages| MB)?", fullmatch=True),
        st.from_regex(r"[a-z_]{1,20} -?\d{0,20}", fullmatch=True),
        st.from_regex(r"[a-z ]{1,22}\s*(\((4k|2M)\))?:\s+\d+ \(\d+ failed\)", fullmatch=True),
    ),
    max_size=30,
).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(text=LINES)
def test_no_parser_raises_on_any_text(text: str) -> None:
    for parser in PARSERS:
        values, warnings = parser(text)
        assert isinstance(values, dict) and isinstance(warnings, list)
    parse_value(text)
    parse_pair(text)


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=0, max_value=4000))
def test_truncated_meminfo_keeps_every_whole_line(cut: int) -> None:
    text = (CAPTURES / "virtio-6.18-nodeflate" / "0512M" / "proc" / "meminfo").read_text()
    full, _ = parse_meminfo(text)
    part, _ = parse_meminfo(text[:cut])
    whole_lines = text[:cut].count("\n")
    for key in list(full)[:whole_lines]:
        assert part[key] == full[key]


def test_meminfo_of_6_18_capture() -> None:
    values, warnings = parse_meminfo((CAPTURES / "virtio-6.18-nodeflate" / "0512M" / "proc" / "meminfo").read_text())
    assert warnings == []
    assert values["MemTotal"] == 461940 and values["Balloon"] == 524288
    assert values["HugePages_Total"] == 0 and values["Hugepagesize"] == 2048
    assert "Active(anon)" in values


def test_meminfo_without_balloon_line_on_6_1() -> None:
    values, _ = parse_meminfo((CAPTURES / "virtio-6.1-deflate" / "0512M" / "proc" / "meminfo").read_text())
    assert "Balloon" not in values and values["MemTotal"] == 983744


def test_vmstat_of_6_18_capture() -> None:
    values, warnings = parse_vmstat((CAPTURES / "virtio-6.18-nodeflate" / "0512M" / "proc" / "vmstat").read_text())
    assert warnings == []
    assert (values["nr_balloon_pages"], values["balloon_inflate"], values["balloon_deflate"]) == (131072, 131072, 0)
    assert values["balloon_migrate"] == 0 and values["oom_kill"] == 0
    assert allocation_stalls(values) == sum(v for k, v in values.items() if k.startswith("allocstall_"))


def test_bad_lines_are_warnings() -> None:
    values, warnings = parse_meminfo("MemTotal: 100 kB\nthis is not a field\nMemFree: x kB\n")
    assert values == {"MemTotal": 100}
    assert len(warnings) == 2 and "line 2" in warnings[0]


def test_vmmemctl_current_format_has_target_twice() -> None:
    text = (SYNTHETIC / "vmw-balloon-new" / "sys/kernel/debug/vmmemctl").read_text()
    values, warnings = parse_vmmemctl(text)
    assert warnings == []
    assert values["format"] == 1
    assert values["target"] == values["current"] == 29696  # the size, in 4 KiB frames
    assert values["cmd_target"] == 861 and values["cmd_target_failed"] == 0  # the command counter
    assert values["alloc_2M"] == 40 and values["alloc_4k"] == 13312


def test_vmmemctl_old_format() -> None:
    text = (SYNTHETIC / "vmw-balloon-old" / "sys/kernel/debug/vmmemctl").read_text()
    values, warnings = parse_vmmemctl(text)
    assert warnings == []
    assert values["format"] == 0
    assert values["target"] == values["current"] == 24576
    assert values["rateSleepAlloc"] == 2048 and values["cmd_target"] == 412


def test_hv_balloon_state_and_labels() -> None:
    values, _ = parse_hv_balloon((SYNTHETIC / "hv-balloon-6.18" / "sys/kernel/debug/hv-balloon").read_text())
    assert values["format"] == "mainline"
    assert (values["state"], values["state_name"]) == (2, "Balloon Up")
    assert values["capabilities"] == "enabled hot_add"
    old, _ = parse_hv_balloon((SYNTHETIC / "hv-balloon-designnote" / "sys/kernel/debug/hv-balloon").read_text())
    assert old["format"] == "design-note" and old["pages_ballooned"] == 40960


def test_hv_balloon_design_note_comments_are_ignored() -> None:
    values, warnings = parse_hv_balloon("pages_ballooned_out : 7 // pages the Host have taken back\n")
    assert values["pages_ballooned"] == 7 and warnings == []
