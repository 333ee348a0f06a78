"""The monitor with ``--qmp``: the host's figures in the balloon's pane (a real, paused QEMU:
tests/paused_qemu.py), and the plain ``balloontop --qmp`` report when stdout is no terminal."""

from __future__ import annotations

import subprocess
import sys

from tests.paused_qemu import MEM_MIB, paused_qemu

from .conftest import SCENARIOS, FakeClock, StepSource
from .test_pilot import _ready, run


def _with_host(address: str, size: tuple[int, int], look, ticks: int = 1):
    """The monitor on a real capture with ``--qmp address`` at ``size``: ``look(app)`` once
    ``ticks`` polls are on screen."""
    from balloontop.host.reader import HostReader
    from balloontop.host.source import HostSource
    from balloontop.tui.app import make_app

    root = SCENARIOS["618-nodeflate-0512M"]
    clock = FakeClock()
    source = HostSource(StepSource(root, clock), HostReader(address))

    async def go():
        app = make_app(root=str(root), interval=1.0, theme="dark", clock=clock, source=source,
                       process_source=None, hostname="guest-1", uptime=60.0,
                       source_label=" · with QMP")
        async with app.run_test(size=size) as pilot:
            await _ready(pilot, app, ticks)
            return look(app)

    try:
        return run(go())
    finally:
        source.close()  # what `balloontop --qmp` does when the app ends


def test_the_pane_shows_the_hosts_figures():
    with paused_qemu() as address:
        text = _with_host(address, (140, 60), lambda app: "\n".join(app.panes()[0].lines.texts))
    assert f"host (QMP {address}, QEMU " in text
    assert f"actual     {MEM_MIB}.0 MiB" in text  # the paused QEMU's -m 256
    assert "balloon    0 KiB   guest 512.0 MiB   diff -512.0 MiB" in text
    assert "QEMU key · guest · host got" in text
    assert "total-memory" in text and "host[/] -" in text  # nothing supplied by a paused guest
    assert "stats      polling off (--qmp-stats-interval S)" in text


def _graph_on_screen(app) -> tuple[str, str, set[str]]:
    """The graph's border title (markup), its top border as shown, and the characters drawn
    in the theme's host colour inside it."""
    from textual.color import Color

    graph = app.query_one("#graph")
    region = graph.region
    host_rgb = Color.parse(app.theme_variables["host-graph"]).rgb
    strips = app.screen._compositor.render_strips()
    cut = [strip.crop(region.x, region.right) for strip in strips[region.y:region.bottom]]
    in_host = {seg.text for strip in cut[1:-1] for seg in strip
               if seg.style is not None and seg.style.color is not None
               and seg.style.color.get_truecolor() == host_rgb}
    return graph.border_title, cut[0].text, in_host


def test_the_graph_draws_the_hosts_balloon_and_names_it():
    """``--qmp``: the graph's legend names the host and its line is drawn in the host colour
    (the paused QEMU's balloon: RAM - actual = 0, under the guest's 512 MiB); the legend fits
    the graph's border whole at 120 and at 80 columns (the title's form for each width). The
    same capture without a host: no host legend (nor in the SVG snapshots)."""
    with paused_qemu() as address:
        wide = _with_host(address, (120, 40), _graph_on_screen, ticks=2)
        narrow = _with_host(address, (80, 24), _graph_on_screen, ticks=2)
    for title, top, _in_host in (wide, narrow):
        assert "[$host-graph]■[/$host-graph] host" in str(title)
        assert "■ balloon ■ host" in top and "■ total ■ avail" in top and "…" not in top, top
    # At 80x24 the host's 0 shares the bottom row with MemAvailable's low end (drawn later).
    assert any(0x2800 <= ord(c) < 0x2900 for text in wide[2] for c in text), wide[2]
    assert "available▸ · at rest" in wide[1] and narrow[1].rstrip(" ─╮").endswith("■ avail▸")

    from .conftest import build_app

    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app, 2)
            return _graph_on_screen(app)

    title, top, in_host = run(go())
    assert "host" not in str(title) and "host" not in top and not in_host


def test_a_host_line_that_moves_redraws_while_the_guests_balloon_rests():
    """The guest's balloon still (its rate 0, no episode): a first host reading and a host
    that moves (the real run's 0 -> RAM - actual = 1048576 - 786432 KiB) are drawn at once;
    with both still the picture waits for ``GRAPH_REST_S`` again."""
    from dataclasses import replace

    from balloontop.history import HOST_BALLOON, sample_metrics

    from .conftest import build_app

    async def go():
        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("space")  # paused: the test drives the graph itself
            sample, poller, history = app.last_sample, app.poller, app.monitor.history
            app.detector = type(app.detector)()  # no episode open
            size, t = poller.graph_size, sample.time
            metrics = sample_metrics(sample)
            history.add(t, metrics)
            assert poller.graph(sample, size, 60, True)[0] is not None  # drawn: checked now
            seen = []
            for dt, host_kib in ((1, 0), (2, 1048576 - 786432), (3, 1048576 - 786432)):
                history.add(t + dt, {**metrics, HOST_BALLOON: host_kib})
                frame, title = poller.graph(replace(sample, time=t + dt), size, 60, False)
                seen.append((frame is not None, poller.graph_checked_at - t, "■[/] host" in title))
            assert history.rate_mib_s() == 0.0
            return seen

    assert run(go()) == [
        (True, 1, True),  # the first host reading: its line and legend at once
        (True, 2, True),  # the host moved: redrawn although the guest did not
        (False, 2, True),  # both still: not even looked at
    ]


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
