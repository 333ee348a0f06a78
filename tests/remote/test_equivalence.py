"""A guest with nothing but busybox, read through ``--via``, reads as the local tree does."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import FIXTURES, chroot_via, comparable, fixture_roots, snapshot_json

ROOTS = fixture_roots()


def test_every_fixture_kind_is_covered() -> None:
    names = {str(r.relative_to(FIXTURES)).split("/")[0] for r in ROOTS}
    assert {"captures", "synthetic", "flattened"} <= names
    assert len(ROOTS) >= 25


@pytest.mark.parametrize("tree", ROOTS, ids=[str(r.relative_to(FIXTURES)) for r in ROOTS])
def test_busybox_guest_reads_as_the_local_tree(tree: Path, busybox_guest) -> None:  # type: ignore[no-untyped-def]
    guest = busybox_guest(tree)
    local = snapshot_json("--root", str(guest))
    remote = snapshot_json("--via", chroot_via(guest))
    assert remote["guest"] == {"name": None, "transport": "via", "target": chroot_via(guest),
                               "hostname": local["system"]["hostname"]}
    assert local["guest"] is None
    assert comparable(remote) == comparable(local)
    # and the copy is the fixture: real links instead of text ones change nothing locally
    assert comparable(local) == comparable(snapshot_json("--root", str(tree)))
