"""``debugfs_state`` reads the debugfs folder through the tree's own listing
(``FileTree.list_entries``), so the race-free local ``Root`` and a remote guest's tree answer
alike; nothing lists a host path directly."""

from __future__ import annotations

import errno
import os

import pytest

from balloontop.drivers.base import DEBUGFS, debugfs_state
from balloontop.rootfs import Root
from balloontop.tree import FileTree

from .conftest import CAPTURES, SYNTHETIC


class ListingAs:
    """A real ``Root`` whose debugfs listing answers ``answer`` (as a remote tree could);
    every other read goes to the root. Records the folders it was asked to list."""

    def __init__(self, root: Root, answer: tuple[list[str] | None, str | None]) -> None:
        self._root = root
        self._answer = answer
        self.listed: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._root, name)

    def list_entries(self, rel: str) -> tuple[list[str] | None, str | None]:
        self.listed.append(rel)
        return self._answer if rel == DEBUGFS else self._root.list_entries(rel)


@pytest.mark.parametrize(
    ("fixture", "state"),
    [("hv-balloon-6.18", "mounted"), ("vmw-balloon-new", "mounted"), ("hv-balloon-nodebugfs", "not-mounted")],
)
def test_state_of_the_synthetic_roots(fixture: str, state: str) -> None:
    assert debugfs_state(Root(str(SYNTHETIC / fixture))) == state


def test_a_capture_without_debugfs_is_not_mounted() -> None:
    assert debugfs_state(Root(str(CAPTURES / "virtio-6.1-deflate" / "1024M"))) == "not-mounted"


def test_the_trees_listing_is_what_counts() -> None:
    """hv-balloon-6.18 holds ``sys/kernel/debug/hv-balloon`` on disk; a tree that says the
    folder cannot be listed (permission) or is empty wins over the disk."""
    root = Root(str(SYNTHETIC / "hv-balloon-6.18"))
    assert isinstance(root, FileTree)
    refused = ListingAs(root, (None, "permission"))
    assert debugfs_state(refused) == "no-permission"  # type: ignore[arg-type]
    assert refused.listed == [DEBUGFS]
    assert debugfs_state(ListingAs(root, ([".gitkeep"], None))) == "not-mounted"  # type: ignore[arg-type]
    assert debugfs_state(ListingAs(root, (None, "missing"))) == "not-mounted"  # type: ignore[arg-type]


def test_permission_denied_listing_the_local_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local ``Root`` lists an opened directory (``os.listdir(fd)``); a permission error
    there reads as "no-permission" (injected: we run as root, chmod does not refuse)."""
    real_listdir = os.listdir

    def listdir(path: object = ".") -> list[str]:
        if isinstance(path, int):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_listdir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "listdir", listdir)
    assert debugfs_state(Root(str(SYNTHETIC / "hv-balloon-6.18"))) == "no-permission"
