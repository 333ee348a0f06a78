"""Decoding virtio features strings: real captures (tests/fixtures/captures), hex, lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from balloontop.virtio.decode import (
    DecodedBit,
    decode_bits,
    parse_any,
    parse_bit_list,
    parse_bitstring,
    parse_hex,
    unknown_bits,
)

CAPTURES = Path(__file__).parent / "fixtures" / "captures"
PCI = "sys/devices/pci0000:00"

# devguest-6.18 idle, virtio0 (balloon): 128 characters, bit 7 is a vendor extension.
DEVGUEST_BALLOON = (
    "01100101000000000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
)
# virtio-6.1-deflate 0512M, virtio0 (balloon): 64 characters.
BALLOON_61 = "0110000000000000000000000000010010000000100000000000000000000000"
# virtio-6.1-deflate 0512M, virtio1 (9p).
P9_61 = "1000000000000000000000000000110010000000100000000000000000000000"
# devguest-6.18 idle, virtio2 (net).
DEVGUEST_NET = (
    "11000101101110110000000000000100100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
)


def _capture(rel: str) -> str:
    path = CAPTURES / rel
    if not path.exists():
        pytest.skip(f"fixture {rel} missing")
    return path.read_text()


def test_constants_match_the_fixture_files() -> None:
    assert _capture(f"devguest-6.18/idle/{PCI}/0000:00:01.0/virtio0/features").strip() == DEVGUEST_BALLOON
    assert _capture(f"devguest-6.18/idle/{PCI}/0000:00:03.0/virtio2/features").strip() == DEVGUEST_NET
    assert _capture(f"virtio-6.1-deflate/0512M/{PCI}/0000:00:01.0/virtio0/features").strip() == BALLOON_61
    assert _capture(f"virtio-6.1-deflate/0512M/{PCI}/0000:00:02.0/virtio1/features").strip() == P9_61


def test_devguest_balloon_128() -> None:
    bits, width = parse_bitstring(DEVGUEST_BALLOON + "\n")
    assert width == 128 and bits == (1, 2, 5, 7, 32)
    decoded = {d.bit: d for d in decode_bits(bits, 5)}
    assert decoded[1].name == "VIRTIO_BALLOON_F_STATS_VQ"
    assert decoded[2].name == "VIRTIO_BALLOON_F_DEFLATE_ON_OOM"
    assert decoded[5].name == "VIRTIO_BALLOON_F_REPORTING" and decoded[5].kind == "device"
    assert decoded[32].name == "VIRTIO_F_VERSION_1" and decoded[32].kind == "transport"
    seven = decoded[7]
    assert not seven.known and seven.name is None and seven.kind == "unknown"
    assert "not defined by Linux or the virtio spec" in seven.meaning
    assert "(0-23)" in seven.meaning and "vendor" in seven.meaning
    assert unknown_bits(bits, 5) == (7,)


def test_balloon_61_64() -> None:
    bits, width = parse_bitstring(BALLOON_61)
    assert width == 64 and bits == (1, 2, 29, 32, 40)
    names = [d.name for d in decode_bits(bits, 5)]
    assert names == ["VIRTIO_BALLOON_F_STATS_VQ", "VIRTIO_BALLOON_F_DEFLATE_ON_OOM",
                     "VIRTIO_RING_F_EVENT_IDX", "VIRTIO_F_VERSION_1", "VIRTIO_F_RING_RESET"]
    assert unknown_bits(bits, 5) == ()


def test_9p() -> None:
    bits, width = parse_bitstring(P9_61)
    assert width == 64 and bits == (0, 28, 29, 32, 40)
    first = decode_bits(bits, 9)[0]
    assert first.name == "VIRTIO_9P_MOUNT_TAG" and first.known
    assert unknown_bits(bits, 9) == ()


def test_devguest_net() -> None:
    bits, width = parse_bitstring(DEVGUEST_NET)
    assert width == 128 and bits == (0, 1, 5, 7, 8, 10, 11, 12, 14, 15, 29, 32)
    names = {d.bit: d.name for d in decode_bits(bits, 1)}
    assert names[0] == "VIRTIO_NET_F_CSUM" and names[5] == "VIRTIO_NET_F_MAC"
    assert names[15] == "VIRTIO_NET_F_MRG_RXBUF" and names[29] == "VIRTIO_RING_F_EVENT_IDX"
    assert unknown_bits(bits, 1) == ()


def test_without_device() -> None:
    bits, _ = parse_bitstring(DEVGUEST_BALLOON)
    decoded = decode_bits(bits, None)
    kinds = {d.bit: d.kind for d in decoded}
    assert kinds == {1: "device-specific", 2: "device-specific", 5: "device-specific",
                     7: "device-specific", 32: "transport"}
    assert all(not d.known for d in decoded if d.kind == "device-specific")
    assert unknown_bits(bits, None) == ()
    assert unknown_bits([1, 31, 43, 60, 200], None) == (31, 43, 200)


def test_unknown_device_id() -> None:
    assert unknown_bits([0, 32], 999) == (0,)
    assert [d.kind for d in decode_bits([0, 32], 4)] == ["unknown", "transport"]  # rng has no bits


def test_decoded_json() -> None:
    d = decode_bits([2], 5)[0]
    j = d.to_json()
    assert {"bit", "name", "meaning", "known", "kind", "header", "detail", "status"} <= set(j)
    assert j["bit"] == 2 and j["known"] is True and j["status"] == "linux"
    assert "MemTotal" in j["detail"]
    assert isinstance(d, DecodedBit)


def test_decode_sorts_and_dedups() -> None:
    assert [d.bit for d in decode_bits([32, 1, 1, 0], 5)] == [0, 1, 32]


@pytest.mark.parametrize("bad", [[-1], ["1"], [1.5], [True], None, 5])
def test_decode_rejects(bad) -> None:
    with pytest.raises(ValueError):
        decode_bits(bad, 5)


@pytest.mark.parametrize(
    "text", ["", "   \n", "0120", "01 01", "0x11", "abc", "０１"],
)
def test_parse_bitstring_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="characters other than 0 and 1"):
        parse_bitstring(text)


def test_parse_bitstring_32_and_whitespace() -> None:
    assert parse_bitstring("1" + "0" * 31 + " \n") == ((0,), 32)


@pytest.mark.parametrize(
    "text, bits",
    [("0x0", ()), ("0x1", (0,)), ("0x100000026", (1, 2, 5, 32)), ("0X80", (7,)),
     (" 0x1_0000_0000\n", (32,)), ("0x" + "f" * 32, tuple(range(128)))],
)
def test_parse_hex(text: str, bits: tuple[int, ...]) -> None:
    assert parse_hex(text) == bits


@pytest.mark.parametrize("text", ["", "0x", "12", "0xg", "-0x1", "0x" + "1" + "0" * 32, "0x_1"])
def test_parse_hex_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hex(text)


@pytest.mark.parametrize(
    "text, bits",
    [("1,2,32", (1, 2, 32)), ("1 2 32", (1, 2, 32)), ("32, 1,\n2", (1, 2, 32)),
     ("7", (7,)), ("5,5", (5,)), ("127", (127,)), ("0\n1\n32\n", (0, 1, 32))],
)
def test_parse_bit_list(text: str, bits: tuple[int, ...]) -> None:
    assert parse_bit_list(text) == bits


@pytest.mark.parametrize("text", ["", ",", "-1", "128", "1,x", "1.0", "0x5", "٣"])
def test_parse_bit_list_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_bit_list(text)


@pytest.mark.parametrize(
    "text, result",
    [("0x26", ((1, 2, 5), None)), ("1,2,5", ((1, 2, 5), None)), ("10", ((10,), None)),
     ("00000001", ((7,), 8)), (BALLOON_61 + "\n", ((1, 2, 29, 32, 40), 64)),
     ("1 2 32", ((1, 2, 32), None))],
)
def test_parse_any(text: str, result) -> None:
    assert parse_any(text) == result


@pytest.mark.parametrize("text", ["", "0x", "hello", "0128", "1,,x"])
def test_parse_any_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_any(text)


@given(st.text())
def test_parsers_raise_only_value_error(text: str) -> None:
    for parse in (parse_bitstring, parse_hex, parse_bit_list, parse_any):
        try:
            parse(text)
        except ValueError:
            pass


@given(st.lists(st.sampled_from("01"), min_size=1, max_size=300))
def test_bitstring_round_trip(chars: list[str]) -> None:
    text = "".join(chars)
    bits, width = parse_bitstring(text + "\n")
    assert width == len(text)
    assert "".join("1" if i in bits else "0" for i in range(width)) == text


@given(st.sets(st.integers(min_value=0, max_value=127)))
def test_hex_and_list_round_trip(bits: set[int]) -> None:
    assert parse_hex(hex(sum(1 << b for b in bits))) == tuple(sorted(bits))
    if bits:
        assert parse_bit_list(",".join(map(str, bits))) == tuple(sorted(bits))


@given(st.sets(st.integers(min_value=0, max_value=300)), st.sampled_from([None, 1, 2, 5, 9, 24, 999]))
def test_decode_never_fails(bits: set[int], device_id) -> None:
    decoded = decode_bits(bits, device_id)
    assert [d.bit for d in decoded] == sorted(bits)
    for d in decoded:
        assert d.meaning and (d.name is not None) == d.known
        assert d.kind in ("transport", "device", "device-specific", "unknown")
    assert set(unknown_bits(bits, device_id)) <= bits
