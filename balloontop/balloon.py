"""Attribute the kernel's shared balloon counters to drivers, and total the balloon.

Drivers with a file of their own (hv-balloon, vmmemctl, xen_memory, cmm) report exact
figures. Others, virtio above all, rely on counters the kernel keeps for every balloon
together: meminfo ``Balloon:`` (>= 6.15, exact), vendor ``InflatedTotal``/``InflatedFree``,
or vmstat ``balloon_inflate - balloon_deflate`` (since boot, not exact). A shared counter
goes to a driver only when it is the one driver without a figure, after subtracting what
the drivers with their own figures put into that counter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from .drivers import FEEDS_BALLOON_LINE, USES_BALLOON_CORE
from .model import BalloonTotal, DriverReading
from .units import pages_to_kib

SHARED = "Balloon: in /proc/meminfo counts several drivers together, so this one's share is unknown"
NO_SOURCE = (
    "no source for the balloon size: this kernel has no Balloon: line in /proc/meminfo "
    "(Linux >= 6.15) and no balloon counters in /proc/vmstat"
)


def attribute_shared(
    readings: Sequence[DriverReading],
    meminfo: Mapping[str, int],
    vmstat: Mapping[str, int],
    page_size: int,
) -> list[DriverReading]:
    """Readings with the shared counters attributed where that is unambiguous."""
    out = list(readings)
    pending = [i for i, r in enumerate(out) if r.counts_in_total and r.inflated_kib is None]
    if not pending:
        return out

    def others(drivers: set[str]) -> int:
        return sum(r.inflated_kib or 0 for r in out if r.inflated_kib is not None and r.driver in drivers)

    balloon_line = meminfo.get("Balloon")
    inflated_total, inflated_free = meminfo.get("InflatedTotal"), meminfo.get("InflatedFree")
    inflate, deflate = vmstat.get("balloon_inflate"), vmstat.get("balloon_deflate")
    line_users = [i for i in pending if out[i].driver in FEEDS_BALLOON_LINE]
    core_users = [i for i in pending if out[i].driver in USES_BALLOON_CORE]
    for index in pending:
        reading = out[index]
        kib = source = None
        exact, accounting = True, reading.accounting
        if balloon_line is not None and line_users == [index]:
            kib, source = max(balloon_line - others(FEEDS_BALLOON_LINE), 0), "meminfo:Balloon"
        elif inflated_total is not None and inflated_free is not None and pending == [index]:
            kib, source = inflated_total + inflated_free, "meminfo:Inflated"
            accounting = "total" if inflated_total else "used" if inflated_free else accounting
        elif inflate is not None and deflate is not None and core_users == [index]:
            kib, source, exact = pages_to_kib(max(inflate - deflate, 0), page_size), "vmstat:inflate-deflate", False
        warnings = reading.warnings
        if kib is None:
            shared = balloon_line is not None and len(line_users) > 1
            warnings += (SHARED if shared else NO_SOURCE,)
        out[index] = dataclasses.replace(
            reading,
            inflated_kib=kib,
            source=source,
            exact=exact and kib is not None,
            accounting=accounting,
            warnings=warnings,
        )
    return out


def balloon_total(readings: Sequence[DriverReading], meminfo: Mapping[str, int]) -> BalloonTotal:
    """The guest's total: the sum of the drivers' figures (virtio_mem excluded).

    With no driver found, ``Balloon:`` alone when the kernel reports one; else unknown.
    """
    counted = [r for r in readings if r.counts_in_total]
    known = [r for r in counted if r.inflated_kib is not None]
    if not counted:
        if "Balloon" in meminfo:
            return BalloonTotal(meminfo["Balloon"], "meminfo:Balloon", True)
        return BalloonTotal(None, None, False)
    if not known:
        return BalloonTotal(None, None, False)
    sources = sorted({r.source for r in known if r.source})
    return BalloonTotal(
        kib=sum(r.inflated_kib or 0 for r in known),
        source="+".join(sources) if sources else None,
        exact=len(known) == len(counted) and all(r.exact for r in known),
    )


ACCOUNTING_WORDS = {
    "used": "ballooned memory stays in MemTotal and shows as used",
    "total": "ballooned memory is removed from MemTotal",
}
"""The one text for each accounting mode: snapshot, pane, OOM account."""


def accounting_words(accounting: str | None) -> str:
    return ACCOUNTING_WORDS.get(accounting or "", "how ballooned memory is accounted is unknown")


def guest_memory_kib(readings: Sequence[DriverReading], meminfo: Mapping[str, int]) -> int | None:
    """Memory the guest would have with no balloon: MemTotal plus what left MemTotal."""
    total = meminfo.get("MemTotal")
    if total is None:
        return None
    removed = sum(r.inflated_kib or 0 for r in readings if r.counts_in_total and r.accounting == "total")
    return total + removed


def balloon_share(readings: Sequence[DriverReading], meminfo: Mapping[str, int], kib: int | None) -> float | None:
    """The balloon's share of the guest's memory (0..1), or ``None``."""
    memory = guest_memory_kib(readings, meminfo)
    if kib is None or not memory:
        return None
    return kib / memory


def share_warning(readings: Sequence[DriverReading], meminfo: Mapping[str, int], kib: int | None) -> str | None:
    """Why the balloon's share passes 100 % of the guest's memory, when it does."""
    share = balloon_share(readings, meminfo, kib)
    if share is None or share <= 1:
        return None
    memory = guest_memory_kib(readings, meminfo)
    known = [r for r in readings if r.counts_in_total and r.accounting is not None]
    why = (
        "the figures disagree (a damaged or edited file?)"
        if known
        else "no driver says how ballooned memory is accounted; if it left MemTotal, the guest's "
        "memory is MemTotal plus the balloon and the share is lower"
    )
    return f"the balloon ({kib} kB) is {share:.1%} of the guest's memory ({memory} kB): {why}"
