"""Deflate-on-OOM, inferred from samples: the kernel logs nothing when it happens.

With ``VIRTIO_BALLOON_F_DEFLATE_ON_OOM`` (feature bit 2) negotiated, virtio_balloon registers
an OOM notifier: when the kernel is about to pick an OOM victim (``out_of_memory()``, reached
only after direct reclaim failed), the driver hands pages back from the balloon instead
(256 pages per call, ``VIRTIO_BALLOON_OOM_NR_PAGES``), silently. The guest cannot see the
host's target either, so from the inside a deflate on OOM and a deflate the host asked
for look alike, except for the state the guest was in. Hence "likely".

The rule
--------
For each pair of consecutive samples ``prev`` -> ``cur``:

1. **Shrink**: the balloon total (``sample.balloon.kib``) is smaller in ``cur`` than in ``prev``.
2. **DEFLATE_ON_OOM negotiated**: a ``virtio_balloon`` reading of ``cur`` (or ``prev``) has
   feature bit 2 set. Without it the driver never deflates on its own: not labelled.
3. **Memory pressure**, either of

   a. *exhaustion*: ``MemAvailable <= T`` in ``prev`` or ``cur``, with
      ``T = max(2 % of MemTotal, min_free_kbytes estimate)``. The OOM path is entered only
      when free memory is down at the min watermark and reclaim found nothing, i.e. when
      MemAvailable (free above the watermarks plus what is reclaimable) is about 0. The
      2 % margin absorbs what the deflate itself (1 MiB per OOM call) and the sampling
      delay give back before the next reading; the watermark term is the kernel's own
      default ``min_free_kbytes = sqrt(16 * lowmem_kB)``, clamped to 128 kB .. 256 MiB,
      which only matters for guests under ~40 MiB (it is a lower bound: THP raises it).
   b. *reclaim*: direct reclaim or allocation stalls rose between the samples (the sum of
      ``allocstall_*``, ``pgscan_direct``, ``pgsteal_direct``, where the samples have
      them) **and** ``MemAvailable <= 10 % of MemTotal`` in ``prev`` or ``cur``. Direct
      reclaim precedes every OOM, but busy guests also reclaim directly with plenty
      available (page cache churn, high-order allocations); the 10 % ceiling (five times
      the exhaustion margin) keeps those out while allowing for memory that came back
      between the OOM moment and the sample.

A pair meeting 1-3 opens an *episode* or extends the open one. The episode ends at the
first of: a shrink that does not meet 2-3 (the host asked for that one), the balloon
growing, a sample without pressure, ``idle_samples`` samples in a row without a shrink,
or ``close()``. It is reported once, when it ends, as one ``Event`` of kind
``deflate_on_oom`` with ``kib`` = the balloon's size at the start minus at the end and
``details["likely_deflate_on_oom"] = True``; the vmstat ``oom_kill`` increase over the
episode is in ``details["oom_kills"]`` (0: the deflate spared the guest an OOM kill).

Nothing here is tuned to a capture: the thresholds follow from when the kernel calls the
OOM notifier, as above.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..drivers.virtio_balloon import reading_deflate_on_oom
from ..model import Event, Sample
from ..parsers.vmstat import allocation_stalls
from ..units import format_mib

EXHAUSTION_FRACTION = 0.02
RECLAIM_FRACTION = 0.10
KIND = "deflate_on_oom"
_RECLAIM_KEYS = ("pgscan_direct", "pgsteal_direct")

EXPLANATION = (
    "The virtio balloon shrank while DEFLATE_ON_OOM (feature bit 2) was negotiated and the "
    "guest was out of memory. With that feature the driver gives balloon pages back to the "
    "guest when the kernel is about to invoke the OOM killer, and the kernel logs nothing "
    "about it. The guest cannot see the host's target, so a deflate the host asked for at "
    "that moment would look the same: hence 'likely'. The host still sees the balloon "
    "smaller than it asked for until it sets a new target."
)


def min_free_estimate_kib(mem_total_kib: int) -> int:
    """The kernel's default ``min_free_kbytes`` for this much memory (a lower bound)."""
    return int(min(max(math.isqrt(max(mem_total_kib, 0) * 16), 128), 262144))


def exhaustion_threshold_kib(mem_total_kib: int) -> int:
    """``T``: MemAvailable at or below this counts as exhausted (see the module rule)."""
    return max(int(mem_total_kib * EXHAUSTION_FRACTION), min_free_estimate_kib(mem_total_kib))


def deflate_on_oom_negotiated(sample: Sample) -> bool:
    return any(reading_deflate_on_oom(reading) for reading in sample.drivers)


def _reclaim_total(vmstat: Mapping[str, int]) -> int | None:
    parts = [allocation_stalls(vmstat), *(vmstat.get(k) for k in _RECLAIM_KEYS)]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


def _reclaim_rose(prev: Sample, cur: Sample) -> bool:
    before, after = _reclaim_total(prev.vmstat), _reclaim_total(cur.vmstat)
    return before is not None and after is not None and after > before


def _available(sample: Sample) -> tuple[int, int] | None:
    total, available = sample.meminfo.get("MemTotal"), sample.meminfo.get("MemAvailable")
    if total is None or available is None or total <= 0:
        return None
    return available, total


