"""Several guests in the real monitor: guests read through a real ``sh`` (the local machine
standing for a guest: ``--via sh --root CAPTURE``), one that cannot be started, and one whose
connection is killed mid-run. What the screen shows is read back."""

from __future__ import annotations

import argparse
import os
import signal
import shutil

import pytest

from balloontop.commands.monitor import _guests
from balloontop.targets import open_targets
from balloontop.tui.app import make_app

from .conftest import CAPTURES
from .test_as_user import screen_text, wait_for
from .test_pilot import run

ROOT = CAPTURES / "virtio-6.18-nodeflate" / "0512M"
pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")


def _app(*remote: tuple[str, str], size: tuple[int, int] = (120, 40)):  # type: ignore[no-untyped-def]
    args = argparse.Namespace(remote=list(remote), guest_names=[], ssh_options=[], root=str(ROOT),
                              connect_timeout=5.0, tick_timeout=5.0, qmp=None, qmp_stats_interval=None)
    targets = open_targets(args, str(ROOT), several=True)
    app = make_app(root=str(ROOT), interval=0.3, source=targets[0].source, process_source=None,
                   ascii_only=False, guests=_guests(targets, None))
    return app, targets


def test_each_guest_has_a_row_and_its_panes_and_an_unreachable_one_says_so() -> None:
    app, targets = _app(("via", "sh"), ("via", "exec sh"), ("via", "no-such-command-here"))

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: "unreachable, retrying" in screen_text(app)
                           and "exec sh balloon" in screen_text(app), timeout=30)
            text = screen_text(app)
            # one row per guest, the balloon first: the real 6.18 capture holds 512 MiB
            assert "▶ sh balloon 512.0 MiB exact · MemTotal 451.1 MiB" in text
            assert "  exec sh balloon 512.0 MiB exact" in text
            assert "  no-such-command-here unreachable, retrying" in text
            assert "sh · virtio balloon · virtio0" in text
            assert "guest 1/3 sh" in text
            # every guest's panes, in guest order (the column scrolls to the ones below)
            titles = [(p.key, p.title_text.plain) for p in app.panes()]
            assert titles == [("0:virtio_balloon:virtio0", "sh · virtio balloon · virtio0"),
                              ("1:virtio_balloon:virtio0", "exec sh · virtio balloon · virtio0"),
                              ("2:state", "no-such-command-here · not readable")]
            await pilot.press("greater_than_sign")
            await wait_for(pilot, lambda: "guest 2/3 exec sh" in screen_text(app))
            assert "▶ exec sh balloon 512.0 MiB" in screen_text(app)
            await pilot.press("greater_than_sign")
            await wait_for(pilot, lambda: "guest 3/3 no-such-command-here" in screen_text(app))
            assert "▶ no-such-command-here unreachable" in screen_text(app)
    try:
        run(go())
    finally:
        for target in targets:
            target.source.close()


def test_a_killed_connection_is_an_event_and_the_others_carry_on() -> None:
    app, targets = _app(("via", "sh"), ("via", "exec sh"))

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: "exec sh balloon 512.0 MiB" in screen_text(app), timeout=30)
            remote = targets[1].remote
            assert remote is not None and remote._connection is not None
            os.killpg(remote._connection.transport.pid, signal.SIGKILL)
            await wait_for(pilot, lambda: any(e.kind == "gap" for e in app.event_log), timeout=30)
            gap = next(e for e in app.event_log if e.kind == "gap")
            assert gap.guest == "exec sh" and "connection to exec sh lost" in gap.message
            await wait_for(pilot, lambda: any(e.kind == "reconnect" for e in app.event_log), timeout=30)
            assert "exec sh gap" in screen_text(app) and "exec sh reconnect" in screen_text(app)
            assert "▶ sh balloon 512.0 MiB" in screen_text(app)  # the other guest went on
    try:
        run(go())
    finally:
        for target in targets:
            target.source.close()


def test_at_80x24_only_the_focused_guests_panes_are_shown() -> None:
    app, targets = _app(("via", "sh"), ("via", "exec sh"), size=(80, 24))

    async def go() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: "exec sh balloon 512.0 MiB" in screen_text(app), timeout=30)
            keys = [p.key for p in app.panes()]
            assert keys == ["0:virtio_balloon:virtio0"]
            await pilot.press("greater_than_sign")
            await wait_for(pilot, lambda: [p.key for p in app.panes()] == ["1:virtio_balloon:virtio0"])
    try:
        run(go())
    finally:
        for target in targets:
            target.source.close()
