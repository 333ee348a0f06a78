"""Reading inside a root: links followed without escaping it, errors never raised."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from balloontop import rootfs
from balloontop.rootfs import Root
from balloontop.sampler import Sampler

from .conftest import CAPTURES, FIXTURES


def test_relative_sysfs_links_are_followed(tmp_path: Path) -> None:
    root = Root(str(CAPTURES / "virtio-6.18-nodeflate" / "0512M"))
    assert root.real_rel("sys/bus/virtio/devices/virtio0") == "/sys/devices/pci0000:00/0000:00:01.0/virtio0"
    assert root.text("sys/bus/virtio/devices/virtio0/device") == "0x0005\n"
    assert root.readlink("sys/bus/virtio/devices/virtio0/driver") == "../../../../bus/virtio/drivers/virtio_balloon"


def test_links_stored_as_text_are_followed() -> None:
    flattened = FIXTURES / "flattened" / "virtio-6.18-nodeflate-0512M"
    assert (flattened / "sys/bus/virtio/devices/virtio0").is_file()
    sample = Sampler(flattened).sample()
    virtio = sample.driver("virtio_balloon", "virtio0")
    assert virtio is not None and virtio.inflated_kib == 524288
    assert sample.virtio_devices[0].driver == "virtio_balloon"
    assert sample.virtio_devices[0].bus_address == "0000:00:01.0"


def test_absolute_links_and_dotdot_stay_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "meminfo").write_text("MemTotal: 1 kB\n")
    os.symlink("/proc/meminfo", tmp_path / "abs")  # absolute: must mean <root>/proc/meminfo
    os.symlink("../../../../proc/meminfo", tmp_path / "proc" / "up")  # .. stops at the root
    root = Root(str(tmp_path))
    assert root.text("abs") == "MemTotal: 1 kB\n"
    assert root.text("proc/up") == "MemTotal: 1 kB\n"
    assert root.text("../../etc/hostname") is None


def test_link_loops_are_an_error_not_a_hang(tmp_path: Path) -> None:
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    text, error = Root(str(tmp_path)).read_text("a/x")
    assert text is None and error is not None and error.reason == "error"


def test_permission_denied_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    real = rootfs._read_bytes

    def deny_vmstat(path: str, *args: object) -> bytes:
        if path.endswith("/proc/vmstat"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real(path, *args)

    monkeypatch.setattr(rootfs, "_read_bytes", deny_vmstat)
    sample = Sampler(CAPTURES / "virtio-6.1-deflate" / "0512M").sample()
    assert sample.vmstat == {}
    assert any("/proc/vmstat: permission denied" in w for w in sample.warnings)
    virtio = sample.driver("virtio_balloon")
    assert virtio is not None and virtio.inflated_kib is None  # no counters left to derive it
    assert any("no source for the balloon size" in w for w in virtio.warnings)
    assert sample.system.mem_total_kib == 983744  # the rest still reads


def test_device_vanishing_between_listing_and_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step = tmp_path / "step"
    shutil.copytree(CAPTURES / "virtio-6.1-deflate" / "0512M", step, symlinks=True)
    real_listdir = Root.listdir

    def listdir_then_vanish(self: Root, rel: str) -> list[str]:
        names = real_listdir(self, rel)
        if rel == "sys/bus/virtio/devices":
            shutil.rmtree(step / "sys/devices/pci0000:00/0000:00:02.0")  # virtio1 goes away
        return names

    monkeypatch.setattr(Root, "listdir", listdir_then_vanish)
    sample = Sampler(step).sample()
    assert [d.instance for d in sample.virtio_devices] == ["virtio0"]
    assert any("virtio1 vanished" in w for w in sample.warnings)
    assert sample.balloon.kib == 524288


def test_truncated_files_never_raise(tmp_path: Path) -> None:
    step = tmp_path / "step"
    shutil.copytree(CAPTURES / "virtio-6.18-nodeflate" / "0512M", step, symlinks=True)
    for rel in ("proc/meminfo", "proc/vmstat", "sys/devices/pci0000:00/0000:00:01.0/virtio0/features"):
        path = step / rel
        data = path.read_bytes()
        path.chmod(0o644)
        path.write_bytes(data[: len(data) // 2 + 3])
    sample = Sampler(step).sample()
    assert "MemTotal" in sample.meminfo  # the first half is still read
    assert sample.driver("virtio_balloon") is not None


def test_nothing_is_opened_for_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_open = builtins.open

    def read_only_open(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        assert not set(mode) & set("wax+"), f"opened {file} with mode {mode}"
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only_open)
    for step in (CAPTURES / "devguest-6.18" / "idle", CAPTURES / "virtio-6.1-nodeflate" / "0768M"):
        Sampler(step).sample()
