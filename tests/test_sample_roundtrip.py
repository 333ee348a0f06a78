"""A sample survives JSON (recordings, replay): every fixture round-trips exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from balloontop.recording import sample_from_json
from balloontop.sampler import Sampler

from .conftest import SYNTHETIC, capture_steps

ROOTS = capture_steps() + sorted(p.parent for p in SYNTHETIC.glob("*/EXPECTED.json"))


@pytest.mark.parametrize("root", ROOTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_round_trip(root: Path) -> None:
    sample = Sampler(root, clock=lambda: 1795675990.25).sample()
    again = sample_from_json(sample.to_json())
    assert again.to_json() == sample.to_json()
    assert again.balloon == sample.balloon and again.drivers == sample.drivers
