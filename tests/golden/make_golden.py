"""Write the golden ``snapshot`` outputs (JSON and text) of every fixture root.

Run once from a known-good tree (issue 11: made from main before the pipeline refactor);
``tests/test_golden.py`` compares the current output with these files. ``time`` and
``root`` are left out of the JSON (they change with the clock and the checkout).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"


def fixture_roots() -> list[Path]:
    """Every folder under tests/fixtures that holds a ``proc`` directory."""
    return sorted(p.parent for p in FIXTURES.rglob("proc") if p.is_dir() and (p / "meminfo").exists())


def golden_name(root: Path) -> str:
    return str(root.relative_to(FIXTURES)).replace(os.sep, "__")


def snapshot(root: Path, as_json: bool) -> str:
    argv = [sys.executable, "-m", "balloontop", "snapshot", "--root", str(root)] + (["--json"] if as_json else [])
    env = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8")
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
    if not as_json:
        return out.replace(str(root), "<ROOT>")
    doc = json.loads(out)
    doc.pop("time", None)
    doc.pop("root", None)
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def main() -> None:
    for root in fixture_roots():
        name = golden_name(root)
        (HERE / f"{name}.json").write_text(snapshot(root, True))
        (HERE / f"{name}.txt").write_text(snapshot(root, False))
        print(name)


if __name__ == "__main__":
    main()
