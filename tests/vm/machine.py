"""One QEMU guest (TCG) with a virtio balloon, a read-write 9p test share and the host's
root shared read-only; adapted from the balloon lab's run-vm.sh / stop-vm.sh.

QEMU runs as a direct child (no -daemonize): only the PID we started is ever signalled.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .kernels import Kernel, Unavailable
from .qmp import QMP, MiB

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_ROOT = os.environ.get("BALLOONTOP_VM_RUN", os.path.join(HERE, "run"))

_live: set[Guest] = set()


def qemu_binary() -> str:
    q = os.environ.get("BALLOONTOP_VM_QEMU") or shutil.which("qemu-system-x86_64")
    if not q or not os.access(q, os.X_OK):
        raise Unavailable(
            "qemu-system-x86_64 not found (apt-get install -y qemu-system-x86, or set BALLOONTOP_VM_QEMU)"
        )
    return q


def guest_python() -> str:
    """The interpreter that runs balloontop inside the guest: this one, by absolute path
    in the host root (a pyenv shim is a shell script; sys.executable is the real binary)."""
    return sys.executable


class Guest:
    def __init__(
        self,
        name: str,
        kernel: Kernel,
        *,
        mem_mib: int = 1024,
        deflate_on_oom: bool = False,
        free_page_reporting: bool = False,
        accel: str | None = None,
    ) -> None:
        self.name = name
        self.kernel = kernel
        self.mem_mib = mem_mib
        self.deflate_on_oom = deflate_on_oom
        self.free_page_reporting = free_page_reporting
        self.accel = accel or os.environ.get("BALLOONTOP_VM_ACCEL", "tcg")
        self.run = os.path.join(RUN_ROOT, name)
        self.share = os.path.join(self.run, "share")
        # unix socket paths are limited to 108 bytes: keep them in a short temp dir
        self.sockdir = tempfile.mkdtemp(prefix="bt-vm-")
        self.sock = os.path.join(self.sockdir, "qmp.sock")
        self.shell_sock = os.path.join(self.sockdir, "shell.sock")
        """A plain busybox sh on the guest's virtio console (``socat - UNIX-CONNECT:...``)."""
        # a second QMP monitor for balloontop's own reader (QMP serves one client per socket)
        self.bt_sock = os.path.join(self.sockdir, "bt.sock")
        self.console = os.path.join(self.run, "console.log")
        self.proc: subprocess.Popen | None = None
        self.boot_s: float | None = None
        self._seq = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 180) -> float:
        qemu = qemu_binary()
        shutil.rmtree(self.run, ignore_errors=True)
        os.makedirs(self.share)
        onoff = {True: "on", False: "off"}
        append = "console=ttyS0 panic=-1 bt.interval=0.2 bt.hostroot=hostroot bt.vshell=1"
        cmd = [
            qemu,
            "-machine",
            "q35",
            "-accel",
            self.accel,
            "-m",
            str(self.mem_mib),
            "-smp",
            "1",
            "-nodefaults",
            "-display",
            "none",
            "-no-reboot",
            "-serial",
            f"file:{self.console}",
            "-kernel",
            self.kernel.vmlinuz,
            "-initrd",
            self.kernel.initrd,
            "-append",
            append,
            # first device: the balloon is virtio0
            "-device",
            f"virtio-balloon-pci,id=balloon0,"
            f"deflate-on-oom={onoff[self.deflate_on_oom]},"
            f"free-page-reporting={onoff[self.free_page_reporting]}",
            "-virtfs",
            f"local,path={self.share},mount_tag=bt,security_model=none,id=bt",
            "-virtfs",
            "local,path=/,mount_tag=hostroot,readonly=on,security_model=none,id=hostroot,multidevs=remap",
            "-qmp",
            f"unix:{self.sock},server=on,wait=off",
            # a shell on a virtio console, for balloontop --via on the host (after the
            # other devices: the balloon stays virtio0)
            "-device",
            "virtio-serial-pci",
            "-chardev",
            f"socket,id=vsh,path={self.shell_sock},server=on,wait=off",
            "-device",
            "virtconsole,chardev=vsh",
            "-qmp",
            f"unix:{self.bt_sock},server=on,wait=off",
        ]
        with open(os.path.join(self.run, "qemu.cmd"), "w") as f:
            f.write(" ".join(cmd) + "\n")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.run, "qemu.out"), "w"),
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        _live.add(self)
        ready = os.path.join(self.share, "ready")
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise RuntimeError(f"qemu exited ({self.proc.returncode}) before the guest was ready\n{self.tail()}")
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"guest not ready after {timeout}s\n{self.tail()}")
            time.sleep(0.1)
        self.boot_s = time.monotonic() - t0
        if open(os.path.join(self.share, "hostroot")).read().strip() != "ok":
            raise RuntimeError(f"guest could not mount the host root\n{self.tail()}")
        return self.boot_s

    def stop(self) -> None:
        """Guest poweroff, then QMP quit, then SIGTERM/SIGKILL of our own child."""
        p = self.proc
        if p is not None and p.poll() is None:
            try:
                open(os.path.join(self.share, "ctl", "poweroff"), "w").close()
            except OSError:
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                try:
                    with QMP(self.sock, timeout=3) as q:
                        q.cmd("quit")
                    p.wait(5)
                except Exception:
                    p.terminate()
                    try:
                        p.wait(5)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait(5)
        _live.discard(self)
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def __enter__(self) -> Guest:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def tail(self, n: int = 40) -> str:
        try:
            lines = open(self.console, errors="replace").read().splitlines()
        except OSError:
            return "(no console log)"
        return f"--- {self.console} (last {n} lines) ---\n" + "\n".join(lines[-n:])

    # ------------------------------------------------------------------ commands
    def sh(self, script: str, timeout: float = 120) -> tuple[int, str]:
        """Run a busybox sh script in the guest (outside the chroot); (rc, output)."""
        return self.sh_wait(self.sh_start(script), timeout)

    def sh_start(self, script: str) -> str:
        """Start a guest script in the background; returns its id for sh_wait()."""
        self._seq += 1
        ident = f"c{self._seq:03d}"
        cmd_dir = os.path.join(self.share, "ctl", "cmd")
        tmp = os.path.join(cmd_dir, f".{ident}")
        with open(tmp, "w") as f:
            f.write(script)
        os.rename(tmp, os.path.join(cmd_dir, f"{ident}.sh"))
        return ident

    def sh_wait(self, ident: str, timeout: float = 120) -> tuple[int, str]:
        out_dir = os.path.join(self.share, "ctl", "out")
        script = ident
        rc_path = os.path.join(out_dir, f"{ident}.rc")
        t0 = time.monotonic()
        while not os.path.exists(rc_path):
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"guest died running {script!r}\n{self.tail()}")
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"guest command timed out after {timeout}s: {script!r}")
            time.sleep(0.05)
        rc = int(open(rc_path).read().strip() or "-1")
        out = open(os.path.join(out_dir, f"{ident}.out"), errors="replace").read()
        return rc, out

    def host_cmd(self, argv: list[str], env: dict[str, str] | None = None) -> str:
        """A shell line that runs ``argv`` with the host's userland (chroot into the
        read-only host root, with the guest's /proc, /sys, /dev bound over it). Inside,
        /dev/shm is a writable tmpfs (HOME, TMPDIR) and /dev/bt is the test share."""
        base = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": "/dev/shm",
            "TMPDIR": "/dev/shm",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        base.update(env or {})
        envs = " ".join(_q(f"{k}={v}") for k, v in base.items())
        return f"chroot /mnt/host /usr/bin/env -i {envs} " + " ".join(_q(a) for a in argv)

    def via(self) -> str:
        """The ``--via`` command that reaches the guest's console shell from the host."""
        return f"socat - UNIX-CONNECT:{self.shell_sock}"

    def qmp(self) -> QMP:
        return QMP(self.sock)

    @property
    def mem_kib(self) -> int:
        return self.mem_mib * 1024


def _die_with_parent() -> None:
    """In the QEMU child: SIGTERM when the thread that started it dies (a killed or
    timed-out pytest must not leave guests behind)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _q(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"


@atexit.register
def _stop_all() -> None:
    for g in list(_live):
        g.stop()


__all__ = ["Guest", "MiB", "Unavailable", "guest_python", "qemu_binary"]
