"""The core never imports Textual, and `snapshot` does not either."""

from __future__ import annotations

import subprocess
import sys

CORE = (
    "balloontop.sampler",
    "balloontop.drivers",
    "balloontop.virtio.decode",
    "balloontop.virtio.devices",
    "balloontop.report_text",
    "balloontop.cli",
)


def test_core_import_leaves_textual_out() -> None:
    code = "import sys\n" + "".join(f"import {m}\n" for m in CORE) + "print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_snapshot_command_does_not_import_textual(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import CAPTURES

    code = (
        "import sys\nfrom balloontop.cli import main\n"
        f"main(['snapshot', '--json', '--root', {str(CAPTURES / 'devguest-6.18' / 'idle')!r}])\n"
        "sys.stderr.write(str(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'plotext', 'psutil'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "[]"
