"""Build a tiny busybox initramfs (newc cpio, gzip) for a Debian kernel package.

Stdlib only; adapted from the balloon lab's build-initramfs.py. The Debian .deb ships no
``modules.dep`` (depmod runs at install time), so the load order comes from each module's
ELF ``.modinfo`` ``depends=`` field; ``.ko.xz`` / ``.ko.gz`` / ``.ko.zst`` are decompressed
on the host because busybox ``insmod`` cannot. The image holds::

    /init                  tests/vm/guest/init
    /bin/busybox           a static busybox
    /dev/console, /dev/null
    /lib/modules/<m>.ko    uncompressed modules, /etc/bt-modules (load order), /etc/bt-kver
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import shutil
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
INIT = os.path.join(HERE, "guest", "init")
MODULES = ("virtio_pci", "virtio_balloon", "9pnet_virtio", "9p", "virtio_console")
_SUFFIXES = (".ko.xz", ".ko.zst", ".ko.gz", ".ko")


def _norm(name: str) -> str:
    return name.replace("-", "_")


def _modname(path: str) -> str | None:
    base = os.path.basename(path)
    for suf in _SUFFIXES:
        if base.endswith(suf):
            return _norm(base[: -len(suf)])
    return None


def _read_module(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        try:
            import zstandard  # type: ignore

            return zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 30)
        except ImportError:
            if not shutil.which("zstd"):
                raise RuntimeError("need the 'zstd' binary or module for .ko.zst") from None
            return subprocess.run(["zstd", "-dc"], input=data, check=True, stdout=subprocess.PIPE).stdout
    return data


def modinfo(elf: bytes) -> dict[str, list[str]]:
    """Parse the .modinfo section of an ELF64 LE relocatable."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        raise ValueError("not ELF64")
    e_shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    secs = []
    for i in range(e_shnum):
        sh_name, _t, _f, _a, sh_offset, sh_size = struct.unpack_from("<IIQQQQ", elf, e_shoff + i * e_shentsize)
        secs.append((sh_name, sh_offset, sh_size))
    strtab = secs[e_shstrndx]
    names = elf[strtab[1] : strtab[1] + strtab[2]]
    out: dict[str, list[str]] = {}
    for sh_name, sh_offset, sh_size in secs:
        if names[sh_name : names.index(b"\0", sh_name)] == b".modinfo":
            for ent in elf[sh_offset : sh_offset + sh_size].split(b"\0"):
                if b"=" in ent:
                    k, v = ent.split(b"=", 1)
                    out.setdefault(k.decode(), []).append(v.decode(errors="replace"))
    return out


class _Cpio:
    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1000

    def add(self, name: str, mode: int, data: bytes = b"", rdev=(0, 0)) -> None:
        self.ino += 1
        nameb = name.encode() + b"\0"
        nlink = 2 if (mode & 0o170000) == 0o040000 else 1
        fields = (self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(nameb), 0)
        self.buf.write(("070701" + "".join(f"{v:08X}" for v in fields)).encode() + nameb)
        self.buf.write(b"\0" * ((4 - (110 + len(nameb)) % 4) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * ((4 - len(data) % 4) % 4))


def build(moddir: str, out: str, busybox: str, modules=MODULES, init: str = INIT) -> list[str]:
    """Write the gzipped initramfs to ``out``; return the module load order."""
    kver = os.path.basename(os.path.normpath(moddir))
    index: dict[str, str] = {}
    for root, _dirs, files in os.walk(os.path.join(moddir, "kernel")):
        for fn in files:
            n = _modname(fn)
            if n:
                index[n] = os.path.join(root, fn)
    order: list[str] = []
    blobs: dict[str, bytes] = {}
    seen: set[str] = set()

    def visit(n: str) -> None:
        n = _norm(n)
        if n in seen:
            return
        seen.add(n)
        if n not in index:  # built in (or absent): nothing to load
            return
        data = _read_module(index[n])
        for v in modinfo(data).get("depends", []):
            for d in v.split(","):
                if d:
                    visit(d)
        order.append(n)
        blobs[n] = data

    for m in modules:
        visit(m)
    c = _Cpio()
    for d in (
        "bin",
        "dev",
        "proc",
        "sys",
        "tmp",
        "mnt",
        "mnt/bt",
        "mnt/host",
        "etc",
        "lib",
        "lib/modules",
        "root",
        "sbin",
        "usr",
        "usr/bin",
        "usr/sbin",
    ):
        c.add(d, 0o040755)
    c.add("dev/console", 0o020600, rdev=(5, 1))
    c.add("dev/null", 0o020666, rdev=(1, 3))
    with open(busybox, "rb") as f:
        c.add("bin/busybox", 0o100755, f.read())
    c.add("bin/sh", 0o120777, b"busybox")
    with open(init, "rb") as f:
        c.add("init", 0o100755, f.read())
    c.add("etc/bt-kver", 0o100644, (kver + "\n").encode())
    c.add("etc/bt-modules", 0o100644, "".join(n + ".ko\n" for n in order).encode())
    for n in order:
        c.add(f"lib/modules/{n}.ko", 0o100644, blobs[n])
    c.add("TRAILER!!!", 0)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(gzip.compress(c.buf.getvalue(), 6))
    os.replace(tmp, out)
    return order
