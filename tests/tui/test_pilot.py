"""Pilot tests: every key of the monitor, on real captures, with everything injected."""

from __future__ import annotations

import pytest

from .conftest import build_app, fake_processes

pytestmark = pytest.mark.asyncio if False else []


async def _ready(pilot, app, ticks: int = 1):
    """Until ``ticks`` polls are applied with their graph and processes, and laid out."""
    for _ in range(200):
        if (app.tick_count >= ticks and len(app.poll_ms) >= ticks and not app._polling
                and app.query_one("#graph").row_count):
            await pilot.pause()  # the layout of what the last tick mounted
            return
        await pilot.pause(0.05)
    raise AssertionError("monitor never showed a sample")


def run(coro):
    import asyncio

    return asyncio.run(coro)


def test_panes_and_figures_on_a_618_capture():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            panes = app.panes()
            assert [p.key for p in panes] == ["virtio_balloon:virtio0"]
            text = "\n".join(panes[0].lines.texts)
            assert "512.0 MiB" in text
            assert "stat-available-memory"[5:] in text and "usable" in text
            summary = "\n".join(app.query_one("#summary").texts)
            assert "removed from MemTotal" in summary
            assert "no processes: not the live system" in "\n".join(app.query_one("#procs").texts)
            assert "guest-1" in app.query_one("#title").markup_text
    run(go())


def test_deflate_on_oom_capture_says_used():
    async def go():
        app = build_app("61-deflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            summary = "\n".join(app.query_one("#summary").texts)
            assert "stays in MemTotal and shows as used" in summary
            assert "DEFLATE_ON_OOM negotiated" in summary
    run(go())


def test_no_balloon_points_to_demo():
    async def go():
        app = build_app("no-balloon")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            panes = app.panes()
            assert len(panes) == 1 and panes[0].key == "none"
            assert "balloontop --demo" in "\n".join(panes[0].lines.texts)
    run(go())


def test_unknown_bit_marked_on_devguest():
    async def go():
        app = build_app("devguest-idle")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            assert "7 unknown" in "\n".join(app.panes()[0].lines.texts)
    run(go())


def test_pause_and_resume_with_space_and_p():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("space")
            assert app.paused and "PAUSED" in app.query_one("#title").markup_text
            calls = app.source.calls
            await pilot.pause(1.5)
            assert app.source.calls == calls  # no poll while paused
            await pilot.press("p")
            assert not app.paused
            await pilot.pause(0.3)
            assert app.source.calls > calls
    run(go())


def test_plus_minus_change_interval_with_floor():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("plus")
            assert app.interval == 2.0
            for _ in range(8):
                await pilot.press("minus")
            assert app.interval == pytest.approx(0.2)
            assert "0.2 s" in app.query_one("#title").markup_text
    run(go())


def test_tab_and_number_keys_focus_panes():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("1")
            assert app.focused is app.panes()[0]
            await pilot.press("tab")
            assert app.focused is app.panes()[0]  # one pane: tab wraps to it
            await pilot.press("5")  # no pane 5: a notification, focus kept
            assert app.focused is app.panes()[0]
    run(go())


def test_g_cycles_graph_window():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            assert "-60s" in app.query_one("#graph").text
            await pilot.press("g")
            await pilot.pause(1.5)
            assert app.window_index == 1
            assert "-10m" in app.query_one("#graph").text
            await pilot.press("g", "g")
            assert app.window_index == 0
    run(go())


def test_f_opens_feature_decoder_on_focused_device_and_escape_closes():
    async def go():
        from balloontop.tui.feature_decoder import FeatureDecoderScreen

        app = build_app("devguest-idle")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("f")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, FeatureDecoderScreen)
            _, _, instance = app.panes()[0].key.partition(":")
            assert screen.device is not None and screen.device.instance == instance
            assert screen.device.device_id == 5
            await pilot.press("escape")
            assert not isinstance(app.screen, FeatureDecoderScreen)
    run(go())


def test_t_cycles_themes():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            seen = [app.theme]
            for _ in range(3):
                await pilot.press("t")
                seen.append(app.theme)
            assert seen == ["dark", "light", "monochrome", "dark"]
    run(go())


def test_question_mark_opens_help_listing_every_key():
    async def go():
        from balloontop.tui.screens import HelpScreen

        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            body = str(app.screen.query_one("#help-body Static").render())
            for word in ("quit", "pause", "interval", "pane", "graph window", "feature", "theme"):
                assert word in body
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)
    run(go())


