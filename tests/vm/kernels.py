"""Fetch and cache Debian kernel packages (and a static busybox) without installing them.

The package names are resolved at run time through each suite's ``linux-image-amd64``
metapackage (pinned versions disappear from the archive), with a throwaway apt
configuration per suite inside the cache directory: ``/etc/apt`` is never read for
sources nor written. Packages are fetched with ``apt-get download`` and unpacked with
``dpkg -x``.

Cache directory: ``$BALLOONTOP_VM_CACHE``, else ``/var/cache/balloontop-vm`` when it can be
created/written (so CI runs on the same machine reuse downloads), else ``tests/vm/cache``.
If the archive cannot be reached, the last resolution stored in the cache is used.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass

from . import initramfs

HERE = os.path.dirname(os.path.abspath(__file__))
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MIRROR = os.environ.get("BALLOONTOP_VM_MIRROR", "http://deb.debian.org/debian")
SECURITY = os.environ.get("BALLOONTOP_VM_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
LISTS_MAX_AGE_S = 6 * 3600

# suite label -> sources.list lines (only this suite: the metapackage resolves in it)
SUITES = {
    "bookworm": [
        f"deb [signed-by={KEYRING}] {MIRROR} bookworm main",
        f"deb [signed-by={KEYRING}] {MIRROR} bookworm-updates main",
        f"deb [signed-by={KEYRING}] {SECURITY} bookworm-security main",
    ],
    "trixie-backports": [
        f"deb [signed-by={KEYRING}] {MIRROR} trixie-backports main",
    ],
}


class Unavailable(Exception):
    """A prerequisite is missing (skip on a developer machine, fail under CI)."""


@dataclass(frozen=True)
class Kernel:
    suite: str
    package: str  # linux-image-6.1.0-56-amd64
    version: str  # Debian version of the package
    kver: str  # uname -r
    vmlinuz: str
    moddir: str
    initrd: str

    @property
    def series(self) -> str:  # "6.1", "6.18"
        return ".".join(self.kver.split(".")[:2])


def cache_dir() -> str:
    env = os.environ.get("BALLOONTOP_VM_CACHE")
    candidates = [env] if env else ["/var/cache/balloontop-vm", os.path.join(HERE, "cache")]
    for c in candidates:
        try:
            os.makedirs(c, exist_ok=True)
            probe = os.path.join(c, ".write-probe")
            with open(probe, "w") as f:
                f.write("ok")
            os.unlink(probe)
            return c
        except OSError:
            continue
    raise Unavailable(f"no writable cache directory among {candidates}")


@contextlib.contextmanager
def locked(path: str):
    """An exclusive flock, so two test runs never fetch into the same cache at once."""
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _short(cmd: list[str]) -> str:
    """The command without apt's -o options, for messages."""
    out, skip = [], False
    for a in cmd:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        else:
            out.append(a)
    return " ".join(out)


def _run(cmd: list[str], cwd: str | None = None, timeout: float = 900) -> str:
    try:
        p = subprocess.run(
            cmd,
            cwd=cwd,
            timeout=timeout,
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"},
        )
    except FileNotFoundError as exc:
        raise Unavailable(f"{cmd[0]} not found ({exc})") from None
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{_short(cmd)} timed out after {timeout}s") from None
    if p.returncode != 0:
        raise Unavailable(f"{_short(cmd)} failed ({p.returncode}): {p.stderr.strip()[-600:]}")
    return p.stdout


