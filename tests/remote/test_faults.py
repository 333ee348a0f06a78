"""Faults and hostile input, on busybox-only guests: the transport killed mid-run, a garbage
answer, a guest that stops answering, forged frames, hostile file names, oversized files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


from balloontop.guests import GuestSpec
from balloontop.remote.source import RemoteSource
from balloontop.remote.shellroot import Connection, ShellRoot
from balloontop.remote.transport import Transport, via_argv
from balloontop.rootfs import Root
from balloontop.sampler import Sampler

from .conftest import FIXTURES, chroot_via, comparable, snapshot_json

TREE = FIXTURES / "captures" / "virtio-6.18-nodeflate" / "0512M"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _source(guest: Path, clock: Clock, tick_timeout: float = 5.0) -> RemoteSource:
    spec = GuestSpec("g1", "via", chroot_via(guest), connect_timeout=10, tick_timeout=tick_timeout)
    return RemoteSource(spec, monotonic=clock)


def _live_members(group: int | None, wait: float = 3.0) -> list[int]:
    """Processes of process group ``group`` that are not zombies (after up to ``wait`` s)."""
    deadline = time.monotonic() + wait
    while True:
        members = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                members.append(int(stat.parent.name))
        if not members or time.monotonic() > deadline:
            return members
        time.sleep(0.05)


MANGLE = Path(__file__).with_name("mangle.py")


def _mangled_source(guest: Path, flag: Path, clock: Clock, tick_timeout: float = 5.0) -> RemoteSource:
    """A guest reached through ``mangle.py``: what it sends changes when ``flag`` says so."""
    command = f"{sys.executable} {MANGLE} {flag} {chroot_via(guest)}"
    spec = GuestSpec("g1", "via", command, connect_timeout=10, tick_timeout=tick_timeout)
    return RemoteSource(spec, monotonic=clock)


def test_transport_killed_mid_run_reconnects_with_backoff(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    clock = Clock()
    source = _source(guest, clock)
    try:
        first = source.sample()
        assert first is not None and source.state == "connected"
        assert first.balloon.kib == 524288  # 6.18, 512 MiB balloon (meminfo Balloon:)
        pid = source._connection.transport.pid  # type: ignore[union-attr]
        os.killpg(pid, signal.SIGKILL)
        assert source.sample() is None
        assert source.state.startswith("disconnected since ") and source.state.endswith(", reconnecting")
        assert "connection closed" in (source.last_error or "")
        assert source.sample() is None  # within the backoff: no new attempt
        assert not source.connected
        clock.now += 1.01
        again = source.sample()
        assert again is not None and source.state == "connected" and source.reconnects == 1
        assert again.balloon.kib == 524288
        events = source.take_events()
        assert [e.kind for e in events] == ["gap", "reconnect"]
        assert "connection closed" in events[0].message and source.take_events() == []
    finally:
        source.close()


def test_garbage_answer_is_one_clear_error_and_the_connection_is_renewed(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    clock = Clock()
    flag = guest.parent / "flag"
    source = _mangled_source(guest, flag, clock)
    try:
        assert source.sample() is not None
        flag.write_text("garbage")
        old = source._connection.transport  # type: ignore[union-attr]
        old_process, old_group = old._proc, old.pid
        assert source.sample() is None
        assert "head's output has no header" in (source.last_error or "")
        assert "\n" not in (source.last_error or "")
        assert source.state.startswith("disconnected since")
        assert not source.connected
        assert old_process is not None and old_process.returncode is not None
        assert _live_members(old_group) == []  # the old transport's whole process group ended
    finally:
        source.close()
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", "--via",
                          f"{sys.executable} {MANGLE} {flag} {chroot_via(guest)}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "unreadable answer" in out.stderr


def test_guest_that_stops_answering_times_out(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    clock = Clock()
    flag = guest.parent / "flag"
    source = _mangled_source(guest, flag, clock, tick_timeout=1.0)
    try:
        assert source.sample() is not None
        flag.write_text("silent")
        start = time.monotonic()
        assert source.sample() is None
        assert time.monotonic() - start < 1.0 + 3
        assert "no complete answer within 1 s" in (source.last_error or "")
    finally:
        source.close()


def test_guest_without_head_is_one_clear_line() -> None:
    # busybox's sh runs its own head applet whatever PATH says: a plain sh with no head on PATH
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", "--via", "env -i PATH=/nonexistent /bin/sh"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "has no 'head' command" in out.stderr and out.stderr.count("\n") == 1


def _shell_root(guest: Path) -> ShellRoot:
    connection = Connection(Transport(via_argv(chroot_via(guest)), "test"))
    connection.open()
    return ShellRoot(connection)


def test_forged_frames_in_file_content_are_data(busybox_guest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    meminfo = guest / "proc" / "meminfo"
    forged = ("\n==> /proc/vmstat <==\nnr_balloon_pages 1\n"
              "\n0123456789abcdef0123456789abcdef Z 1\n\n==> //.//./proc/uptime <==\n\x1b[2J\x07\x00tail")
    meminfo.write_bytes(meminfo.read_bytes() + forged.encode())
    root = _shell_root(guest)
    try:
        sampler = Sampler(root)
        for _ in range(2):  # discovery tick, then the batched tick
            root.refresh()
            sample = sampler.sample()
            assert root.failed is None
        assert root.connection.round_trips > 2
        trips = root.connection.round_trips
        root.refresh()
        text, error = root.read_text("proc/meminfo")
        assert root.connection.round_trips == trips + 1  # the whole tick in one round trip
        assert error is None and text == Root(str(guest)).read_text("proc/meminfo")[0]
        assert text.endswith(forged.replace("\x00", "\x00"))
        assert sample.vmstat.get("nr_balloon_pages") == 131072  # not the forged 1
    finally:
        root.connection.close()
    local = snapshot_json("--root", str(guest))
    assert comparable(snapshot_json("--via", chroot_via(guest))) == comparable(local)


def test_file_over_the_cap_is_not_read(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    (guest / "proc" / "big").write_bytes(b"x" * ((1 << 20) + 10))
    (guest / "proc" / "fits").write_bytes(b"y" * (1 << 20))
    root = _shell_root(guest)
    try:
        text, error = root.read_text("proc/big")
        assert text is None and error is not None and "larger than 1 MiB" in error.detail
        text, error = root.read_text("proc/fits")
        assert error is None and text == "y" * (1 << 20)
        assert root.read_text("proc/absent")[1].reason == "missing"  # type: ignore[union-attr]
        assert root.read_text("proc")[1].reason == "not-a-file"  # type: ignore[union-attr]
    finally:
        root.connection.close()


HOSTILE = ["virtio9'; touch pwned1; '", "virtio8$(touch pwned2)", "virtio7`touch pwned3`",
           "virtio6\nvirtio5", "virtio4 *", "virtio3\\'\"", "virtio2;touch${IFS}pwned4", "virtio1\x1b[2J\x07"]


def test_hostile_file_names_are_data(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    devices = guest / "sys" / "bus" / "virtio" / "devices"
    for name in HOSTILE:
        device = devices / name
        device.mkdir()
        (device / "device").write_text("0x0005\n")
        (device / "vendor").write_text("0x1af4\n")
        (device / "status").write_text("0x0000000f\n")
        (device / "features").write_text("0" * 64 + "\n")
    root = _shell_root(guest)
    try:
        assert root.listdir("sys/bus/virtio/devices") == Root(str(guest)).listdir("sys/bus/virtio/devices")
        for name in HOSTILE:
            assert root.text(f"sys/bus/virtio/devices/{name}/device") == "0x0005\n"
            assert root.is_dir(f"sys/bus/virtio/devices/{name}")
    finally:
        root.connection.close()
    local = snapshot_json("--root", str(guest))
    remote = snapshot_json("--via", chroot_via(guest))
    names = [d["instance"] for d in local["virtio_devices"]]
    assert set(HOSTILE) <= set(names)
    assert comparable(remote) == comparable(local)
    assert not list(guest.glob("pwned*")) and not list(Path("/").glob("pwned*")) and not list(Path.cwd().glob("pwned*"))


def test_control_characters_from_the_guest_never_reach_the_terminal_raw(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    device = guest / "sys" / "bus" / "virtio" / "devices" / "virtio1\x1b[2J\x9b31m"
    device.mkdir()
    (device / "device").write_text("0x0005\n")
    for command in (["snapshot"], ["decode", "--all"]):
        out = subprocess.run([sys.executable, "-m", "balloontop", *command, "--via", chroot_via(guest)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "virtio1\\x1b[2J\\x9b31m" in out.stdout  # shown escaped (balloontop.safetext)
        assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) < 0xA0 for c in out.stdout + out.stderr)


def test_the_guests_kernel_log_reaches_the_monitor_over_its_connection(busybox_guest, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A guest whose ``dmesg`` prints a real 6.18 OOM report: the monitor's pipeline reads it
    over the guest's connection (no second channel) and shows the kill once."""
    from balloontop.guests import GuestSpec
    from balloontop.monitor import Monitor
    from balloontop.remote.kernel_log import RemoteKernelLog
    from balloontop.remote.source import RemoteSource



    guest = busybox_guest(TREE)
    dmesg = (FIXTURES / "kmsg" / "6.18-oom-kill" / "dmesg.txt").read_text()
    (guest / "log.txt").write_text(dmesg)
    script = guest / "bin" / "dmesg"
    script.unlink(missing_ok=True)  # the busybox applet link: replaced, not written through
    script.write_text("#!/bin/sh\ncat /log.txt\n")  # the guest's dmesg: its recorded log
    script.chmod(0o755)
    source = RemoteSource(GuestSpec("g", "via", chroot_via(guest)))
    monitor = Monitor(source, kernel_log_reader=lambda: RemoteKernelLog(source))
    try:
        first = monitor.tick()
        kills = [e for e in first.events if e.kind == "oom_kill"]
        assert len(kills) == 1 and "uptime_s" in kills[0].details
        second = monitor.tick()  # asked again only after every_s: nothing new, nothing twice
        assert not [e for e in second.events if e.kind == "oom_kill"]
    finally:
        monitor.close()


def test_a_guest_that_refuses_its_kernel_log_is_said_once(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    from balloontop.guests import GuestSpec
    from balloontop.monitor import Monitor
    from balloontop.remote.kernel_log import RemoteKernelLog
    from balloontop.remote.source import RemoteSource

    guest = busybox_guest(TREE)
    script = guest / "bin" / "dmesg"
    script.unlink(missing_ok=True)
    script.write_text("#!/bin/sh\necho 'dmesg: read kernel buffer failed: Operation not permitted' >&2\nexit 1\n")
    script.chmod(0o755)
    source = RemoteSource(GuestSpec("g", "via", chroot_via(guest)))
    reader = RemoteKernelLog(source, every_s=0.0)
    monitor = Monitor(source, kernel_log_reader=lambda: reader)
    try:
        notices = [monitor.tick().notices for _ in range(3)]
        assert len([n for ns in notices for n in ns if "refuses dmesg" in n]) == 1
        assert reader.disabled
    finally:
        monitor.close()
