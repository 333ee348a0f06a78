"""The fixtures under tests/fixtures/ are intact (a fresh clone must test without /work/shared)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CAPTURES = FIXTURES / "captures"
SYNTHETIC = FIXTURES / "synthetic"
FLATTENED = FIXTURES / "flattened" / "virtio-6.18-nodeflate-0512M"

LAB_CAPTURES = ["virtio-6.1-deflate", "virtio-6.1-nodeflate", "virtio-6.18-nodeflate"]
SYNTHETIC_NAMES = sorted(p.name for p in SYNTHETIC.iterdir() if p.is_dir()) if SYNTHETIC.is_dir() else []


def _steps(capture: str) -> list[Path]:
    return sorted(p for p in (CAPTURES / capture).iterdir() if p.is_dir())


def _under(path: str, root: Path) -> bool:
    real_root = os.path.realpath(root)
    return os.path.commonpath([os.path.realpath(path), real_root]) == real_root


def _sysfs_links(root: Path) -> list[Path]:
    return sorted(Path(d) / n
                  for d, dirs, files in os.walk(root / "sys")
                  for n in dirs + files if os.path.islink(Path(d) / n))


def test_capture_readmes_and_summaries_present():
    assert (CAPTURES / "README.md").is_file()
    for capture in LAB_CAPTURES + ["devguest-6.18"]:
        assert (CAPTURES / capture / "README.md").is_file(), capture
    for capture in LAB_CAPTURES:
        summary = json.loads((CAPTURES / capture / "summary.json").read_text())
        assert [s["step"] for s in summary["steps"]] == ["1024M", "0768M", "0512M", "1024M-again"]


@pytest.mark.parametrize("capture", LAB_CAPTURES)
def test_every_lab_step_has_expected_inflated(capture):
    steps = _steps(capture)
    assert [s.name for s in steps] == ["0512M", "0768M", "1024M", "1024M-again", "boot"]
    for step in steps:
        data = json.loads((step / "CAPTURE.json").read_text())
        assert isinstance(data["expected_inflated_kib"], int), step
        assert (step / "proc/meminfo").is_file()
        assert (step / "proc/vmstat").is_file()
        assert (step / "proc/sys/kernel/osrelease").is_file()


def test_devguest_capture_present():
    step = CAPTURES / "devguest-6.18" / "idle"
    data = json.loads((step / "CAPTURE.json").read_text())
    assert data["kernel"] == (step / "proc/sys/kernel/osrelease").read_text().strip()


@pytest.mark.parametrize("capture", LAB_CAPTURES + ["devguest-6.18"])
def test_capture_sysfs_links_are_symlinks_inside_step(capture):
    for step in _steps(capture):
        devices = step / "sys/bus/virtio/devices"
        if not devices.is_dir():
            continue
        entries = sorted(devices.iterdir())
        assert entries, step
        for entry in entries:
            assert entry.is_symlink(), entry
            assert not os.path.isabs(os.readlink(entry)), entry
            assert _under(str(entry), step), entry
            assert (entry / "device").is_file(), entry
            driver = entry / "driver"
            assert driver.is_symlink() and _under(str(driver), step), driver
            assert (entry / "driver").resolve().parent.name == "drivers"
        for link in _sysfs_links(step):
            assert os.path.exists(link), f"dangling {link}"
            assert _under(str(link), step), link


def test_flattened_fixture_keeps_links_as_text():
    assert (FLATTENED.parent / "README.md").is_file()
    link_file = FLATTENED / "sys/bus/virtio/devices/virtio0"
    driver_file = FLATTENED / "sys/devices/pci0000:00/0000:00:01.0/virtio0/driver"
    for f in (link_file, driver_file, FLATTENED / "sys/bus/virtio/drivers/virtio_balloon/virtio0"):
        assert f.is_file() and not f.is_symlink(), f
        assert f.read_text().strip().startswith("../"), f
    assert link_file.read_text().strip() == "../../../devices/pci0000:00/0000:00:01.0/virtio0"
    assert not _sysfs_links(FLATTENED)
    assert json.loads((FLATTENED / "CAPTURE.json").read_text())["expected_inflated_kib"] == 524288


def test_kmsg_captures_present():
    kmsg = FIXTURES / "kmsg"
    assert (kmsg / "README.md").is_file()
    for name in ("6.1-sysrq-m", "6.18-sysrq-m", "6.18-oom-kill", "6.18-deflate-on-oom"):
        d = kmsg / name
        for f in ("README.md", "kmsg.txt", "dmesg.txt"):
            assert (d / f).is_file(), d / f
        for sub in ("before", "after", "boot"):
            assert (d / sub).is_dir(), d / sub
    assert (kmsg / "6.18-deflate-on-oom" / "timeline.tsv").is_file()


def test_synthetic_fixtures_exist():
    assert (SYNTHETIC / "README.md").is_file()
    assert len(SYNTHETIC_NAMES) >= 12


@pytest.mark.parametrize("name", SYNTHETIC_NAMES)
def test_synthetic_fixture_has_readme_expected_and_proc(name):
    root = SYNTHETIC / name
    readme = (root / "README.md").read_text()
    assert "format known only from kernel source" in readme
    expected = json.loads((root / "EXPECTED.json").read_text())
    for key in ("driver", "inflated_kib", "source", "exact", "accounting", "stats",
                "warnings_contain"):
        assert key in expected, (name, key)
    for rel in ("proc/meminfo", "proc/vmstat", "proc/sys/kernel/osrelease"):
        assert (root / rel).is_file(), (name, rel)
    for link in _sysfs_links(root):
        assert not os.path.isabs(os.readlink(link)), link
        assert os.path.exists(link), f"dangling {link}"
        assert _under(str(link), root), link
