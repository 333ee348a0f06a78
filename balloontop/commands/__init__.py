"""Subcommands of the ``balloontop`` CLI: one module each, with ``register`` and ``run``.

A command module must stay cheap to import (``balloontop snapshot`` has a start-up budget):
import Textual, psutil, plotext or prometheus_client inside ``run``, never at the top.
"""

COMMAND_MODULES = (
    "snapshot",
    "decode",
    "record",
    "replay",
    "report",
    "export",
    "oom",
)
