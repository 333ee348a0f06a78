"""The monitor as a user finds it: the real app driven through a scenario, the screen read back.

Each test runs ``make_app`` (the CLI's factory) under ``run_test(size=...)`` and asserts on
the characters the terminal would show (the compositor's rows), not on widget state.
"""

from __future__ import annotations

import asyncio

from textual import events

from .conftest import FakeClock, StaticSource


def screen_text(app) -> str:
    """The rows the terminal shows, as text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for(pilot, condition, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


def event_rows(app) -> list[str]:
    """The rows of the screen inside the events pane's border."""
    log = app.query_one("#events")
    region = log.content_region
    rows = screen_text(app).split("\n")[region.y:region.y + region.height]
    return [row[region.x:region.x + region.width].rstrip() for row in rows]


def test_events_pane_shows_the_newest_event_and_scrolls_back_with_the_wheel():
    """Issue 14.1: the demo's nine events in a 5-row pane: the last one is on screen, the
    first ones are reached with the mouse wheel, and a new event does not pull a user who
    scrolled back to the end."""

    async def go():
        from balloontop.demo import DemoSource
        from balloontop.tui.app import make_app

        clock = FakeClock(step=0.0)
        demo = DemoSource("virtio", clock=clock, speed=1.0)

        class Fast(StaticSource):
            """The demo, each sample 3 simulated seconds after the last."""

            kind = "demo"

            def sample(self):
                clock.now += 3.0
                return demo.sample()

        try:
            app = make_app(source=Fast(), clock=clock, interval=0.2, process_source=None,
                           source_label=" · demo", ascii_only=False)
            async with app.run_test(size=(120, 40)) as pilot:
                log = app.query_one("#events")
                # the demo's cycle: inflates, low memory, deflate-on-OOM, an OOM kill, deflates
                await wait_for(pilot, lambda: len(log.lines) >= 9 and log.virtual_size.height
                               > log.content_region.height + 4, timeout=90)
                app.action_toggle_pause()  # the screen holds still while it is read
                await pilot.pause(0.3)
                rows = [r for r in event_rows(app) if r]
                last = log.lines[-1].text
                # the newest event is the last thing in the pane, its start in sight too
                assert last.endswith(rows[-1].strip()) and last[:17] in "\n".join(rows), (rows, last)
                assert "monitor started" not in "\n".join(rows)
                # the wheel over the pane goes back to the first events
                for _ in range(len(log.lines) * 2):
                    await pilot._post_mouse_events([events.MouseScrollUp], log, offset=(3, 2))
                rows = [r for r in event_rows(app) if r]
                assert "monitor started" in rows[0]
                assert last[:20] not in "\n".join(rows)
                # scrolled back on purpose: a new event does not pull the view to the end
                from balloontop.events import marker

                app._add_events([marker(clock(), "phase two")])
                await pilot.pause(0.1)
                assert "monitor started" in event_rows(app)[0]
                assert "phase two" not in screen_text(app)
                # back down with the wheel: the newest is shown and followed again
                for _ in range(len(log.lines) * 2):
                    await pilot._post_mouse_events([events.MouseScrollDown], log, offset=(3, 2))
                assert "phase two" in screen_text(app)
                app._add_events([marker(clock(), "phase three")])
                await pilot.pause(0.1)
                assert "phase three" in [r for r in event_rows(app) if r][-1]
        finally:
            demo.close()

    asyncio.run(go())


def _decoder_screen_facts(app) -> dict:
    """What a user sees of the feature decoder: where the panels are and what they say."""
    from balloontop.tui.feature_decoder import FeatureDecoderScreen

    screen = app.screen
    assert isinstance(screen, FeatureDecoderScreen)
    text = screen_text(app)
    rows = text.split("\n")
    return {
        "text": text,
        "keys": rows[-1],
        "regions": {name: tuple(screen.query_one(f"#{name}").region)
                    for name in ("fd-devices", "fd-bits", "fd-gridbox", "fd-detailbox")},
        "cursor": screen.grid.cursor,
    }


