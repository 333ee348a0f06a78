"""Monitor tests: every varying input injected (clock, interval, host name, uptime, processes)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CAPTURES = FIXTURES / "captures"
SYNTHETIC = FIXTURES / "synthetic"

SCENARIOS = {
    "618-nodeflate-0512M": CAPTURES / "virtio-6.18-nodeflate" / "0512M",
    "61-deflate-0512M": CAPTURES / "virtio-6.1-deflate" / "0512M",
    "devguest-idle": CAPTURES / "devguest-6.18" / "idle",
    "no-balloon": SYNTHETIC / "no-balloon",
}

FIXED_TIME = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


class FakeClock:
    """A clock that moves only when told (each sample advances it by ``step``)."""

    def __init__(self, start: float = FIXED_TIME, step: float = 1.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        return self.now


class StaticSource:
    """A base for test sources: a capture-like ``SampleSource`` with nothing to close."""

    kind = "capture"

    def close(self) -> None:
        pass


class StepSource:
    """A Sampler over a root whose clock advances one interval per sample."""

    kind = "capture"

    def __init__(self, root: Path, clock: FakeClock) -> None:
        from balloontop.sampler import Sampler

        self.sampler = Sampler(str(root), clock=clock)
        self.clock = clock
        self.calls = 0

    def sample(self):
        self.calls += 1
        s = self.sampler.sample()
        self.clock.now += self.clock.step
        return s

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.delenv("TZ", raising=False)
    time.tzset()


def fake_processes():
    from balloontop.tui.processes import ProcRow

    return [
        ProcRow(4242, "root", 812_000, 3.3, "stress-ng-vm"),
        ProcRow(1, "root", 12_400, 0.1, "systemd"),
        ProcRow(377, "root", 9_100, 0.0, "sshd"),
    ]


def build_app(scenario: str, *, processes=None, theme: str = "dark", ascii_only: bool = False,
              color: bool = True, user_theme_dir=None):
    from balloontop.tui.app import make_app

    clock = FakeClock()
    root = SCENARIOS[scenario]
    return make_app(
        root=str(root), interval=1.0, theme=theme, clock=clock,
        source=StepSource(root, clock), process_source=processes,
        hostname="guest-1", uptime=3 * 86400 + 4 * 3600 + 12 * 60, ascii_only=ascii_only,
        color=color, user_theme_dir=user_theme_dir, source_label=f" · {scenario}",
    )
