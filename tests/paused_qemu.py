"""A real QEMU, stopped before its first instruction (``-S``), for QMP tests.

No guest kernel runs: QEMU answers ``query-balloon``, ``qom-list``, ``query-pci``, ``qom-get
guest-stats`` (every statistic -1: nothing supplied yet) and ``query-memory-size-summary``
from its own state. Starting one takes well under a second with TCG.

Missing ``qemu-system-x86_64``: the test skips, and fails under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

MEM_MIB = 256


def qemu_or_skip() -> str:
    qemu = os.environ.get("BALLOONTOP_VM_QEMU") or shutil.which("qemu-system-x86_64")
    if not qemu:
        message = "qemu-system-x86_64 not found (apt-get install -y qemu-system-x86)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return qemu


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def paused_qemu(device: str = "virtio-balloon-pci,id=odd-bal_7", *, tcp: bool = False,
                extra: tuple[str, ...] = ()) -> Iterator[str]:
    """Start QEMU (``-S``) with ``-device DEVICE``; yields the QMP address (a UNIX socket
    path, or ``tcp:127.0.0.1:PORT``). Only the process started here is ever signalled."""
    qemu = qemu_or_skip()
    tmp = tempfile.mkdtemp(prefix="bt-qmp-")
    path = os.path.join(tmp, "qmp.sock")
    if tcp:
        port = free_tcp_port()
        address, qmp = f"tcp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port},server=on,wait=off"
    else:
        address, qmp = path, f"unix:{path},server=on,wait=off"
    argv = [qemu, "-machine", "q35", "-accel", "tcg", "-nodefaults", "-display", "none",
            "-m", str(MEM_MIB), "-S", "-qmp", qmp, *extra]
    if device:
        argv += ["-device", device]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_listening(proc, address, path)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_listening(proc: subprocess.Popen, address: str, path: str, timeout: float = 20.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"qemu exited ({proc.returncode}): {out}")
        if address.startswith("tcp:"):
            port = int(address.rsplit(":", 1)[1])
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    # that connection was QMP's one client: wait until QEMU has let it go
                    time.sleep(0.3)
                    return
        elif os.path.exists(path):
            return
        time.sleep(0.05)
    raise RuntimeError("qemu's QMP socket did not appear")
