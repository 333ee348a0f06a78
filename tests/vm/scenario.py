"""Scenarios run in real guests, and a small pool that runs them two at a time.

``balloon_steps``: boot, then for each target (1024, 768, 512, 1024 MiB) send QMP
``balloon``, wait until ``query-balloon.actual`` equals the target, and in the guest read
/proc/meminfo, /proc/vmstat, the balloon's virtio features and run the installed
``python3 -m balloontop snapshot --json --root /`` (through the read-only host root).

``monitor_move``: boot, run the monitor (``balloontop --root /``) on a pseudo-terminal in
the guest (tests/vm/screen.py renders it with pyte), move the balloon once, and keep the
screen text before and after.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from balloontop.host.reader import HostReader

from . import kernels
from .machine import RUN_ROOT, Guest, guest_python
from .qmp import MiB

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS_MIB = (1024, 768, 512, 1024)
MEM_MIB = 1024
STATS_INTERVAL_S = 2


@dataclass(frozen=True)
class Config:
    suite: str  # "bookworm" | "trixie-backports"
    deflate_on_oom: bool
    free_page_reporting: bool = False
    kind: str = "steps"  # "steps" | "monitor" | "monitor-remote"

    @property
    def id(self) -> str:
        s = f"{self.suite}-doom-{'on' if self.deflate_on_oom else 'off'}"
        if self.free_page_reporting:
            s += "-fpr"
        if self.kind != "steps":
            s += f"-{self.kind}"
        return s


MATRIX = (
    Config("bookworm", False),
    Config("bookworm", True),
    Config("trixie-backports", False),
    Config("trixie-backports", True),
    Config("trixie-backports", False, free_page_reporting=True),
)
MONITOR = Config("trixie-backports", False, kind="monitor")
MONITOR_REMOTE = Config("trixie-backports", False, kind="monitor-remote")
"""The monitor on the HOST, reading the guest through its virtio console (--via socat)."""


def parse_kv(text: str, sep: str | None = None) -> dict[str, int]:
    """meminfo ('Key:  123 kB') or vmstat ('key 123') text -> {key: int}."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        if sep == ":":
            k, _, v = line.partition(":")
        else:
            k, _, v = line.partition(" ")
        parts = v.split()
        if k and parts:
            try:
                out[k.strip()] = int(parts[0])
            except ValueError:
                pass
    return out


def _read(path: str) -> str:
    try:
        return open(path, errors="replace").read()
    except OSError:
        return ""


@dataclass
class Step:
    target_mib: int
    actual_bytes: int | None
    actual_after_bytes: int | None
    qmp_s: float | None
    snapshot_s: float
    meminfo: dict[str, int]
    vmstat: dict[str, int]
    features: str
    snapshot: dict | None
    snapshot_rc: int
    snapshot_err: str
    remote: dict | None = None
    """``balloontop snapshot --json --via 'socat ...'`` run on the host (the guest's console shell)."""
    remote_err: str = ""
    host: dict | None = None
    """balloontop's HostReading (to_json) over the second QMP socket, read after the step."""

    @property
    def qmp_balloon_kib(self) -> int | None:
        if self.actual_bytes is None:
            return None
        return MEM_MIB * 1024 - self.actual_bytes // 1024

    def driver(self) -> dict | None:
        if not self.snapshot:
            return None
        for d in self.snapshot.get("drivers") or []:
            if d.get("driver") == "virtio_balloon":
                return d
        return None


@dataclass
class Result:
    config: Config
    kernel: kernels.Kernel
    boot_s: float
    total_s: float
    boot_meminfo: dict[str, int]
    steps: list[Step] = field(default_factory=list)
    screens: dict[str, str] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)
    console_tail: str = ""


