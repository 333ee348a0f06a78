"""The pipe to a guest's shell: the user's command (``--via``) or ``ssh`` (``--ssh``).

The command runs in its own session (``setsid``): it has no controlling terminal, so
nothing it starts can prompt on the user's screen. Its stdin and stdout are pipes to the
guest's ``sh``; its stderr is kept (the last 4 KiB) and shown when the guest cannot be
read. Every read has a deadline (``selectors``); stdin stays open until ``close()``
(QEMU's socket chardev drops the connection at a half-close). ``close()`` ends the whole
process group.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time

from ..errors import BalloontopError, UsageError

STDERR_KEEP = 4096
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TICK_TIMEOUT = 5.0


class TransportError(BalloontopError):
    """The guest could not be reached or stopped answering (exit status 1)."""


def ssh_argv(target: str, options: list[str] | tuple[str, ...] = (), connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> list[str]:
    """``ssh`` with ``-T``, compression, ``BatchMode=yes`` and a connect timeout for
    ``[USER@]HOST[:PORT]`` (IPv6: ``[::1]:2222``); ``options`` become ``-o OPT``."""
    match = re.fullmatch(r"(?:(?P<user>[^@\s]+)@)?(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:@\s\[\]]+))(?::(?P<port>\d{1,5}))?", target)
    if not match or target.startswith("-"):
        raise UsageError(f"--ssh: expected [USER@]HOST[:PORT], got {target!r}")
    host = match["v6"] or match["host"]
    if host.startswith("-"):
        raise UsageError(f"--ssh: expected [USER@]HOST[:PORT], got {target!r}")
    argv = ["ssh", "-T", "-C", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(connect_timeout + 0.999))}"]
    if match["port"]:
        argv += ["-p", match["port"]]
    for option in options:
        argv += ["-o", option]
    if match["user"]:
        argv += ["-l", match["user"]]
    return argv + ["--", host, "sh"]


def via_argv(command: str) -> list[str]:
    """The user's command, run exactly as given by the local ``sh -c``."""
    if not command.strip():
        raise UsageError("--via: the command is empty")
    return ["sh", "-c", command]


class Transport:
    """One running transport process; ``exchange`` sends a script and reads up to a marker."""

    def __init__(self, argv: list[str], label: str) -> None:
        self.argv = argv
        self.label = label
        self._proc: subprocess.Popen[bytes] | None = None
        self._selector: selectors.BaseSelector | None = None
        self._stderr = b""
        self.bytes_in = 0
        """Bytes received from the guest since start (raw, before any decoding)."""

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            raise TransportError(f"{self.label}: cannot start {self.argv[0]!r}: {exc.strerror or exc}") from None
        assert self._proc.stdout is not None and self._proc.stderr is not None and self._proc.stdin is not None
        for stream in (self._proc.stdout, self._proc.stderr, self._proc.stdin):
            os.set_blocking(stream.fileno(), False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._proc.stdout, selectors.EVENT_READ, "out")
        self._selector.register(self._proc.stderr, selectors.EVENT_READ, "err")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stderr_text(self) -> str:
        """The transport's last stderr lines, one line, control characters removed."""
        text = self._stderr.decode("utf-8", "replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        joined = " | ".join(lines[-3:])
        return "".join(ch if ch.isprintable() else "?" for ch in joined)[-400:]

    def close(self) -> None:
        """End the transport's whole process group (its session) and reap it."""
        proc, self._proc = self._proc, None
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 2.0)):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    # -- one exchange ------------------------------------------------------------------

    def exchange(self, script: bytes, end: bytes, timeout: float, limit: int) -> bytes:
        """Send ``script``; return what the guest wrote up to and including ``end``.

        Raises ``TransportError`` when the transport ends, the deadline passes or more
        than ``limit`` bytes arrive without ``end``.
        """
        if self._proc is None or self._selector is None or self._proc.stdin is None:
            raise TransportError(f"{self.label}: not connected")
        deadline = time.monotonic() + timeout
        pending = memoryview(script)
        stdin = self._proc.stdin
        if pending:
            self._selector.register(stdin, selectors.EVENT_WRITE, "in")
        buffer = bytearray()
        search_from = 0
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = bytes(buffer[:60]).decode("utf-8", "replace")
                    raise TransportError(
                        f"{self.label}: no complete answer within {timeout:g} s"
                        + (f" (got {len(buffer)} bytes: {''.join(c if c.isprintable() else '?' for c in got)!r})" if buffer else "")
                        + self._stderr_note())
                for key, _ in self._selector.select(left):
                    if key.data == "in":
                        try:
                            written = os.write(stdin.fileno(), pending[:65536])
                        except BlockingIOError:
                            continue
                        except OSError:
                            raise TransportError(f"{self.label}: the connection closed{self._stderr_note()}") from None
                        pending = pending[written:]
                        if not pending:
                            self._selector.unregister(stdin)
                        continue
                    chunk = self._read(key.fileobj)  # type: ignore[arg-type]
                    if chunk is None:
                        continue
                    if key.data == "err":
                        self._stderr = (self._stderr + chunk)[-STDERR_KEEP:]
                        if not chunk:
                            self._selector.unregister(key.fileobj)
                        continue
                    if not chunk:
                        self._selector.unregister(key.fileobj)
                        self._wait_exit()
                        raise TransportError(f"{self.label}: the connection closed{self._stderr_note()}")
                    self.bytes_in += len(chunk)
                    buffer += chunk
                    found = buffer.find(end, max(0, search_from - len(end)))
                    if found >= 0:
                        return bytes(buffer[: found + len(end)])
                    search_from = len(buffer)
                    if len(buffer) > limit:
                        raise TransportError(f"{self.label}: answer larger than {limit >> 20} MiB without its end marker")
        finally:
            if pending and self._selector is not None:
                try:
                    self._selector.unregister(stdin)
                except (KeyError, ValueError):
                    pass

    @staticmethod
    def _read(stream: object) -> bytes | None:
        try:
            return os.read(stream.fileno(), 262144)  # type: ignore[attr-defined]
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def _wait_exit(self) -> None:
        """After EOF on stdout: give the process a moment to exit and drain its stderr."""
        if self._proc is None or self._selector is None:
            return
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            events = self._selector.select(0.05)
            for key, _ in events:
                if key.data == "err":
                    chunk = self._read(key.fileobj)
                    if chunk:
                        self._stderr = (self._stderr + chunk)[-STDERR_KEEP:]
                    elif chunk == b"":
                        self._selector.unregister(key.fileobj)
            if self._proc.poll() is not None and not any(k.data == "err" for k in self._selector.get_map().values()):
                return

    def _stderr_note(self) -> str:
        text = self.stderr_text()
        code = self._proc.poll() if self._proc is not None else None
        parts = []
        if code is not None:
            parts.append(f"exit status {code}" if code >= 0 else f"killed by signal {-code}")
        if text:
            parts.append(text)
        return f" ({'; '.join(parts)})" if parts else ""
