"""``balloontop report``'s chart (plotext 5.3.2): its content, its stability, its colours."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from balloontop.cli import main
from balloontop.commands.report import chart
from balloontop.recording import read_recording

from .test_record_command import ROOT, demo_recording

TITLE = "balloon over time (s)"
WIDTH, HEIGHT = 100, 15  # ``run`` draws 15 lines, as wide as the terminal (COLUMNS) up to 120
CANVAS = range(5, WIDTH - 1)  # after "768M┤", before the right border


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 samples 2 s apart: 0 -> 256 -> 512 -> 768 -> 512 -> 256 -> 0 -> 512 -> 0 -> 256 MiB."""
    path = tmp_path_factory.mktemp("report") / "demo.jsonl.gz"
    demo_recording(path)
    return path


def rows(text: str) -> list[str]:
    lines = text.split("\n")
    assert lines[-1] == ""  # one line feed at the end
    return lines[:-1]


def y_rows(lines: list[str]) -> dict[str, str]:
    """Y label -> that row of the canvas, top to bottom (labels in one unit, as the monitor's graph)."""
    axis = lines[1].index("┌")  # the labels are right-aligned before the axis
    return {line[:axis].strip(): line[axis + 1:-1] for line in lines if line[axis:axis + 1] == "┤"}


def marked(canvas_row: str) -> list[int]:
    return [CANVAS[i] for i, ch in enumerate(canvas_row) if ch != " "]


def seconds(col: int, span: float) -> float:
    return (col - CANVAS[0]) / (len(CANVAS) - 1) * span


def report_out(path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "balloontop", "report", str(path)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": str(WIDTH), **env},
    )


