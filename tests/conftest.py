"""Shared fixture paths. Every fixture tree came from a real kernel or from a kernel
format string (see each fixture's README.md)."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURES = FIXTURES / "captures"
SYNTHETIC = FIXTURES / "synthetic"


def capture_steps() -> list[Path]:
    """Every step folder of the real virtio captures that has a CAPTURE.json."""
    return sorted(p.parent for p in CAPTURES.glob("virtio-*/*/CAPTURE.json"))


def capture_info(step: Path) -> dict:
    return json.loads((step / "CAPTURE.json").read_text())
