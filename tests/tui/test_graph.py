"""The balloon graph (plotext 5.3.2, loaded lean): real frames, their size, labels and colours.

Where plotext's module state matters (what is imported, what is printed while importing),
the check runs in a fresh interpreter.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import threading

import pytest

from balloontop.host.reading import HostReading
from balloontop.plot import memory_axis
from balloontop.tui import model_view as mv
from balloontop.tui.graph import (
    _PLOTEXT_LOCK,
    SERIES,
    GraphBuilder,
    GraphFrame,
    window_ticks,
)

COLORS = {"balloon-graph": (200, 30, 40), "total-graph": (10, 220, 30), "available-graph": (40, 50, 250)}
HOST_COLORS = {**COLORS, "host-graph": (230, 0, 230)}
NOW = 1_767_225_600.0
BRAILLE = range(0x2800, 0x2900)
BOX = set("┌┐└┘─│┤├┬┴┼╭╮╰╯")


def readings(window_s: float = 60.0, n: int = 300, top_kib: float = 2048 * 1024) -> tuple[list, dict]:
    """A sine-wave balloon, a flat MemTotal of ``top_kib`` and a slower MemAvailable."""
    times = [NOW - window_s + i * window_s / (n - 1) for i in range(n)]
    series = {
        "balloon": [top_kib / 4 + top_kib / 5 * math.sin(i / 20) for i in range(n)],
        "MemTotal": [top_kib] * n,
        "MemAvailable": [top_kib / 2 + top_kib / 7 * math.cos(i / 30) for i in range(n)],
    }
    return times, series


def host_balloon(n: int) -> list[float]:
    """The host's balloon (RAM - ``actual``) over ``n`` readings, in thirds, as QMP gave it in a
    real run (tests/vm/RESULTS.md, 7.3 kernel, -m 1024): ``actual`` 1048576, 786432, 524288 KiB."""
    steps = [HostReading("qmp.sock", NOW, actual_kib=kib, ram_kib=1048576).balloon_kib
             for kib in (1048576, 786432, 524288)]
    return [float(steps[min(i * 3 // n, 2)]) for i in range(n)]


@pytest.fixture(scope="module")
def builder() -> GraphBuilder:
    return GraphBuilder()


def build(builder: GraphBuilder, window_s: float = 60.0, width: int = 58, height: int = 18, **kw) -> GraphFrame:
    times, series = readings(window_s)
    return builder.build(kw.pop("times", times), kw.pop("series", series), NOW, window_s, width, height,
                         kw.pop("colors", COLORS), **kw)


def lines(frame: GraphFrame) -> list[str]:
    return frame.text.plain.split("\n")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("width", "height"), [(58, 18), (30, 8), (120, 40), (80, 5)])
def test_frame_is_width_minus_one_columns_and_at_most_height_rows(builder: GraphBuilder, width: int,
                                                                  height: int) -> None:
    frame = build(builder, width=width, height=height)
    rows = lines(frame)
    assert len(rows) <= height
    assert max(len(r) for r in rows) == width - 1  # the top border spans the frame
    assert rows[0].lstrip().startswith("┌") and rows[0].rstrip().endswith("┐")  # right labels after it
    assert isinstance(frame.text.plain, str) and frame.build_ms > 0


def test_tiny_sizes_are_clamped_not_broken(builder: GraphBuilder) -> None:
    rows = lines(build(builder, width=10, height=2))
    assert len(rows) <= 5 and max(len(r) for r in rows) <= 24
    assert "now" in rows[-1]


def axis_labels(frame: GraphFrame) -> tuple[list[str], list[str]]:
    """The left and right y labels, top row first."""
    rows = lines(frame)
    left = [r.split("┤")[0].strip() for r in rows if "┤" in r]
    right = [r.split("├")[1].strip() for r in rows if "├" in r]
    return left, right


def test_y_labels_are_the_balloon_axis_left_and_the_memory_axis_right(builder: GraphBuilder) -> None:
    """The balloon from 0 on the left, MemTotal and MemAvailable scaled to their data on the
    right; one unit per axis (issue 14.7: ``0M`` next to ``1G`` on one axis)."""
    times, series = readings()
    left, right = axis_labels(build(builder, height=18))
    count = min(5, max(2, 18 // 3))
    balloon_mib = max(series["balloon"]) / 1024
    memory = [v / 1024 for k in ("MemTotal", "MemAvailable") for v in series[k]]
    assert left == memory_axis(0.0, balloon_mib, count).labels[::-1]
    assert right == memory_axis(min(memory), max(memory), count, from_zero=False).labels[::-1]
    assert left == ["1G", "0.8G", "0.6G", "0.4G", "0.2G", "0G"]
    assert right[0] == "2G" and right[-1] != "0G"  # scaled to the data, not from 0
    for labels in (left, right):
        assert len({label[-1] for label in labels}) == 1  # one unit per axis


def test_y_labels_in_mib_for_a_small_guest(builder: GraphBuilder) -> None:
    times, series = readings(top_kib=300 * 1024)
    left, right = axis_labels(build(builder, times=times, series=series))
    assert left == ["150M", "100M", "50M", "0M"]  # the balloon peaks at 135 MiB
    assert len(right) >= 3 and all(label.endswith("M") for label in left + right)


def test_close_memory_lines_get_their_own_rows_and_nothing_is_drawn_past_the_frame(builder: GraphBuilder) -> None:
    """The development machine at rest: 23.5 GiB total and 23.1 GiB available sat on one row
    of a 0-32G axis; on their own axis they are rows apart."""
    times, _ = readings()
    n = len(times)
    series = {"balloon": [0.0] * n, "MemTotal": [23.5 * 1048576] * n, "MemAvailable": [23.1 * 1048576] * n}
    frame = build(builder, times=times, series=series, height=14)
    rows = lines(frame)
    left, right = axis_labels(frame)
    assert left[-1] == "0M" and all(label.endswith("G") for label in right)
    assert 23.5 <= float(right[0][:-1]) < 24 and 22 < float(right[-1][:-1]) <= 23.1  # not a 0-32G axis
    drawn = [i for i, r in enumerate(rows) if any(ord(c) in BRAILLE for c in r)]
    assert len(drawn) == 3  # the balloon at 0, MemAvailable, MemTotal: three rows
    for r in rows:
        braille = [i for i, c in enumerate(r) if ord(c) in BRAILLE]
        if braille:  # inside the frame's two vertical lines
            assert min(braille) > r.index("┤" if "┤" in r else "│")
            assert max(braille) < max(r.rfind("│"), r.rfind("├"))


@pytest.mark.parametrize(("window_s", "expected"), [
    (60, ["-60s", "-45s", "-30s", "-15s", "now"]),
    (600, ["-10m", "-8m", "-6m", "-4m", "-2m", "now"]),
    (3600, ["-60m", "-45m", "-30m", "-15m", "now"]),
])
def test_x_labels_per_window(builder: GraphBuilder, window_s: float, expected: list[str]) -> None:
    assert window_ticks(window_s)[1] == expected
    last = lines(build(builder, window_s=window_s, width=58))[-1]
    assert last.split() == expected
    assert last.rstrip().endswith("now")


def test_series_in_ascii_mode_use_only_ascii(builder: GraphBuilder) -> None:
    times, series = readings()
    text = build(builder, ascii_only=True, series={**series, "host": host_balloon(len(times))}).text.plain
    assert all(ord(c) < 128 for c in text)
    for _label, _var, mark, _side in SERIES:
        assert mark in text
    assert "+--" in text and "|" in text


def test_braille_mode_draws_braille_in_a_box(builder: GraphBuilder) -> None:
    text = build(builder).text.plain
    assert any(ord(c) in BRAILLE for c in text)
    assert BOX & set(text) >= {"┌", "┐", "└", "┘", "─", "│", "┤", "┬"}


def span_colours(frame: GraphFrame) -> dict[tuple, str]:
    """Each foreground colour of the frame and the characters drawn in it."""
    out: dict[tuple, str] = {}
    for span in frame.text.spans:
        if span.style.color is not None:
            rgb = tuple(span.style.color.get_truecolor())
            out[rgb] = out.get(rgb, "") + frame.text.plain[span.start:span.end]
    return out


def test_the_hosts_balloon_is_a_line_of_its_own_on_the_balloon_axis(builder: GraphBuilder) -> None:
    """``--qmp``: the host's balloon (RAM - actual) in the host colour, on the left axis with the
    guest's; a guest that did not follow (still 0) leaves the host's line alone on the axis,
    which then reaches the host's 512 MiB; the legend names the host only then."""
    times, series = readings()
    host = host_balloon(len(times))
    frame = build(builder, series={**series, "host": host}, colors=HOST_COLORS)
    drawn = span_colours(frame)
    assert set(drawn) == set(HOST_COLORS.values())
    assert all(ord(c) in BRAILLE for c in drawn[HOST_COLORS["host-graph"]].replace(" ", ""))
    assert "host" in [part[0] for part in frame.key[8:]]
    ascii_rows = lines(build(builder, series={**series, "host": host}, ascii_only=True))
    assert "*" in ascii_rows[-3] and set(ascii_rows[-3].split("|")[1]) <= {"*", "#", ".", " "}  # 0 at first

    still = {**series, "balloon": [0.0] * len(times), "host": host}
    left, _right = axis_labels(build(builder, series=still, colors=HOST_COLORS, height=18))
    assert left == memory_axis(0.0, 512.0, min(5, max(2, 18 // 3))).labels[::-1]

    title = mv.graph_title("1 min", 12.8, None, host=True, room=54)
    assert "[$host-graph]■[/] host" in title and title.startswith("◂[$balloon-graph]■[/] balloon ")
    assert "host" not in mv.graph_title("1 min", 12.8, None)


def test_without_a_host_reading_in_the_window_nothing_of_the_host_is_drawn(builder: GraphBuilder) -> None:
    """No ``--qmp``, or a host that could not be read (NaN in the history): the frame and its
    key are the ones drawn without a host series."""
    times, series = readings()
    plain = build(builder, colors=HOST_COLORS)
    for host in ([math.nan] * len(times), []):
        frame = build(builder, series={**series, "host": host}, colors=HOST_COLORS)
        assert frame.text.plain == plain.text.plain and frame.key == plain.key
        assert HOST_COLORS["host-graph"] not in span_colours(frame)
    assert HOST_COLORS["host-graph"] not in span_colours(plain)


@pytest.mark.parametrize(("room", "rate", "window", "shown"), [
    (34, 12.8, "1 min", "◂■ balloon ■ host ■ total ■ avail▸"),  # 80 columns
    (35, 12.8, "1 min", "◂■ balloon ■ host  ■ total ■ avail▸"),
    (54, 12.8, "1 min", "◂■ balloon ■ host  ■ total ■ available▸ · +12.8 MiB/s"),  # 120 columns
    (54, None, "10 min", "◂■ balloon ■ host  ■ total ■ available▸ · rate -"),
    (50, -123.4, "1 h", "◂■ balloon ■ host  ■ total ■ avail▸ · -123.4 MiB/s"),
    (80, 0.0, "1 h", "◂■ balloon ■ host  ■ total ■ available▸ · 1 h · at rest"),
])
def test_the_host_legend_fits_the_graphs_title(room: int, rate: float | None, window: str, shown: str) -> None:
    """With the host the legend is longer: the title gives up the window, then "available"'s
    letters, then the state, then the wider gap, and is not cut by the border at 80 columns
    (room: the graph's title space, its content width less 4)."""
    title = mv.graph_title(window, rate, None, host=True, room=room)
    plain = mv._MARKUP_TAG.sub("", title)
    assert plain == shown and len(plain) <= room
    ascii_title = mv._MARKUP_TAG.sub("", mv.graph_title(window, rate, None, ascii_only=True, host=True, room=room))
    assert ascii_title == shown.replace("■", "#").replace("◂", "<").replace("▸", ">")


def test_no_colour_at_all_when_color_is_false(builder: GraphBuilder) -> None:
    frame = build(builder, color=False)
    for span in frame.text.spans:
        style = span.style
        assert isinstance(style, str) or (style.color is None and style.bgcolor is None)
    assert "\x1b" not in frame.text.plain


def test_theme_colours_are_the_span_colours_and_there_is_no_background(builder: GraphBuilder) -> None:
    frame = build(builder)
    fg = set()
    for span in frame.text.spans:
        assert span.style.bgcolor is None
        if span.style.color is not None:
            fg.add(tuple(span.style.color.get_truecolor()))
            assert all(ord(c) in BRAILLE for c in frame.text.plain[span.start:span.end])
    assert fg == set(COLORS.values())


def test_a_series_without_a_colour_is_drawn_plain(builder: GraphBuilder) -> None:
    frame = build(builder, colors={"balloon-graph": (1, 2, 3)})
    fg = {tuple(s.style.color.get_truecolor()) for s in frame.text.spans if s.style.color is not None}
    assert fg == {(1, 2, 3)}


def test_nan_readings_are_skipped(builder: GraphBuilder) -> None:
    times, series = readings()
    holed = {k: [math.nan if i % 7 == 3 else v for i, v in enumerate(vals)] for k, vals in series.items()}
    kept = [i for i in range(len(times)) if i % 7 != 3]
    without = {k: [vals[i] for i in kept] for k, vals in series.items()}
    a = build(builder, times=times, series=holed)
    b = build(builder, times=[times[i] for i in kept], series=without)
    assert a.text.plain == b.text.plain and a.key == b.key
    only_nan = build(builder, series={"balloon": [math.nan] * len(times)})
    assert "now" in only_nan.text.plain and not any(ord(c) in BRAILLE for c in only_nan.text.plain)


def test_empty_series_draw_the_axes(builder: GraphBuilder) -> None:
    for times, series in (([], {}), ([NOW], {"balloon": []}), ([NOW - 1, NOW], {"MemTotal": [1.0, 2.0]})):
        frame = builder.build(times, series, NOW, 60, 40, 10, COLORS)
        rows = lines(frame)
        assert "now" in rows[-1] and "-60s" in rows[-1]
        assert any(r.startswith("0M┤") for r in rows)


def test_readings_outside_the_window_are_left_out(builder: GraphBuilder) -> None:
    times, series = readings(window_s=600)
    a = builder.build(times, series, NOW, 60, 58, 18, COLORS)  # only the last minute
    last = [i for i, t in enumerate(times) if t >= NOW - 60]
    b = builder.build([times[i] for i in last], {k: [v[i] for i in last] for k, v in series.items()},
                      NOW, 60, 58, 18, COLORS)
    assert a.text.plain == b.text.plain


def test_sparse_readings_of_a_long_window_are_joined(builder: GraphBuilder) -> None:
    """Four readings an hour apart still draw one unbroken line across the canvas."""
    times = [NOW - 3600, NOW - 2400, NOW - 1200, NOW]
    series = {"balloon": [0.0, 1024 * 1024, 300 * 1024, 2048 * 1024]}
    rows = lines(builder.build(times, series, NOW, 3600, 58, 18, COLORS))
    left = rows[1].index("┤") if "┤" in rows[1] else rows[1].index("│")
    right = rows[1].rindex("│")
    canvas = rows[1:-2]
    for col in range(left + 1, right):
        assert any(ord(r[col]) in BRAILLE for r in canvas), f"gap at column {col}"


def test_points_are_thinned_to_what_the_canvas_shows(builder: GraphBuilder) -> None:
    """5000 readings: at most four a canvas column (``plot.thin``), the same picture."""
    times, series = readings(n=5000)
    frame = builder.build(times, series, NOW, 60, 58, 18, COLORS)
    for part in frame.key[8:]:
        label, xs, ys = part
        assert 50 < len(xs) <= 4 * 2 * 57 and len(xs) == len(ys)
    assert max(len(r) for r in lines(frame)) == 57
    with _PLOTEXT_LOCK:
        whole = builder._build(times, series, NOW, 60, 58, 18, COLORS)
    assert whole.text.plain == frame.text.plain


def test_key_follows_the_picture(builder: GraphBuilder) -> None:
    times, series = readings()
    a = builder.build(times, series, NOW, 60, 58, 18, COLORS)
    b = builder.build(times, series, NOW, 60, 58, 18, COLORS)
    c = builder.build(times, {**series, "balloon": [v + 50 * 1024 for v in series["balloon"]]}, NOW, 60, 58, 18,
                      COLORS)
    assert a.key == b.key and a.text.plain == b.text.plain
    assert a.key != c.key and a.text.plain != c.text.plain


def test_builds_do_not_leak_into_each_other(builder: GraphBuilder) -> None:
    first = build(builder, window_s=60)
    build(builder, window_s=3600, width=100, height=30, ascii_only=True, color=False)
    builder.build([], {}, NOW, 600, 30, 6, COLORS)
    again = build(builder, window_s=60)
    assert again.text.plain == first.text.plain
    assert again.text.spans == first.text.spans


def test_builders_own_their_figures_and_threads_get_the_same_frame() -> None:
    ascii_builder, braille_builder = GraphBuilder(), GraphBuilder()
    assert ascii_builder._fig is not braille_builder._fig
    reference = build(braille_builder).text.plain
    build(ascii_builder, ascii_only=True)
    assert build(braille_builder).text.plain == reference
    out: list[str] = []

    def work() -> None:
        for _ in range(3):
            out.append(build(GraphBuilder()).text.plain)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [reference] * 12
    assert _PLOTEXT_LOCK.acquire(blocking=False)
    _PLOTEXT_LOCK.release()


def test_the_terminal_size_is_never_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def refuse(*_a, **_k):
        raise AssertionError("plotext asked for the terminal size")

    monkeypatch.setattr(shutil, "get_terminal_size", refuse)
    monkeypatch.setattr(os, "get_terminal_size", refuse)
    builder = GraphBuilder()
    frame = build(builder, width=200, height=60)  # bigger than any terminal the test has
    assert max(len(r) for r in lines(frame)) == 199 and len(lines(frame)) == 60


IMPORT_AND_BUILD = """
import math, sys
from balloontop.tui.graph import GraphBuilder
b = GraphBuilder()
t = [i * 1.0 for i in range(120)]
s = {"balloon": [1e6 + 1e5 * math.sin(i / 9) for i in range(120)], "MemTotal": [2e6] * 120}
for ascii_only in (False, True):
    f = b.build(t, s, 119.0, 60, 58, 18, {"balloon-graph": (1, 2, 3)}, ascii_only=ascii_only)
    assert "now" in f.text.plain
"""


def test_import_and_build_write_nothing_to_stdout_or_stderr() -> None:
    """stdout is the TUI's terminal: plotext's "doc not present" warnings must never reach it."""
    done = run_python(IMPORT_AND_BUILD)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_building_loads_plotext_lean() -> None:
    done = run_python(IMPORT_AND_BUILD + """
import plotext
loaded = sorted(m for m in sys.modules if m.startswith("plotext"))
assert "plotext._figure" in loaded and "plotext._doc" in loaded, loaded
for heavy in ("plotext._core", "plotext._global", "plotext.plotext_cli", "argparse", "unittest"):
    assert heavy not in sys.modules, heavy
assert "__getattr__" in vars(plotext)  # the rest is still one attribute away
print("ok")
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"


def test_the_full_plotext_package_loads_when_asked_for() -> None:
    done = run_python(IMPORT_AND_BUILD + """
import plotext
assert plotext.__version__ == "5.3.2"
assert "plotext._core" in sys.modules and callable(plotext.plot)
plotext.plot([1, 2, 3], [1, 4, 9])
plotext.plotsize(30, 8)
assert "\\u2514" in plotext.build()  # the global figure draws
from plotext import scatter
assert callable(scatter)
f = b.build(t, s, 119.0, 60, 58, 18, {})  # ours still builds
assert "now" in f.text.plain
print("ok")
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("ok\n")


def test_a_fully_imported_plotext_is_used_as_it_is() -> None:
    done = run_python("import plotext\n" + IMPORT_AND_BUILD + "print(callable(plotext.plot))")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n"


def test_the_frame_does_not_depend_on_the_hash_seed() -> None:
    """plotext 5 keeps tick labels in a set: with labels too close together, which one is left
    out must not change from one run to the next (nor "now" go missing)."""
    import os

    code = """
from balloontop.tui.graph import GraphBuilder
b = GraphBuilder()
t = [i * 10.0 for i in range(361)]
s = {"balloon": [1e6 + (i % 50) * 1e4 for i in range(361)], "MemTotal": [2e6] * 361}
for window, width, height in ((60, 10, 2), (60, 30, 6), (600, 30, 6), (3600, 26, 7), (600, 58, 18)):
    print(b.build(t, s, 3600.0, window, width, height, {"balloon-graph": (1, 2, 3)}).text.markup)
"""
    outs = set()
    for seed in ("0", "1", "2", "3", "12345"):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        outs.add(done.stdout)
    assert len(outs) == 1
    frames = outs.pop().split("┌")
    assert all("now" in f.split("\n")[-2] for f in frames[1:])
