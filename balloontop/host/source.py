"""``HostSource``: any ``SampleSource`` whose samples carry the host's reading (``Sample.host``).

    source = HostSource(Sampler(root), HostReader("/run/vm1/balloontop.qmp"))
    Monitor(source)          # the TUI, record and export see sample.host on every tick

The host is read right after the guest, once per sample; ``kind`` is the wrapped source's, so
the pipeline treats it as that source. A host that cannot be read is the reading's ``error``
(``HostReader`` never raises and waits ``retry_s`` before trying a gone or busy socket again),
so the guest's view goes on at its own pace.
"""

from __future__ import annotations

import dataclasses
from collections import deque

from ..model import Event, Sample
from ..sources import ConnectionEvents, SampleSource, SourceKind
from .reader import HostReader
from .reading import guest_lag

DERIVED_TOLERANCE_KIB = 1024
"""One virtio_balloon batch (256 pages of 4 KiB): how far a figure derived from the vmstat
counters may sit from the host's (tests/vm/README.md)."""


class HostSource:
    """``inner``'s samples with ``host`` read by ``reader``, and the guest's lag over the
    current or last movement (``HostReading.lag``: the guest's figure is the sample's
    ``balloon.kib``, matched exactly where it is exact, within one batch where derived).

    The lag compares the sample's time with QEMU's event times: meaningful when both clocks
    are the host's (balloontop on the host, the guest read remotely or from a shared tree).
    """

    def __init__(self, inner: SampleSource, reader: HostReader, keep: int = 512) -> None:
        self.inner = inner
        self.reader = reader
        self._guest: deque[tuple[float, int]] = deque(maxlen=keep)

    @property
    def kind(self) -> SourceKind:
        return self.inner.kind

    def sample(self) -> Sample | None:
        sample = self.inner.sample()
        if sample is None:
            return None
        host = self.reader.read()
        if sample.balloon.kib is not None:
            self._guest.append((sample.time, sample.balloon.kib))
        move = host.movement
        if move is not None and host.ram_kib is not None:
            since = move.start - self.reader.tracker.idle_s
            host_points = [p for p in self.reader.tracker.points() if p[0] >= since]
            guest_points = [p for p in self._guest if p[0] >= since]
            tolerance = 0 if sample.balloon.exact else DERIVED_TOLERANCE_KIB
            host = host._replace(lag=guest_lag(host_points, guest_points, host.ram_kib, tolerance))
        return dataclasses.replace(sample, host=host)

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.reader.close()

    def take_events(self) -> list[Event]:
        """The wrapped source's connection events (a remote guest's drops), if it has any."""
        return self.inner.take_events() if isinstance(self.inner, ConnectionEvents) else []
