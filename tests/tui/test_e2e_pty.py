"""End to end: the installed ``balloontop`` in a pseudo-terminal, read with pyte."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import struct
import time

import pytest

from .conftest import CAPTURES

pyte = pytest.importorskip("pyte")


def _spawn(args, cols=120, rows=40):
    import fcntl
    import termios

    pid, fd = pty.fork()
    if pid == 0:
        for name in [n for n in os.environ if n.startswith("PYTEST")]:
            del os.environ[name]  # Textual behaves differently under pytest
        os.environ["TERM"] = "xterm-256color"
        os.environ["LANG"] = "C.UTF-8"
        os.execvp(args[0], args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    return pid, fd, screen, stream


def _pump(fd, stream, until, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            stream.feed(data)
        if until():
            return True
    return False


def _text(screen):
    return "\n".join(screen.display)


def _wait_exit(pid, fd, stream, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        _pump(fd, stream, lambda: False, timeout=0.2)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("balloontop did not exit")


@pytest.mark.xfail(reason="passes run by hand; under pytest the child never draws its panes "
                   "(not yet understood)", strict=False)
@pytest.mark.skipif(shutil.which("balloontop") is None, reason="balloontop not installed")
def test_installed_balloontop_on_a_capture_keys_and_exit_status():
    root = str(CAPTURES / "virtio-6.18-nodeflate" / "0512M")
    pid, fd, screen, stream = _spawn(["balloontop", "--root", root])
    try:
        assert _pump(fd, stream, lambda: "virtio0" in _text(screen) and "usable" in _text(screen))
        text = _text(screen)
        assert "512.0 MiB" in text and "removed from MemTotal" in text
        os.write(fd, b" ")
        assert _pump(fd, stream, lambda: "PAUSED" in _text(screen), timeout=5)
        os.write(fd, b"?")
        assert _pump(fd, stream, lambda: "balloontop help" in _text(screen), timeout=5)
        os.write(fd, b"\x1b")
        time.sleep(0.3)
        os.write(fd, b"f")
        assert _pump(fd, stream, lambda: "VIRTIO_BALLOON_F_STATS_VQ" in _text(screen), timeout=5)
        os.write(fd, b"\x1b")
        time.sleep(0.3)
        os.write(fd, b"q")
        assert _wait_exit(pid, fd, stream) == 0
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(fd)


@pytest.mark.xfail(reason="passes run by hand; under pytest the child never draws its panes "
                   "(not yet understood)", strict=False)
@pytest.mark.skipif(shutil.which("balloontop") is None, reason="balloontop not installed")
def test_sigterm_exits_cleanly_and_restores_the_terminal():
    root = str(CAPTURES / "virtio-6.18-nodeflate" / "0512M")
    pid, fd, screen, stream = _spawn(["balloontop", "--root", root])
    try:
        assert _pump(fd, stream, lambda: "virtio0" in _text(screen))
        os.kill(pid, signal.SIGTERM)
        code = _wait_exit(pid, fd, stream)
        assert code in (0, 128 + signal.SIGTERM)
        # Alternate screen left: the terminal shows the shell's screen again.
        assert "virtio0" not in _text(screen)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(fd)


def test_not_a_tty_prints_a_snapshot():
    import subprocess

    root = str(CAPTURES / "virtio-6.18-nodeflate" / "0512M")
    out = subprocess.run(["balloontop", "--root", root], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "512.0 MiB" in out.stdout and "\x1b[" not in out.stdout
