"""SVG snapshots of the main views (the same scenarios make the README screenshots).

Everything that varies is injected by ``tests.tui.scenarios``: clock, interval, host
name, uptime, processes. Textual is pinned exactly in pyproject.toml because its SVG
output changes between releases; refresh with ``pytest --snapshot-update tests/tui``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import scenarios

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("name", list(scenarios.SCENARIOS))
def test_snapshot(name, snap_compare, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    scenario = scenarios.SCENARIOS[name]
    app = scenarios.build(name, FIXTURES)
    app.scenario_press = scenario.press
    assert snap_compare(app, terminal_size=scenario.size, run_before=scenarios.settle)
