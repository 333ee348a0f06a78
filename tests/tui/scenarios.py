"""Fixed scenarios for the snapshot tests and the README screenshots (one source of truth).

Each scenario replays real capture steps with a fixed clock: earlier steps are fed to the
history (so the graph and event log show the inflation), the last step is the one reading
on screen, and nothing varies between runs (clock, host name, uptime, processes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FIXED_TIME = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
STEP_S = 20.0


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[str, ...]
    """Folders relative to tests/fixtures; the last is shown live."""
    size: tuple[int, int] = (120, 40)
    press: tuple[str, ...] = ()
    processes: bool = False


SCENARIOS = {
    "618-nodeflate-0512M": Scenario("618-nodeflate-0512M", tuple(
        f"captures/virtio-6.18-nodeflate/{s}" for s in ("boot", "1024M", "0768M", "0512M"))),
    "61-deflate-0512M": Scenario("61-deflate-0512M", tuple(
        f"captures/virtio-6.1-deflate/{s}" for s in ("boot", "1024M", "0768M", "0512M"))),
    "devguest-idle": Scenario("devguest-idle", ("captures/devguest-6.18/idle",), processes=True),
    "no-balloon": Scenario("no-balloon", ("synthetic/no-balloon",)),
    "80x24": Scenario("80x24", tuple(
        f"captures/virtio-6.18-nodeflate/{s}" for s in ("boot", "1024M", "0768M", "0512M")),
        size=(80, 24)),
    "help": Scenario("help", ("captures/virtio-6.18-nodeflate/0512M",), press=("question_mark",)),
}


class _Once:
    """Gives one sample, then ``None`` (the screen then stays as it is)."""

    kind = "capture"

    def __init__(self, sample) -> None:
        self._sample = sample

    def sample(self):
        sample, self._sample = self._sample, None
        return sample

    def close(self) -> None:
        pass


def _processes():
    from balloontop.tui.processes import ProcRow

    return [
        ProcRow(4242, "root", 812_000, 3.3, "stress-ng-vm"),
        ProcRow(1312, "postgres", 301_500, 1.2, "postgres"),
        ProcRow(1, "root", 12_400, 0.1, "systemd"),
        ProcRow(377, "root", 9_100, 0.0, "sshd"),
    ]


def build(name: str, fixtures: Path, **overrides):
    """The app for scenario ``name`` (fixtures: the tests/fixtures folder)."""
    from balloontop.sampler import Sampler
    from balloontop.tui.app import make_app

    scenario = SCENARIOS[name]
    clock_box = [FIXED_TIME - STEP_S * (len(scenario.steps) - 1)]
    samples = []
    for step in scenario.steps:
        samples.append(Sampler(str(fixtures / step), clock=lambda: clock_box[0]).sample())
        clock_box[0] += STEP_S
    now = samples[-1].time
    kwargs = dict(
        root=str(fixtures / scenario.steps[-1]), interval=1.0, theme="dark",
        clock=lambda: now, source=_Once(samples[-1]),
        process_source=_processes if scenario.processes else None,
        hostname="guest-1", uptime=3 * 86400 + 4 * 3600 + 12 * 60, size=scenario.size,
        source_label=f" · {scenario.steps[-1].split('/', 1)[1]}", ascii_only=False,
    )
    kwargs.update(overrides)
    app = make_app(**kwargs)
    app.prefill(samples[:-1])
    return app


async def settle(pilot) -> None:
    """Wait until the one live sample and its graph are on screen, then press the keys."""
    app = pilot.app
    for _ in range(400):
        if (app.tick_count >= 1 and app.query_one("#graph").row_count and not app._polling
                and all(w.is_finished for w in app.workers)):
            rows = app.query_one("#graph").row_count
            if rows >= app.query_one("#graph").content_size.height - 1:
                break
        await pilot.pause(0.02)
    await pilot.pause(0.1)
    scenario = getattr(app, "scenario_press", ())
    for key in scenario:
        await pilot.press(key)
    await pilot.pause(0.2)