def pressure(prev: Sample, cur: Sample) -> tuple[bool, list[str]]:
    """Whether the guest was under memory pressure between ``prev`` and ``cur``, and why."""
    reasons: list[str] = []
    pairs = [p for p in (_available(prev), _available(cur)) if p is not None]
    if not pairs:
        return False, reasons
    low_avail = min(a for a, _ in pairs)
    total = max(t for _, t in pairs)
    threshold = exhaustion_threshold_kib(total)
    if low_avail <= threshold:
        reasons.append(f"MemAvailable {low_avail} kB <= {threshold} kB "
                       f"(max of 2% of MemTotal and min_free_kbytes)")
    if _reclaim_rose(prev, cur) and low_avail <= total * RECLAIM_FRACTION:
        reasons.append(f"direct reclaim/allocation stalls rose with MemAvailable {low_avail} kB "
                       f"<= 10% of MemTotal")
    return bool(reasons), reasons


@dataclass
class _Episode:
    start: Sample
    end: Sample
    from_kib: int
    to_kib: int
    steps: int = 0
    min_available_kib: int | None = None
    reasons: list[str] = field(default_factory=list)
    idle: int = 0
    instance: str | None = None


class DeflateOnOomDetector:
    """Feed samples in time order; get ``deflate_on_oom`` events as episodes end."""

    def __init__(self, idle_samples: int = 5) -> None:
        self.idle_samples = idle_samples
        self._prev: Sample | None = None
        self._episode: _Episode | None = None

    @property
    def active(self) -> bool:
        """True while an episode is open (for a "deflating on OOM..." indicator)."""
        return self._episode is not None

    def feed(self, sample: Sample) -> list[Event]:
        prev, self._prev = self._prev, sample
        if prev is None:
            return []
        try:
            return self._step(prev, sample)
        except Exception:  # pragma: no cover - defensive: inference never breaks the monitor
            return []

    def close(self) -> list[Event]:
        """End the open episode (end of a recording or of the monitor)."""
        return self._finish()

    def _step(self, prev: Sample, cur: Sample) -> list[Event]:
        before, after = prev.balloon.kib, cur.balloon.kib
        under_pressure, reasons = pressure(prev, cur)
        doo = deflate_on_oom_negotiated(cur) or deflate_on_oom_negotiated(prev)
        out: list[Event] = []
        if before is None or after is None:
            return out
        if after < before:
            if doo and under_pressure:
                ep = self._episode
                if ep is None:
                    ep = self._episode = _Episode(start=prev, end=cur, from_kib=before,
                                                  to_kib=after)
                    reading = cur.driver("virtio_balloon")
                    ep.instance = reading.instance if reading else None
                ep.end, ep.to_kib, ep.idle = cur, after, 0
                ep.steps += 1
                for reason in reasons:
                    key = reason.split(" ", 1)[0]
                    if not any(r.startswith(key) for r in ep.reasons):
                        ep.reasons.append(reason)
                for pair in (_available(prev), _available(cur)):
                    if pair is not None:
                        low = pair[0]
                        if ep.min_available_kib is None or low < ep.min_available_kib:
                            ep.min_available_kib = low
                return out
            return self._finish()
        if after > before or not under_pressure:
            return self._finish()
        if self._episode is not None:
            self._episode.idle += 1
            if self._episode.idle >= self.idle_samples:
                return self._finish()
        return out

    def _finish(self) -> list[Event]:
        ep, self._episode = self._episode, None
        if ep is None or ep.from_kib <= ep.to_kib:
            return []
        kib = ep.from_kib - ep.to_kib
        oom_before = ep.start.vmstat.get("oom_kill")
        oom_after = ep.end.vmstat.get("oom_kill")
        oom_kills = (oom_after - oom_before) if (oom_before is not None and
                                                  oom_after is not None) else None
        total = ep.end.meminfo.get("MemTotal")
        details: dict[str, Any] = {
            "likely_deflate_on_oom": True,
            "start": ep.start.time,
            "end": ep.end.time,
            "from_kib": ep.from_kib,
            "to_kib": ep.to_kib,
            "steps": ep.steps,
            "min_mem_available_kib": ep.min_available_kib,
            "exhaustion_threshold_kib": exhaustion_threshold_kib(total) if total else None,
            "evidence": list(ep.reasons),
            "oom_kills": oom_kills,
            "explanation": EXPLANATION,
        }
        spared = ("no process was OOM-killed meanwhile" if oom_kills == 0 else
                  f"{oom_kills} OOM kill(s) happened meanwhile" if oom_kills else
                  "OOM kills unknown")
        message = (f"likely deflate-on-OOM: the virtio balloon gave back {format_mib(kib)} "
                   f"while the guest was out of memory ({spared}); the kernel logs nothing "
                   "for this")
        return [Event(time=ep.end.time, kind=KIND, message=message, kib=kib,
                      driver="virtio_balloon", instance=ep.instance,
                      details=MappingProxyType(details))]


def infer_deflate_on_oom(samples: Iterable[Sample], idle_samples: int = 5) -> list[Event]:
    """``deflate_on_oom`` events for a sequence of samples (time order)."""
    detector = DeflateOnOomDetector(idle_samples=idle_samples)
    events: list[Event] = []
    for sample in samples:
        events.extend(detector.feed(sample))
    events.extend(detector.close())
    return events
