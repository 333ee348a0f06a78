"""Real guests, the host's side: balloontop's QMP reader on the guest's second QMP socket
(tests/vm/machine.py adds it; the harness keeps the first) while the harness moves the
balloon 1024 -> 768 -> 512 -> 1024 MiB. Marker ``vm``; see tests/vm/README.md."""

from __future__ import annotations

import pytest

try:
    from tests.vm import scenario, support
except ImportError:  # tests/ on sys.path (rootdir-relative import mode)
    from vm import scenario, support

pytestmark = pytest.mark.vm

BOOT_KIB = scenario.MEM_MIB * 1024
BATCH_KIB = 256 * 4  # one virtio_balloon batch: the derived figure's tolerance (tests/vm/README.md)
STEPS = [c for c in scenario.MATRIX if not c.free_page_reporting]


@pytest.fixture(params=STEPS, ids=lambda c: c.id)
def vm_config(request):
    return request.param


@pytest.fixture
def res(request, vm_config) -> scenario.Result:
    return support.result(request, vm_config)


def _fmt(res: scenario.Result, problems: list[str]) -> str:
    table = "\n".join(scenario.host_table([res]))
    return f"{res.config.id} ({res.kernel.kver}):\n  " + "\n  ".join(problems) + "\n\n" + table


def test_host_actual_plus_guest_balloon_is_the_boot_size(res):
    problems = []
    for s in res.steps:
        h = s.host or {}
        if h.get("error") or h.get("actual_kib") is None:
            problems.append(f"step {s.target_mib}: no host reading: {h.get('error')}")
            continue
        if h["actual_kib"] != s.actual_bytes // 1024 or h["ram_kib"] != BOOT_KIB:
            problems.append(f"step {s.target_mib}: actual_kib {h['actual_kib']} ram_kib {h['ram_kib']},"
                            f" harness QMP says actual {s.actual_bytes // 1024}")
        inflated = (s.driver() or {}).get("inflated_kib")
        if inflated is None:
            problems.append(f"step {s.target_mib}: guest inflated_kib missing")
            continue
        total = h["actual_kib"] + inflated
        slack = 0 if "Balloon" in s.meminfo else BATCH_KIB
        if abs(total - BOOT_KIB) > slack:
            problems.append(f"step {s.target_mib}: actual {h['actual_kib']} + inflated {inflated} = {total},"
                            f" want {BOOT_KIB} ± {slack}")
        if h.get("balloon_kib") is not None and abs(h["balloon_kib"] - inflated) > slack:
            problems.append(f"step {s.target_mib}: host balloon_kib {h['balloon_kib']} vs guest {inflated}")
    assert not problems, _fmt(res, problems)


def test_host_stat_total_memory_is_the_guests_memtotal(res):
    """The statistics the guest sends (polling set by balloontop's --qmp-stats-interval)
    carry MemTotal in bytes: constant with deflate-on-oom on, following the balloon with off
    (the reading is taken once statistics newer than the step have arrived)."""
    problems = []
    for s in res.steps:
        h = s.host or {}
        total = (h.get("stats") or {}).get("stat-total-memory")
        if h.get("stats_interval") != scenario.STATS_INTERVAL_S or h.get("stats_stale") or not h.get("last_update"):
            problems.append(f"step {s.target_mib}: interval {h.get('stats_interval')} stale {h.get('stats_stale')}"
                            f" last_update {h.get('last_update')}")
        if total != s.meminfo.get("MemTotal", -1) * 1024:
            problems.append(f"step {s.target_mib}: stat-total-memory {total} != MemTotal {s.meminfo.get('MemTotal')} kB")
    assert not problems, _fmt(res, problems)


def test_host_movement_follows_each_move(res):
    problems = []
    previous = None
    for s in res.steps:
        m = (s.host or {}).get("movement")
        if previous is None or previous == s.target_mib:
            if previous is None and m is not None:
                problems.append(f"step {s.target_mib}: a movement before any move: {m}")
        elif not m:
            problems.append(f"step {s.target_mib}: no movement after {previous} -> {s.target_mib} MiB")
        else:
            want_dir = "inflate" if s.target_mib < previous else "deflate"
            if (m["to_kib"], m["from_kib"], m["direction"]) != (s.target_mib * 1024, previous * 1024, want_dir) \
                    or m["events"] < 1 or m["in_progress"]:
                problems.append(f"step {s.target_mib}: movement {m}, want {previous * 1024} -> {s.target_mib * 1024}"
                                f" ({want_dir}), ended")
        previous = s.target_mib
    assert not problems, _fmt(res, problems)


def test_busy_socket_and_the_cli_on_a_free_one(res):
    sock_busy, free = res.notes["cli_busy"], res.notes["cli_free"]
    assert sock_busy["rc"] == 0, sock_busy
    assert sock_busy["stderr"].strip().endswith(
        "is busy: QEMU serves one client per socket; add a second -qmp for balloontop"), sock_busy
    assert sock_busy["host"]["error"] == sock_busy["stderr"].strip().removeprefix("balloontop: ")
    # `snapshot --via 'socat ...' --qmp bt.sock`: the guest through its console shell and the
    # host over QMP in one document, the --qmp paired with the --via before it
    assert free["rc"] == 0 and free["host"]["error"] is None, free
    assert free["host"]["actual_kib"] == res.steps[-1].target_mib * 1024
    assert free["host"]["stats_interval"] == scenario.STATS_INTERVAL_S
    assert free["host"]["device"] == "/machine/peripheral/balloon0"
    doc = free["doc"]
    assert (doc.get("guest") or {}).get("transport") == "via", doc.get("guest")
    slack = 0 if "Balloon" in res.steps[-1].meminfo else BATCH_KIB
    assert abs(free["host"]["actual_kib"] + doc["balloon"]["kib"] - BOOT_KIB) <= slack
    # polling has been on since the first step: the statistics are the guest's of now
    assert doc["system"]["mem_total_kib"] * 1024 == free["host"]["stats"]["stat-total-memory"]
