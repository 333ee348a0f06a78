"""``python -m balloontop``."""

from .cli import run

run()
