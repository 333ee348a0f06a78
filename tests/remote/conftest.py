"""Guests with nothing but a static busybox, and a throwaway OpenSSH server on 127.0.0.1.

A *busybox guest* is a copy of a fixture tree plus ``/bin/busybox`` and its applet links,
entered with ``chroot DIR /bin/busybox env -i PATH=/bin /bin/sh``: the guest's ``sh`` and
``head`` are busybox's, nothing else is there. Links that a 9p copy stored as text files
become real symbolic links (a running guest has real links, resolved by its kernel).

The system packages (busybox-static, openssh-server) are needed: without them the tests
skip, and fail when CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
FIXTURES = TESTS / "fixtures"
BUSYBOX = "/bin/busybox"
SSHD = "/usr/sbin/sshd"
_LINK_TEXT = re.compile(r"^(?:\.\./)+[\w.:@+\-/]+$")


def missing(reason: str) -> None:
    """A system prerequisite is missing: fail under CI=true, skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and a prerequisite of the remote tests is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def fixture_roots() -> list[Path]:
    """Every folder under tests/fixtures holding ``proc/meminfo`` (as tests/golden does)."""
    return sorted(p.parent for p in FIXTURES.rglob("proc") if p.is_dir() and (p / "meminfo").exists())


def static_busybox() -> str:
    if not os.path.exists(BUSYBOX):
        missing("busybox-static is not installed (apt-get install busybox-static)")
    out = subprocess.run(["file", "-L", BUSYBOX], capture_output=True, text=True) if shutil.which("file") else None
    if out is not None and "statically linked" not in out.stdout and "static-pie" not in out.stdout:
        missing(f"{BUSYBOX} is not statically linked (install busybox-static)")
    return BUSYBOX


def make_busybox_guest(tree: Path, dest: Path, applets: tuple[str, ...] | None = None) -> Path:
    """``dest``: a copy of ``tree`` with busybox as the only program (``applets``: which
    applet links to make; all of them by default)."""
    busybox = static_busybox()
    shutil.copytree(tree, dest, symlinks=True)
    for path in sorted(dest.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= 512:
            try:
                text = path.read_text("ascii").strip()
            except (UnicodeDecodeError, OSError):
                continue
            if _LINK_TEXT.match(text):
                path.unlink()
                path.symlink_to(text)
    bin_dir = dest / "bin"
    bin_dir.mkdir(exist_ok=True)
    shutil.copy2(busybox, bin_dir / "busybox")
    names = applets if applets is not None else tuple(
        subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split())
    for name in names:
        if name != "busybox" and not (bin_dir / name).exists():
            (bin_dir / name).symlink_to("busybox")
    return dest


def chroot_via(guest: Path) -> str:
    """The ``--via`` command entering a busybox guest with nothing but /bin on its PATH."""
    return f"chroot {guest} /bin/busybox env -i PATH=/bin /bin/sh"


def snapshot_json(*args: str, timeout: float = 60) -> dict:
    """``balloontop snapshot --json ARGS`` as a document (the command must succeed)."""
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", "--json", *args],
                         capture_output=True, text=True, timeout=timeout,
                         env=dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8"))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def comparable(doc: dict) -> dict:
    """The document without the keys that differ between two readings of one tree."""
    return {k: v for k, v in doc.items() if k not in ("time", "root", "guest")}


@pytest.fixture
def busybox_guest(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A factory: ``busybox_guest(tree, applets=None) -> Path``."""
    count = [0]

    def make(tree: Path, applets: tuple[str, ...] | None = None) -> Path:
        count[0] += 1
        return make_busybox_guest(tree, tmp_path / f"guest{count[0]}", applets)

    return make


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SshServer:
    """A throwaway sshd on 127.0.0.1 and the client options that reach it."""

    def __init__(self, port: int, options: list[str], process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.options = options
        self.process = process

    def ssh_args(self) -> list[str]:
        args = ["--ssh", f"127.0.0.1:{self.port}"]
        for option in self.options:
            args += ["--ssh-option", option]
        return args


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    if not os.path.exists(SSHD) or not shutil.which("ssh-keygen") or not shutil.which("ssh"):
        missing("openssh-server is not installed (apt-get install openssh-server)")
    work = tmp_path_factory.mktemp("sshd")
    host_key, user_key = work / "host_ed25519", work / "user_ed25519"
    for key in (host_key, user_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = work / "authorized_keys"
    shutil.copy(f"{user_key}.pub", authorized)
    authorized.chmod(0o600)
    port = free_port()
    config = work / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {work}/sshd.pid\n"
        f"AuthorizedKeysFile {authorized}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nPubkeyAuthentication yes\n"
        "AllowTcpForwarding no\nX11Forwarding no\nPrintMotd no\nLogLevel ERROR\n"
    )
    known = work / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {Path(f'{host_key}.pub').read_text().split(' ', 2)[0]} "
                     f"{Path(f'{host_key}.pub').read_text().split(' ', 2)[1]}\n")
    # sshd insists on its privilege-separation directory (normally made by its service unit).
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                               stderr=open(work / "sshd.log", "wb"))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sshd exited: {(work / 'sshd.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    options = [f"UserKnownHostsFile={known}", "GlobalKnownHostsFile=/dev/null", "StrictHostKeyChecking=yes",
               f"IdentityFile={user_key}", "IdentitiesOnly=yes", "User=root", "LogLevel=ERROR"]
    try:
        yield SshServer(port, options, process)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
