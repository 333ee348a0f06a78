"""Minimal QMP client (stdlib only), adapted from the balloon lab.

with QMP(sock) as q:
    q.balloon(512 * MiB)        # QMP 'balloon' takes the target in BYTES
    q.query_balloon()           # {'actual': bytes}
"""

from __future__ import annotations

import json
import socket
import time

MiB = 1 << 20


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path: str, timeout: float = 10.0) -> None:
        # A QMP chardev serves one client at a time: retry while another holds it.
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(path)
                break
            except (BlockingIOError, ConnectionRefusedError, FileNotFoundError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.f = self.sock.makefile("rwb")
        self.events: list[dict] = []
        self.greeting = self._read()
        self.cmd("qmp_capabilities")

    def _read(self) -> dict:
        line = self.f.readline()
        if not line:
            raise QMPError("QMP connection closed")
        return json.loads(line)

    def cmd(self, execute: str, **arguments):
        msg: dict = {"execute": execute}
        if arguments:
            msg["arguments"] = arguments
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        while True:
            r = self._read()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise QMPError(f"{execute}: {r['error']}")
            return r.get("return")

    def balloon(self, target_bytes: int):
        return self.cmd("balloon", value=int(target_bytes))

    def query_balloon(self) -> dict:
        return self.cmd("query-balloon")

    def wait_actual(self, target_bytes: int, timeout: float = 60.0, poll: float = 0.05):
        """Poll query-balloon until actual == target; return (seconds or None, last)."""
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < timeout:
            last = self.query_balloon()
            if last.get("actual") == target_bytes:
                return time.monotonic() - t0, last
            time.sleep(poll)
        return None, last

    def close(self) -> None:
        # makefile() holds its own reference to the socket: close both, or QEMU keeps
        # serving this client and the next connect() gets no greeting.
        for obj in (self.f, self.sock):
            try:
                obj.close()
            except OSError:
                pass

    def __enter__(self) -> QMP:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