def test_chart_of_a_recording(demo: Path) -> None:
    rec = read_recording(str(demo))
    text = chart(rec, WIDTH, HEIGHT, color=False)
    assert "\x1b" not in text
    lines = rows(text)
    assert len(lines) == HEIGHT and {len(line) for line in lines} == {WIDTH}
    assert lines[0].strip() == TITLE
    assert abs(lines[0].index(TITLE) - (CANVAS[0] + (len(CANVAS) - len(TITLE)) // 2)) <= 1  # centred on the canvas
    assert lines[1] == "    ┌" + "─" * (WIDTH - 6) + "┐"
    assert lines[-2].startswith("    └┬") and lines[-2].endswith("┘")
    # round ticks: MiB in steps of 256 from 0 to the maximum (768), seconds in steps of 25
    canvas = y_rows(lines)
    assert list(canvas) == ["768M", "512M", "256M", "0M"]
    assert lines[-1].split() == ["0", "25", "50", "75", "100", "125", "150", "175"]
    for label in ("25", "100", "175"):  # each label under its tick
        col = lines[-1].index(" " + label + " ") + 1 + len(label) // 2
        assert lines[-2][col] == "┬" and abs(seconds(col, 198.0) - int(label)) < 2.5
    # the balloon: up to 768 MiB from about 40 s to 64 s, at 0 MiB at the start and twice later,
    # 256 MiB at the end
    top = marked(canvas["768M"])
    assert len(top) >= 10 and all(34 <= seconds(c, 198.0) <= 70 for c in top)
    bottom = [seconds(c, 198.0) for c in marked(canvas["0M"])]
    assert min(bottom) < 2
    assert any(110 <= t <= 132 for t in bottom) and any(160 <= t <= 185 for t in bottom)
    assert not any(70 <= t <= 105 for t in bottom)  # 499 then 256 MiB there
    assert marked(canvas["256M"])[-1] == CANVAS[-1]
    # colour changes the escape codes, not what is drawn
    from plotext._utility import uncolorize

    coloured = chart(rec, WIDTH, HEIGHT, color=True)
    assert "\x1b[" in coloured and uncolorize(coloured) == text


def test_chart_of_a_flat_recording(tmp_path: Path) -> None:
    path = tmp_path / "flat.jsonl"
    assert main(["record", str(path), "--root", str(ROOT), "--interval", "0.2", "--duration", "0.4"]) == 0
    first = read_recording(str(path)).samples[0]
    # The recorded sample at exactly 0, 0.2 and 0.4 s (a real recording's stamps drift by a
    # few ms with the machine's load, which would move the last x label).
    flat = SimpleNamespace(samples=[replace(first, time=first.time + 0.2 * i) for i in range(3)])
    lines = rows(chart(flat, 60, 12, color=False))
    assert len(lines) == 12 and {len(line) for line in lines} == {60}
    canvas = y_rows(lines)
    assert list(canvas) == ["512M", "256M", "0M"]  # from 0 MiB, not zoomed on a flat line
    assert set(canvas["512M"]) == {"▀"}  # 512 MiB throughout (the fixture's balloon)
    assert all(set(line[5:-1]) == {" "} for line in lines[3:-2])
    assert lines[-1].split() == ["0", "0.1", "0.2", "0.3", "0.4"]


def test_chart_needs_two_samples_and_a_time_span(tmp_path: Path) -> None:
    path = tmp_path / "flat.jsonl"
    assert main(["record", str(path), "--root", str(ROOT), "--interval", "0.2", "--duration", "0.2"]) == 0
    sample = read_recording(str(path)).samples[0]
    assert chart(SimpleNamespace(samples=[sample]), 60, 12, color=False) == ""
    lines = rows(chart(SimpleNamespace(samples=[sample, sample]), 60, 12, color=False))
    assert lines[0].strip() == TITLE and lines[-1].split()[0] == "0"


def test_report_output_is_the_same_under_any_hash_seed(demo: Path) -> None:
    """plotext 5 keeps tick labels and points in sets: nothing may depend on the hash seed."""
    runs = [report_out(demo, PYTHONHASHSEED=seed) for seed in ("0", "1", "2", "4242")]
    for run in runs:
        assert run.returncode == 0 and run.stderr == ""
        assert run.stdout == runs[0].stdout
    out = runs[0].stdout
    assert "\x1b" not in out  # not a terminal: no colours
    assert "Warning" not in out  # nothing from plotext's docstring registry
    expected = chart(read_recording(str(demo)), WIDTH, HEIGHT, color=False)
    assert out.endswith("\n" + expected)  # the chart closes the report


def test_report_after_the_monitor_loaded_plotext_lean(demo: Path) -> None:
    """The monitor's graph registers a bare ``plotext`` package; the report draws the same on it."""
    code = (
        "import sys\n"
        "from balloontop.tui import graph\n"
        "graph._import_plotext()\n"
        "assert 'plotext._core' not in sys.modules\n"
        "from balloontop.cli import main\n"
        f"sys.exit(main(['report', {str(demo)!r}]))\n"
    )
    lean = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": str(WIDTH), "PYTHONHASHSEED": "7"})
    assert lean.returncode == 0 and lean.stderr == ""
    assert lean.stdout == report_out(demo).stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty semantics checked on Linux")
def test_report_on_a_terminal_is_coloured(demo: Path) -> None:
    from plotext._utility import uncolorize

    master, slave = pty.openpty()
    proc = None
    try:
        proc = subprocess.Popen([sys.executable, "-m", "balloontop", "report", str(demo)],
                                stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                                env={**os.environ, "COLUMNS": str(WIDTH)})
        os.close(slave)
        slave = -1
        data = b""
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, "no output from the report on the terminal"
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
        assert proc.wait(timeout=30) == 0
        assert proc.stderr is not None and proc.stderr.read() == b""
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        if slave >= 0:
            os.close(slave)
    out = data.decode().replace("\r\n", "\n")
    assert "\x1b[" in out
    assert uncolorize(out) == report_out(demo).stdout  # the same report, colours aside


def _series(points: list[tuple[float, int]]) -> SimpleNamespace:
    """A recording of (time, balloon KiB) samples, enough of one for ``chart``."""
    return SimpleNamespace(samples=[SimpleNamespace(time=t, balloon=SimpleNamespace(kib=kib), guest=None)
                                    for t, kib in points])


def _stretched(rec: SimpleNamespace | object, each: int, back_at: int | None = None) -> SimpleNamespace:
    """Every sample of ``rec`` as ``each`` samples 0.01 s apart, a few KiB of noise on the balloon;
    with ``back_at``, the clock set back 30 s from that sample on (times out of order)."""
    points = []
    for n, s in enumerate(rec.samples):
        for k in range(each):
            t = s.time + k * 0.01 - (30.0 if back_at is not None and n >= back_at else 0.0)
            points.append((t, max(0, s.balloon.kib + (k * 7919) % 4001 - 2000)))
    return _series(points)


@pytest.fixture
def thinned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(samples in, points out) of each ``plot.thin`` while the test runs."""
    from balloontop import plot

    calls: list[tuple[int, int]] = []
    thin = plot.thin

    def spy(xs: list[float], ys: list[float], lo: float, hi: float, bins: int) -> tuple[list[float], list[float]]:
        out = thin(xs, ys, lo, hi, bins)
        calls.append((len(xs), len(out[0])))
        return out

    monkeypatch.setattr(plot, "thin", spy)
    return calls


@pytest.mark.parametrize("size", [(WIDTH, HEIGHT), (120, 15), (60, 12), (30, 8)])
def test_thinning_leaves_the_chart_of_the_recordings_as_it_was(
    demo: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    flat = tmp_path / "flat.jsonl"
    assert main(["record", str(flat), "--root", str(ROOT), "--interval", "0.2", "--duration", "0.4"]) == 0
    for rec in (read_recording(str(demo)), read_recording(str(flat))):
        for color in (False, True):
            assert chart(rec, *size, color=color) == chart(rec, *size, color=color, thin=False)


@pytest.mark.parametrize("back_at", [None, 60])
@pytest.mark.parametrize("size", [(WIDTH, HEIGHT), (60, 12)])
def test_thinning_a_long_recording_draws_the_same_chart(
    demo: Path, thinned: list[tuple[int, int]], size: tuple[int, int], back_at: int | None
) -> None:
    """The demo, 200 samples to each of its own (20,000): a few points a column, the same text,
    in time order or with the clock set back."""
    rec = _stretched(read_recording(str(demo)), 200, back_at)
    text = chart(rec, *size, color=True)
    assert thinned and thinned[-1][0] == 20_000
    # 4 points a run, a run a column (two a character), or two where the clock went back (30 s of 168)
    assert thinned[-1][1] <= 4 * 2 * size[0] * (1.2 if back_at else 1)
    assert text == chart(rec, *size, color=True, thin=False)


def test_a_spike_and_a_step_stay_in_a_long_chart(thinned: list[tuple[int, int]]) -> None:
    """200,000 samples 1 s apart at 256 MiB, one of them (at 100,321 s, inside a column) at 3 GiB, and 1 GiB from
    150,000 s on: the spike goes up to 3072 MiB in its column, the step stands where it was."""
    def kib(i: int) -> int:
        return 3072 * 1024 if i == 100_321 else 1024 * 1024 if i >= 150_000 else 256 * 1024

    rec = _series([(5000.0 + i, kib(i)) for i in range(200_000)])
    text = chart(rec, WIDTH, HEIGHT, color=False)
    assert thinned == [(200_000, thinned[0][1])] and thinned[0][1] < 1000
    lines = rows(text)
    canvas = y_rows(lines)
    assert list(canvas) == ["3G", "2G", "1G", "0G"]  # the y axis up to the spike, in GiB

    def at(col: int) -> float:  # seconds at a canvas column (94 of them)
        return col / 93 * 199_999

    spike = [c for c, ch in enumerate(canvas["3G"]) if ch != " "]
    assert spike and all(abs(at(c) - 100_321) < 2 * 199_999 / 93 for c in spike)
    axis = lines[1].index("┌")
    plot = [line[axis + 1:-1] for line in lines[2:-2]]
    low = next(r for r, row in enumerate(plot) if row[0] != " ")  # the 256 MiB line, from the start
    assert all(row[spike[-1]] != " " for row in plot[: low + 1])  # the spike, top to bottom
    # the step: 1 GiB from about 150,000 s to the end, 256 MiB up to there only
    top = [c for c, ch in enumerate(canvas["1G"]) if ch != " " and c not in spike]
    assert top[-1] == len(canvas["1G"]) - 1 and abs(at(top[0]) - 150_000) < 2 * 199_999 / 93
    assert all(ch == " " for ch in plot[low][top[0] + 1 :])
    assert " " not in plot[low][: top[0]]
