"""A small QMP client: QEMU's JSON monitor over a UNIX socket or TCP, stdlib only.

    client = QMPClient("/run/vm/balloontop.qmp")   # or "unix:PATH", "tcp:127.0.0.1:4444", "HOST:PORT"
    client.open()                                  # greeting, then qmp_capabilities
    client.execute("query-balloon")                # -> {"actual": bytes}
    client.take_events()                           # asynchronous events (BALLOON_CHANGE, ...)
    client.close()

Every read is bounded: in time (``connect_timeout`` for the connection and the greeting,
``command_timeout`` per command) and in size (a line longer than ``max_line`` bytes, 1 MiB by
default, is an error, not a growing buffer). Commands carry an ``id``; an answer to an earlier
command that timed out is dropped, not taken for the current one. Events that arrive between
answers are queued (at most ``max_events``, the oldest dropped first).

Every failure is a ``QMPError`` with one line for the user and a ``kind``:

* ``gone``: no socket at the path, or nothing listens (QEMU exited);
* ``busy``: the connection is accepted but QEMU never greets. A QMP chardev serves one client
  at a time and keeps later ones waiting in the listen queue, so this is what another client
  holding the socket looks like;
* ``not_found``: QEMU has no such command (too old, or not built for it): the line names it;
* ``timeout``, ``closed``, ``protocol``, ``error``: no answer in time, connection closed, not
  QMP, or QEMU's own error for the command.

After a ``timeout``, ``closed`` or ``protocol`` error the connection is closed (the stream may
be out of step); ``open()`` again to reconnect.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections import deque
from typing import Any

from ..errors import BalloontopError

MAX_LINE = 1 << 20
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_COMMAND_TIMEOUT = 2.0


class QMPError(BalloontopError):
    """One QMP failure, as one line; ``kind`` says which (see the module docstring)."""

    def __init__(self, message: str, kind: str = "error", command: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.command = command


def one_line(text: object, limit: int = 200) -> str:
    """``text`` as a single printable line of at most ``limit`` characters (QEMU's
    messages are data: no control characters or terminal escapes pass through)."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def parse_address(address: str) -> tuple[str, Any]:
    """``("unix", path)`` or ``("tcp", (host, port))`` for a ``--qmp`` value.

    ``unix:PATH`` and ``tcp:HOST:PORT`` say it outright (as QEMU's ``-qmp`` does); otherwise a
    value with a ``/`` or without a ``:PORT`` is a path, and ``HOST:PORT`` / ``[V6]:PORT`` is TCP.
    """
    if address.startswith("unix:"):
        return "unix", address[5:]
    explicit = address.startswith("tcp:")
    rest = address[4:] if explicit else address
    host, sep, port = rest.rpartition(":")
    if explicit or ("/" not in rest and sep and host and port.isdigit()):
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise QMPError(f"QMP address {one_line(address)!r} is not tcp:HOST:PORT", kind="usage")
        return "tcp", (host, int(port))
    return "unix", address


