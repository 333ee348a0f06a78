"""Run a terminal program on a pseudo-terminal and keep its screen as text (pyte).

Runs INSIDE the guest, with the host's Python (chroot into the read-only host root):

    screen.py --out DIR --cols 140 --rows 45 --ready-text virtio0 [--timeout 240] -- CMD...

Writes DIR/screen.txt (the whole screen, refreshed about every 0.5 s, atomically),
DIR/ready once every --ready-text string is on the screen, and when DIR/stop appears:
DIR/final.txt, then ends the program (q, then SIGTERM, then SIGKILL). Stdlib + pyte.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def _put(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--cols", type=int, default=140)
    ap.add_argument("--rows", type=int, default=45)
    ap.add_argument("--ready-text", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    import pyte

    screen = pyte.Screen(a.cols, a.rows)
    stream = pyte.ByteStream(screen)
    # answer the terminal's queries (device attributes, cursor position) like xterm
    screen.write_process_input = lambda data: os.write(fd, data.encode())

    pid, fd = pty.fork()
    if pid == 0:
        os.environ["COLUMNS"], os.environ["LINES"] = str(a.cols), str(a.rows)
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", a.rows, a.cols, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    t0 = time.monotonic()
    last_dump = 0.0
    ready = False
    stop = os.path.join(a.out, "stop")
    raw = open(os.path.join(a.out, "pty.raw"), "wb")
    status = None
    while True:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            raw.write(data)
            stream.feed(data)
        now = time.monotonic()
        if now - last_dump > 0.5:
            text = "\n".join(screen.display)
            _put(os.path.join(a.out, "screen.txt"), text)
            last_dump = now
            if not ready and all(t in text for t in a.ready_text):
                ready = True
                _put(os.path.join(a.out, "ready"), f"{now - t0:.2f}\n")
        if os.path.exists(stop) or now - t0 > a.timeout:
            break
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    text = "\n".join(screen.display)
    _put(os.path.join(a.out, "screen.txt"), text)
    _put(os.path.join(a.out, "final.txt"), text)
    raw.close()
    if status is None:
        for action in ("q", signal.SIGTERM, signal.SIGKILL):
            try:
                if action == "q":
                    os.write(fd, b"q")
                else:
                    os.kill(pid, action)
            except OSError:
                pass
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
                    break
                try:  # keep draining so the program is not blocked on a full pty
                    if select.select([fd], [], [], 0.1)[0]:
                        os.read(fd, 65536)
                except OSError:
                    time.sleep(0.1)
            if status is not None:
                break
    print(f"ready={ready} status={status} elapsed={time.monotonic() - t0:.1f}")
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
