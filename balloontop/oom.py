"""The balloon's part in each OOM kill (and show_mem report) of the kernel log, in plain words.

For each report: when it happened, who was killed and how large it was, how much memory the
balloon held at that moment, whether that memory was removed from MemTotal or counted as
used, and what MemTotal would have been without it.

* The balloon figure comes from the report's show_mem block (``Balloon:`` on >= 6.15, or
  the design note's ``Balloon InflatedTotal/InflatedFree`` line). Where the log has none
  (kernels before 6.15), balloontop's own history (the monitor's samples) gives the size
  just before the report; without history (the one-shot command) the current reading is
  used, and the account says so: it is the balloon's size *now*, not necessarily then.
* MemTotal at the moment of the report is ``(pages RAM - pages reserved) x page size`` from
  show_mem (the kernel's totalram is present minus reserved pages; for the 6.18 captures
  this equals MemTotal exactly).
* Accounting (from the current reading of the drivers): virtio_balloon without
  DEFLATE_ON_OOM, hv_balloon, xen and CMM remove ballooned pages from MemTotal ("total");
  virtio_balloon with DEFLATE_ON_OOM and vmw_balloon leave them in MemTotal as used memory
  ("used"). Where the show_mem line itself says (InflatedTotal/InflatedFree), that wins.
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .balloon import accounting_words
from .drivers.virtio_balloon import reading_deflate_on_oom
from .kmsg.report_types import OomReport, Report, ShowMemReport
from .model import Sample
from .units import format_kib, page_kib


@dataclass(frozen=True)
class BalloonAccount:
    """The balloon's part in one report."""

    report: OomReport | ShowMemReport
    uptime_s: float | None
    wall_time: float | None
    """Seconds since the epoch, when derivable (live log: now - /proc/uptime + stamp)."""
    balloon_kib: int | None
    balloon_from: str | None
    """``log`` (the report carried it), ``history`` (balloontop's sample just before),
    ``current reading`` or ``None`` (unknown)."""
    accounting: str | None
    accounting_from: str | None
    mem_total_kib: int | None
    """MemTotal at the moment of the report (from show_mem's pages RAM - reserved)."""
    mem_total_without_balloon_kib: int | None
    text: str

    def to_json(self) -> dict[str, Any]:
        out = self.report.to_json()
        out["wall_time"] = self.wall_time
        out["account"] = {
            "balloon_kib": self.balloon_kib,
            "balloon_from": self.balloon_from,
            "accounting": self.accounting,
            "accounting_from": self.accounting_from,
            "mem_total_kib": self.mem_total_kib,
            "mem_total_without_balloon_kib": self.mem_total_without_balloon_kib,
            "text": self.text,
        }
        return out


def current_accounting(sample: Sample | None) -> tuple[str | None, str | None]:
    """How the current reading's balloon drivers account for ballooned memory, and why."""
    if sample is None:
        return None, None
    readings = [r for r in sample.drivers if r.counts_in_total and r.accounting]
    kinds = {r.accounting for r in readings}
    if len(kinds) != 1:
        return None, ("balloon drivers disagree" if kinds else None)
    accounting = kinds.pop()
    names = []
    for reading in readings:
        negotiated = reading_deflate_on_oom(reading)
        if negotiated is not None:
            names.append(f"{reading.driver} {'with' if negotiated else 'without'} DEFLATE_ON_OOM")
        else:
            names.append(reading.driver)
    return accounting, f"{', '.join(dict.fromkeys(names))}, current reading"


def sample_at(history: Sequence[Sample], wall: float, max_gap_s: float = 10.0) -> Sample | None:
    """The last sample of ``history`` taken at or before ``wall`` (within ``max_gap_s``)."""
    best = None
    for candidate in history:
        if candidate.time <= wall and (best is None or candidate.time > best.time):
            best = candidate
    if best is None or wall - best.time > max_gap_s or best.balloon.kib is None:
        return None
    return best


def account(
    report: OomReport | ShowMemReport,
    sample: Sample | None = None,
    boot_time: float | None = None,
    history: Sequence[Sample] = (),
) -> BalloonAccount:
    """The plain-words account of ``report``.

    ``sample`` is the current reading (or None); ``history`` (the monitor's samples, wall
    times) supplies the balloon's size at the moment when the log has none and ``boot_time``
    places the report in wall time.
    """
    show = report.show_mem if isinstance(report, OomReport) else report
    page = page_kib(sample.system.page_size if sample is not None else 4096)
    uptime = report.time_s
    wall = boot_time + uptime if (boot_time is not None and uptime is not None) else None

    balloon, balloon_from = report.balloon_kib, "log" if report.balloon_kib is not None else None
    then = sample_at(history, wall) if (balloon is None and wall is not None and history) else None
    if then is not None:
        balloon, balloon_from = then.balloon.kib, "history"
    elif balloon is None and sample is not None and sample.balloon.kib is not None:
        balloon, balloon_from = sample.balloon.kib, "current reading"

    accounting, accounting_from = None, None
    if show is not None and show.accounting is not None:
        accounting, accounting_from = show.accounting, "the report's InflatedTotal/InflatedFree"
    else:
        accounting, accounting_from = current_accounting(sample)

    mem_total = None
    if report.pages_ram is not None and report.pages_reserved is not None:
        mem_total = max(report.pages_ram - report.pages_reserved, 0) * page
    if accounting == "used" and mem_total is not None and balloon is not None and balloon > mem_total:
        # A balloon larger than MemTotal at that moment cannot have been inside it: the
        # report itself says the driver took the pages out of MemTotal (a log from another
        # guest than the current reading, or a driver that changed mode).
        accounting, accounting_from = "total", "the report: the balloon is larger than MemTotal was"
    without = None
    if mem_total is not None and balloon is not None and accounting is not None:
        without = mem_total + balloon if accounting == "total" else mem_total

    lines = [_headline(report, uptime, wall)]
    if isinstance(report, OomReport):
        lines.extend(_victim_lines(report))
    lines.extend(_balloon_lines(balloon, balloon_from, accounting, accounting_from,
                                mem_total, without, report, page, show is not None))
    return BalloonAccount(report, uptime, wall, balloon, balloon_from, accounting,
                          accounting_from, mem_total, without, "\n".join(lines))


