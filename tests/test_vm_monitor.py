"""Real guest: the monitor itself (``balloontop --root /``, a Textual app) runs on a
pseudo-terminal inside the guest while the host moves the balloon 1024 -> 768 MiB; the
screen text (rendered with pyte in the guest) must show the move in the virtio0 pane and
in the event log. The same again with the monitor on the HOST reading the guest through
the busybox sh on its virtio console (``balloontop --via 'socat - UNIX-CONNECT:...'``,
issue 12: nothing of balloontop in the guest). Marker ``vm``; see tests/vm/README.md.
"""

from __future__ import annotations

import importlib
import importlib.util

import pytest

try:
    from tests.vm import scenario, support
except ImportError:  # tests/ on sys.path (rootdir-relative import mode)
    from vm import scenario, support

pytestmark = pytest.mark.vm


def _monitor_missing() -> str | None:
    for mod in ("balloontop.tui", "balloontop.commands.monitor"):
        try:
            if importlib.util.find_spec(mod) is None:
                return mod
            importlib.import_module(mod)
        except ImportError as exc:
            return f"{mod} ({exc})"
    return None


@pytest.fixture(params=[scenario.MONITOR, scenario.MONITOR_REMOTE], ids=lambda c: c.id)
def vm_config(request):
    return request.param


@pytest.fixture
def res(request, vm_config) -> scenario.Result:
    if support.selected(request.config):
        missing = _monitor_missing()
        if missing:
            pytest.skip(f"the monitor is not importable yet: {missing}")
        try:
            import pyte  # noqa: F401  (imported by tests/vm/screen.py in the guest)
        except ImportError:
            support.missing("pyte is not installed (pip install -e '.[test]')")
    return support.result(request, vm_config)


def _dump(res: scenario.Result) -> str:
    parts = [f"{res.config.id} ({res.kernel.kver}) notes={res.notes}"]
    for k, v in res.screens.items():
        parts.append(f"----- screen {k} -----\n{v}")
    parts.append(res.console_tail)
    return "\n".join(parts)


def test_monitor_starts_with_a_virtio0_pane(res):
    assert "error" not in res.notes, _dump(res)
    pane = scenario.box(res.screens.get("before", ""), "virtio0")
    assert pane is not None, "no pane titled virtio0 before the move\n" + _dump(res)
    assert not scenario.shows_size(pane), "256 MiB already shown before the move\n" + _dump(res)


def test_monitor_pane_shows_the_move(res):
    assert "error" not in res.notes, _dump(res)
    assert res.notes.get("actual") == 768 * scenario.MiB, _dump(res)
    pane = scenario.box(res.screens.get("after", ""), "virtio0")
    assert scenario.shows_size(pane), "virtio0 pane does not show 256 MiB inflated\n" + _dump(res)


def test_monitor_event_log_shows_the_move(res):
    assert "error" not in res.notes, _dump(res)
    after = res.screens.get("after", "")
    assert scenario.log_lines(after), "no event log pane on the screen\n" + _dump(res)
    assert scenario.log_shows_move(after), "event log does not show the move\n" + _dump(res)
