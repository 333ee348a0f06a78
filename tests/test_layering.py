"""The layering, checked at run time: every core module imports without Textual, every
command module imports nothing heavy at module level, and `snapshot` loads none of it.

The static side is the import-linter contract in pyproject.toml (`lint-imports`, run by .ci/run);
this test imports for real, so it also sees imports made by code that runs at import time.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import balloontop

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the backport (a dependency there)
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("textual", "rich", "plotext", "psutil", "prometheus_client")
FRONT_ENDS = ("balloontop.tui", "balloontop.commands", "balloontop.cli", "balloontop.__main__")


def all_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(balloontop.__path__, "balloontop."))


def is_front_end(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FRONT_ENDS)


CORE = [m for m in all_modules() if not is_front_end(m)]
COMMANDS = [m for m in all_modules() if m.startswith("balloontop.commands.")]


def loaded_after_import(modules: list[str]) -> dict[str, list[str]]:
    """For each module, imported alone in a fresh interpreter: the heavy packages it loaded."""
    code = (
        "import importlib, json, sys\n"
        f"heavy = {HEAVY!r}\n"
        "name = sys.argv[1]\n"
        "importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))\n"
    )
    out = {}
    for module in modules:
        done = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, check=True)
        out[module] = json.loads(done.stdout)
    return out


def test_the_walk_finds_the_whole_core() -> None:
    # not a fixed list of six: every module of the package that is not a front end
    assert len(CORE) >= 40
    for name in ("balloontop.sampler", "balloontop.recording", "balloontop.kmsg.inference",
                 "balloontop.demo.guest", "balloontop.drivers.xen_balloon", "balloontop.units"):
        assert name in CORE


def test_every_core_module_imports_without_textual() -> None:
    loaded = loaded_after_import(CORE)
    assert {m: heavy for m, heavy in loaded.items() if "textual" in heavy or "rich" in heavy} == {}


def test_command_modules_import_nothing_heavy_at_module_level() -> None:
    assert len(COMMANDS) >= 8
    loaded = loaded_after_import(COMMANDS)
    assert {m: heavy for m, heavy in loaded.items() if heavy} == {}


def test_import_linter_contract_lists_every_core_package() -> None:
    """A new top-level core module must join the static contract too."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    core = next(c for c in config["contracts"] if "textual" in c["forbidden_modules"])
    top_level = {".".join(m.split(".")[:2]) for m in CORE}
    assert set(core["source_modules"]) == top_level
    assert {"balloontop.tui", "balloontop.commands", "balloontop.cli"} <= set(core["forbidden_modules"])


def test_snapshot_command_does_not_import_textual(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import CAPTURES

    code = (
        "import sys\nfrom balloontop.cli import main\n"
        f"main(['snapshot', '--json', '--root', {str(CAPTURES / 'devguest-6.18' / 'idle')!r}])\n"
        "sys.stderr.write(str(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'plotext', 'psutil'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "[]"
