"""Turn one reading of a root into an immutable ``Sample``.

Each file is read once per sample: meminfo and vmstat first, then the virtio devices,
then each driver with those readings in a shared context. A driver that fails degrades
its own reading only: its exception becomes a warning.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .balloon import attribute_shared, balloon_total, share_warning
from .drivers import DRIVERS
from .drivers.base import ReadContext, debugfs_state
from .model import DriverReading, Sample, frozen_map
from .parsers.meminfo import parse_meminfo
from .parsers.vmstat import parse_vmstat
from .rootfs import Root
from .sources import SourceKind
from .tree import FileTree
from .system import read_system
from .virtio.devices import DeviceCache, read_virtio_devices


class Sampler:
    """Reads a root on demand; keeps between readings only the root, the clock and what
    cannot change while a virtio device exists (``DeviceCache``)."""

    def __init__(self, root: str | os.PathLike[str] | FileTree = "/", clock: Callable[[], float] = time.time) -> None:
        self.root: FileTree = Root(os.fspath(root)) if isinstance(root, (str, os.PathLike)) else root
        self.clock = clock
        self._devices = DeviceCache()

    @property
    def kind(self) -> SourceKind:
        """``live`` for this machine's ``/``, ``capture`` for a folder standing for one."""
        return "live" if self.root.is_live else "capture"

    def close(self) -> None:
        """Nothing to release (a ``SampleSource`` is closed once by its user)."""

    def sample(self) -> Sample:
        root = self.root
        warnings: list[str] = []
        meminfo = self._parse(root, "proc/meminfo", parse_meminfo, warnings)
        vmstat = self._parse(root, "proc/vmstat", parse_vmstat, warnings)
        system = read_system(root, meminfo, vmstat, warnings)
        devices = read_virtio_devices(root, warnings, self._devices)
        ctx = ReadContext(root, frozen_map(meminfo), frozen_map(vmstat), devices, system.page_size, debugfs_state(root))
        readings: list[DriverReading] = []
        for driver in DRIVERS:
            try:
                readings.extend(driver.read(ctx))
            except Exception as exc:  # noqa: BLE001 - one driver's failure must not stop the others
                name = driver.NAME
                warnings.append(f"{name}: reading failed ({type(exc).__name__}: {exc})")
        readings = attribute_shared(readings, meminfo, vmstat, system.page_size)
        warnings.extend(root.take_warnings())  # files cut at the read cap
        total = balloon_total(readings, meminfo)
        too_large = share_warning(readings, meminfo, total.kib)
        if too_large:
            warnings.append(too_large)
        return Sample(
            time=self.clock(),
            root=root.path,
            system=system,
            meminfo=frozen_map(meminfo),
            vmstat=frozen_map(vmstat),
            balloon=total,
            drivers=tuple(readings),
            virtio_devices=devices,
            warnings=tuple(warnings),
        )

    @staticmethod
    def _parse(root: FileTree, rel: str, parser: Callable, warnings: list[str]) -> dict[str, int]:
        text, error = root.read_text(rel)
        if text is None:
            warnings.append(f"/{rel}: {error.detail if error else 'unreadable'}")
            return {}
        values, problems = parser(text, source=f"/{rel}")
        warnings.extend(problems)
        return values
