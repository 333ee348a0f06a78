#!/usr/bin/env python3
"""Make screenshots/*.svg (and .png with rsvg-convert) from the snapshot-test scenarios.

    python3 scripts/screenshots.py [--png]

The scenarios live in tests/tui/scenarios.py, shared with tests/tui/test_snapshots.py,
so the pictures never drift from what the tests check.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["TZ"] = "UTC"


async def shoot(name: str, out: Path) -> Path:
    from tests.tui import scenarios

    scenario = scenarios.SCENARIOS[name]
    app = scenarios.build(name, REPO / "tests" / "fixtures")
    app.scenario_press = scenario.press
    async with app.run_test(size=scenario.size) as pilot:
        await scenarios.settle(pilot)
        path = out / f"{name}.svg"
        path.write_text(app.export_screenshot(title=f"balloontop · {name}"), encoding="utf-8")
    return path


_RUN = re.compile(r'<text ([^>]*?)x="([\d.]+)"([^>]*?)textLength="([\d.]+)"([^>]*)>([^<]*)</text>')


def _one_text_per_braille_cell(match: re.Match) -> str:
    """A run holding braille as one ``<text>`` per character, each at its cell.

    rsvg-convert ignores ``textLength`` and draws braille with a fallback font wider than a
    cell (DejaVu Sans), so a long run of a graph's line spread past the frame in the PNG
    (not in the terminal); placed cell by cell it stays where the terminal draws it."""
    before, x, middle, length, after, run = match.groups()
    if not any("\u2800" <= ch <= "\u28ff" for ch in run) or not run:
        return match.group(0)
    cell = float(length) / len(run)
    return "".join(f'<text {before}x="{float(x) + i * cell:.1f}"{middle}textLength="{cell:.1f}"{after}>{ch}</text>'
                   for i, ch in enumerate(run) if ch != " ")


def to_png(svg: Path) -> Path:
    # rsvg-convert drops non-breaking spaces at span edges: plain spaces, preserved.
    text = svg.read_text(encoding="utf-8").replace("&#160;", " ")
    text = text.replace("<svg ", '<svg xml:space="preserve" ', 1)
    text = _RUN.sub(_one_text_per_braille_cell, text)
    tmp = svg.with_suffix(".tmp.svg")
    tmp.write_text(text, encoding="utf-8")
    png = svg.with_suffix(".png")
    subprocess.run(["rsvg-convert", str(tmp), "-o", str(png)], check=True)
    tmp.unlink()
    return png


def main() -> int:
    from tests.tui import scenarios

    out = REPO / "screenshots"
    out.mkdir(exist_ok=True)
    want_png = "--png" in sys.argv
    if want_png and shutil.which("rsvg-convert") is None:
        print("rsvg-convert not found (apt-get install librsvg2-bin)", file=sys.stderr)
        return 1
    for name in scenarios.SCENARIOS:
        svg = asyncio.run(shoot(name, out))
        print(svg.relative_to(REPO))
        if want_png:
            print(to_png(svg).relative_to(REPO))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
