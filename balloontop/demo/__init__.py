"""A demo guest: a simulator writes an evolving proc/sys tree that the real sampler reads.

``DemoSource(scenario, clock, speed)`` makes a private temporary directory (the only files
balloontop writes besides those the user names), writes a guest's files there in the
kernel's formats and, on each ``sample()``, advances the simulated guest to the current
simulated time, rewrites the files (each by write-then-rename) and reads them with
``Sampler``: the same code path as the live system. ``close()`` removes the directory.

Simulated time is ``(clock() - clock at start) * speed`` seconds; the guest's state is a
function of it alone (the simulation steps in fixed ticks from 0), so a given clock gives
the same timeline every time. Sample times are ``clock at start + simulated time``, so
rates computed from them are the simulated guest's (not sped up).

Scenarios (``SCENARIOS``): ``virtio`` (default: virtio balloon with DEFLATE_ON_OOM,
features 1, 2, 32, stepping up and down, deflating under pressure, an OOM kill), ``hv``
(debugfs hv-balloon), ``vmw`` (debugfs vmmemctl, 2 MiB pages), ``xen`` (sysfs xen_memory0).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable

from ..model import Sample
from ..sources import SourceKind
from .drivers import SCENARIOS
from .guest import Tree
from .scenarios import Scenario

DEFAULT_SCENARIO = "virtio"

__all__ = ["DEFAULT_SCENARIO", "SCENARIOS", "DemoSource", "scenario_names"]


def scenario_names() -> list[str]:
    return list(SCENARIOS)


class DemoSource:
    """A simulated guest behind the real sampler; use ``sample()``, then ``close()``."""

    @property
    def kind(self) -> SourceKind:
        return "demo"

    def __init__(
        self,
        scenario: str | None = DEFAULT_SCENARIO,
        clock: Callable[[], float] = time.time,
        speed: float = 1.0,
    ) -> None:
        scenario = scenario or DEFAULT_SCENARIO
        if scenario not in SCENARIOS:
            raise ValueError(
                f"unknown demo scenario {scenario!r} (choose from {', '.join(SCENARIOS)})"
            )
        if not speed > 0:
            raise ValueError("speed must be > 0")
        from ..sampler import Sampler

        self.name = scenario
        self.root = tempfile.mkdtemp(prefix=f"balloontop-demo-{scenario}-")
        self._clock = clock
        self._speed = float(speed)
        self._start = clock()
        self._anchor_wall = self._start
        self._anchor_sim = 0.0
        self._time = self._start
        try:
            tree = Tree(self.root)
            self.scenario: Scenario = SCENARIOS[scenario](tree)
            tree.write("proc/sys/kernel/osrelease", _base_osrelease())
            tree.write("proc/sys/kernel/hostname", f"demo-{scenario}\n")
            self.scenario.setup()
            self.scenario.write()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        self.sampler = Sampler(self.root, clock=lambda: self._time)

    @property
    def title(self) -> str:
        """One line for the monitor's header: what is being simulated."""
        return f"demo: {self.scenario.TITLE}"

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if not value > 0:
            raise ValueError("speed must be > 0")
        self._anchor_sim = self.sim_time
        self._anchor_wall = self._clock()
        self._speed = float(value)

    @property
    def sim_time(self) -> float:
        """Simulated seconds since the demo guest started."""
        return self._anchor_sim + max(self._clock() - self._anchor_wall, 0.0) * self._speed

    def sample(self) -> Sample:
        """Advance the guest to now, rewrite its files and read them like a live guest."""
        t = max(self.sim_time, self.scenario.guest.t)
        self.scenario.advance_to(t)
        self.scenario.write()
        self._time = self._start + t
        return self.sampler.sample()

    def close(self) -> None:
        """Remove the temporary tree (safe to call twice)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DemoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _base_osrelease() -> str:
    from .guest import base_file

    return base_file("osrelease")
