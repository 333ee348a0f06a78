"""The kernel log of a remote guest, for the monitor: its ``dmesg`` read over the guest's one
connection now and then, new records only.

A ``KmsgReader`` stand-in (``read_new``, ``warnings``, ``skipped``, ``source``, ``close``)
that ``kmsg.KernelLog`` polls like the local ``/dev/kmsg``. ``dmesg`` prints the whole
buffer, so it is asked every ``every_s`` seconds, not every tick; a guest that refuses it
(``kernel.dmesg_restrict`` and not root, or no ``dmesg``) is said once, then left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..kmsg.records import Record

if TYPE_CHECKING:
    from .source import RemoteSource

EVERY_S = 10.0


class RemoteKernelLog:
    """New records of the guest's ``dmesg`` on each ``read_new()`` that is due."""

    def __init__(self, remote: RemoteSource, every_s: float = EVERY_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.remote = remote
        self.every_s = every_s
        self.monotonic = monotonic
        self.warnings: list[str] = []
        self.skipped = 0
        self.disabled = False
        self._due = float("-inf")

    @property
    def source(self) -> str:
        return f"dmesg on {self.remote.name}"

    def read_new(self) -> list[Record]:
        """Records not returned before (all of the buffer on the first call); ``[]`` when the
        guest was asked less than ``every_s`` ago, cannot be reached, or refuses."""
        now = self.monotonic()
        if self.disabled or now < self._due or not self.remote.connected:
            return []
        self._due = now + self.every_s
        records, why = self.remote.new_kernel_records()
        if why and ("refuses" in why or "no dmesg" in why):
            self.warnings.append(why)  # said once (the monitor's notice), then left alone
            self.disabled = True
        return records

    def close(self) -> None:
        """The connection is the source's: nothing of the log's own to close."""
