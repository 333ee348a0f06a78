"""Deflate-on-OOM inferred from samples: the 6.18 timeline, and host deflates left alone."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from balloontop.kmsg.inference import (
    DeflateOnOomDetector,
    exhaustion_threshold_kib,
    infer_deflate_on_oom,
    min_free_estimate_kib,
)
from balloontop.model import BalloonTotal, DriverReading, FeatureSet, Sample, SystemInfo, frozen_map
from balloontop.sampler import Sampler

FIXTURES = Path(__file__).parent / "fixtures"
TIMELINE = FIXTURES / "kmsg" / "6.18-deflate-on-oom" / "timeline.tsv"
VIRTIO_DEFLATE = FIXTURES / "captures" / "virtio-6.1-deflate"

# The negotiated features of the capture's balloon (QEMU, deflate-on-oom=on): bits 1, 2, ...
DOO_FEATURES = "0110000000000000000000000000010010000000100000000000000000000000"
NO_DOO_FEATURES = "0100000000000000000000000000010010000000100000000000000000000000"


def _features(raw: str) -> FeatureSet:
    return FeatureSet(raw=raw, bits=tuple(i for i, c in enumerate(raw) if c == "1"))


def _sample(time: float, meminfo: dict[str, int], vmstat: dict[str, int], balloon_kib: int,
            features: str = DOO_FEATURES) -> Sample:
    system = SystemInfo(kernel="6.18.15+deb13-amd64", hostname=None, page_size=4096,
                        page_size_source="test", uptime_s=None,
                        mem_total_kib=meminfo.get("MemTotal"), mem_free_kib=meminfo.get("MemFree"),
                        mem_available_kib=meminfo.get("MemAvailable"))
    reading = DriverReading(driver="virtio_balloon", instance="virtio0", inflated_kib=balloon_kib,
                            source="meminfo:Balloon", exact=True, accounting="used",
                            features=_features(features))
    return Sample(time=time, root="timeline", system=system, meminfo=frozen_map(meminfo),
                  vmstat=frozen_map(vmstat),
                  balloon=BalloonTotal(balloon_kib, "meminfo:Balloon", True),
                  drivers=(reading,), virtio_devices=())


def timeline_samples(features: str = DOO_FEATURES) -> list[Sample]:
    """timeline.tsv (QMP + the guest's meminfo/vmstat every 0.5 s) as Samples."""
    samples = []
    with TIMELINE.open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            meminfo = {key: int(row[f"{key}_kB"]) for key in
                       ("MemTotal", "MemFree", "MemAvailable", "Balloon")}
            vmstat = {key: int(row[key]) for key in
                      ("balloon_inflate", "balloon_deflate", "nr_balloon_pages", "oom_kill")}
            samples.append(_sample(float(row["host_t"]), meminfo, vmstat,
                                   int(row["Balloon_kB"]), features))
    return samples


def test_timeline_gives_one_deflate_on_oom_episode_of_337_mib() -> None:
    samples = timeline_samples()
    assert len(samples) == 45
    events = infer_deflate_on_oom(samples)
    assert len(events) == 1
    (event,) = events
    assert event.kind == "deflate_on_oom"
    assert event.kib == 86272 * 4 == 345088  # balloon_deflate +86272 pages of 4 KiB
    assert round(event.kib / 1024) == 337
    assert event.details["likely_deflate_on_oom"] is True
    assert (event.details["from_kib"], event.details["to_kib"]) == (524288, 179200)
    assert event.details["oom_kills"] == 0
    assert event.details["min_mem_available_kib"] == 0
    assert event.driver == "virtio_balloon" and event.instance == "virtio0"
    assert "337 MiB" in event.message and "likely deflate-on-OOM" in event.message
    assert "no process was OOM-killed" in event.message
    assert "logs nothing" in event.details["explanation"]
    assert not any(e.kind == "oom_kill" for e in events)


def test_without_deflate_on_oom_nothing_is_labelled() -> None:
    assert infer_deflate_on_oom(timeline_samples(NO_DOO_FEATURES)) == []


def test_incremental_detector_reports_when_the_episode_ends() -> None:
    detector = DeflateOnOomDetector()
    seen = []
    for sample in timeline_samples():
        seen.append((sample.time, detector.active, detector.feed(sample)))
    events = [e for _, _, batch in seen for e in batch]
    assert len(events) == 1 and detector.close() == []
    assert any(active for _, active, _ in seen)


def _capture_samples(steps: list[str]) -> list[Sample]:
    return [Sampler(str(VIRTIO_DEFLATE / step), clock=lambda t=float(i): t).sample()
            for i, step in enumerate(steps)]


def test_host_requested_deflate_with_memory_available_is_not_labelled() -> None:
    samples = _capture_samples(["1024M", "0768M", "0512M", "1024M-again"])
    # the captures are what the rule needs: DEFLATE_ON_OOM on, the balloon back to 0
    assert all(s.driver("virtio_balloon").features.has(2) for s in samples)
    assert [s.balloon.kib for s in samples] == [0, 262144, 524288, 0]
    assert samples[-1].meminfo["MemAvailable"] == 831712
    assert infer_deflate_on_oom(samples) == []


def test_same_deflate_under_exhaustion_would_be_labelled() -> None:
    # The rule, not the capture: the 0512M -> 1024M-again deflate with MemAvailable at 0.
    low, high = _capture_samples(["0512M", "1024M-again"])
    starved = [_sample(0.0, {**low.meminfo, "MemAvailable": 0}, dict(low.vmstat), 524288),
               _sample(1.0, {**high.meminfo, "MemAvailable": 1024}, dict(high.vmstat), 0)]
    (event,) = infer_deflate_on_oom(starved)
    assert event.kib == 524288


def test_reclaim_evidence_needs_tight_memory() -> None:
    total = 1_000_000
    base = {"MemTotal": total, "MemFree": 50_000}
    stalls0 = {"allocstall_normal": 0, "pgscan_direct": 0, "oom_kill": 0}
    stalls1 = {"allocstall_normal": 7, "pgscan_direct": 900, "oom_kill": 0}
    # 8% available, stalls rising, balloon shrinking: labelled via the reclaim evidence
    tight = [_sample(0, {**base, "MemAvailable": 80_000}, stalls0, 10240),
             _sample(1, {**base, "MemAvailable": 80_000}, stalls1, 9216)]
    (event,) = infer_deflate_on_oom(tight)
    assert event.kib == 1024
    assert any("direct reclaim" in e for e in event.details["evidence"])
    # 30% available: stalls alone are page-cache churn, not an OOM: not labelled
    roomy = [_sample(0, {**base, "MemAvailable": 300_000}, stalls0, 10240),
             _sample(1, {**base, "MemAvailable": 300_000}, stalls1, 9216)]
    assert infer_deflate_on_oom(roomy) == []


def test_thresholds_follow_the_kernel_formulas() -> None:
    assert min_free_estimate_kib(986228) == 3972  # sqrt(16 * 986228)
    assert min_free_estimate_kib(1000) == 128 and min_free_estimate_kib(10**12) == 262144
    assert exhaustion_threshold_kib(986228) == 19724
    assert exhaustion_threshold_kib(20_000) == 565  # tiny guest: the watermark term wins


def test_missing_figures_never_raise() -> None:
    s0 = _sample(0, {}, {}, 100)
    s1 = _sample(1, {"MemTotal": 0}, {}, 50)
    assert infer_deflate_on_oom([s0, s1]) == []
    assert infer_deflate_on_oom([]) == []


@pytest.mark.parametrize("idle", [1, 5, 100])
def test_one_episode_whatever_the_idle_limit_within_pressure(idle: int) -> None:
    events = infer_deflate_on_oom(timeline_samples(), idle_samples=idle)
    assert sum(e.kib for e in events) == 345088
