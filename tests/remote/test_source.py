"""RemoteSource and ShellRoot over busybox guests: the guest's processes, the device set
learned again when it changes, one round trip per tick at rest, the kernel log."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from balloontop.guests import GuestSpec
from balloontop.remote.source import RemoteSource
from balloontop.rootfs import Root
from balloontop.sampler import Sampler

from .conftest import FIXTURES, chroot_via

TREE = FIXTURES / "captures" / "virtio-6.18-nodeflate" / "0512M"


def test_processes_are_the_guests_largest_memory_users(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    rows = {101: ("5000 1500 20 1 0 300 0\n", "hog\n"), 7: ("900 200 10 1 0 50 0\n", "ash\n"),
            55: ("800 700 10 1 0 50 0\n", "\x1b[31mevil\x07\n"), 9: ("bad\n", "broken\n")}
    for pid, (statm, comm) in rows.items():
        (guest / "proc" / str(pid)).mkdir()
        (guest / "proc" / str(pid) / "statm").write_text(statm)
        (guest / "proc" / str(pid) / "comm").write_text(comm)
    source = RemoteSource(GuestSpec("g", "via", chroot_via(guest)), process_every=2)
    try:
        assert source.processes() is None
        sample = source.sample()
        assert sample is not None
        page = sample.system.page_size
        assert page == 4096  # from the tree (no /proc/self/smaps in this guest): meminfo:Balloon
        rows_read = source.processes()
        assert rows_read is not None
        assert [(r.pid, r.rss_kib, r.command) for r in rows_read] == [
            (101, 1500 * 4, "hog"), (55, 700 * 4, "?[31mevil?"), (7, 200 * 4, "ash")]
        total = sample.system.mem_total_kib
        assert rows_read[0].mem_percent == 1500 * 4 * 100.0 / total
        # the guest's list names no owners: the monitor shows no USER column of "?"
        from balloontop.tui.processes import process_lines

        shown = [str(line) for line in process_lines(rows_read, 10)]
        assert "USER" not in shown[0] and "COMMAND" in shown[0]
        assert shown[1].split() == ["101", "6M", f"{rows_read[0].mem_percent:.1f}", "hog"]
        assert shown[2].split()[-1] == "?[31mevil?"  # the guest's "[" shown, never markup
    finally:
        source.close()


def test_device_set_change_is_learned_again(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    source = RemoteSource(GuestSpec("g", "via", chroot_via(guest)))
    try:
        first = source.sample()
        assert first is not None
        before = [d.instance for d in first.virtio_devices]
        assert before == ["virtio0", "virtio1"]
        for _ in range(3):  # from the second tick on: one round trip per tick
            trips = source._connection.round_trips  # type: ignore[union-attr]
            assert source.sample() is not None
            assert source._connection.round_trips == trips + 1  # type: ignore[union-attr]
        devices = guest / "sys" / "bus" / "virtio" / "devices"
        (devices / "virtio1").unlink()
        after = source.sample()
        assert after is not None and [d.instance for d in after.virtio_devices] == ["virtio0"]
        assert after.virtio_devices == Sampler(Root(str(guest))).sample().virtio_devices
        shutil.rmtree(guest / "sys" / "devices" / "pci0000:00" / "0000:00:02.0")
        (devices / "virtio1").symlink_to("../../../devices/pci0000:00/0000:00:01.0/virtio0")
        again = source.sample()
        assert again is not None
        assert again.virtio_devices == Sampler(Root(str(guest))).sample().virtio_devices
        assert again.virtio_devices[1].bus_address == "0000:00:01.0"
    finally:
        source.close()


def test_kernel_log_over_the_same_channel(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    source = RemoteSource(GuestSpec("g", "via", chroot_via(guest)))
    try:
        assert source.sample() is not None
        text, why = source.kernel_log()  # busybox dmesg reads the running kernel's log (klogctl)
        assert (text is not None) != (why is not None)
        if os.geteuid() == 0:  # root may read the log whatever dmesg_restrict says
            from balloontop.kmsg.records import parse_log

            assert why is None and text is not None and parse_log(text).records
        else:
            assert why is None or ("dmesg" in why and "\n" not in why)
        assert source.sample() is not None  # the channel still frames the next tick
    finally:
        source.close()


def test_remote_root_is_a_folder_on_the_guest(busybox_guest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(FIXTURES / "synthetic" / "no-balloon")
    shutil.copytree(TREE, guest / "srv" / "capture", symlinks=True)
    source = RemoteSource(GuestSpec("g", "via", chroot_via(guest), root="/srv/capture"))
    try:
        sample = source.sample()
        assert sample is not None and sample.root == "/srv/capture"
        assert sample.balloon.kib == Sampler(Root(str(TREE))).sample().balloon.kib == 524288
        assert [d.bus_address for d in sample.virtio_devices] == ["0000:00:01.0", "0000:00:02.0"]
    finally:
        source.close()


def test_a_guest_without_dmesg_is_said_once(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE, applets=("sh", "head", "env"))
    source = RemoteSource(GuestSpec("g", "via", chroot_via(guest)))
    try:
        assert source.sample() is not None
        text, why = source.kernel_log()
        assert text is None and why == "kernel log: the guest has no dmesg command"
        assert source.kernel_log() == (None, None)
        assert source.sample() is not None
    finally:
        source.close()


def test_remote_reading_leaves_textual_out() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom balloontop.guests import GuestSpec\nfrom balloontop.remote.source import RemoteSource\n"
            f"s = RemoteSource(GuestSpec('g', 'via', 'sh', root={str(TREE)!r}), process_every=1)\n"
            "assert s.sample() is not None and s.processes() is not None\ns.close()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'psutil')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_process_scans_send_only_rows_that_can_be_shown(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    for pid, pages, comm in ((101, 1500, "hog"), (55, 700, "db"), (7, 200, "ash"), (8, 10, "tiny")):
        (guest / "proc" / str(pid)).mkdir()
        (guest / "proc" / str(pid) / "statm").write_text(f"9000 {pages} 1 1 0 1 0\n")
        (guest / "proc" / str(pid) / "comm").write_text(comm + "\n")
    source = RemoteSource(GuestSpec("g", "via", chroot_via(guest)), process_every=1, process_limit=2)
    try:
        assert source.sample() is not None
        assert [r.pid for r in source.processes() or []] == [101, 55]
        assert source._root is not None and len(source._root.procs or []) == 4  # first scan: every process
        assert source.sample() is not None
        assert [r.pid for r in source.processes() or []] == [101, 55]
        assert len(source._root.procs or []) == 2  # then: at least half the last row's 700 pages
        (guest / "proc" / "55" / "statm").write_text("9000 100 1 1 0 1 0\n")
        assert source.sample() is not None
        assert [r.pid for r in source.processes() or []] == [101]  # the shrunken row fell under the bar
        assert source.sample() is not None
        assert [r.pid for r in source.processes() or []] == [101, 7]  # and the next scan takes all again
    finally:
        source.close()


def test_new_kernel_records_are_returned_once(busybox_guest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE, applets=("sh", "head", "env"))
    log = FIXTURES / "kmsg"
    dmesg = next(p for p in sorted(log.rglob("dmesg.txt")))
    lines = dmesg.read_text().splitlines(keepends=True)
    (guest / "log").write_text("".join(lines[:20]))
    # the guest's "dmesg" prints a growing log (a script in the guest: busybox's own dmesg
    # would read this machine's kernel log)
    (guest / "bin" / "dmesg").write_text("#!/bin/sh\nhead -c 1000000 /log\n")
    (guest / "bin" / "dmesg").chmod(0o755)
    source = RemoteSource(GuestSpec("g", "via", chroot_via(guest)))
    try:
        assert source.sample() is not None
        first, why = source.new_kernel_records()
        assert why is None and len(first) >= 15
        again, _ = source.new_kernel_records()
        assert again == []
        (guest / "log").write_text("".join(lines[:30]))
        more, _ = source.new_kernel_records()
        from balloontop.kmsg.records import parse_log

        assert more == list(parse_log("".join(lines[:30])).records)[len(first):]
        assert more
    finally:
        source.close()


def test_a_guest_without_a_host_name_is_labelled_by_its_target(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(TREE)
    hostname = guest / "proc" / "sys" / "kernel" / "hostname"
    hostname.parent.mkdir(parents=True, exist_ok=True)
    hostname.write_text("(none)\n")  # what Linux says until something sets a name
    source = RemoteSource(GuestSpec(None, "via", chroot_via(guest)))
    try:
        sample = source.sample()
        assert sample is not None and sample.guest is not None and sample.guest["hostname"] == "(none)"
        assert source.name == chroot_via(guest)
        hostname.write_text("db1\n")
        for _ in range(31):  # the host name is among the answers asked again every 30 ticks
            assert source.sample() is not None
        assert source.name == "db1"
    finally:
        source.close()
