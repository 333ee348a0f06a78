"""``oom`` and ``decode`` over a remote guest: the same answers as for the local tree."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import FIXTURES, chroot_via

KMSG = FIXTURES / "kmsg"
NODEFLATE_618 = FIXTURES / "captures" / "virtio-6.18-nodeflate" / "0512M"


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "balloontop", *argv], capture_output=True, text=True, timeout=120)


def _guest_with_kmsg(busybox_guest, log: str) -> Path:  # type: ignore[no-untyped-def]
    guest = busybox_guest(NODEFLATE_618, applets=("sh", "head", "env"))
    (guest / "srv").mkdir()
    shutil.copytree(NODEFLATE_618, guest / "srv" / "capture", symlinks=True)
    (guest / "srv" / "capture" / "dev").mkdir(exist_ok=True)
    shutil.copy(KMSG / "6.18-oom-kill" / log, guest / "srv" / "capture" / "dev" / "kmsg")
    return guest


def test_oom_of_a_remote_root_reads_its_recorded_log(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = _guest_with_kmsg(busybox_guest, "kmsg.txt")
    remote = _run("oom", "--json", "--via", chroot_via(guest), "--root", "/srv/capture")
    local = _run("oom", "--json", "--root", str(guest / "srv" / "capture"))
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr + local.stderr
    (report,) = json.loads(remote.stdout)
    assert report["victim"]["name"] == "hog" and report["victim"]["pid"] == 385
    assert report["balloon_kib"] == 524288 and report["account"]["accounting"] == "total"
    assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_oom_of_a_live_remote_guest_reads_its_dmesg(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(NODEFLATE_618, applets=("sh", "head", "env"))
    shutil.copy(KMSG / "6.18-oom-kill" / "dmesg.txt", guest / "dmesg.txt")
    # the guest's dmesg: a script printing the captured log (busybox's applet would print
    # this machine's own kernel log)
    (guest / "bin" / "dmesg").write_text("#!/bin/sh\nhead -c 4000000 /dmesg.txt\n")
    (guest / "bin" / "dmesg").chmod(0o755)
    out = _run("oom", "--via", chroot_via(guest))
    assert out.returncode == 0, out.stderr
    assert "killed: hog (pid 385), 372.4 MiB resident" in out.stdout
    assert "512.0 MiB held by the host at that moment" in out.stdout


def test_oom_when_the_guest_has_no_dmesg_is_one_line(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(NODEFLATE_618, applets=("sh", "head", "env"))
    out = _run("oom", "--via", chroot_via(guest))
    assert out.returncode == 1
    assert out.stderr == "balloontop: no kernel log: the guest has no dmesg command\n"


def test_decode_all_of_a_remote_guest(busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(NODEFLATE_618)
    remote = _run("decode", "--all", "--json", "--via", chroot_via(guest))
    local = _run("decode", "--all", "--json", "--root", str(guest))
    assert remote.returncode == 0, remote.stderr
    doc = json.loads(remote.stdout)
    assert doc == json.loads(local.stdout)
    balloon = doc["devices"][0]
    assert balloon["instance"] == "virtio0" and balloon["driver"] == "virtio_balloon"
    assert [b["bit"] for b in balloon["bits"]] == [1, 28, 29, 32, 40]