class QMPClient:
    """One QMP connection (see the module docstring)."""

    def __init__(
        self,
        address: str,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_line: int = MAX_LINE,
        max_events: int = 256,
    ) -> None:
        self.address = address
        self.family, self.target = parse_address(address)
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.max_line = max_line
        self.events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self.greeting: dict[str, Any] | None = None
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self._next_id = 0

    # -- naming ------------------------------------------------------------------------
    @property
    def where(self) -> str:
        if self.family == "unix":
            return str(self.target)
        host, port = self.target
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def connected(self) -> bool:
        return self._sock is not None

    @property
    def qemu_version(self) -> str | None:
        """``"7.2.22"`` from the greeting, when there was one."""
        try:
            v = self.greeting["QMP"]["version"]["qemu"]  # type: ignore[index]
            return f"{int(v['major'])}.{int(v['minor'])}.{int(v['micro'])}"
        except (KeyError, TypeError, ValueError):
            return None

    # -- connection --------------------------------------------------------------------
    def open(self) -> QMPClient:
        """Connect, read the greeting and leave capabilities negotiation mode."""
        self.close()
        self._connect()
        try:
            greeting = self._read_message(time.monotonic() + self.connect_timeout, greeting=True)
            if not isinstance(greeting.get("QMP"), dict):
                raise QMPError(f"{self.where} is not a QMP socket (its first line is not a QMP greeting)", "protocol")
            self.greeting = greeting
            self.execute("qmp_capabilities")
        except BaseException:
            self.close()
            raise
        return self

    def _connect(self) -> None:
        where = self.where
        peer: Any
        if self.family == "unix":
            peer = str(self.target)
            if not os.path.exists(peer):
                raise QMPError(f"no QMP socket at {where}", "gone")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            host, port = self.target
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise QMPError(f"QMP address {where}: {one_line(exc)}", "gone") from None
            family, _, _, _, peer = infos[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(self.connect_timeout)
        try:
            sock.connect(peer)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if self.family == "unix":
                raise QMPError(f"no QMP socket at {where} (nothing listens on it: has QEMU exited?)", "gone") from None
            raise QMPError(f"no QMP socket at {where} (connection refused)", "gone") from None
        except (TimeoutError, BlockingIOError):
            sock.close()
            raise QMPError(self._busy_message(), "busy") from None
        except OSError as exc:
            sock.close()
            raise QMPError(f"cannot connect to QMP socket {where}: {one_line(exc.strerror or exc)}", "gone") from None
        self._sock = sock
        self._buf.clear()

    def _busy_message(self) -> str:
        return (
            f"QMP socket {self.where} is busy: QEMU serves one client per socket; "
            "add a second -qmp for balloontop"
        )

    def close(self) -> None:
        sock, self._sock = self._sock, None
        self._buf.clear()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> QMPClient:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands and events -----------------------------------------------------------
    def execute(self, command: str, arguments: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        """Run ``command`` and return its ``return`` value; ``QMPError`` otherwise."""
        if self._sock is None:
            raise QMPError(f"QMP socket {self.where} is not connected", "closed", command)
        self._next_id += 1
        ident = f"bt-{self._next_id}"
        message: dict[str, Any] = {"execute": command, "id": ident}
        if arguments:
            message["arguments"] = arguments
        deadline = time.monotonic() + (self.command_timeout if timeout is None else timeout)
        try:
            self._sock.settimeout(max(0.001, deadline - time.monotonic()))
            self._sock.sendall(json.dumps(message).encode() + b"\n")
        except (TimeoutError, BlockingIOError):
            self.close()
            raise QMPError(f"QMP command {command} at {self.where}: could not send in time", "timeout", command) from None
        except OSError as exc:
            self.close()
            raise self._lost(exc, command) from None
        while True:
            reply = self._read_message(deadline, command=command)
            if "event" in reply:
                self.events.append(reply)
                continue
            if reply.get("id", ident) != ident:
                continue  # the late answer to a command that timed out
            if "error" in reply:
                raise self._command_error(command, reply["error"])
            if "return" in reply:
                return reply["return"]

    def _command_error(self, command: str, error: Any) -> QMPError:
        cls = error.get("class") if isinstance(error, dict) else None
        desc = one_line(error.get("desc", error) if isinstance(error, dict) else error)
        if cls == "CommandNotFound":
            version = self.qemu_version
            qemu = f"QEMU {version}" if version else "this QEMU"
            return QMPError(f"{qemu} at {self.where} has no QMP command {command}", "not_found", command)
        return QMPError(f"QMP {command}: {desc}", "error", command)

    def take_events(self) -> list[dict[str, Any]]:
        """The events queued so far plus any waiting on the socket (without blocking)."""
        if self._sock is not None:
            while True:
                try:
                    message = self._read_message(time.monotonic(), command=None, poll=True)
                except QMPError:
                    break
                if message is None:
                    break
                if "event" in message:
                    self.events.append(message)
        out = list(self.events)
        self.events.clear()
        return out

    # -- reading -----------------------------------------------------------------------
    def _read_message(self, deadline: float, *, command: str | None = None, greeting: bool = False,
                      poll: bool = False) -> Any:
        """One JSON object (a line) before ``deadline``; with ``poll``, ``None`` when no
        whole line is waiting."""
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                if len(line) > self.max_line:
                    self.close()
                    raise QMPError(f"QMP socket {self.where} sent a line over {self.max_line} bytes", "protocol", command)
                if not line.strip():
                    continue
                try:
                    message = json.loads(line)
                except ValueError:
                    self.close()
                    raise QMPError(f"QMP socket {self.where} sent a line that is not JSON", "protocol", command) from None
                if not isinstance(message, dict):
                    self.close()
                    raise QMPError(f"QMP socket {self.where} sent JSON that is not an object", "protocol", command)
                return message
            if len(self._buf) > self.max_line:
                self.close()
                raise QMPError(f"QMP socket {self.where} sent a line over {self.max_line} bytes", "protocol", command)
            sock = self._sock
            if sock is None:
                raise QMPError(f"QMP socket {self.where} is not connected", "closed", command)
            remaining = deadline - time.monotonic()
            if poll:
                sock.settimeout(0.0)
            elif remaining <= 0:
                raise self._timeout(command, greeting)
            else:
                sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                if poll:
                    return None
                raise self._timeout(command, greeting) from None
            except OSError as exc:
                self.close()
                raise self._lost(exc, command) from None
            if not data:
                self.close()
                if greeting:
                    raise QMPError(f"QMP socket {self.where} closed the connection before greeting", "closed")
                raise QMPError(f"QMP socket {self.where} closed the connection (has QEMU exited?)", "closed", command)
            self._buf += data

    def _lost(self, exc: OSError, command: str | None) -> QMPError:
        reason = one_line(exc.strerror or exc)
        return QMPError(f"QMP connection to {self.where} lost (has QEMU exited?): {reason}", "closed", command)

    def _timeout(self, command: str | None, greeting: bool) -> QMPError:
        self.close()
        if greeting:
            return QMPError(self._busy_message(), "busy")
        return QMPError(
            f"QMP command {command} at {self.where} got no answer within {self.command_timeout:g} s", "timeout", command
        )
