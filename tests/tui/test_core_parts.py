"""History, configuration and host-bound statistics: the monitor's core parts (no Textual)."""

from __future__ import annotations

import sys
import tracemalloc

import pytest

from balloontop.config import Config, resolve
from balloontop.errors import UsageError
from balloontop.history import History
from balloontop.hoststats import host_stats

from .conftest import CAPTURES


def test_history_24h_at_1s_stays_bounded():
    history = History()
    names = ["balloon_kib", "mem_total_kib", "mem_available_kib", "driver:virtio_balloon:virtio0"]
    for t in range(3600):  # warm up: every tier full
        history.add(t, {n: t for n in names})
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    held = history.nbytes()
    for t in range(3600, 86400):
        history.add(t, {n: float(t % 977) for n in names})
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename")
                if "history" in str(s.traceback))
    assert history.nbytes() == held  # fixed-size rings
    assert grown < 16 * 1024
    assert len(history) == history.points
    times, values = history.window(3600, ["balloon_kib"])
    assert len(times) <= history.points + 1
    assert times[-1] == 86399


def test_history_windows_and_rate():
    history = History()
    for t in range(120):
        history.add(float(t), {"balloon_kib": t * 1024.0 * 2})
    times, values = history.window(60, ["balloon_kib"])
    assert times[0] >= 59 and times[-1] == 119
    assert history.rate_mib_s() == pytest.approx(2.0)
    times, _ = history.window(600, ["balloon_kib", "missing"])
    assert times[0] <= 1 and len(times) == 60  # 2 s buckets


def test_history_metric_appearing_later_is_padded():
    history = History()
    history.add(0, {"a": 1})
    history.add(1, {"a": 2, "b": 5})
    _, values = history.window(60, ["a", "b"])
    assert values["a"] == [1, 2]
    assert values["b"][-1] == 5 and values["b"][0] != values["b"][0]  # NaN before


def test_config_precedence(tmp_path):
    (tmp_path / "balloontop").mkdir()
    (tmp_path / "balloontop" / "config.toml").write_text('interval = 3.0\ntheme = "light"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert resolve({}, env) == Config(interval=3.0, theme="light")
    env["BALLOONTOP_INTERVAL"] = "2"
    assert resolve({}, env).interval == 2.0
    assert resolve({"interval": 0.5}, env).interval == 0.5
    env["NO_COLOR"] = "1"
    assert resolve({}, env).no_color is True
    assert resolve({}, {}) == Config()


@pytest.mark.parametrize("text", ["interval = 0.1", "colour = 1", "interval = [", "no_color = 'maybe'"])
def test_config_bad_file_is_a_usage_error(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(UsageError):
        resolve({}, {"BALLOONTOP_CONFIG": str(path)})


def test_host_stats_rebuilt_like_the_driver():
    from balloontop.sampler import Sampler

    sample = Sampler(str(CAPTURES / "virtio-6.18-nodeflate" / "0512M")).sample()
    stats = {h.spec.qemu: h for h in host_stats(sample.meminfo, sample.vmstat,
                                                 sample.system.page_size, sample.system.kernel)}
    assert stats["stat-total-memory"].value == sample.meminfo["MemTotal"] * 1024
    assert stats["stat-available-memory"].virsh_value == sample.meminfo["MemAvailable"]
    assert stats["stat-minor-faults"].value == sample.vmstat["pgfault"]
    assert stats["stat-disk-caches"].value == sample.vmstat["nr_file_pages"] * 4096
    assert "stat-oom-kills" in stats  # 6.18 sends the 6.12 extensions
    old = Sampler(str(CAPTURES / "virtio-6.1-deflate" / "0512M")).sample()
    keys = {h.spec.qemu for h in host_stats(old.meminfo, old.vmstat, 4096, old.system.kernel)}
    assert "stat-oom-kills" not in keys and "stat-swap-in" in keys


def test_core_parts_do_not_import_textual():
    import subprocess

    code = ("import sys, balloontop.history, balloontop.config, balloontop.hoststats, "
            "balloontop.commands.monitor; print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_text_lines_repaint_only_the_rows_that_changed():
    """A changed row marks that row dirty, not the widget (the bytes/s budget at rest)."""
    import asyncio

    from textual.app import App
    from textual.geometry import Region

    from balloontop.tui.widgets import TextLines

    rows = ["MemTotal [b]23.5 GiB[/]", "free [b $accent]22.1 GiB[/]", "swap 0 KiB"]

    class One(App):
        def compose(self):
            yield TextLines(rows, id="t")

    async def go():
        app = One()
        async with app.run_test(size=(40, 6)) as pilot:
            await pilot.pause()
            widget = app.query_one("#t", TextLines)
            assert widget.region.height == 3 and widget.texts == rows
            assert widget.set_lines(rows) == 0 and not widget._repaint_regions
            assert widget.set_lines([rows[0], "free [b $accent]22.2 GiB[/]", rows[2]]) == 1
            assert widget._repaint_regions == {Region(0, 1, 40, 1)}  # what the compositor repaints
            await pilot.pause()
            assert widget.render_line(1).text.rstrip() == "free 22.2 GiB"
            assert widget.set_lines(rows[:2]) == 2  # one changed back, one gone: a new layout
            await pilot.pause()
            assert widget.region.height == 2
    asyncio.run(go())


def test_ascii_drawing_follows_the_locale_not_pythons_utf8_mode(monkeypatch) -> None:
    from balloontop.tui.app import _ascii_terminal

    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C")
    assert _ascii_terminal()  # even though Python itself runs in UTF-8 here
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert not _ascii_terminal()
    monkeypatch.setenv("LC_ALL", "POSIX")  # LC_ALL wins over LANG
    assert _ascii_terminal()
    monkeypatch.setenv("LC_ALL", "C.utf8")
    assert not _ascii_terminal()
