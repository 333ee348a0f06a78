"""``snapshot`` output on every fixture root equals the golden files made before the
pipeline refactor (issue 11: it must not change). Regenerate only on purpose:
``python tests/golden/make_golden.py``."""

from __future__ import annotations

import pytest

from tests.golden.make_golden import HERE, fixture_roots, golden_name, snapshot

ROOTS = fixture_roots()


def test_every_fixture_root_has_golden_files() -> None:
    assert len(ROOTS) >= 29
    for root in ROOTS:
        assert (HERE / f"{golden_name(root)}.json").is_file(), root


@pytest.mark.parametrize("root", ROOTS, ids=golden_name)
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_snapshot_matches_golden(root, as_json: bool) -> None:
    expected = (HERE / f"{golden_name(root)}.{'json' if as_json else 'txt'}").read_text()
    assert snapshot(root, as_json) == expected