def test_feature_decoder_has_one_layout_from_the_monitor_and_alone():
    """Issue 14.2/14.3: ``f`` in the monitor and ``balloontop decode`` show the same
    screen: devices and the negotiated bits (names, meanings) beside the grid, the cursor on
    the first negotiated bit, the decoder's own keys (no "space Pause")."""
    from balloontop.rootfs import Root
    from balloontop.tui.feature_decoder import UNICODE_GLYPHS, FeatureDecoderApp
    from balloontop.virtio.devices import read_virtio_devices

    from .conftest import SCENARIOS, build_app
    from .test_pilot import _ready

    root = SCENARIOS["618-nodeflate-0512M"]

    async def from_monitor(size):
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=size) as pilot:
            await _ready(pilot, app)
            await pilot.press("f")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "FeatureDecoderScreen")
            await pilot.pause(0.2)
            facts = _decoder_screen_facts(app)
            await pilot.press("escape")  # the grid has the focus: back to the monitor
            await pilot.pause()
            assert type(app.screen).__name__ == "Screen" and app.is_running
            return facts

    async def alone(size):
        app = FeatureDecoderApp(read_virtio_devices(Root(str(root)), []), root=str(root),
                                glyphs=UNICODE_GLYPHS)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.2)
            return _decoder_screen_facts(app)

    for size in ((120, 40), (80, 24)):
        monitor, standalone = asyncio.run(from_monitor(size)), asyncio.run(alone(size))
        assert monitor["regions"] == standalone["regions"], size
        for facts in (monitor, standalone):
            text = facts["text"]
            devices, bits, grid, detail = (facts["regions"][k] for k in
                                           ("fd-devices", "fd-bits", "fd-gridbox", "fd-detailbox"))
            assert devices[0] < grid[0] and bits[0] < grid[0]  # the lists beside the grid
            assert bits[1] > devices[1] and detail[1] > grid[1]
            assert detail[3] >= 8, size  # the explanation keeps its lines at 80x24
            assert "negotiated bits: 5" in text
            for bit, name in ((1, "STATS_VQ"), (28, "INDIRECT_DESC"), (32, "VERSION_1")):
                assert f"{bit:>3} {name}" in text, (size, name)
            assert "Statistics virtqueue" in text  # a one-line meaning
            assert facts["cursor"] == 1 and "[■]" in text  # on the first negotiated bit
            assert "bit 1  VIRTIO_BALLOON_F_STATS_VQ" in text
            assert "What-if" in facts["keys"] and "Pause" not in facts["keys"]
            assert "virtio_ballo\n" not in text and "│ on " not in text


def test_palette_has_one_theme_and_its_screenshot_lands_without_a_downloads_folder(tmp_path, monkeypatch):
    """Issue 14.7: two "Theme" entries in the command palette; Screenshot failed when
    ~/Downloads did not exist. Now one Theme, and the screenshot goes to the current
    directory, the notification saying where."""
    from .conftest import build_app
    from .test_pilot import _ready

    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.chdir(work)

    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert titles.count("Theme") == 1 and "Screenshot" in titles
            await pilot.press("ctrl+p")
            await pilot.pause(0.3)
            await pilot.press(*"theme")
            await pilot.pause(0.5)
            hits = [row.strip() for row in screen_text(app).split("\n")[:-1] if "Theme" in row]
            assert hits == ["Theme", "Theme (key t)"], hits  # one entry: its title and its help
            await pilot.press("escape")
            await pilot.pause(0.2)
            await pilot.press("ctrl+p")
            await pilot.pause(0.3)
            await pilot.press(*"screenshot")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await wait_for(pilot, lambda: list(work.glob("*.svg")), timeout=10)
            # the notification names where it went
            await wait_for(pilot, lambda: any(str(work) in n.message for n in app._notifications), timeout=5)
        assert not (home / "Downloads").exists()
        [svg] = work.glob("*.svg")
        assert svg.read_text().startswith("<svg")

    asyncio.run(go())


def _demo_screen(scenario: str, size=(120, 70), seconds: float = 66.0) -> tuple[str, list[str]]:
    """The monitor over a demo guest, ``seconds`` of simulated time in 3 s samples: the
    screen's text and the driver pane's rows."""
    from balloontop.demo import DemoSource
    from balloontop.tui.app import make_app

    clock = FakeClock(step=0.0)
    demo = DemoSource(scenario, clock=clock)

    class Fast(StaticSource):
        kind = "demo"

        def sample(self):
            clock.now += 3.0
            return demo.sample()

    async def go():
        app = make_app(source=Fast(), clock=clock, interval=0.2, process_source=None,
                       source_label=" · demo", ascii_only=False)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: demo.sim_time >= seconds, timeout=60)
            app.action_toggle_pause()
            await pilot.pause(0.3)
            return screen_text(app), app.panes()[0].lines.texts

    try:
        return asyncio.run(go())
    finally:
        demo.close()