class Apt:
    """apt-get / apt-cache with a throwaway configuration under ``<cache>/apt/<suite>``."""

    def __init__(self, cache: str, suite: str) -> None:
        self.dir = os.path.join(cache, "apt", suite)
        self.suite = suite
        for d in ("lists/partial", "archives/partial", "etc/preferences.d", "etc/apt.conf.d"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        self.sources = os.path.join(self.dir, "etc", "sources.list")
        text = "\n".join(SUITES[suite]) + "\n"
        if not os.path.exists(self.sources) or open(self.sources).read() != text:
            with open(self.sources, "w") as f:
                f.write(text)

    def _opts(self) -> list[str]:
        d = self.dir
        return [
            "-o",
            f"Dir::Etc::sourcelist={self.sources}",
            "-o",
            "Dir::Etc::sourceparts=-",
            "-o",
            f"Dir::Etc::preferences={d}/etc/preferences",
            "-o",
            f"Dir::Etc::preferencesparts={d}/etc/preferences.d",
            "-o",
            f"Dir::State::Lists={d}/lists",
            "-o",
            f"Dir::Cache={d}",
            "-o",
            "Dir::Cache::pkgcache=",
            "-o",
            "Dir::Cache::srcpkgcache=",
            "-o",
            "APT::Default-Release=",
            "-o",
            "Acquire::Languages=none",
            "-o",
            "Acquire::Retries=3",
        ]

    def update(self) -> None:
        _run(["apt-get", *self._opts(), "-q", "update"], timeout=300)
        with open(os.path.join(self.dir, "updated"), "w") as f:
            f.write(str(time.time()))

    def lists_age(self) -> float:
        try:
            return time.time() - float(open(os.path.join(self.dir, "updated")).read())
        except (OSError, ValueError):
            return float("inf")

    def show(self, pkg: str) -> dict[str, str]:
        out = _run(["apt-cache", *self._opts(), "show", "--no-all-versions", pkg])
        fields: dict[str, str] = {}
        key = None
        for line in out.splitlines():
            if not line.strip():
                break
            if line[0].isspace() and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, val = line.split(":", 1)
                fields[key] = val.strip()
        return fields

    def download(self, pkg: str, dest: str) -> str:
        os.makedirs(dest, exist_ok=True)
        _run(["apt-get", *self._opts(), "-q", "download", pkg], cwd=dest, timeout=900)
        debs = sorted(glob.glob(os.path.join(dest, pkg + "_*.deb")), key=os.path.getmtime)
        if not debs:
            raise Unavailable(f"apt-get download {pkg} produced no .deb in {dest}")
        return debs[-1]


def _unpack(deb: str, dest: str, merge: bool = False) -> None:
    if merge:
        os.makedirs(dest, exist_ok=True)
        _run(["dpkg", "-x", deb, dest], timeout=600)
        return
    if os.path.isdir(dest):
        return
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    _run(["dpkg", "-x", deb, tmp], timeout=600)
    os.replace(tmp, dest)


def _resolve(apt: Apt, cache: str) -> dict:
    """linux-image-amd64 (candidate in this suite) -> the versioned image package."""
    store = os.path.join(cache, f"resolved-{apt.suite}.json")
    try:
        if apt.lists_age() > LISTS_MAX_AGE_S:
            apt.update()
        meta = apt.show("linux-image-amd64")
        deps = [d.strip().split()[0] for d in meta.get("Depends", "").split(",")]
        image = next((d for d in deps if d.startswith("linux-image-")), None)
        if not image:
            raise Unavailable(f"linux-image-amd64 in {apt.suite} depends on no image: {meta}")
        info = apt.show(image)
        res = {
            "meta_version": meta.get("Version"),
            "package": image,
            "version": info.get("Version"),
            "resolved_at": time.time(),
        }
        with open(store, "w") as f:
            json.dump(res, f, indent=1)
        return res
    except Unavailable as exc:
        if os.path.exists(store):  # offline: the last resolution, if its files are here
            res = json.load(open(store))
            res["offline"] = str(exc)
            return res
        raise


def busybox(cache: str) -> str:
    """A static busybox: from the busybox-static package of bookworm, cached."""
    dest = os.path.join(cache, "busybox-static")
    path = os.path.join(dest, "bin", "busybox")
    if os.path.exists(path):
        return path
    apt = Apt(cache, "bookworm")
    if apt.lists_age() > LISTS_MAX_AGE_S:
        apt.update()
    deb = apt.download("busybox-static", os.path.join(cache, "debs"))
    _unpack(deb, dest)
    if not os.path.exists(path):
        raise Unavailable(f"{deb} has no bin/busybox")
    return path


def kernel(suite: str, cache: str | None = None) -> Kernel:
    """Resolve, download, unpack the suite's current kernel and build its initramfs."""
    cache = cache or cache_dir()
    with locked(os.path.join(cache, ".lock")):
        apt = Apt(cache, suite)
        res = _resolve(apt, cache)
        pkg, version = res["package"], res["version"]
        dest = os.path.join(cache, "kernels", f"{pkg}_{version}")
        if not os.path.isdir(dest):
            # Newer kernels split the image package: linux-image-X depends on
            # linux-binary-X (vmlinuz) and linux-modules-X (modules). Unpack them all.
            debs = [apt.download(pkg, os.path.join(cache, "debs"))]
            for dep in apt.show(pkg).get("Depends", "").split(","):
                name = dep.strip().split()[0] if dep.strip() else ""
                if name.startswith(("linux-binary-", "linux-modules-")):
                    debs.append(apt.download(name, os.path.join(cache, "debs")))
            tmp = dest + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            for deb in debs:
                _unpack(deb, tmp, merge=True)
            os.replace(tmp, dest)
        # /boot/vmlinuz-<kver> (<= 6.x packages) or /usr/lib/modules/<kver>/vmlinuz (split
        # linux-binary-* packages)
        found = [
            (os.path.basename(v)[len("vmlinuz-") :], v) for v in glob.glob(os.path.join(dest, "boot", "vmlinuz-*"))
        ]
        found += [
            (os.path.basename(os.path.dirname(v)), v)
            for v in glob.glob(os.path.join(dest, "*lib", "modules", "*", "vmlinuz"))
            + glob.glob(os.path.join(dest, "usr", "lib", "modules", "*", "vmlinuz"))
        ]
        if not found:
            raise Unavailable(f"{pkg} {version} (and its linux-binary-*) ship no vmlinuz")
        kver, vmlinuz = sorted(found)[-1]
        moddir = next(
            (
                m
                for m in (os.path.join(dest, p, "modules", kver) for p in ("lib", "usr/lib"))
                if os.path.isdir(os.path.join(m, "kernel"))
            ),
            None,
        )
        if moddir is None:
            raise Unavailable(f"{pkg}: no lib/modules/{kver}/kernel")
        bb = busybox(cache)
        h = hashlib.sha256()
        for p in (initramfs.INIT, initramfs.__file__, bb):
            h.update(open(p, "rb").read())
        initrd = os.path.join(cache, "initramfs", f"initramfs-{kver}-{h.hexdigest()[:10]}.cpio.gz")
        if not os.path.exists(initrd):
            initramfs.build(moddir, initrd, bb)
        return Kernel(suite, pkg, version, kver, vmlinuz, moddir, initrd)
