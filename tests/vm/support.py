"""pytest glue for the real-guest tests (tests/test_vm_*.py).

* The tests are opt-in: they run when the marker expression selects them
  (``python3 -m pytest -m vm``) or with BALLOONTOP_VM=1; otherwise they skip.
* A missing prerequisite (QEMU, dpkg/apt-get, the Debian archive, a writable cache)
  skips with the reason on a developer machine, and FAILS when CI=true.
* Guests run in a pool, two at a time; every scenario selected in the session is
  submitted when the first vm test asks for its result.
"""

from __future__ import annotations

import os
import platform
import shutil
import time

import pytest

from . import scenario
from .kernels import Unavailable

_pool: scenario.Pool | None = None
_t0: float | None = None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """A prerequisite is missing: fail under CI=true, skip elsewhere."""
    if in_ci():
        pytest.fail(f"CI=true and a real-guest prerequisite is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def selected(config: pytest.Config) -> bool:
    expr = config.getoption("markexpr", "") or ""
    return "vm" in expr.replace("not vm", "") or os.environ.get("BALLOONTOP_VM") == "1"


def check_host() -> None:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        missing(f"real-guest tests need an x86_64 Linux host, not {platform.system()} {platform.machine()}")
    for tool in ("dpkg", "apt-get", "apt-cache"):
        if not shutil.which(tool):
            missing(f"{tool} not found: the kernels come from Debian packages")
    if not os.path.exists("/usr/share/keyrings/debian-archive-keyring.gpg"):
        missing("/usr/share/keyrings/debian-archive-keyring.gpg missing (apt-get install debian-archive-keyring)")
    from .machine import qemu_binary

    try:
        qemu_binary()
    except Unavailable as exc:
        missing(str(exc))


def monitor_ok(request: pytest.FixtureRequest) -> bool:
    """The monitor guest is worth booting (the monitor is importable)."""
    import importlib

    try:
        importlib.import_module("balloontop.tui")
        importlib.import_module("balloontop.commands.monitor")
        return True
    except ImportError:
        return False


def result(request: pytest.FixtureRequest, cfg: scenario.Config) -> scenario.Result:
    global _pool, _t0
    if not selected(request.config):
        pytest.skip("real-guest test (boots QEMU guests, minutes): run with `python3 -m pytest -m vm`")
    check_host()
    if _pool is None:
        _pool = scenario.Pool()
        _t0 = time.monotonic()
    # submit every selected scenario now, so two run at a time: the monitor guest (the
    # longest: ~75 s to the first screen under TCG) first, then in collection order
    wanted = []
    for item in request.session.items:
        cs = getattr(item, "callspec", None)
        other = cs.params.get("vm_config") if cs else None
        if isinstance(other, scenario.Config) and item.get_closest_marker("vm"):
            if other not in wanted and (other.kind != "monitor" or monitor_ok(request)):
                wanted.append(other)
    for other in sorted(wanted, key=lambda c: c.kind != "monitor"):
        _pool.submit(other)
    fut = _pool.submit(cfg)
    try:
        res = fut.result()
    except Unavailable as exc:
        missing(str(exc))
    path = scenario.write_results(_pool.results(), time.monotonic() - (_t0 or 0))
    if path:
        os.environ["BALLOONTOP_VM_RESULTS"] = path
    return res
