"""Real guests: balloontop inside the guest against QEMU's own figure (marker ``vm``).

Each guest (Debian 6.1 = bookworm's linux-image-amd64, and trixie-backports'
linux-image-amd64) boots under QEMU/TCG with ``-m 1024`` and a virtio-balloon-pci
device; the host moves the balloon over QMP to 1024, 768, 512 and back to 1024 MiB,
and at each step the guest runs the installed ``balloontop snapshot --json``.
See tests/vm/README.md.
"""

from __future__ import annotations

import pytest

try:
    from tests.vm import scenario, support
except ImportError:  # tests/ on sys.path (rootdir-relative import mode)
    from vm import scenario, support

pytestmark = pytest.mark.vm

BATCH_KIB = 256 * 4  # one virtio_balloon batch: VIRTIO_BALLOON_ARRAY_PFNS_MAX pages of 4 KiB
FEATURE_DEFLATE_ON_OOM = 2
FEATURE_FREE_PAGE_REPORTING = 5


@pytest.fixture(params=scenario.MATRIX, ids=lambda c: c.id)
def vm_config(request):
    return request.param


@pytest.fixture
def res(request, vm_config) -> scenario.Result:
    return support.result(request, vm_config)


def _fmt(res: scenario.Result, problems: list[str]) -> str:
    return (
        f"{res.config.id} ({res.kernel.kver}):\n  "
        + "\n  ".join(problems)
        + "\n\n"
        + scenario.results_table([res])
        + "\n"
        + res.console_tail
    )


def _driver(step: scenario.Step) -> dict:
    d = step.driver()
    assert d is not None, f"no virtio_balloon driver in the snapshot: {step.snapshot}"
    return d


def test_qmp_reaches_every_target(res):
    problems = [
        f"step {s.target_mib} MiB: QMP actual {s.actual_bytes} (after {s.actual_after_bytes})"
        for s in res.steps
        if s.actual_bytes != s.target_mib * scenario.MiB or s.actual_after_bytes != s.actual_bytes
    ]
    assert not problems, _fmt(res, problems)


def test_snapshot_json_runs_in_the_guest(res):
    problems = []
    for s in res.steps:
        if s.snapshot_rc != 0 or not s.snapshot:
            problems.append(f"step {s.target_mib}: rc={s.snapshot_rc} err={s.snapshot_err!r}")
            continue
        for key in ("schema", "time", "root", "system", "meminfo", "vmstat", "balloon", "drivers", "virtio_devices"):
            if key not in s.snapshot:
                problems.append(f"step {s.target_mib}: no top-level {key!r}")
        system = s.snapshot.get("system") or {}
        if system.get("mem_total_kib") != s.meminfo.get("MemTotal"):
            problems.append(
                f"step {s.target_mib}: system.mem_total_kib "
                f"{system.get('mem_total_kib')} != MemTotal {s.meminfo.get('MemTotal')}"
            )
        if system.get("kernel") != res.kernel.kver:
            problems.append(f"system.kernel {system.get('kernel')!r} != {res.kernel.kver!r}")
        d = s.driver()
        if not d or d.get("instance") != "virtio0":
            problems.append(f"step {s.target_mib}: virtio_balloon driver on virtio0 missing: {d}")
    assert not problems, _fmt(res, problems)


def test_balloon_size_matches_qmp(res):
    """balloon.kib and the driver's inflated_kib == boot size - QMP actual: exactly where
    the kernel counts the balloon (meminfo Balloon:), within one batch where derived."""
    problems = []
    for s in res.steps:
        want = s.qmp_balloon_kib
        d = _driver(s)
        b = s.snapshot.get("balloon") or {}
        has_line = "Balloon" in s.meminfo
        for what, got, src, exact in (
            ("balloon.kib", b.get("kib"), b.get("source"), b.get("exact")),
            ("inflated_kib", d.get("inflated_kib"), d.get("source"), d.get("exact")),
        ):
            if got is None:
                problems.append(f"step {s.target_mib}: {what} missing")
                continue
            if has_line:  # 6.18+: the kernel's own count
                if src != "meminfo:Balloon" or exact is not True or got != want:
                    problems.append(
                        f"step {s.target_mib}: {what}={got} source={src} exact={exact}"
                        f", want exactly {want} from meminfo:Balloon"
                    )
            else:  # 6.1: derived from the cumulative vmstat counters
                if src != "vmstat:inflate-deflate" or abs(got - want) > BATCH_KIB:
                    problems.append(
                        f"step {s.target_mib}: {what}={got} source={src}, want {want}"
                        f" ± {BATCH_KIB} from vmstat:inflate-deflate"
                    )
    assert not problems, _fmt(res, problems)


