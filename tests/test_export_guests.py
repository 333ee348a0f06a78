"""``balloontop export`` over several guests: a real exporter process reading real captures
through ``--via`` shells (the local ``sh``, busybox's ``sh``) and one command that does not
exist, scraped over HTTP on loopback; every series labelled ``guest``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from balloontop.cli import main  # noqa: E402
from balloontop.export import BalloonCollector, FleetReader, make_registry, metrics_text  # noqa: E402
from balloontop.fleet import Fleet, Guest  # noqa: E402
from balloontop.model import Sample  # noqa: E402
from balloontop.monitor import Monitor  # noqa: E402
from balloontop.sampler import Sampler  # noqa: E402
from tests.remote.conftest import missing, static_busybox  # noqa: E402

CAPTURES = Path(__file__).resolve().parent / "fixtures" / "captures"
NODEFLATE = CAPTURES / "virtio-6.18-nodeflate" / "0512M"
DEFLATE = CAPTURES / "virtio-6.1-deflate"

Key = tuple[str, tuple[tuple[str, str], ...]]


def values(text: str) -> dict[Key, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def of_guest(got: dict[Key, float], guest: str) -> dict[Key, float]:
    """The series of one guest, its ``guest`` label taken out of the key."""
    out = {}
    for (name, labels), value in got.items():
        if ("guest", guest) in labels:
            out[(name, tuple(kv for kv in labels if kv[0] != "guest"))] = value
    return out


def meminfo_kib(root: Path, key: str) -> int:
    for line in (root / "proc" / "meminfo").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise AssertionError(f"{key} not in {root}/proc/meminfo")


def scrape(url: str) -> str:
    # the urlopen timeout bounds a hang; it is not a performance assertion
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return response.read().decode()


class Exporter:
    """A ``balloontop export --listen 127.0.0.1:0`` process and the URL it printed."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "balloontop", "export", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, LC_ALL="C.UTF-8"))
        line = [""]
        reader = threading.Thread(target=lambda: line.__setitem__(0, self.proc.stdout.readline()))
        reader.start()
        reader.join(60)
        if not line[0].startswith("serving metrics on "):
            self.stop()
            pytest.fail(f"the exporter did not start: {line[0]!r} {self.stderr!r}")
        self.url = line[0].split()[-1]
        self.stderr = ""

    def scrape_until(self, done, tries: int = 100) -> dict[Key, float]:
        """Scrape until ``done(values)`` (guests connect on the first scrapes)."""
        for _ in range(tries):
            got = values(scrape(self.url))
            if done(got):
                return got
            time.sleep(0.2)
        raise AssertionError(f"the exporter never gave what was expected: {sorted(got)}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        _, self.stderr = self.proc.communicate(timeout=60)
        return self.proc.returncode


def test_one_exporter_for_several_guests() -> None:
    static_busybox()  # skips without busybox-static, fails under CI=true
    if shutil.which("busybox") is None:
        missing("busybox is not on PATH")
    exporter = Exporter("--via", "sh", "--via", "busybox sh", "--via", "does-not-exist",
                        "--root", str(NODEFLATE), "--interval", "0.2")
    try:
        got = exporter.scrape_until(lambda g: g.get(("balloontop_guest_up", (("guest", "sh"),))) == 1
                                    and g.get(("balloontop_guest_up", (("guest", "busybox sh"),))) == 1)
        text = scrape(exporter.url)
    finally:
        code = exporter.stop()
    assert code == 0, exporter.stderr
    assert "instance=" not in text  # the virtio device is the `device` label now
    for guest in ("sh", "busybox sh"):
        mine = of_guest(got, guest)
        device = (("device", "virtio0"), ("driver", "virtio_balloon"))
        assert mine[("balloontop_balloon_bytes", device)] == 536870912
        assert mine[("balloontop_balloon_accounting", device + (("mode", "total"),))] == 1
        assert mine[("balloontop_balloon_total_bytes", (("source", "meminfo:Balloon"),))] == 536870912
        assert mine[("balloontop_memory_total_bytes", ())] == meminfo_kib(NODEFLATE, "MemTotal") * 1024
        assert mine[("balloontop_memory_available_bytes", ())] == meminfo_kib(NODEFLATE, "MemAvailable") * 1024
        assert mine[("balloontop_vmstat_balloon_inflate_pages_total", ())] == 131072
        assert mine[("balloontop_scrape_errors_total", ())] == 0
        assert mine[("balloontop_sample_age_seconds", ())] >= 0
        (info,) = [k for k in mine if k[0] == "balloontop_virtio_balloon_features_info"]
        assert dict(info[1])["deflate_on_oom"] == "false" and dict(info[1])["device"] == "virtio0"
    # the command that does not exist: down, counted, and nothing else of it
    down = of_guest(got, "does-not-exist")
    assert down[("balloontop_guest_up", ())] == 0
    assert down[("balloontop_scrape_errors_total", ())] >= 1
    assert set(k[0] for k in down) == {"balloontop_guest_up", "balloontop_scrape_errors_total"}
    # every series names its guest, and only these three
    guests = {dict(labels).get("guest") for _, labels in got}
    assert guests == {"sh", "busybox sh", "does-not-exist"}


def test_a_silent_guest_does_not_hold_the_scrape() -> None:
    """``sleep`` never answers: the connect timeout is longer than the scrape's wait; the
    scrape comes back with the silent guest down and the other one read. (Stopping waits
    for the connect in progress: at most the connect timeout.)"""
    exporter = Exporter("--via", "sh", "--via", "exec sleep 600", "--root", str(NODEFLATE),
                        "--connect-timeout", "20", "--guest-wait", "0.5", "--interval", "0.2")
    try:
        got = exporter.scrape_until(lambda g: g.get(("balloontop_guest_up", (("guest", "sh"),))) == 1)
        again = values(scrape(exporter.url))
    finally:
        exporter.stop()
    for seen in (got, again):
        assert seen[("balloontop_guest_up", (("guest", "exec sleep 600"),))] == 0
        assert seen[("balloontop_balloon_bytes", (("device", "virtio0"), ("driver", "virtio_balloon"),
                                                  ("guest", "sh")))] == 536870912
    assert again[("balloontop_scrape_errors_total", (("guest", "exec sleep 600"),))] >= 1


def test_textfile_for_several_guests(tmp_path: Path) -> None:
    """``--textfile`` once: the first writing waits for the guests to connect."""
    root = DEFLATE / "0768M"
    assert main(["export", "--via", "sh", "--via", "exec sh", "--root", str(root),
                 "--textfile", str(tmp_path)]) == 0
    got = values((tmp_path / "balloontop.prom").read_text())
    balloon_kib = meminfo_kib(root, "MemTotal")  # deflate-on-oom: the balloon stays in MemTotal
    for guest in ("sh", "exec sh"):
        mine = of_guest(got, guest)
        assert mine[("balloontop_guest_up", ())] == 1
        assert mine[("balloontop_memory_total_bytes", ())] == balloon_kib * 1024
        assert mine[("balloontop_balloon_accounting", (("device", "virtio0"), ("driver", "virtio_balloon"),
                                                       ("mode", "used")))] == 1


def test_two_guests_with_one_label_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--via", "sh", "--via", "sh", "--root", str(NODEFLATE), "--textfile", "/tmp"]) == 2
    assert "labelled guest='sh'" in capsys.readouterr().err


def test_local_root_is_labelled_with_its_host_name(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(NODEFLATE, root, symlinks=True)
    (root / "proc" / "sys" / "kernel" / "hostname").write_text("vm-\x1b[31m7\n")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["export", "--root", str(root), "--textfile", str(out)]) == 0
    got = values((out / "balloontop.prom").read_text())
    label = "vm-\\x1b[31m7"  # the guest's control byte shown as an escape, never raw
    assert got[("balloontop_guest_up", (("guest", label),))] == 1
    assert got[("balloontop_balloon_total_bytes", (("guest", label), ("source", "meminfo:Balloon")))] == 536870912


class Gate:
    """A real capture's sampler that blocks while the gate is closed (a slow guest)."""

    kind = "capture"

    def __init__(self, root: Path) -> None:
        self.sampler = Sampler(str(root))
        self.open = threading.Event()
        self.open.set()

    def sample(self) -> Sample | None:
        self.open.wait(60)
        return self.sampler.sample()

    def close(self) -> None:
        self.open.set()


def test_a_slow_guest_gives_its_last_sample() -> None:
    fast, slow = Sampler(str(DEFLATE / "0768M")), Gate(NODEFLATE)
    fleet = Fleet([Guest("fast", Monitor(fast)), Guest("slow", Monitor(slow))])
    reader = FleetReader(fleet, ["fast", "slow"], wait=30)
    collector = BalloonCollector(reader)
    registry = make_registry(collector)
    try:
        first = values(metrics_text(registry).decode())
        slow.open.clear()
        reader.wait = 0.5
        second = values(metrics_text(registry).decode())  # the slow guest's tick is stuck
        slow.open.set()
    finally:
        slow.open.set()
        fleet.close()
    key = ("balloontop_balloon_total_bytes", (("guest", "slow"), ("source", "meminfo:Balloon")))
    assert first[key] == second[key] == 536870912  # its last sample stands
    assert second[("balloontop_guest_up", (("guest", "slow"),))] == 1
    assert second[("balloontop_scrape_errors_total", (("guest", "slow"),))] == 1
    assert second[("balloontop_scrape_errors_total", (("guest", "fast"),))] == 0
    assert collector.errors == {"fast": 0, "slow": 1}


def test_host_metrics_carry_the_guest_they_belong_to(tmp_path: Path) -> None:
    """Two guests, a real (paused) QEMU's QMP socket paired with the second: QEMU's
    ``actual`` is labelled with that guest, as its own series are, and the other has none."""
    from tests.paused_qemu import MEM_MIB, paused_qemu

    with paused_qemu() as address:
        assert main(["export", "--via", "sh", "--via", "exec sh", "--qmp", address,
                     "--root", str(NODEFLATE), "--textfile", str(tmp_path)]) == 0
    text = (tmp_path / "balloontop.prom").read_text()
    got = values(text)
    assert got[("balloontop_host_actual_bytes", (("guest", "exec sh"),))] == MEM_MIB << 20
    assert ("balloontop_host_actual_bytes", (("guest", "sh"),)) not in got
    assert got[("balloontop_balloon_total_bytes", (("guest", "exec sh"), ("source", "meminfo:Balloon")))] == 536870912
    assert "balloontop_host_guest_stat" not in text  # a paused guest supplies no statistics
