"""Helpers of the hostile-input suite: a real capture copied and poisoned in one place, and the
real ``balloontop`` command run under a timeout (a hang fails the test instead of the run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from balloontop.rootfs import Root

from ..conftest import CAPTURES

BASE = CAPTURES / "virtio-6.18-nodeflate" / "0512M"  # a real Debian 6.18 guest, 512 MiB ballooned
TIMEOUT = 30.0  # seconds any command may take here; the cases finish in about one


@pytest.fixture
def make_root(tmp_path: Path) -> Callable[..., Path]:
    """``make_root({"proc/meminfo": "text" | bytes | callable(path)})``: a copy of the real
    capture with those files replaced (a callable makes the file itself: a FIFO, a link)."""

    def make(poison: dict[str, object] | None = None, name: str = "root") -> Path:
        root = tmp_path / name
        shutil.copytree(BASE, root, symlinks=True)
        for rel, what in (poison or {}).items():
            parent = os.path.dirname(rel)
            (root / parent).mkdir(parents=True, exist_ok=True)  # a new folder, or the real one
            real = Path(Root(str(root)).resolve(parent)) / os.path.basename(rel)
            if real.exists() or real.is_symlink():
                real.unlink()
            if callable(what):
                what(real)
            elif isinstance(what, bytes):
                real.write_bytes(what)
            else:
                real.write_text(str(what))
        return root

    return make


def fifo(path: Path) -> None:
    os.mkfifo(path)


def run(*args: str, env: dict[str, str] | None = None, timeout: float = TIMEOUT,
        input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m balloontop ARGS``, its output as text; never a traceback."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "balloontop", *args], capture_output=True, timeout=timeout, env=full_env,
        input=input,
    )
    out = proc.stdout.decode("utf-8", "backslashreplace")
    err = proc.stderr.decode("utf-8", "backslashreplace")
    assert "Traceback" not in err, err
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def one_line(text: str) -> str:
    """The single line of an error message (asserts it is one line)."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]
