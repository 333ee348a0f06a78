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


async def shoot_guests(out: Path) -> Path:
    """Three guests read through a real ``sh`` (two real captures, one that cannot be
    started), as ``balloontop --via ... --via ... --via ...`` shows them, at 120x40."""
    from balloontop.fleet import Guest
    from balloontop.guests import GuestSpec
    from balloontop.monitor import Monitor
    from balloontop.remote.source import RemoteSource
    from balloontop.tui.app import make_app
    from tests.tui.scenarios import FIXED_TIME, settle

    captures = REPO / "tests" / "fixtures" / "captures"
    specs = [GuestSpec("db1", "via", "sh", root=str(captures / "virtio-6.18-nodeflate" / "0512M")),
             GuestSpec("vm7", "via", "exec sh", root=str(captures / "virtio-6.1-deflate" / "0768M")),
             GuestSpec("edge3", "via", "ssh -T edge3 sh")]
    sources = [RemoteSource(spec, clock=lambda: FIXED_TIME) for spec in specs]
    guests = [Guest(spec.label, Monitor(src, guest=spec.label), state=lambda r=src: r.state,
                    label=lambda r=src: r.name, processes=src.processes,
                    last_error=lambda r=src: r.last_error)
              for spec, src in zip(specs, sources)]
    app = make_app(root="/", interval=1.0, clock=lambda: FIXED_TIME, source=sources[0],
                   process_source=None, ascii_only=False, guests=guests)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(100):
                if all(src.state != "connecting" for src in sources) and len(app.panes()) >= 3:
                    break
                await pilot.pause(0.1)
            await settle(pilot)
            path = out / "guests.svg"
            path.write_text(app.export_screenshot(title="balloontop · three guests"), encoding="utf-8")
    finally:
        for src in sources:
            src.close()
    return path


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
    svg = asyncio.run(shoot_guests(out))
    print(svg.relative_to(REPO))
    if want_png:
        print(to_png(svg).relative_to(REPO))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
