"""Text from the guest is data (issue 15.1): the real monitor shows names holding markup
characters and escape sequences literally, and keeps running.

A process that names itself ``[/x`` (prctl PR_SET_NAME) ended the monitor with Textual's
``MarkupError`` within seconds; so did ``x[/`` in the kernel log and a ``[`` in a capture's
host name or kernel release.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CAPTURES, FIXTURES, FakeClock, StepSource, StaticSource
from .test_as_user import screen_text, wait_for
from .test_pilot import _ready, run

CHILD = r"""
import ctypes, sys, time
name = sys.argv[1].encode()
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(15, ctypes.c_char_p(name), 0, 0, 0) != 0:  # PR_SET_NAME
    sys.exit(3)
hog = bytearray(64 * 1024 * 1024)  # some memory: an RSS of 64 MiB
for i in range(0, len(hog), 4096):
    hog[i] = 1
print("ready", flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_NAME) is Linux")
def test_a_process_named_like_markup_is_shown_literally(tmp_path):
    from balloontop.tui.app import make_app
    from balloontop.tui.processes import psutil_source

    name = "[/x"
    child = subprocess.Popen([sys.executable, "-c", CHILD, name], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert Path(f"/proc/{child.pid}/comm").read_text().strip() == name
        scan = psutil_source(limit=100_000)  # the real reader; the list keeps the child's row

        def ours():
            return [row for row in scan() if row.pid == child.pid]

        root = CAPTURES / "virtio-6.18-nodeflate" / "0512M"
        clock = FakeClock()

        async def go():
            app = make_app(root=str(root), clock=clock, source=StepSource(root, clock),
                           process_source=ours, process_interval=0.1, hostname="guest-1",
                           source_label=" · hostile", ascii_only=False, kernel_log=False)
            async with app.run_test(size=(120, 40)) as pilot:
                await _ready(pilot, app, ticks=3)
                await wait_for(pilot, lambda: str(child.pid) in screen_text(app))
                row = next(r for r in screen_text(app).split("\n") if str(child.pid) in r)
                assert f" {name} " in row, row
                assert app.is_running

        run(go())
    finally:
        child.kill()
        child.wait()


def _hostile_root(tmp_path: Path) -> Path:
    """The 6.18 capture with a kernel log whose OOM victim is ``x[/`` and a host name and
    kernel release holding ``[``, ``[/`` and an escape sequence that would retitle a terminal."""
    root = tmp_path / "0512M"
    shutil.copytree(CAPTURES / "virtio-6.18-nodeflate" / "0512M", root, symlinks=True)
    kernel = root / "proc" / "sys" / "kernel"
    for link in ("hostname", "osrelease"):
        if (kernel / link).is_symlink():
            (kernel / link).unlink()
    (kernel / "hostname").write_text("ho[st[/b]\x1b]0;pwned\x07x\n")
    (kernel / "osrelease").write_text("6.18[/x-\x1b[31mred\n")
    (root / "dev").mkdir(exist_ok=True)
    log = (FIXTURES / "kmsg" / "6.18-oom-kill" / "kmsg.txt").read_text()
    (root / "dev" / "kmsg").write_text(log.replace("hog", "x[/"))
    return root


def test_host_name_kernel_and_kernel_log_with_markup_are_shown_literally(tmp_path):
    from balloontop.tui.app import make_app
    from balloontop.tui.screens import KernelLogScreen

    root = _hostile_root(tmp_path)
    clock = FakeClock()

    async def go():
        app = make_app(root=str(root), clock=clock, source=StepSource(root, clock),
                       process_source=None, uptime=100.0, source_label=" · hostile",
                       ascii_only=False)
        async with app.run_test(size=(160, 40)) as pilot:
            await _ready(pilot, app)
            await wait_for(pilot, lambda: "OOM kill: x[/" in screen_text(app))
            header = screen_text(app).split("\n")[0]
            # literally, without the control characters (ESC and BEL never reach the terminal)
            assert "ho[st[/b]]0;pwnedx" in header, header
            assert "6.18[/x-[31mred" in header, header
            assert "\x1b" not in screen_text(app) and "\x07" not in screen_text(app)
            await pilot.press("k")
            await wait_for(pilot, lambda: isinstance(app.screen, KernelLogScreen))
            await pilot.pause(0.2)
            shown = screen_text(app)
            assert "x[/ invoked oom-killer" in shown
            await pilot.press("escape")
            await pilot.pause()
            assert app.is_running

    run(go())


def test_a_failed_reading_with_markup_in_its_message_is_a_notification(tmp_path):
    """The notification of a failed reading holds text from the guest (a file's content in
    the error): shown as text, the monitor carries on."""
    from balloontop.tui.app import make_app

    root = CAPTURES / "virtio-6.18-nodeflate" / "0512M"
    clock = FakeClock()
    inner = StepSource(root, clock)

    class Flaky(StaticSource):
        calls = 0

        def sample(self):
            self.calls += 1
            if self.calls == 2:
                raise ValueError("bad line in meminfo: 'Balloon: [/x \x1b]0;t\x07'")
            return inner.sample()

    async def go():
        app = make_app(root=str(root), clock=clock, source=Flaky(), process_source=None,
                       hostname="guest-1", source_label=" · flaky", ascii_only=False, interval=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: any("[/x" in str(n.message) for n in app._notifications))
            from textual.content import Content

            [notice] = [n for n in app._notifications if "[/x" in n.message]
            # what a toast draws (textual.widgets._toast.Toast.render): markup only if asked for
            shown = Content.from_markup(notice.message) if notice.markup else Content(notice.message)
            assert "Balloon: [/x" in shown.plain
            await _ready(pilot, app, ticks=3)  # later ticks still applied
            assert app.is_running

    run(go())
