"""A link swapped in and out while a root is read: nothing outside the root is ever returned.

A second process exchanges a real directory (and a real file) of the root with a symbolic link
to a directory outside it, as fast as it can (``renameat2(RENAME_EXCHANGE)``, else two
renames), while this process reads through ``Root`` thousands of times. A plain ``open()`` of
the same path reads the outside file often (the control: it shows the swap really races);
``Root`` never does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from balloontop.rootfs import Root

SWAPPER = r"""
import ctypes, os, sys
root = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
exchange = getattr(libc, "renameat2", None)
pairs = [(os.path.join(root, "proc"), os.path.join(root, "proc_swap")),
         (os.path.join(root, "sys", "meminfo"), os.path.join(root, "sys", "meminfo_swap"))]
print("ready", flush=True)
while True:
    for a, b in pairs:
        if exchange is not None and exchange(-100, a.encode(), -100, b.encode(), 2) == 0:
            continue
        os.rename(a, a + ".real")
        os.rename(b, a)
        os.rename(a + ".real", b)
"""


def test_swapped_links_never_lead_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "meminfo").write_text("OUTSIDE\n")
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "meminfo").write_text("INSIDE\n")
    (root / "sys").mkdir()
    (root / "sys" / "meminfo").write_text("INSIDE\n")
    os.symlink(outside, root / "proc_swap")  # absolute: outside the root unless resolved in it
    os.symlink(outside / "meminfo", root / "sys" / "meminfo_swap")
    reader = Root(str(root))
    seen: dict[str | None, int] = {}
    naive_outside = 0
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(root)], stdout=subprocess.PIPE)
    try:
        assert swapper.stdout is not None and swapper.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 20
        reads = 0
        while reads < 3000 or (naive_outside < 5 and time.monotonic() < deadline):
            for rel in ("proc/meminfo", "sys/meminfo"):
                text = reader.text(rel)
                seen[text] = seen.get(text, 0) + 1
                reads += 1
                try:
                    with open(root / rel) as handle:
                        naive_outside += handle.read() == "OUTSIDE\n"
                except OSError:
                    pass
            for rel in ("proc", "sys"):
                assert all(not name.startswith("OUTSIDE") for name in reader.listdir(rel))
            assert reader.real_rel("proc/meminfo") in (None, "/proc/meminfo")
    finally:
        swapper.kill()
        swapper.wait()
    assert "OUTSIDE\n" not in seen, seen
    assert seen.get("INSIDE\n", 0) > 0  # the real files were read...
    assert naive_outside >= 5, "the swapper did not race the reads: the test proved nothing"
