"""What watching a guest through a shell costs (issue 12). Not a test: prints a table.

    python3 bench/remote_bench.py [--seconds 30] [--interval 1] [--guests 8]

Guest side (one run each, side by side, same machine): every process of the session the
transport runs in (the local ``sh -c`` and the guest shell; the children the shell forked
and reaped count through its cutime/cstime), from ``/proc/PID/stat``; peak RSS is the
largest ``VmHWM`` among them (a forked ``head`` lives a millisecond and shares the shell's
pages, so it is not sampled). The guest reads this machine's live ``/proc`` and
``/sys`` (busybox ``sh`` and the system ``sh``); bytes the guest sent per tick at rest,
raw and through one zlib stream flushed every tick (what ``ssh -C`` sends); the first
tick (discovery) apart. Against them: balloontop's own monitor and htop run on the same
machine in a 120x40 pty (CPU of the process and its children, peak RSS).

Local side: the ``RemoteSource`` loop in this process with 1 and N busybox-chroot guests
(copies of a fixture): CPU of this process and its RSS. Bytes to the terminal are the
monitor's (wired by the integrator) and not measured here.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import resource
import shutil
import signal
import struct
import sys
import tempfile
import termios
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from balloontop.guests import GuestSpec  # noqa: E402
from balloontop.remote import transport as transport_module  # noqa: E402
from balloontop.remote.source import RemoteSource  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "captures" / "virtio-6.18-nodeflate" / "0512M"


def _record_replies() -> list[bytes]:
    """Every answer the guests send, in order (Transport.exchange wrapped)."""
    replies: list[bytes] = []
    original = transport_module.Transport.exchange

    def exchange(self, script, end, timeout, limit):  # type: ignore[no-untyped-def]
        data = original(self, script, end, timeout, limit)
        replies.append(data)
        return data

    transport_module.Transport.exchange = exchange  # type: ignore[method-assign]
    return replies


def _ticks(sources: list[RemoteSource], seconds: float, interval: float) -> int:
    start = time.monotonic()
    ticks = 0
    while time.monotonic() - start < seconds:
        due = start + ticks * interval
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        for source in sources:
            if source.sample() is None:
                raise SystemExit(f"{source.name}: {source.state}: {source.last_error}")
        ticks += 1
    return ticks


def _session_members(sid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            members.append(int(stat.parent.name))
    return members


def guest_side(shell: str, seconds: float, interval: float, replies: list[bytes]) -> dict:
    """One guest read through ``shell`` for ``seconds``: CPU of the transport's session
    (the shell, and through cutime/cstime every child it reaped) and its peak RSS."""
    source = RemoteSource(GuestSpec("bench", "via", shell))
    replies.clear()
    source.sample()
    sid = source._connection.transport.pid  # noqa: SLF001 - the session leader
    before = {pid: _proc_cpu(pid) for pid in _session_members(sid)}
    wall = time.monotonic()
    ticks = _ticks([source], seconds, interval) + 1
    wall = time.monotonic() - wall
    members = _session_members(sid)
    cpu = sum(_proc_cpu(pid) - before.get(pid, 0.0) for pid in members)
    peak = max(_hwm_mib(pid) for pid in members)
    names = sorted({Path(f"/proc/{pid}/comm").read_text().strip() for pid in members})
    trips = source._connection.round_trips  # noqa: SLF001
    source.close()
    hello, first, steady = replies[0], replies[1:1 + trips - ticks], replies[1 + trips - ticks:]
    stream = zlib.compressobj(6)
    compressed = [len(stream.compress(data)) + len(stream.flush(zlib.Z_SYNC_FLUSH)) for data in replies]
    steady_z = compressed[len(replies) - len(steady):]
    return {
        "what": f"--via '{shell}' ({', '.join(names)})",
        "cpu_pct": 100 * cpu / wall,
        "peak_rss_mib": peak,
        "ticks": ticks,
        "round_trips_first_tick": len(first),
        "bytes_first_tick": len(hello) + sum(len(r) for r in first),
        "bytes_per_tick": sum(len(r) for r in steady) / max(1, len(steady)),
        "zlib_per_tick": sum(steady_z) / max(1, len(steady_z)),
    }


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def in_pty(argv: list[str], seconds: float, quit_key: bytes = b"q") -> dict:
    """``argv`` in a 120x40 pty for ``seconds`` (after 3 s of start-up): its CPU and peak RSS."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
        os.execvp(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    end_warm = time.monotonic() + 3
    received = 0

    def drain(until: float) -> None:
        nonlocal received
        while time.monotonic() < until:
            import select

            ready, _, _ = select.select([fd], [], [], max(0.0, min(0.2, until - time.monotonic())))
            if ready:
                try:
                    received += len(os.read(fd, 65536))
                except OSError:
                    return

    drain(end_warm)
    cpu0, bytes0, t0 = _proc_cpu(pid), received, time.monotonic()
    drain(t0 + seconds)
    cpu1, wall = _proc_cpu(pid), time.monotonic() - t0
    hwm = _hwm_mib(pid)
    os.write(fd, quit_key)
    time.sleep(0.5)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    os.close(fd)
    return {"what": " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv)),
            "cpu_pct": 100 * (cpu1 - cpu0) / wall, "peak_rss_mib": hwm,
            "terminal_bytes_per_s": (received - bytes0) / wall}


def local_side(count: int, seconds: float, interval: float, work: Path) -> dict:
    """This process reading ``count`` busybox-chroot guests every ``interval``."""
    sys.path.insert(0, str(REPO / "tests"))
    from remote.conftest import chroot_via, make_busybox_guest

    sources = []
    for n in range(count):
        guest = work / f"g{count}-{n}"
        if not guest.exists():
            make_busybox_guest(FIXTURE, guest)
        sources.append(RemoteSource(GuestSpec(f"g{n}", "via", chroot_via(guest))))
    for source in sources:
        source.sample()  # connect and discover before measuring
    before, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    ticks = _ticks(sources, seconds, interval)
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - t0
    rss = int(next(line for line in Path("/proc/self/status").read_text().splitlines()
                   if line.startswith("VmRSS:")).split()[1]) / 1024
    for source in sources:
        source.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"what": f"local side, {count} guest(s)", "cpu_pct": 100 * cpu / wall, "rss_mib": rss, "ticks": ticks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--guests", type=int, default=8)
    args = parser.parse_args()
    replies = _record_replies()
    rows = []
    for shell in ("busybox sh", "sh"):
        rows.append(guest_side(shell, args.seconds, args.interval, replies))
        print(json.dumps(rows[-1]), flush=True)
    monitor = shutil.which("balloontop", path=str(Path(sys.executable).parent)) or shutil.which("balloontop")
    others = []
    if monitor:
        others.append(in_pty([monitor, "--interval", str(args.interval)], args.seconds))
        print(json.dumps(others[-1]), flush=True)
    if shutil.which("htop"):
        others.append(in_pty(["htop", "-d", str(int(args.interval * 10))], args.seconds))
        print(json.dumps(others[-1]), flush=True)
    local = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (1, args.guests):
            local.append(local_side(count, args.seconds, args.interval, Path(tmp)))
            print(json.dumps(local[-1]), flush=True)
    print()
    print("| guest side (live /proc and /sys of this machine) | CPU (% of a core) | peak RSS | bytes/tick raw | bytes/tick zlib | first tick |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['what']} | {r['cpu_pct']:.2f} % | {r['peak_rss_mib']:.1f} MiB | {r['bytes_per_tick']:.0f} B"
              f" | {r['zlib_per_tick']:.0f} B | {r['round_trips_first_tick']} round trips, {r['bytes_first_tick']} B |")
    for r in others:
        print(f"| {r['what']} (in the guest, 120x40) | {r['cpu_pct']:.2f} % | {r['peak_rss_mib']:.1f} MiB | | | |")
    print()
    print("| local side | CPU (% of a core) | RSS |")
    print("|---|---|---|")
    for r in local:
        print(f"| {r['what']} | {r['cpu_pct']:.2f} % | {r['rss_mib']:.1f} MiB |")


if __name__ == "__main__":
    main()