def test_kernel_counters_match_qmp(res):
    """The harness itself: the guest kernel's raw counters agree with QMP."""
    problems = []
    for s in res.steps:
        want = s.qmp_balloon_kib
        derived = 4 * (s.vmstat.get("balloon_inflate", 0) - s.vmstat.get("balloon_deflate", 0))
        if abs(derived - want) > BATCH_KIB:
            problems.append(f"step {s.target_mib}: vmstat inflate-deflate ×4 = {derived}, want {want}")
        if "Balloon" in s.meminfo and s.meminfo["Balloon"] != want:
            problems.append(f"step {s.target_mib}: meminfo Balloon {s.meminfo['Balloon']} != {want}")
    assert not problems, _fmt(res, problems)


def test_accounting_follows_deflate_on_oom(res):
    want = "used" if res.config.deflate_on_oom else "total"
    problems = [
        f"step {s.target_mib}: accounting={_driver(s).get('accounting')!r}, want {want!r}"
        for s in res.steps
        if _driver(s).get("accounting") != want
    ]
    assert not problems, _fmt(res, problems)


def test_memtotal_behaves_as_the_mode_predicts(res):
    """deflate-on-oom=off: MemTotal drops by the balloon; on: MemTotal is constant."""
    base = res.boot_meminfo["MemTotal"]
    problems = []
    for s in res.steps:
        got = s.meminfo.get("MemTotal")
        want = base if res.config.deflate_on_oom else base - s.qmp_balloon_kib
        if got != want:
            problems.append(f"step {s.target_mib}: MemTotal {got}, want {want}")
        snap = (s.snapshot or {}).get("system", {}).get("mem_total_kib")
        if snap is not None and snap != got:
            problems.append(f"step {s.target_mib}: balloontop mem_total_kib {snap} != {got}")
    assert not problems, _fmt(res, problems)


def _bits(features: dict) -> set[int]:
    out = set()
    for b in features.get("bits") or []:
        if isinstance(b, dict):
            b = b.get("bit")
        if isinstance(b, int):
            out.add(b)
    return out


def test_features_match_device_options(res):
    problems = []
    for s in res.steps:
        raw = s.features
        feats = _driver(s).get("features") or {}
        if feats.get("raw") != raw:
            problems.append(f"step {s.target_mib}: features.raw {feats.get('raw')!r} != sysfs {raw!r}")
        bits = _bits(feats)
        for bit, on in (
            (FEATURE_DEFLATE_ON_OOM, res.config.deflate_on_oom),
            (FEATURE_FREE_PAGE_REPORTING, res.config.free_page_reporting),
        ):
            if (raw[bit : bit + 1] == "1") != on:
                problems.append(f"sysfs features bit {bit} is {raw[bit : bit + 1]!r}, device option {on}")
            if (bit in bits) != on:
                problems.append(
                    f"step {s.target_mib}: balloontop features bit {bit} "
                    f"{'missing' if on else 'present'} ({sorted(bits)})"
                )
    assert not problems, _fmt(res, problems)


def test_remote_reading_through_the_virtio_console_matches_qmp(res):
    """The same guest read from the host (issue 12): ``balloontop snapshot --via 'socat -
    UNIX-CONNECT:...'`` over a busybox sh on the guest's virtio console, nothing of
    balloontop inside the guest. Its balloon equals the in-guest reading and QMP's."""
    problems = []
    for s in res.steps:
        if s.remote is None:
            problems.append(f"step {s.target_mib}: remote snapshot failed: {s.remote_err!r}")
            continue
        want = s.qmp_balloon_kib
        remote_d = next((d for d in s.remote.get("drivers") or [] if d.get("driver") == "virtio_balloon"), None)
        if remote_d is None or remote_d.get("instance") != "virtio0":
            problems.append(f"step {s.target_mib}: remote: no virtio_balloon on virtio0: {remote_d}")
            continue
        local_d = _driver(s)
        for key in ("accounting", "source", "exact", "features"):
            if remote_d.get(key) != local_d.get(key):
                problems.append(f"step {s.target_mib}: remote {key} {remote_d.get(key)!r} != in-guest {local_d.get(key)!r}")
        got = (s.remote.get("balloon") or {}).get("kib")
        if "Balloon" in s.meminfo:
            if got != want:
                problems.append(f"step {s.target_mib}: remote balloon.kib {got}, QMP says {want}")
        elif got is None or abs(got - want) > BATCH_KIB:
            problems.append(f"step {s.target_mib}: remote balloon.kib {got}, QMP says {want} ± {BATCH_KIB}")
        if got != (s.snapshot or {}).get("balloon", {}).get("kib"):
            problems.append(f"step {s.target_mib}: remote balloon.kib {got} != in-guest {(s.snapshot or {}).get('balloon')}")
        system = s.remote.get("system") or {}
        if system.get("kernel") != res.kernel.kver or system.get("page_size_source") != "running":
            problems.append(f"step {s.target_mib}: remote system {system}")
        if (s.remote.get("guest") or {}).get("transport") != "via":
            problems.append(f"step {s.target_mib}: remote guest {s.remote.get('guest')}")
    assert not problems, _fmt(res, problems)