def accounts(
    reports: Sequence[Report], sample: Sample | None = None, boot_time: float | None = None,
    history: Sequence[Sample] = (),
) -> list[BalloonAccount]:
    """Accounts for the OOM and show_mem reports among ``reports`` (log order)."""
    return [account(r, sample, boot_time, history) for r in reports
            if isinstance(r, (OomReport, ShowMemReport))]


def boot_time_of(sample: Sample | None, now: float | None = None) -> float | None:
    """Wall-clock boot time from ``/proc/uptime`` of a live reading, else ``None``."""
    if sample is None or sample.system.uptime_s is None:
        return None
    return (now if now is not None else _time.time()) - sample.system.uptime_s


def _when(uptime: float | None, wall: float | None) -> str:
    if uptime is None:
        return "at an unknown time"
    text = f"{uptime:.1f} s after boot"
    if wall is not None:
        text += " (" + _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(wall)) + ")"
    return text


def _headline(report: OomReport | ShowMemReport, uptime: float | None, wall: float | None) -> str:
    when = _when(uptime, wall)
    if isinstance(report, OomReport):
        if report.killed:
            return f"OOM kill {when}"
        return f"OOM killer invoked {when} (no kill line in the log)"
    what = {"sysrq": "SysRq-m memory report", "alloc_failure": "allocation failure report",
            "oom": "OOM memory report"}.get(report.trigger, "memory report")
    extra = ""
    if report.trigger == "alloc_failure" and report.comm:
        extra = f": {report.comm} failed an order-{report.order} allocation"
    return f"{what} {when}{extra}"


def _victim_lines(report: OomReport) -> list[str]:
    lines = []
    if report.victim_name is not None or report.victim_pid is not None:
        size = ""
        if report.victim_rss_kib is not None:
            size = (f", {format_kib(report.victim_rss_kib)} resident (anon "
                    f"{format_kib(report.victim_anon_rss_kib)}, file "
                    f"{format_kib(report.victim_file_rss_kib)}, shmem "
                    f"{format_kib(report.victim_shmem_rss_kib)})")
        if report.victim_total_vm_kib is not None:
            size += f", {format_kib(report.victim_total_vm_kib)} virtual"
        lines.append(f"  killed: {report.victim_name or '?'} (pid {report.victim_pid}){size}")
    if report.invoker is not None:
        lines.append(f"  invoked by: {report.invoker} (order {report.order}, oom_score_adj "
                     f"{report.oom_score_adj})"
                     + (f"; constraint {report.constraint}" if report.constraint else ""))
    elif report.constraint:
        lines.append(f"  constraint: {report.constraint}")
    return lines


def _balloon_lines(balloon: int | None, balloon_from: str | None, accounting: str | None,
                   accounting_from: str | None, mem_total: int | None, without: int | None,
                   report: OomReport | ShowMemReport, page_kib: int,
                   has_show_mem: bool) -> list[str]:
    lines = []
    why = ("the log carries no balloon figure (kernel before 6.15)" if has_show_mem else
           "the report has no show_mem block (a memory cgroup OOM prints none)")
    if balloon_from == "log":
        source = ("show_mem Balloon:" if report.balloon_source == "show_mem:Balloon"
                  else "show_mem InflatedTotal/InflatedFree")
        lines.append(f"  balloon: {format_kib(balloon)} held by the host at that moment "
                     f"(from the report's {source})")
    elif balloon_from == "history":
        lines.append(f"  balloon: {why}; balloontop's own reading just before it showed "
                     f"{format_kib(balloon)}")
    elif balloon_from == "current reading":
        lines.append(f"  balloon: {why}; the "
                     f"balloon holds {format_kib(balloon)} now (current reading, not necessarily "
                     "its size at that moment)")
    else:
        lines.append(f"  balloon: unknown ({why}, and there is no current reading of a "
                     "balloon)")
    if balloon is not None:
        if accounting is None:
            lines.append("  accounting: unknown (no balloon driver reading says how it counts)")
        else:
            lines.append(f"  accounting: {accounting_words(accounting)} ({accounting_from})")
    if mem_total is not None:
        total_text = (f"  MemTotal then: {format_kib(mem_total)} ({report.pages_ram} pages RAM "
                      f"- {report.pages_reserved} reserved, {page_kib} KiB pages)")
        if without is not None and accounting == "total":
            total_text += f"; without the balloon it would have been {format_kib(without)}"
        elif without is not None and accounting == "used" and balloon is not None:
            total_text += (f"; the balloon is inside it, so the guest had "
                           f"{format_kib(max(mem_total - balloon, 0))} to work with")
        lines.append(total_text)
    return lines
