"""Several guests at once (``balloontop.fleet``): one tick for all, a silent guest never
holds the others back, events name their guest, one recording for all."""

from __future__ import annotations

import threading
from pathlib import Path

from balloontop.fleet import Fleet, Guest
from balloontop.monitor import Monitor
from balloontop.recording import Recorder, read_recording

from .test_monitor import Steps


class Silent(Steps):
    """A guest whose reading hangs until released (a guest that stopped answering)."""

    def __init__(self) -> None:
        super().__init__("virtio-6.1-deflate", ["0512M"], repeat=5)
        self.release = threading.Event()

    def sample(self):  # type: ignore[no-untyped-def]
        self.release.wait(10)
        return super().sample()


def test_a_silent_guest_does_not_hold_the_others_back() -> None:
    silent = Silent()
    fleet = Fleet([Guest("db1", Monitor(Steps("virtio-6.18-nodeflate", ["1024M"]), guest="db1")),
                   Guest("vm7", Monitor(silent, guest="vm7"), state=lambda: "connected")])
    first = fleet.tick(0.5)
    assert [(t.guest.name, t.result is not None) for t in first] == [("db1", True), ("vm7", False)]
    assert first[0].result is not None and first[0].result.sample is not None
    assert first[0].result.sample.balloon.kib == 0  # the real 6.18 capture at 1024 MiB: nothing ballooned
    assert first[1].state == "connected"
    silent.release.set()
    second = fleet.tick(5.0)
    late = second[1].result
    assert late is not None and late.sample is not None and late.sample.balloon.kib == 524288
    fleet.close()


def test_events_name_their_guest_and_share_one_recording(tmp_path: Path) -> None:
    path = tmp_path / "fleet.jsonl"
    recorder = Recorder(str(path), 10.0)
    fleet = Fleet([
        Guest(name, Monitor(Steps("virtio-6.18-nodeflate", ["1024M", "0512M"], repeat=2),
                            recorder=recorder, guest=name))
        for name in ("db1", "vm7")])
    for _ in range(4):
        fleet.tick(5.0)
    closing = fleet.close()
    recorder.close()
    assert sorted((e.guest, e.kind, e.kib) for e in closing) == [("db1", "inflate", 524288),
                                                                ("vm7", "inflate", 524288)]
    rec = read_recording(str(path))
    assert len(rec.samples) == 8
    assert sorted(e.guest for e in rec.events) == ["db1", "vm7"]


def test_a_fleet_of_one_ticks_inline() -> None:
    fleet = Fleet([Guest("", Monitor(Steps("virtio-6.1-deflate", ["0512M"])))])
    (tick,) = fleet.tick(0.0)  # no wait, no thread: the result is there
    assert tick.result is not None and tick.result.sample is not None
    assert tick.result.sample.balloon.kib == 524288
    assert fleet._pool is None


def test_a_recording_of_two_guests_replays_and_reports_each(tmp_path: Path) -> None:
    """Two guests read through a real ``sh`` (the 6.1 capture with 512 MiB ballooned and the
    6.18 one left with 768 MiB, 256 MiB ballooned) into one recording: each sample names its guest, replay picks one, report sums
    up each."""
    import json
    import shutil
    import subprocess
    import sys

    from balloontop.replay import ReplaySource, guests_of

    from .conftest import CAPTURES

    if shutil.which("sh") is None:  # pragma: no cover - every POSIX system has one
        return
    path = tmp_path / "two.jsonl"
    common = ["--interval", "0.3", "--duration", "0.9"]
    for root, guest in ((CAPTURES / "virtio-6.1-deflate" / "0512M", "sh"),
                        (CAPTURES / "virtio-6.18-nodeflate" / "0768M", "exec sh")):
        part = tmp_path / f"{guest.replace(' ', '-')}.jsonl"
        subprocess.run([sys.executable, "-m", "balloontop", "record", str(part), "--via", guest,
                        "--root", str(root), *common], check=True, timeout=60)
        with path.open("a") as out:  # one file, as the monitor writes it (header once)
            lines = part.read_text().splitlines()
            out.write("\n".join(lines if guest == "sh" else lines[1:]) + "\n")
    rec = read_recording(str(path))
    assert guests_of(rec) == ["sh", "exec sh"]
    assert {s.balloon.kib for s in ReplaySource(rec, guest="exec sh").samples} == {262144}
    report = subprocess.run([sys.executable, "-m", "balloontop", "report", str(path), "--json"],
                            capture_output=True, text=True, check=True, timeout=60)
    guests = json.loads(report.stdout)["guests"]
    assert guests["sh"]["balloon_kib"]["max"] == 524288
    assert guests["exec sh"]["balloon_kib"]["max"] == 262144


def test_two_guests_with_one_host_name_are_told_apart() -> None:
    """Two guests whose host name is the same (two clones, or one machine read twice) get
    their target beside it; the same target twice gets a number."""
    def guest(name: str, host: str) -> Guest:
        return Guest(name, Monitor(Steps("virtio-6.18-nodeflate", ["1024M"])), label=lambda: host)

    fleet = Fleet([guest("busybox sh", "vm"), guest("sh", "vm"), guest("db1", "db1")])
    assert fleet.titles() == ["vm (busybox sh)", "vm (sh)", "db1"]
    fleet.close()
    fleet = Fleet([guest("sh", "vm"), guest("sh", "vm")])
    assert fleet.titles() == ["vm (sh) #1", "vm (sh) #2"]
    fleet.close()