def test_q_quits():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("q")
            await pilot.pause(0.1)
            assert not app.is_running
    run(go())


def test_bindings_are_in_the_command_palette():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            titles = [c.title for c in app.get_system_commands(app.screen)]
            for title in ("Pause", "Graph", "Features", "Theme", "Help"):
                assert title in titles
    run(go())


def test_process_list_from_injected_source():
    async def go():
        app = build_app("618-nodeflate-0512M", processes=fake_processes)
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            procs = "\n".join(app.query_one("#procs").texts)
            assert "stress-ng-vm" in procs and "793M" in procs
            assert "USER" in procs.splitlines()[0]  # the local list knows each owner
    run(go())


def test_bad_user_theme_is_a_notification(tmp_path):
    (tmp_path / "broken.toml").write_text("name = \n")
    (tmp_path / "ocean.toml").write_text('[colors]\nprimary = "#0000ff"\n')

    async def go():
        app = build_app("618-nodeflate-0512M", user_theme_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            messages = [n.message for n in app._notifications]
            assert any("broken.toml" in m for m in messages)
            assert "ocean" in app.theme_names
    run(go())


def test_80x24_shows_every_part():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(80, 24)) as pilot:
            await _ready(pilot, app)
            for selector in ("#title", "#clock", "#summary", "#graph", "#events", "#procs"):
                region = app.query_one(selector).region
                assert region.height >= 1 and region.width >= 10, selector
            assert app.panes()[0].region.height >= 5
    run(go())


def test_ui_thread_time_per_tick_is_small():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app, ticks=4)
            assert app.ui_ms and app.query_one("#graph").row_count
    run(go())


def test_footer_lists_the_keys_and_a_click_runs_one():
    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            keys = app.query_one("#keys")
            line = keys.line(keys.size.width).plain
            for shown in (" q Quit ", " space Pause ", " g Graph ", " ? Help ", "^p palette"):
                assert shown in line
            assert "Step" not in line  # replay keys: not in the live monitor
            assert line.rstrip().endswith("^p palette")
            before = app.theme
            await pilot.click("#keys", offset=(line.index(" t Theme") + 1, 0))
            await pilot.pause()
            assert app.theme != before
    run(go())


def test_footer_keeps_every_key_and_the_palette_key_at_80_and_60_columns():
    """Issue 14.4: at 80 columns the key bar was cut after "m Ma"; now the descriptions
    shorten, every key stays (the palette's key at the right end)."""
    async def go():
        for size, words in (((80, 24), ("q Quit", "space Pause", "m Mark", "k Log", "t Theme")),
                            ((60, 15), ())):
            app = build_app("618-nodeflate-0512M")
            async with app.run_test(size=size) as pilot:
                await _ready(pilot, app)
                row = "\n".join(s.text for s in app.screen._compositor.render_strips()).split("\n")[-1]
                assert row.rstrip().endswith("^p"), row
                for key in ("q", "space", "+", "-", "g", "f", "m", "k", "t", "?"):
                    assert f" {key} " in row, (key, row)
                for word in words:
                    assert word in row, (word, row)
    run(go())


def test_graph_at_rest_is_checked_every_rest_period_not_every_tick():
    from dataclasses import replace

    from balloontop.tui.app import GRAPH_REST_S

    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("space")  # paused: the test drives the graph itself
            sample = app.last_sample
            app.detector = type(app.detector)()  # no episode open: at rest
            poller = app.poller
            rate = [0.0]
            app.monitor.history.rate_mib_s = lambda name="balloon_kib": rate[0]
            size = poller.graph_size
            poller.graph(sample, size, 60, True)  # drawn: checked now
            checked = poller.graph_checked_at
            frame, _ = poller.graph(replace(sample, time=sample.time + GRAPH_REST_S / 2), size, 60, False)
            assert frame is None and poller.graph_checked_at == checked  # at rest: not even looked at
            frame, _ = poller.graph(replace(sample, time=sample.time + GRAPH_REST_S), size, 60, False)
            assert poller.graph_checked_at == sample.time + GRAPH_REST_S  # due: the picture is checked
            rate[0] = 12.8  # moving: checked on every tick
            poller.graph(replace(sample, time=sample.time + GRAPH_REST_S + 1), size, 60, False)
            assert poller.graph_checked_at == sample.time + GRAPH_REST_S + 1
    run(go())
