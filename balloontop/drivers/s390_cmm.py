"""s390 Cooperative Memory Management: ``arch/s390/mm/cmm.c``, ``/proc/sys/vm/cmm_*``.

Counts are 4 KiB pages: a permanent balloon (``cmm_pages``) and a timed one
(``cmm_timed_pages``) released ``cmm_timeout`` = ``<pages> <seconds>`` at a time. CMM is
not wired to ``Balloon:`` or the vmstat events and does not adjust MemTotal (read from the
code's shape, not observed), so its pages look used.
"""

from __future__ import annotations

from ..model import DriverReading, StatSpec
from ..parsers.sysfs import parse_pair, parse_value
from .base import ReadContext, make_stats, own_reading

NAME = "s390_cmm"
TITLE = "s390 CMM"
LOOKS_AT = "/proc/sys/vm/cmm_*"
INSTANCE = "cmm"
DIRECTORY = "proc/sys/vm"
PAGE_KIB = 4

STATS = {
    "cmm_pages": StatSpec("pages", "pages in the permanent balloon"),
    "cmm_timed_pages": StatSpec("pages", "pages in the timed balloon"),
    "cmm_timeout_pages": StatSpec("pages", "timed pages released per timeout"),
    "cmm_timeout_seconds": StatSpec("s", "timeout between releases of timed pages"),
}


def detect(ctx: ReadContext) -> list[str]:
    return [INSTANCE] if ctx.root.exists(f"{DIRECTORY}/cmm_pages") else []


def read(ctx: ReadContext) -> list[DriverReading]:
    if not detect(ctx):
        return []
    values: dict[str, int | None] = {
        name: parse_value(ctx.root.text(f"{DIRECTORY}/{name}")) for name in ("cmm_pages", "cmm_timed_pages")
    }
    timeout = parse_pair(ctx.root.text(f"{DIRECTORY}/cmm_timeout"))
    if timeout is not None:
        values["cmm_timeout_pages"], values["cmm_timeout_seconds"] = timeout
    pages, timed = values["cmm_pages"], values["cmm_timed_pages"]
    inflated = (pages + (timed or 0)) * PAGE_KIB if pages is not None else None
    warnings = () if inflated is not None else ("cmm_pages unreadable: balloon size unknown",)
    return [own_reading(NAME, INSTANCE, inflated, "sysctl:cmm", "used", make_stats(STATS, values), warnings)]
