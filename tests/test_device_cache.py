"""The sampler keeps a virtio device's type, vendor and bus address between readings
(they cannot change while the device exists) and reads them again for a new device."""

from __future__ import annotations

import os
import shutil

from balloontop import rootfs
from balloontop.sampler import Sampler

from .conftest import CAPTURES

STEP = CAPTURES / "virtio-6.18-nodeflate" / "0512M"


def _counting_reads(monkeypatch) -> list[str]:
    paths: list[str] = []
    real = rootfs._read_bytes

    def counted(path: str, *args) -> bytes:
        paths.append(path)
        return real(path, *args)

    monkeypatch.setattr(rootfs, "_read_bytes", counted)
    return paths


def test_static_files_read_once_per_device(monkeypatch):
    sampler = Sampler(str(STEP))
    first = sampler.sample()
    paths = _counting_reads(monkeypatch)
    second = sampler.sample()
    assert second.virtio_devices == first.virtio_devices  # the same devices, field for field
    balloon = next(d for d in second.virtio_devices if d.type == "balloon")
    assert balloon.device_id == 5 and balloon.bus_address == "0000:00:01.0"
    read = {os.path.basename(p) for p in paths}
    assert "features" in read and "status" in read  # what can change is read every time
    assert "device" not in read and "vendor" not in read  # what cannot, only the first time


def test_a_new_device_under_the_same_name_is_read_afresh(tmp_path):
    root = tmp_path / "guest"
    shutil.copytree(STEP, root, symlinks=True)
    sampler = Sampler(str(root))
    before = {d.instance: d for d in sampler.sample().virtio_devices}
    assert before["virtio1"].device_id == 9 and before["virtio1"].type == "9p"
    # virtio1 goes away and a console (id 3) comes in under the same name: a new directory
    device_dir = root / "sys" / "devices" / "pci0000:00" / "0000:00:02.0" / "virtio1"
    replaced = tmp_path / "new-virtio1"
    shutil.copytree(device_dir, replaced, symlinks=True)
    (replaced / "device").write_text("0x0003\n")
    shutil.rmtree(device_dir)
    shutil.move(replaced, device_dir)
    after = {d.instance: d for d in sampler.sample().virtio_devices}
    assert after["virtio1"].device_id == 3 and after["virtio1"].type == "console"
    assert after["virtio0"] == before["virtio0"]