def balloon_steps(cfg: Config, targets=TARGETS_MIB) -> Result:
    kern = kernels.kernel(cfg.suite)
    t_all = time.monotonic()
    g = Guest(
        cfg.id, kern, mem_mib=MEM_MIB, deflate_on_oom=cfg.deflate_on_oom, free_page_reporting=cfg.free_page_reporting
    )
    with g:
        boot_s = g.start()
        res = Result(cfg, kern, boot_s, 0.0, parse_kv(_read(os.path.join(g.share, "boot-meminfo")), ":"))
        bt = g.host_cmd([guest_python(), "-m", "balloontop", "snapshot", "--json", "--root", "/"])
        # balloontop's own reader on the second QMP socket, held for the whole run (events),
        # with statistics polling every STATS_INTERVAL_S seconds
        reader = HostReader(g.bt_sock, stats_interval=STATS_INTERVAL_S)
        with g.qmp() as q, reader:
            reader.read()
            for i, tgt in enumerate(targets):
                q.balloon(tgt * MiB)
                qmp_s, last = q.wait_actual(tgt * MiB, timeout=90)
                actual = (last or {}).get("actual")
                d = f"/mnt/bt/steps/{i}"
                t0 = time.monotonic()
                rc, out = g.sh(
                    f"mkdir -p {d}\n"
                    f"{bt} > {d}/snapshot.json 2> {d}/snapshot.err; echo $? > {d}/snapshot.rc\n"
                    f"cat /proc/meminfo > {d}/meminfo; cat /proc/vmstat > {d}/vmstat\n"
                    f"cat /sys/bus/virtio/devices/virtio0/features > {d}/features\n",
                    timeout=180,
                )
                snap_s = time.monotonic() - t0
                remote, remote_err = _remote_snapshot(g)
                after = q.query_balloon().get("actual")
                host = _fresh_host_reading(reader, since=time.time() - snap_s)
                h = os.path.join(g.share, "steps", str(i))
                with open(os.path.join(h, "host.json"), "w") as f:  # kept in the run directory
                    json.dump(host.to_json(), f, indent=1)
                text = _read(os.path.join(h, "snapshot.json"))
                try:
                    snap = json.loads(text) if text.strip() else None
                except ValueError:
                    snap = None
                src = _read(os.path.join(h, "snapshot.rc")).strip()
                res.steps.append(
                    Step(
                        target_mib=tgt,
                        actual_bytes=actual,
                        actual_after_bytes=after,
                        qmp_s=None if qmp_s is None else round(qmp_s, 2),
                        snapshot_s=round(snap_s, 2),
                        meminfo=parse_kv(_read(os.path.join(h, "meminfo")), ":"),
                        vmstat=parse_kv(_read(os.path.join(h, "vmstat"))),
                        features=_read(os.path.join(h, "features")).strip(),
                        snapshot=snap,
                        snapshot_rc=int(src) if src.lstrip("-").isdigit() else -1,
                        snapshot_err=_read(os.path.join(h, "snapshot.err"))[-2000:] + out[-500:],
                        remote=remote,
                        remote_err=remote_err,
                        host=host.to_json(),
                    )
                )
            res.notes["host_points"] = reader.tracker.points()
            # the second socket is held by the reader: the CLI must say it is busy
            res.notes["cli_busy"] = _host_cli(g.bt_sock)
        # once free: the guest read through its console shell and the host over QMP, paired
        # on one command line (--qmp belongs to the --via before it)
        res.notes["cli_free"] = _host_cli(g.bt_sock, "--qmp-stats-interval", str(STATS_INTERVAL_S), via=g.via())
        res.console_tail = g.tail()
    res.total_s = time.monotonic() - t_all
    return res


