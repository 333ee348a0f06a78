"""End to end: the installed ``balloontop`` in a pseudo-terminal, read with pyte.

Why the child gets an explicit environment: pytest imports ``readline`` early
(``_pytest.capture._readline_workaround``) while its own stdout is not a terminal, and GNU
readline then ``setenv``s ``COLUMNS=80`` and ``LINES=24`` in the C environment, which
``os.environ`` never sees. ``os.execv*`` without an ``env`` argument passes that C environment
on, ``shutil.get_terminal_size`` (what Textual's Linux driver asks) prefers ``COLUMNS``/``LINES``
over the tty's size, and the child laid itself out for 80x24 on a 120x40 screen. So the child
is exec'd with ``os.execve`` and an environment built here, without COLUMNS, LINES, NO_COLOR,
TEXTUAL_* and PYTEST_* variables, and the window size is set on the slave before exec (no race
with SIGWINCH, which the child would not be handling yet).
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from .conftest import CAPTURES

pyte = pytest.importorskip("pyte")

ROOT = CAPTURES / "virtio-6.18-nodeflate" / "0512M"
# The console script installed next to this interpreter (not a pyenv shim or another
# interpreter's script found on PATH).
BALLOONTOP = Path(sys.executable).with_name("balloontop")
needs_installed = pytest.mark.skipif(not BALLOONTOP.is_file(), reason=f"{BALLOONTOP} not installed")

_DROP = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")
_DROP_PREFIXES = ("PYTEST", "TEXTUAL", "BALLOONTOP_")


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith(_DROP_PREFIXES)}
    env.update(TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8", COLORTERM="truecolor")
    return env


def _spawn(args, cols=120, rows=40):
    env = _child_env()
    winsize = struct.pack("HHHH", rows, cols, 0, 0)
    pid, fd = pty.fork()  # the child: new session, the pty slave as controlling tty and 0/1/2
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
            os.execve(args[0], args, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, winsize)
    screen = pyte.Screen(cols, rows)
    return _Term(pid, fd, screen, pyte.ByteStream(screen))


class _Term:
    """The parent's side: drains the master continuously (the child never blocks on write)."""

    def __init__(self, pid, fd, screen, stream):
        self.pid, self.fd, self.screen, self.stream = pid, fd, screen, stream
        self.raw = bytearray()
        self.eof = False

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def pump(self, until, timeout=30.0) -> bool:
        end = time.monotonic() + timeout
        while True:
            if until():
                return True
            if time.monotonic() >= end:
                return False
            if self.eof:
                time.sleep(0.05)
                continue
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:  # EIO: the slave side closed (the child exited)
                    data = b""
                if not data:
                    self.eof = True
                    continue
                self.raw += data
                self.stream.feed(data)

    def press(self, key: bytes, until, timeout=10.0) -> bool:
        os.write(self.fd, key)
        return self.pump(until, timeout)

    def wait_exit(self, timeout=15.0) -> int:
        status: list[int] = []

        def exited() -> bool:
            done, st = os.waitpid(self.pid, os.WNOHANG)
            if done:
                status.append(st)
            return bool(done)

        if not self.pump(exited, timeout):
            raise AssertionError("balloontop did not exit:\n" + self.text())
        self.pump(lambda: self.eof, 2.0)  # what was written before exit
        return os.waitstatus_to_exitcode(status[0])

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def _screen_ready(term: _Term) -> bool:
    t = term.text()
    return "virtio0" in t and "512.0 MiB" in t and "usable" in t


@needs_installed
def test_installed_balloontop_on_a_capture_keys_and_exit_status():
    term = _spawn([str(BALLOONTOP), "--root", str(ROOT)])
    try:
        assert term.pump(lambda: _screen_ready(term)), term.text()
        text = term.text()
        assert "virtio0" in text and "512.0 MiB" in text and "removed from MemTotal" in text
        # The layout is the 120-column one (panes side by side, nothing cut at 80 columns).
        assert "virtio balloon · virtio0" in text
        assert term.press(b"g", lambda: "10 min" in term.text()), term.text()
        assert term.press(b" ", lambda: "PAUSED" in term.text()), term.text()
        assert term.press(b"?", lambda: "balloontop help" in term.text()), term.text()
        assert term.press(b"\x1b", lambda: "balloontop help" not in term.text() and "virtio0" in term.text())
        assert term.press(b"f", lambda: "VIRTIO_BALLOON_F_STATS_VQ" in term.text()), term.text()
        assert term.press(b"\x1b", lambda: "VIRTIO_BALLOON_F_STATS_VQ" not in term.text())
        os.write(term.fd, b"q")
        assert term.wait_exit() == 0
        assert b"\x1b[?1049l" in bytes(term.raw[-400:])  # the alternate screen left
    finally:
        term.close()


@needs_installed
def test_sigterm_exits_cleanly_and_restores_the_terminal():
    term = _spawn([str(BALLOONTOP), "--root", str(ROOT)])
    try:
        assert term.pump(lambda: _screen_ready(term)), term.text()
        os.kill(term.pid, signal.SIGTERM)
        code = term.wait_exit()
        # The app leaves through App.exit(128 + signum): an exit status, not death by signal.
        assert code in (0, 128 + signal.SIGTERM)
        tail = bytes(term.raw[-400:])
        assert b"\x1b[?1049l" in tail  # the alternate screen left
        assert b"\x1b[?25h" in tail  # the cursor shown again
        assert b"\x1b[?1000l" in tail  # mouse reporting off
        # (pyte has no alternate screen, so the bytes are checked, not the screen.)
    finally:
        term.close()


def test_not_a_tty_prints_a_snapshot():
    import subprocess

    exe = str(BALLOONTOP) if BALLOONTOP.is_file() else "balloontop"
    out = subprocess.run([exe, "--root", str(ROOT)], capture_output=True, text=True, timeout=60,
                         env=_child_env())
    assert out.returncode == 0
    assert "512.0 MiB" in out.stdout and "\x1b[" not in out.stdout
