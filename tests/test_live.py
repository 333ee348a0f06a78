"""Against this machine's own /: only where a virtio balloon exists (the development VM)."""

from __future__ import annotations

import glob

import pytest

from balloontop.sampler import Sampler
from balloontop.virtio.decode import decode_bits


def _has_virtio_balloon() -> bool:
    for path in glob.glob("/sys/bus/virtio/devices/*/device"):
        with open(path) as handle:
            if handle.read().strip() == "0x0005":
                return True
    return False


pytestmark = pytest.mark.skipif(not _has_virtio_balloon(), reason="no virtio balloon on this machine")


def test_live_balloon_is_found_and_every_bit_is_named_or_unknown() -> None:
    sample = Sampler("/").sample()
    virtio = sample.driver("virtio_balloon")
    assert virtio is not None and virtio.features is not None
    assert virtio.inflated_kib is not None and virtio.inflated_kib >= 0
    assert sample.system.page_size_source == "running"
    assert sample.system.kernel and sample.system.hostname
    for bit in decode_bits(virtio.features.bits, 5):
        assert bit.name or bit.bit in virtio.features.unknown_bits, bit
    assert set(virtio.features.unknown_bits) <= set(virtio.features.bits)