def _remote_snapshot(g: Guest) -> tuple[dict | None, str]:
    """The guest read from the host through its virtio console (nothing run in the guest
    but its busybox sh and head)."""
    argv = [sys.executable, "-m", "balloontop", "snapshot", "--json", "--via", g.via(),
            "--connect-timeout", "30", "--tick-timeout", "30"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    if out.returncode != 0:
        return None, out.stderr[-2000:]
    try:
        return json.loads(out.stdout), ""
    except ValueError:
        return None, out.stdout[-500:]
def _fresh_host_reading(reader: HostReader, since: float, timeout: float = 4 * STATS_INTERVAL_S):
    """A reading whose statistics the guest sent after ``since`` (or the last one tried)."""
    t0 = time.monotonic()
    while True:
        reading = reader.read()
        if (reading.last_update or 0) >= since or time.monotonic() - t0 > timeout:
            return reading
        time.sleep(0.5)


def _host_cli(sock: str, *extra: str, via: str | None = None) -> dict:
    """``balloontop snapshot --json [--via CMD] --qmp SOCK`` on the host (the installed CLI)."""
    guest = ["--via", via, "--connect-timeout", "30", "--tick-timeout", "30"] if via else []
    argv = [sys.executable, "-m", "balloontop", "snapshot", "--json", "--root", "/", *guest, "--qmp", sock, *extra]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    try:
        doc = json.loads(out.stdout)
    except ValueError:
        doc = {}
    return {"rc": out.returncode, "stderr": out.stderr[-2000:], "host": doc.get("host"), "doc": doc}


def monitor_move(
    cfg: Config,
    target_mib: int = 768,
    cols: int = 140,
    rows: int = 45,
    app: list[str] | None = None,
    ready_text: str = "virtio0",
    shows_move=None,
    on_host: bool = False,
) -> Result:
    """Run the Textual monitor in the guest on a pty (``on_host``: on the host, reading
    the guest through its virtio console); move the balloon once."""
    app = app or [guest_python(), "-m", "balloontop", "--root", "/"]
    kern = kernels.kernel(cfg.suite)
    t_all = time.monotonic()
    g = Guest(
        cfg.id, kern, mem_mib=MEM_MIB, deflate_on_oom=cfg.deflate_on_oom, free_page_reporting=cfg.free_page_reporting
    )
    with g:
        boot_s = g.start()
        res = Result(cfg, kern, boot_s, 0.0, parse_kv(_read(os.path.join(g.share, "boot-meminfo")), ":"))
        script = os.path.join(HERE, "screen.py")
        if on_host:
            # the monitor runs here, on the host, and reads the guest through the busybox
            # sh on its virtio console: nothing of balloontop runs in the guest
            mon = os.path.join(g.run, "mon-host")
            os.makedirs(mon)
            app = [sys.executable, "-m", "balloontop", "--via", g.via(), "--connect-timeout", "60",
                   "--tick-timeout", "30"]
            local = subprocess.Popen(
                [sys.executable, script, "--out", mon, "--cols", str(cols), "--rows", str(rows),
                 "--ready-text", ready_text, "--timeout", "240", "--", *app],
                env=dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor"),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            ident = ""
        else:
            mon = os.path.join(g.share, "mon")
            os.makedirs(mon)
            local = None
            cmd = g.host_cmd(
                [
                    guest_python(),
                    script,
                    "--out",
                    "/dev/bt/mon",
                    "--cols",
                    str(cols),
                    "--rows",
                    str(rows),
                    "--ready-text",
                    ready_text,
                    "--timeout",
                    "240",
                    "--",
                    *app,
                ],
                env={"TERM": "xterm-256color", "COLORTERM": "truecolor"},
            )
            ident = g.sh_start(cmd)
        t0 = time.monotonic()
        ready = os.path.join(mon, "ready")
        done_rc = os.path.join(g.share, "ctl", "out", f"{ident}.rc")
        while not os.path.exists(ready):
            ended = local.poll() is not None if local is not None else os.path.exists(done_rc)
            if ended or time.monotonic() - t0 > 240:
                if local is not None:
                    if local.poll() is None:
                        local.kill()
                    rc, out = local.wait(), local.stdout.read() if local.stdout else ""
                else:
                    rc, out = g.sh_wait(ident, timeout=5) if os.path.exists(done_rc) else (None, "")
                res.notes["error"] = f"monitor not ready (rc={rc}): {out[-3000:]}"
                res.screens["last"] = _read(os.path.join(mon, "screen.txt"))
                res.console_tail = g.tail()
                res.total_s = time.monotonic() - t_all
                return res
            time.sleep(0.2)
        res.notes["monitor_ready_s"] = round(time.monotonic() - t0, 1)
        time.sleep(3)  # a few refreshes at the boot size
        res.screens["before"] = _read(os.path.join(mon, "screen.txt"))
        with g.qmp() as q:
            t1 = time.monotonic()
            q.balloon(target_mib * MiB)
            qmp_s, last = q.wait_actual(target_mib * MiB, timeout=90)
            res.notes["qmp_s"] = qmp_s
            res.notes["actual"] = (last or {}).get("actual")
        # wait until the screen shows the move (or give up after a minute: the test
        # then reports the last screen)
        after = ""
        while time.monotonic() - t1 < 150:  # ~25 s alone under TCG, more when 2 guests run
            after = _read(os.path.join(mon, "screen.txt"))
            if shows_move is not None and shows_move(after):
                break
            time.sleep(0.5)
        res.notes["screen_after_s"] = round(time.monotonic() - t1, 1)
        time.sleep(1)
        res.screens["after"] = _read(os.path.join(mon, "screen.txt")) or after
        open(os.path.join(mon, "stop"), "w").close()
        if local is not None:
            try:
                rc = local.wait(60)
            except subprocess.TimeoutExpired:
                local.kill()
                rc = local.wait()
            out = local.stdout.read() if local.stdout else ""
        else:
            rc, out = g.sh_wait(ident, timeout=60)
        res.notes["screen_rc"] = rc
        res.notes["screen_out"] = out[-3000:]
        res.screens["final"] = _read(os.path.join(mon, "final.txt"))
        res.console_tail = g.tail()
    res.total_s = time.monotonic() - t_all
    return res


class Pool:
    """Runs scenarios in worker threads (default 2 at a time: one TCG guest per core)."""

    def __init__(self, workers: int | None = None) -> None:
        n = workers or int(os.environ.get("BALLOONTOP_VM_PARALLEL", "2"))
        self.ex = ThreadPoolExecutor(max_workers=max(1, n), thread_name_prefix="bt-vm")
        self.futures: dict[Config, Future] = {}
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def submit(self, cfg: Config) -> Future:
        with self.lock:
            if cfg not in self.futures:
                if cfg.kind in ("monitor", "monitor-remote"):
                    self.futures[cfg] = self.ex.submit(monitor_move, cfg, shows_move=monitor_shows_move,
                                                       on_host=cfg.kind == "monitor-remote")
                else:
                    self.futures[cfg] = self.ex.submit(balloon_steps, cfg)
            return self.futures[cfg]

    def results(self) -> list[Result]:
        out = []
        for f in self.futures.values():
            if f.done() and f.exception() is None:
                out.append(f.result())
        return out

    def shutdown(self) -> None:
        for f in self.futures.values():
            f.cancel()
        self.ex.shutdown(wait=True)


def results_table(results: list[Result], wall_s: float | None = None) -> str:
    lines = [
        "| kernel | deflate-on-oom | fpr | step | QMP actual MiB | boot − actual KiB "
        "| balloon.kib | driver inflated_kib | source | exact | accounting | MemTotal kB "
        "| meminfo Balloon kB | vmstat inflate−deflate ×4 KiB | features bits |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.config.kind != "steps":
            continue
        for i, s in enumerate(r.steps):
            d = s.driver() or {}
            b = (s.snapshot or {}).get("balloon") or {}
            feats = d.get("features") or {}
            bits = feats.get("bits")
            if isinstance(bits, list):
                bits = ",".join(str(x.get("bit", x)) if isinstance(x, dict) else str(x) for x in bits)
            derived = None
            if "balloon_inflate" in s.vmstat:
                derived = 4 * (s.vmstat["balloon_inflate"] - s.vmstat.get("balloon_deflate", 0))
            step = f"{s.target_mib}" + (" (again)" if i and s.target_mib in [x.target_mib for x in r.steps[:i]] else "")
            lines.append(
                f"| {r.kernel.kver} | {'on' if r.config.deflate_on_oom else 'off'} "
                f"| {'on' if r.config.free_page_reporting else 'off'} | {step} "
                f"| {None if s.actual_bytes is None else s.actual_bytes // MiB} "
                f"| {s.qmp_balloon_kib} | {b.get('kib')} | {d.get('inflated_kib')} "
                f"| {d.get('source', b.get('source'))} | {d.get('exact', b.get('exact'))} "
                f"| {d.get('accounting')} | {s.meminfo.get('MemTotal')} "
                f"| {s.meminfo.get('Balloon', '–')} | {derived} | {bits} |"
            )
    lines += ["", *host_table(results)]
    timing = [
        "",
        "| guest | kernel | boot s | scenario s | steps: QMP settle s / in-guest snapshot s |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        st = " · ".join(f"{s.qmp_s}/{s.snapshot_s}" for s in r.steps)
        if r.config.kind in ("monitor", "monitor-remote"):
            st = f"monitor ready {r.notes.get('monitor_ready_s')} s, move {r.notes.get('qmp_s')}"
        timing.append(f"| {r.config.id} | {r.kernel.kver} | {r.boot_s:.1f} | {r.total_s:.1f} | {st} |")
    if wall_s is not None:
        timing.append(f"\nWall time of the whole vm test run: {wall_s:.0f} s")
    return "\n".join(lines + timing) + "\n"


def host_table(results: list[Result]) -> list[str]:
    """balloontop's host reading (second QMP socket) beside the guest's figure, per step."""
    lines = [
        "| kernel | deflate-on-oom | step | host actual_kib | guest inflated_kib | actual + inflated "
        "| stat-total-memory | guest MemTotal × 1024 | stats age s | movement (from → to KiB, events, s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.config.kind != "steps" or r.config.free_page_reporting:
            continue
        for s in r.steps:
            h = s.host or {}
            d = s.driver() or {}
            actual, inflated = h.get("actual_kib"), d.get("inflated_kib")
            total = None if actual is None or inflated is None else actual + inflated
            mem = s.meminfo.get("MemTotal")
            age = None if not h.get("last_update") else round(h["time"] - h["last_update"], 1)
            m = h.get("movement")
            move = "–" if not m else f"{m['from_kib']} → {m['to_kib']}, {m['events']}, {m['duration_s']}"
            lines.append(
                f"| {r.kernel.kver} | {'on' if r.config.deflate_on_oom else 'off'} | {s.target_mib} "
                f"| {actual} | {inflated} | {total} | {(h.get('stats') or {}).get('stat-total-memory')} "
                f"| {None if mem is None else mem * 1024} | {age} | {move} |"
            )
    return lines


def write_results(results: list[Result], wall_s: float | None) -> str | None:
    if not results:
        return None
    os.makedirs(RUN_ROOT, exist_ok=True)
    path = os.path.join(RUN_ROOT, "RESULTS.md")
    with open(path, "w") as f:
        f.write(results_table(results, wall_s))
    return path


# ---------------------------------------------------------------------- screen text
# What the monitor's screen must show after the 1024 -> 768 MiB move: 256 MiB inflated,
# in whatever unit the monitor picks.
_MOVE_RE = re.compile(r"(?<![\d.])(?:256(?:\.0+)?\s?M(?:i?B)?|262[, ]?144\s?(?:KiB|kB|K)?|0\.25\s?G(?:i?B)?)(?![\d.])")
_TOP_LEFT = "╭┌┏╔┍┎╓╒▛▗▄▐▕▏│┃║"
_TOP_RIGHT = "╮┐┓╗┑┒╖╕▜▖▄▌▕▏│┃║"
_BOTTOM = "╰└┗╚┕┖╙╘▙▝▀▐▕▏"


def box(screen: str, title: str) -> str | None:
    """The text inside the bordered pane whose top border contains ``title`` (None when
    no such pane). Rows of the pane are cut at the border columns."""
    lines = screen.splitlines()
    for i, line in enumerate(lines):
        at = line.find(title)
        if at < 0:
            continue
        left = max((line.rfind(c, 0, at) for c in _TOP_LEFT), default=-1)
        rights = [p for p in (line.find(c, at) for c in _TOP_RIGHT) if p >= 0]
        right = min(rights) if rights else len(line)
        if left < 0:
            left = 0
        body = []
        for row in lines[i + 1 :]:
            edge = row[left : left + 1]
            if edge and edge in _BOTTOM:
                break
            body.append(row[left + 1 : right])
            if len(body) > 60:
                break
        return "\n".join(body)
    return None


def shows_size(text: str | None) -> bool:
    return bool(text) and bool(_MOVE_RE.search(text))


def log_lines(screen: str) -> list[str]:
    """Lines of the event log pane (title 'Event' or 'Log'), else []."""
    for title in ("Events", "Event", "events", "Log", "log"):
        b = box(screen, title)
        if b is not None:
            return [ln.strip() for ln in b.splitlines() if ln.strip()]
    return []


def log_shows_move(screen: str) -> bool:
    return any(re.search(r"inflat|balloon|→|->", ln, re.I) and shows_size(ln) for ln in log_lines(screen))


def monitor_shows_move(screen: str) -> bool:
    return shows_size(box(screen, "virtio0")) and log_shows_move(screen)