def test_hyperv_vmware_and_xen_panes_keep_labels_apart_from_values():
    """Issue 14.7: ``total_pages_committed49,096 pages``, ``batchUnlock_failed0``,
    ``max_schedule_delay50 s``; and VMware's ``Balloon`` row beside hundreds of MiB
    ballooned says why it is smaller."""
    import re

    for scenario, names in (("hv", ("total_pages_committed", "max_dynamic_page_count")),
                            ("vmw", ("batchUnlock_failed", "balloon_capabilities")),
                            ("xen", ("max_schedule_delay",))):
        text, rows = _demo_screen(scenario)
        for name in names:
            [row] = [r for r in text.split("\n") if f" {name} " in r or f" {name}\u2026" in r]
            assert re.search(rf" {name}  +\S", row), row  # two spaces or more, then the value
        for row in rows:  # every "  label  value" row: two spaces at least after the label
            match = re.match(r"^  (\S+)( +)\S", row)
            assert match is None or len(match.group(2)) >= 2, row
        if scenario == "vmw":
            [row] = [r for r in text.split("\n") if "│   Balloon " in r]
            assert "(4 KiB pages only)" in row  # the warning row says the 2 MiB pages are missing
            assert "2 MiB pages" in "\n".join(rows)  # at the end of the pane (scrolled to)
        header = text.split("\n")[0]
        assert re.search(r" · up \d+m ", header), header  # minutes with a unit, not 00:01
        assert " LIVE " in header or " PAUSED " in header


def test_a_capture_says_static_approximate_and_the_graph_says_one_state():
    """A ``--root`` folder is not LIVE; 6.1's vmstat size is "approximate" (as snapshot says);
    the graph title names one state, never "at rest · inflating"."""
    from balloontop.tui import model_view as mv

    from .conftest import build_app
    from .test_pilot import _ready

    async def go():
        app = build_app("61-deflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            text = screen_text(app)
            header = text.split("\n")[0]
            assert "STATIC" in header and "LIVE" not in header
            assert " up 3d 4h12m " in header
            assert "approximate" in text and "estimated" not in text
            assert "at rest · inflat" not in text

    asyncio.run(go())
    assert mv.graph_state(0.0, "inflate") == "inflating"
    assert mv.graph_state(None, "deflate") == "deflating"
    assert mv.graph_state(12.5, "inflate") == "+12.5 MiB/s"
    assert mv.graph_state(0.0, None) == "at rest"
    assert [mv.fmt_uptime(s) for s in (59, 26 * 60, 4 * 3600 + 12 * 60, 86400 + 60, None)] == [
        "0m", "26m", "4h12m", "1d 0h01m", "?"]


def test_small_terminals_keep_values_commands_summary_and_keys():
    """Issue 14.4 at 80x24, 70x20 and 60x15: the host's values are not cut to an ellipsis,
    the process list's commands stay whole, the summary and the keys are not cut; under 80
    columns one scrolling column; the events get more rows than "no processes"."""
    from .conftest import build_app, fake_processes
    from .test_pilot import _ready

    async def look(size, processes=None):
        app = build_app("618-nodeflate-0512M", processes=processes)
        async with app.run_test(size=size) as pilot:
            await _ready(pilot, app)
            await pilot.pause(0.2)
            regions = {name: app.query_one(f"#{name}").region for name in ("panes", "graph", "events", "procs")}
            return screen_text(app), regions, app.panes()[0].lines.texts

    text, regions, rows = asyncio.run(look((80, 24), fake_processes))
    screen = text.split("\n")
    host = rows[rows.index(next(r for r in rows if r.startswith("[b $primary]sent to the host"))) + 1:]
    assert host and all(len(r) <= 36 for r in host)  # the pane's width at 80 columns: no ellipsis
    shown = [r for r in screen if "│   swap-in " in r or "│   swap-out " in r]
    assert shown and all("…" not in r.split("│")[1] for r in shown) and "0 KiB" in shown[0]
    for command in ("stress-ng-vm", "systemd", "sshd"):
        assert any(f" {command} " in r for r in screen), command
    summary = screen[1:4]
    assert "Ballooned 512.0 MiB" in summary[0] and "…" not in "".join(summary)
    assert "MemAvailable 346.3 MiB" in "".join(summary)
    assert regions["graph"].x == regions["events"].x > regions["panes"].x  # two columns at 80

    text, regions, _ = asyncio.run(look((70, 20)))
    assert regions["graph"].y > regions["panes"].y and regions["graph"].x == regions["panes"].x  # one column

    text, regions, _ = asyncio.run(look((60, 15)))
    screen = text.split("\n")
    assert "Ballooned 512.0 MiB" in screen[1]
    assert any("ballooned    512.0 MiB" in r for r in screen)  # the pane's figure in sight
    for key in ("q", "space", "g", "f", "m", "k", "t", "?"):
        assert f" {key} " in screen[-1]

    for size in ((120, 40), (80, 24)):
        _, regions, _ = asyncio.run(look(size))  # a capture: "no processes"
        assert regions["events"].height > regions["procs"].height, size
