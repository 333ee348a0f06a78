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


@contextmanager
def paused_qemu(device: str = "virtio-balloon-pci,id=odd-bal_7", *, tcp: bool = False,
                extra: tuple[str, ...] = ()) -> Iterator[str]:
    """Start QEMU (``-S``) with ``-device DEVICE``; yields the QMP address (a UNIX socket
    path, or ``tcp:127.0.0.1:PORT``). Only the process started here is ever signalled.

    The listening socket is made here and handed to QEMU (``-chardev socket,fd=N``): it
    listens before QEMU starts, so no test can connect in the moment between QEMU's
    ``bind`` and its ``listen`` (``ECONNREFUSED`` on a loaded machine)."""
    qemu = qemu_or_skip()
    tmp = tempfile.mkdtemp(prefix="bt-qmp-")
    if tcp:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        address = f"tcp:127.0.0.1:{listener.getsockname()[1]}"
    else:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address = os.path.join(tmp, "qmp.sock")
        listener.bind(address)
    listener.listen(8)
    fd = listener.fileno()
    argv = [qemu, "-machine", "q35", "-accel", "tcg", "-nodefaults", "-display", "none",
            "-m", str(MEM_MIB), "-S", "-chardev", f"socket,id=bt-qmp,fd={fd},server=on,wait=off",
            "-mon", "chardev=bt-qmp,mode=control", *extra]
    if device:
        argv += ["-device", device]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            pass_fds=[fd])
    listener.close()
    try:
        _wait_greeting(proc, address)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_greeting(proc: subprocess.Popen, address: str, timeout: float = 30.0) -> None:
    """Wait until QEMU has greeted one client (it is up), then let that client go."""
    from balloontop.host.qmp import QMPClient, QMPError

    try:
        QMPClient(address, connect_timeout=timeout).open().close()
    except QMPError as exc:
        proc.kill()
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        raise RuntimeError(f"qemu's QMP socket did not answer: {exc}: {out}") from None
    time.sleep(0.1)  # QEMU notices that client's hang-up before it greets the next one
