"""``--via 'socat - UNIX-CONNECT:SOCK'``: a guest whose shell sits behind a UNIX socket, as
a virtio console's chardev is (the real one is in tests/test_vm_balloon.py)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from .conftest import FIXTURES, chroot_via, comparable, missing, snapshot_json

TREE = FIXTURES / "captures" / "virtio-6.1-nodeflate" / "0768M"


def test_guest_behind_a_unix_socket(busybox_guest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not shutil.which("socat"):
        missing("socat is not installed (apt-get install socat)")
    guest = busybox_guest(TREE)
    sock = tmp_path / "console.sock"
    server = subprocess.Popen(["socat", f"UNIX-LISTEN:{sock},fork", f"EXEC:{chroot_via(guest)}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        via = f"socat - UNIX-CONNECT:{sock}"
        remote = snapshot_json("--via", via)
        local = snapshot_json("--root", str(guest))
        assert comparable(remote) == comparable(local)
        assert remote["balloon"]["kib"] == 262144  # 1024 MiB guest ballooned to 768 MiB
        assert remote["guest"]["transport"] == "via" and remote["guest"]["target"] == via
        # a second connection after the first one closed gets a fresh shell
        assert comparable(snapshot_json("--via", via)) == comparable(local)
    finally:
        server.terminate()
        server.wait(5)
