"""The monitor pipeline (``balloontop.monitor``) every front end shares, over real captures
and a real kernel log: the same events whether the TUI, ``record`` or ``report`` sees them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from balloontop.eventlog import EventJournal, merged
from balloontop.model import Event
from balloontop.monitor import Monitor, detected_events, kernel_log_root_for
from balloontop.recording import Recorder, read_recording
from balloontop.replay import ReplaySource
from balloontop.sampler import Sampler

from .conftest import CAPTURES, FIXTURES

STEPS = ["1024M", "0768M", "0512M", "1024M-again"]


class Steps:
    """A capture-like source: one real capture step per sample, 10 s apart."""

    kind = "capture"

    def __init__(self, capture: str, steps: list[str], repeat: int = 8) -> None:
        self.clock = 1_767_225_600.0
        self.roots = [CAPTURES / capture / step for step in steps for _ in range(repeat)]
        self.closed = False

    def sample(self):
        if not self.roots:
            return None
        sample = Sampler(str(self.roots.pop(0)), clock=lambda: self.clock).sample()
        self.clock += 10.0
        return sample

    def close(self) -> None:
        self.closed = True


def _run(monitor: Monitor) -> list[Event]:
    events: list[Event] = []
    while True:
        result = monitor.tick()
        assert result.error is None
        if result.sample is None:
            break
        events += result.events
    return events + monitor.close()


def test_ticks_give_the_episodes_of_the_real_6_18_run() -> None:
    source = Steps("virtio-6.18-nodeflate", STEPS)
    events = _run(Monitor(source))
    moves = [(e.kind, e.kib) for e in events if e.kind in ("inflate", "deflate")]
    # 1024 -> 768 -> 512 MiB is one inflate of 512 MiB (pauses shorter than idle_ticks
    # would merge; these are 8 samples apart, so two), then back to 1024 MiB.
    assert moves == [("inflate", 262144), ("inflate", 262144), ("deflate", 524288)]
    assert source.closed


def test_recorder_gets_every_sample_and_event_and_the_open_episode_at_close(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(str(path), 10.0)
    monitor = Monitor(Steps("virtio-6.18-nodeflate", ["1024M", "0512M"], repeat=3), recorder=recorder)
    shown = []
    for _ in range(6):
        shown += monitor.tick().events
    assert shown == []  # the inflate episode is still open
    closing = monitor.close()
    recorder.close()
    rec = read_recording(str(path))
    assert len(rec.samples) == 6
    assert [(e.kind, e.kib) for e in rec.events] == [(e.kind, e.kib) for e in closing] == [("inflate", 524288)]


def test_record_failure_is_one_notice(tmp_path: Path) -> None:
    class FullDisk(Recorder):
        def write_sample(self, sample) -> None:  # type: ignore[no-untyped-def]
            raise OSError(28, "No space left on device")

    monitor = Monitor(Steps("virtio-6.1-deflate", ["0512M"], repeat=3),
                      recorder=FullDisk(str(tmp_path / "r.jsonl"), 1.0))
    notices = [monitor.tick().notices for _ in range(3)]
    assert notices[0] == [f"recording to {tmp_path / 'r.jsonl'} failed: [Errno 28] No space left on device"]
    assert notices[1:] == [[], []]


def test_a_source_that_raises_is_the_ticks_error_and_the_next_tick_reads() -> None:
    inner = Steps("virtio-6.1-deflate", ["0512M"], repeat=2)
    calls = []

    class Flaky(Steps):
        def sample(self):  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) == 1:
                raise OSError(5, "Input/output error")
            return inner.sample()

    monitor = Monitor(Flaky("virtio-6.1-deflate", []))
    first, second = monitor.tick(), monitor.tick()
    assert first.sample is None and first.error == "OSError: [Errno 5] Input/output error"
    assert second.sample is not None and second.sample.balloon.kib == 524288


def _kmsg_root(tmp_path: Path) -> Path:
    root = tmp_path / "0512M"
    shutil.copytree(CAPTURES / "virtio-6.18-nodeflate" / "0512M", root, symlinks=True)
    (root / "dev").mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "kmsg" / "6.18-oom-kill" / "kmsg.txt", root / "dev" / "kmsg")
    return root


def test_kernel_log_events_reach_the_tick_after_the_first(tmp_path: Path) -> None:
    root = _kmsg_root(tmp_path)
    sampler = Sampler(str(root))
    assert kernel_log_root_for(sampler, str(root)) == str(root)
    monitor = Monitor(sampler, kernel_log_root=str(root))
    first = monitor.tick(kernel_log=False)  # before the first frame: kept for later
    assert first.events == [] and monitor.kernel_log is None
    second = monitor.tick()
    kills = [e for e in second.events if e.kind == "oom_kill"]
    assert len(kills) == 1 and "uptime_s" in kills[0].details


def test_record_command_records_the_kernel_logs_oom_kill(tmp_path: Path) -> None:
    """The bug the pipeline fixed: ``balloontop record`` recorded no kernel-log event."""
    root = _kmsg_root(tmp_path)
    out = tmp_path / "rec.jsonl"
    subprocess.run([sys.executable, "-m", "balloontop", "record", str(out), "--root", str(root),
                    "--interval", "0.2", "--duration", "0.4"], check=True, timeout=60)
    rec = read_recording(str(out))
    assert [e.kind for e in rec.events if e.kind == "oom_kill"] == ["oom_kill"]
    kill = next(e for e in rec.events if e.kind == "oom_kill")
    assert "uptime_s" in kill.details


def test_replay_events_are_the_recorded_ones(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with Recorder(str(path), 10.0) as recorder:
        _run(Monitor(Steps("virtio-6.18-nodeflate", STEPS), recorder=recorder))
    replay = ReplaySource(str(path), speed=1e9)
    monitor = Monitor(replay)
    assert monitor.replay is replay
    events = _run(monitor)
    recorded = read_recording(str(path)).events
    assert [(e.kind, e.time) for e in events] == [(e.kind, e.time) for e in recorded]


def test_report_episodes_come_from_the_pipeline() -> None:
    source = Steps("virtio-6.1-deflate", STEPS)
    samples = []
    while (s := source.sample()) is not None:
        samples.append(s)
    episodes = detected_events(samples, keep=lambda e: e.kind in ("inflate", "deflate"))
    assert [(e.kind, e.kib) for e in episodes] == [("inflate", 262144), ("inflate", 262144),
                                                   ("deflate", 524288)]


def test_one_line_per_oom_kill_whichever_comes_first() -> None:
    vm = Event(100.0, "oom_kill", "vmstat oom_kill +1")
    log = Event(101.0, "oom_kill", "killed process 42 (hog)", details={"uptime_s": 5.0})
    journal = EventJournal()
    assert journal.add([vm]) == ([vm], False)
    assert journal.add([log]) == ([], True)  # the log's line replaces vmstat's
    assert journal.events == [log]
    later_vm = Event(300.0, "oom_kill", "vmstat oom_kill +1")
    journal.add([later_vm])  # another kill, more than OOM_MERGE_S later: its own line
    assert journal.events == [log, later_vm]
    assert merged([log, vm]) == [log]  # report's list: one line, in time order
