"""Pilot tests of the interactive feature decoder (issue 4), on real captures and one fixture.

No pytest-asyncio here: each test runs its coroutine with ``asyncio.run``. Glyphs are
injected (``UNICODE_GLYPHS``/``ASCII_GLYPHS``) so the result does not depend on the locale
the tests run under.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Input, OptionList, Static

from balloontop.rootfs import Root
from balloontop.tui.feature_decoder import (
    ASCII_GLYPHS,
    PASTED,
    UNICODE_GLYPHS,
    BitGrid,
    FeatureDecoderApp,
    FeatureDecoderScreen,
    Glyphs,
    explain,
    pasted_device,
    whatif_effects,
)
from balloontop.virtio.devices import read_virtio_devices

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEVGUEST = FIXTURES / "captures" / "devguest-6.18" / "idle"
DEBUG_FEATURES = FIXTURES / "synthetic" / "virtio-debug-features"
DEVGUEST_BALLOON = (
    "0110010100000000000000000000000010000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
)


def devices(path: Path):
    return read_virtio_devices(Root(str(path)), [])


def make_app(path: Path = DEVGUEST, **kwargs) -> FeatureDecoderApp:
    kwargs.setdefault("glyphs", UNICODE_GLYPHS)
    # The label, not the absolute path: the snapshot must not depend on the checkout's place.
    label = str(path.relative_to(FIXTURES.parents[1]))
    return FeatureDecoderApp(devices(path), root=label, **kwargs)


def run(coro):
    return asyncio.run(coro)


def detail(app) -> str:
    return str(app.screen.query_one("#fd-detail", Static).render())


def grid(app) -> BitGrid:
    return app.screen.query_one(BitGrid)


def error(app) -> str:
    return str(app.screen.query_one("#fd-error", Static).render())


async def paste(pilot, app, features: str, device: str = "") -> None:
    """Type into the two fields as a user would (``/`` focuses the features field)."""
    await pilot.press("slash")
    app.screen.query_one("#fd-device", Input).value = device
    field = app.screen.query_one("#fd-features", Input)
    assert app.focused is field
    field.value = ""
    if len(features) < 40:
        await pilot.press(*features)
    else:  # a paste: the whole string arrives at once
        field.value = features
    await pilot.press("enter")
    await pilot.pause()


# --- pure helpers ------------------------------------------------------------------------


def test_glyphs_follow_the_locale():
    assert Glyphs.for_terminal("utf-8", {"LANG": "en_US.UTF-8"}) is UNICODE_GLYPHS
    assert Glyphs.for_terminal("UTF-8", {"LC_ALL": "C.utf8", "LANG": "C"}) is UNICODE_GLYPHS
    assert Glyphs.for_terminal("utf-8", {"LANG": "C"}) is ASCII_GLYPHS
    assert Glyphs.for_terminal("ascii", {"LANG": "en_US.UTF-8"}) is ASCII_GLYPHS
    assert Glyphs.for_terminal("utf-8", {}) is ASCII_GLYPHS
    for g in (ASCII_GLYPHS,):
        assert all(ch.isascii() for ch in (g.set, g.unknown, g.unset, g.offered, g.added, g.removed))
    # Every state has its own glyph: the grid reads the same without colour.
    for g in (ASCII_GLYPHS, UNICODE_GLYPHS):
        states = (g.set, g.unknown, g.unset, g.offered, g.added, g.removed)
        assert len(set(states)) == len(states)


def test_pasted_device_forms_and_errors():
    d = pasted_device(DEVGUEST_BALLOON, "balloon")
    assert d.instance == PASTED and d.device_id == 5 and d.type == "balloon"
    assert d.features.bits == (1, 2, 5, 7, 32) and d.features.width == 128
    assert d.features.unknown_bits == (7,)
    hexed = pasted_device("0x100000006", "5")
    assert hexed.features.bits == (1, 2, 32) and hexed.features.width == 64
    listed = pasted_device("1, 2, 70", "net")
    assert listed.features.bits == (1, 2, 70) and listed.features.width == 128
    for bad, dev in (("0120", ""), ("0xZZ", ""), ("1,200", ""), ("1,2", "toaster"), ("  ", "")):
        try:
            pasted_device(bad, dev)
        except ValueError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"{bad!r} {dev!r} decoded")


def test_whatif_effects_for_a_balloon():
    balloon = next(d for d in devices(DEVGUEST) if d.device_id == 5)
    bits = set(balloon.features.bits)
    assert whatif_effects(balloon, bits) == []
    [line] = whatif_effects(balloon, bits - {2})
    assert "accounting would change from used to total" in line
    [line] = whatif_effects(balloon, bits - {1})
    assert "would not receive memory statistics" in line
    [line] = whatif_effects(balloon, bits - {5})
    assert "no free page reporting" in line
    [line] = whatif_effects(balloon, bits | {3})
    assert "free page hinting" in line


def test_explain_offered_not_negotiated():
    balloon = next(d for d in devices(DEBUG_FEATURES) if d.device_id == 5)
    assert balloon.offered_bits == (1, 4, 28, 29, 32, 40)
    text = explain(balloon, 4)
    assert "VIRTIO_BALLOON_F_PAGE_POISON" in text and "offered by the device, not negotiated" in text
    assert "offered by the device: yes" in explain(balloon, 1)


# --- Pilot ---------------------------------------------------------------------------------


def test_navigation_moves_the_cursor_and_the_detail_follows():
    async def go():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, FeatureDecoderScreen)
            assert app.screen.device.instance == "virtio0"  # the balloon is selected first
            assert grid(app).per_row == 32
            assert grid(app).cursor == 1  # the first negotiated bit, not bit 0 (not set)
            assert "VIRTIO_BALLOON_F_STATS_VQ" in detail(app)
            await pilot.press("home")
            assert grid(app).cursor == 0
            assert "VIRTIO_BALLOON_F_MUST_TELL_HOST" in detail(app)
            await pilot.press("right", "right")
            assert grid(app).cursor == 2
            assert "VIRTIO_BALLOON_F_DEFLATE_ON_OOM" in detail(app)
            assert "SET" in detail(app)
            await pilot.press("l", "l", "l", "l", "l")
            assert grid(app).cursor == 7
            text = detail(app)
            assert "UNKNOWN" in text and "device-specific (0-23)" in text
            await pilot.press("j")  # one row of 32 down
            assert grid(app).cursor == 39
            await pilot.press("k", "h", "h")
            assert grid(app).cursor == 5
            assert "VIRTIO_BALLOON_F_REPORTING" in detail(app)
            await pilot.press("down")
            assert grid(app).cursor == 37
            await pilot.press("left", "left", "left", "left", "left")
            assert grid(app).cursor == 32
            assert "VIRTIO_F_VERSION_1" in detail(app)
            await pilot.press("up")
            assert grid(app).cursor == 0
            await pilot.press("up")  # no row above: stays
            assert grid(app).cursor == 0
            await pilot.press("left")  # wraps to the last bit
            assert grid(app).cursor == 127

    run(go())


def test_device_list_selects_another_device():
    async def go():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            listing = app.screen.query_one("#fd-devices", OptionList)
            await pilot.press("shift+tab")  # grid -> the negotiated bits
            await pilot.pause()
            assert app.focused is app.screen.query_one("#fd-bits", OptionList)
            await pilot.press("shift+tab")  # -> the device list (the first panel)
            await pilot.pause()
            assert app.focused is listing
            await pilot.press("down", "down")  # virtio2: net
            await pilot.pause()
            assert app.screen.device.instance == "virtio2"
            await pilot.press("enter")  # back to the grid
            await pilot.pause()
            assert app.focused is grid(app)
            assert "VIRTIO_NET_F_CSUM" in detail(app)

    run(go())


def test_paste_the_devguest_string_as_a_balloon():
    async def go():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await paste(pilot, app, DEVGUEST_BALLOON, "balloon")
            assert error(app) == ""
            screen = app.screen
            assert screen.device.instance == PASTED
            assert screen.device.features.bits == (1, 2, 5, 7, 32)
            assert app.focused is grid(app)
            assert grid(app).cells == 128
            options = screen.query_one("#fd-devices", OptionList)
            assert options.option_count == 6 and options.highlighted == 5
            await pilot.press("home", "right", "right")
            assert "VIRTIO_BALLOON_F_DEFLATE_ON_OOM" in detail(app)
            await pilot.press(*["l"] * 5)
            assert grid(app).glyph(7) == (UNICODE_GLYPHS.unknown, "bitgrid--unknown")
            assert "UNKNOWN" in detail(app)

    run(go())


def test_paste_hex_and_a_bad_string():
    async def go():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await paste(pilot, app, "0x100000006", "5")
            assert app.screen.device.features.bits == (1, 2, 32)
            assert grid(app).cells == 64
            await paste(pilot, app, "01x0", "balloon")
            text = error(app)
            assert text.startswith("Not decoded:") and "'01x0'" in text
            assert app.screen.device.features.bits == (1, 2, 32)  # the last good value stays
            await paste(pilot, app, "1,2", "toaster")
            assert "unknown virtio device 'toaster'" in error(app)
            await paste(pilot, app, "1,2", "")
            assert error(app) == ""
            assert app.screen.device.device_id is None
            await pilot.press("right")
            assert "depends on the device type" in detail(app)

    run(go())


def test_whatif_toggle_deflate_on_oom_and_reset():
    async def go():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("home", "right", "right", "space")
            text = detail(app)
            assert "accounting would change from used to total" in text
            assert grid(app).glyph(2) == (UNICODE_GLYPHS.removed, "bitgrid--removed")
            await pilot.press("left", "x")  # bit 1 STATS_VQ off as well
            text = detail(app)
            assert "would not receive memory statistics" in text
            assert "accounting would change from used to total" in text
            await pilot.press("r")
            assert "accounting would change" not in detail(app)
            assert grid(app).glyph(2) == (UNICODE_GLYPHS.set, "bitgrid--set")
            await pilot.press("right", "right", "right", "space")  # bit 4 on
            assert "bit 4 PAGE_POISON turned on" in detail(app)
            assert grid(app).glyph(4) == (UNICODE_GLYPHS.added, "bitgrid--added")

    run(go())


def test_whatif_on_a_nodeflate_balloon_goes_from_total_to_used():
    async def go():
        app = make_app(DEBUG_FEATURES)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("home", "l", "l", "space")
            assert "accounting would change from total to used" in detail(app)

    run(go())


def test_offered_but_not_negotiated_on_the_debugfs_fixture():
    async def go():
        app = make_app(DEBUG_FEATURES, selected="virtio0")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            g = grid(app)
            assert g.glyph(4) == (UNICODE_GLYPHS.offered, "bitgrid--offered")
            assert g.glyph(1) == (UNICODE_GLYPHS.set, "bitgrid--set")
            assert g.glyph(2) == (UNICODE_GLYPHS.unset, "bitgrid--unset")
            await pilot.press("home", "right", "right", "right", "right")
            text = detail(app)
            assert "VIRTIO_BALLOON_F_PAGE_POISON" in text and "offered by the device, not negotiated" in text
            assert "1 offered only" in app.screen.query_one("#fd-gridbox").border_title

    run(go())


def test_devguest_balloon_bit_7_unknown():
    async def go():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert screen.device.features.unknown_bits == (7,)
            assert "1 unknown" in screen.query_one("#fd-gridbox").border_title
            assert grid(app).glyph(7)[0] == "?"
            await pilot.press("home")
            for _ in range(7):
                await pilot.press("l")
            assert "not defined by Linux or the virtio spec" in detail(app)

    run(go())


def test_80x24_ascii_and_escape():
    async def go():
        app = make_app(glyphs=ASCII_GLYPHS)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert screen.has_class("-short") and screen.has_class("-narrow")
            g = grid(app)
            assert g.per_row == 16
            assert g.region.bottom <= 12  # 8 rows of 16 and a ruler, inside its border
            box = screen.query_one("#fd-detailbox")
            assert box.region.height >= 8
            assert box.region.bottom <= 23  # above the footer
            rendered = str(g.render())
            assert rendered.isascii()
            assert " 112 " in rendered or "112 " in rendered
            await pilot.press("home", "right", "right", "space")
            assert "accounting would change from used to total" in detail(app)
            await pilot.press("i")
            assert isinstance(app.focused, Input)
            await pilot.press("escape")  # leaves the field, does not close
            assert app.focused is g
            await pilot.press("escape")  # alone, esc never ends the program (issue 14.5)
            await pilot.pause()
            assert app.is_running and app.focused is g
            await pilot.press("q")
            await pilot.pause()
        assert app.return_code == 0

    run(go())


def test_no_devices_still_decodes_a_paste():
    async def go():
        app = FeatureDecoderApp([], root="/nowhere", glyphs=ASCII_GLYPHS)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "No virtio devices" in detail(app)
            await pilot.press("space", "r")  # nothing to toggle: no crash
            await paste(pilot, app, "1,2,32", "balloon")
            assert app.screen.device.instance == PASTED
            assert "VIRTIO_BALLOON_F_STATS_VQ" in detail(app)  # the first bit of the paste
            await pilot.press("right")
            assert "VIRTIO_BALLOON_F_DEFLATE_ON_OOM" in detail(app)

    run(go())


def test_pushed_screen_dismisses_back_to_its_app():
    from textual.app import App

    class Host(App):
        def on_mount(self):
            self.push_screen(FeatureDecoderScreen(devices(DEVGUEST), selected="virtio1", glyphs=ASCII_GLYPHS))

    async def go():
        app = Host()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, FeatureDecoderScreen)
            assert app.screen.device.instance == "virtio1"
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, FeatureDecoderScreen)
            assert app.is_running

    run(go())


def test_snapshot_of_the_grid(snap_compare):
    """The devguest balloon at 120x40 with the cursor on bit 7 and bit 2 toggled off."""
    app = make_app()
    assert snap_compare(app, terminal_size=(120, 40), press=["home", "l", "l", "space", *["l"] * 5])


def test_click_on_a_cell_moves_the_cursor_and_hex_is_shown():
    async def go():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            g = grid(app)
            assert app.screen.query_one("#fd-gridbox").border_subtitle == "0x1000000a6"
            assert g.bit_at(BitGrid.glyph_x(5), 1) == 5
            assert g.bit_at(BitGrid.glyph_x(8), 2) == 40
            assert g.bit_at(1, 1) is None and g.bit_at(BitGrid.glyph_x(0), 0) is None
            await pilot.click(BitGrid, offset=(BitGrid.glyph_x(2), 1))
            assert g.cursor == 2
            assert "VIRTIO_BALLOON_F_DEFLATE_ON_OOM" in detail(app)
            await pilot.click(BitGrid, offset=(BitGrid.glyph_x(0), 2))
            assert g.cursor == 32

    run(go())


def test_decode_command_opens_the_decoder_on_a_terminal(monkeypatch):
    """``balloontop decode`` alone: the app on a terminal, the one-line usage error otherwise."""
    import sys

    from balloontop import cli

    opened = []
    monkeypatch.setattr(FeatureDecoderApp, "run", lambda self: opened.append(self))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.main(["decode", "--root", str(DEVGUEST), "--device", "net"]) == 0
    [app] = opened
    devices_, selected, root, _glyphs, device = app._screen_args
    assert [d.instance for d in devices_] == ["virtio0", "virtio1", "virtio2", "virtio3", "virtio4"]
    assert root == str(DEVGUEST) and device == "net" and selected is None
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert cli.main(["decode", "--root", str(DEVGUEST)]) == 2
    assert len(opened) == 1


def test_whatif_without_features_or_device_type_says_so():
    from dataclasses import replace

    balloon = next(d for d in devices(DEVGUEST) if d.device_id == 5)
    unreadable = replace(balloon, features=None)
    [line] = whatif_effects(unreadable, {2})
    assert "accounting would be used (today unknown" in line
    untyped = pasted_device("1,2", "")
    [line] = whatif_effects(untyped, {1})
    assert "depends on the device type" in line
