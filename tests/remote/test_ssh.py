"""``--ssh`` against a real OpenSSH server on 127.0.0.1 (throwaway keys, temporary
known-hosts: nothing is written to ~/.ssh)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import FIXTURES, SshServer, comparable, free_port, snapshot_json

TREES = [FIXTURES / "captures" / "virtio-6.18-nodeflate" / "0512M",
         FIXTURES / "captures" / "virtio-6.1-deflate" / "0768M",
         FIXTURES / "synthetic" / "hv-balloon-6.18",
         FIXTURES / "synthetic" / "xen-balloon"]


@pytest.mark.parametrize("tree", TREES, ids=[str(t.relative_to(FIXTURES)) for t in TREES])
def test_ssh_reading_equals_the_local_reading(sshd: SshServer, tree: Path) -> None:
    home_ssh = Path.home() / ".ssh"
    before = sorted(os.listdir(home_ssh)) if home_ssh.exists() else None
    remote = snapshot_json(*sshd.ssh_args(), "--root", str(tree))
    local = snapshot_json("--root", str(tree))
    assert remote["guest"] == {"name": None, "transport": "ssh", "target": f"127.0.0.1:{sshd.port}",
                               "hostname": local["system"]["hostname"]}
    assert comparable(remote) == comparable(local)
    assert remote["balloon"]["kib"] == local["balloon"]["kib"] and local["balloon"]["kib"] is not None
    after = sorted(os.listdir(home_ssh)) if home_ssh.exists() else None
    assert after == before


def test_ssh_root_missing_on_the_guest_is_exit_3(sshd: SshServer, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", *sshd.ssh_args(),
                          "--root", str(tmp_path / "absent")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 3
    assert "does not exist on the guest" in out.stderr and out.stderr.count("\n") == 1


def test_refused_key_is_one_clear_line(sshd: SshServer, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    args = ["--ssh", f"127.0.0.1:{sshd.port}"]
    for option in sshd.options:
        args += ["--ssh-option", f"IdentityFile={stranger}" if option.startswith("IdentityFile=") else option]
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", *args], capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 1
    assert "Permission denied" in out.stderr and out.stderr.count("\n") == 1


def test_unreachable_port_fails_within_the_connect_timeout() -> None:
    if not os.path.exists("/usr/bin/ssh"):
        pytest.skip("no ssh client")
    port = free_port()  # nothing listens there
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", "--ssh", f"127.0.0.1:{port}",
                          "--connect-timeout", "3"], capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - start
    assert out.returncode == 1
    assert f"127.0.0.1:{port}" in out.stderr and "Connection refused" in out.stderr
    assert out.stderr.count("\n") == 1
    assert elapsed < 3 + 5  # the connect timeout, plus Python's start-up


def test_silent_guest_fails_within_the_connect_timeout() -> None:
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", "--via", "sleep 60",
                          "--connect-timeout", "1.5"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "no complete answer within 1.5 s" in out.stderr
    assert time.monotonic() - start < 1.5 + 5
