"""Firecracker's balloon statistics parser, against its DOCUMENTED format only
(tests/fixtures/firecracker/README.md: no Firecracker can run here, it needs KVM)."""

from __future__ import annotations

import json

import pytest

from balloontop.host.firecracker import STATS, parse_balloon_statistics
from tests.conftest import FIXTURES

FC = FIXTURES / "firecracker"
QMP_HOST = FIXTURES / "qmp" / "trixie-backports-7.3-doom-on-0768M" / "host.json"


def test_statistics_line_up_with_qemus_names():
    got, warnings = parse_balloon_statistics((FC / "statistics-0256M.json").read_text())
    assert warnings == []
    assert got.target_kib == got.balloon_kib == 256 * 1024
    # the same virtio stats queue: the values QEMU received, under the same names
    assert dict(got.stats) == json.loads(QMP_HOST.read_text())["stats"]
    assert got.unknown == ()
    assert got.to_json()["stats"]["stat-total-memory"] == 1007861760


def test_no_statistics_yet_and_a_balloon_on_its_way():
    got, warnings = parse_balloon_statistics((FC / "statistics-no-stats-yet.json").read_text())
    assert warnings == []
    assert (got.target_kib, got.balloon_kib) == (512 * 1024, 70000 * 4)
    assert dict(got.stats) == {}


def test_error_answer():
    got, warnings = parse_balloon_statistics((FC / "error-not-enabled.json").read_text())
    assert got is None
    assert warnings == ["Firecracker: Statistics for the balloon device are not enabled"]


def test_every_documented_statistic_has_a_qemu_name():
    from balloontop.hoststats import SPECS

    assert set(STATS.values()) <= {spec.qemu for spec in SPECS}
    assert len(set(STATS.values())) == len(STATS) == 16


@pytest.mark.parametrize("text, why", [
    ("", "not JSON"), ("[1, 2]", "not a JSON object"), ('{"a": ' * 100000, "not JSON"),
    ('{"fault_message": "\\u001b[2Jgone"}', "Firecracker:  [2Jgone"),
])
def test_bad_bodies_never_raise(text, why):
    got, warnings = parse_balloon_statistics(text)
    assert got is None and why in warnings[0]


def test_wrong_values_are_warnings():
    body = {"target_pages": 65536, "actual_pages": -1, "target_mib": 255, "actual_mib": 0,
            "swap_in": "12", "free_memory": 2 ** 70, "total_memory": 1007861760, "balloon_hint": 1}
    got, warnings = parse_balloon_statistics(json.dumps(body))
    assert got.balloon_kib == 0 and got.target_kib == 65536 * 4
    assert dict(got.stats) == {"stat-total-memory": 1007861760}
    assert got.unknown == ("balloon_hint",)
    assert warnings == ["actual_pages missing or not a count", "target_pages 65536 and target_mib 255 disagree",
                        "swap_in is not a count", "free_memory is not a count"]
