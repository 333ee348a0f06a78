"""The monitor with ``--qmp``: the host's figures in the balloon's pane (a real, paused QEMU:
tests/paused_qemu.py), and the plain ``balloontop --qmp`` report when stdout is no terminal."""

from __future__ import annotations

import subprocess
import sys

from tests.paused_qemu import MEM_MIB, paused_qemu

from .conftest import SCENARIOS, FakeClock, StepSource
from .test_pilot import _ready, run


def test_the_pane_shows_the_hosts_figures():
    from balloontop.host.reader import HostReader
    from balloontop.host.source import HostSource
    from balloontop.tui.app import make_app

    root = SCENARIOS["618-nodeflate-0512M"]
    with paused_qemu() as address:
        clock = FakeClock()
        source = HostSource(StepSource(root, clock), HostReader(address))

        async def go():
            app = make_app(root=str(root), interval=1.0, theme="dark", clock=clock, source=source,
                           process_source=None, hostname="guest-1", uptime=60.0,
                           source_label=" · with QMP")
            async with app.run_test(size=(140, 60)) as pilot:
                await _ready(pilot, app)
                return "\n".join(app.panes()[0].lines.texts)

        try:
            text = run(go())
        finally:
            source.close()  # what `balloontop --qmp` does when the app ends
    assert f"host (QMP {address}, QEMU " in text
    assert f"actual     {MEM_MIB}.0 MiB" in text  # the paused QEMU's -m 256
    assert "balloon    0 KiB   guest 512.0 MiB   diff -512.0 MiB" in text
    assert "QEMU key · guest · host got" in text
    assert "total-memory" in text and "host[/] -" in text  # nothing supplied by a paused guest
    assert "stats      polling off (--qmp-stats-interval S)" in text


def test_plain_balloontop_with_qmp_prints_the_report_when_piped():
    root = SCENARIOS["61-deflate-0512M"]
    with paused_qemu() as address:
        out = subprocess.run([sys.executable, "-m", "balloontop", "--root", str(root), "--qmp", address],
                             capture_output=True, text=True, timeout=60)
        demo = subprocess.run([sys.executable, "-m", "balloontop", "--demo", "--qmp", address],
                              capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"host (QMP {address}, QEMU " in out.stdout and "actual 256.0 MiB of 256.0 MiB RAM" in out.stdout
    assert demo.returncode == 2 and "--demo shows a simulated guest: not with --qmp" in demo.stderr
