"""What the kernel log says about memory: OOM reports, show_mem reports, balloon drivers.

Records are grouped into reports the way the kernel prints them:

* an **OOM report**: ``<comm> invoked oom-killer: gfp_mask=..., order=N, oom_score_adj=N``,
  the show_mem block (``Mem-Info:`` ... ``N pages reserved``), the task table, then
  ``oom-kill:constraint=...,task=NAME,pid=N,uid=N`` and ``Out of memory: Killed process PID
  (comm) total-vm:...``;
* a **show_mem report**: ``sysrq: Show Memory`` (SysRq-m) or ``<comm>: page allocation
  failure: order:N, mode:...`` (warn_alloc) followed by the show_mem block; a show_mem block
  with no known trigger before it is reported with trigger ``unknown``;
* a **balloon driver message**: hv_balloon, vmw_balloon, xen balloon, virtio_balloon and
  virtio_mem lines (message strings as in the kernel sources).

The balloon figure of a show_mem block comes from the per-node line's ``Balloon:<n>kB``
(mainline >= 6.15, summed over nodes; source ``show_mem:Balloon``) or from the design
note's ``Balloon InflatedTotal:XkB InflatedFree:YkB`` line (vzkernel; ``show_mem:Inflated``).
Kernels before 6.15 print neither: the figure is ``None``, never a guess.

The reports themselves (dataclasses, their JSON) are ``kmsg.report_types``, importable from
here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from types import MappingProxyType
from typing import Any

from ..model import Event
from ..units import format_mib
from .records import Record
from .report_types import BalloonDriverMessage, OomReport, Report, ShowMemReport

# -- record patterns (kernel format strings in comments) --------------------------------

# mm/oom_kill.c dump_header(): "%s invoked oom-killer: gfp_mask=%#x(%pGg), order=%d,
# oom_score_adj=%hd" (4.x printed ", nodemask=..." before order).
_INVOKE = re.compile(r"^(?P<comm>.*?) invoked oom-killer: (?P<rest>.*)$", re.S)
_GFP = re.compile(r"gfp_mask=(?P<gfp>[^,\s]+)")
_ORDER = re.compile(r"\border=(?P<order>-?\d+)")
_ADJ = re.compile(r"\boom_score_adj=(?P<adj>-?\d+)")
# mm/show_mem.c
_MEMINFO = re.compile(r"^Mem-Info:\s*$")
_NODE = re.compile(r"^Node (?P<node>\d+) active_anon:")
_NODE_BALLOON = re.compile(r"\bBalloon:\s*(?P<kib>\d+)kB")
_INFLATED = re.compile(r"Balloon InflatedTotal:\s*(?P<total>\d+)kB InflatedFree:\s*(?P<free>\d+)kB")
_PAGES_RAM = re.compile(r"^(?P<n>\d+) pages RAM\s*$")
_PAGES_RESERVED = re.compile(r"^(?P<n>\d+) pages reserved\s*$")
# mm/oom_kill.c dump_oom_victim()/__oom_kill_process()
_OOM_KILL = re.compile(r"^oom-kill:(?P<body>.*)$", re.S)
_OOM_KILL_TASK = re.compile(r"task=(?P<task>.*),pid=(?P<pid>-?\d+),uid=(?P<uid>-?\d+)\s*$", re.S)
_KILLED = re.compile(
    r"^(?P<why>.*?)(?::\s*)?Killed process (?P<pid>\d+) \((?P<comm>.*)\) "
    r"total-vm:(?P<vm>\d+)kB, anon-rss:(?P<anon>\d+)kB, file-rss:(?P<file>\d+)kB, "
    r"shmem-rss:(?P<shmem>\d+)kB"
    r"(?:,? UID:(?P<uid>-?\d+) pgtables:(?P<pgt>\d+)kB oom_score_adj:(?P<adj>-?\d+))?",
    re.S,
)
# drivers/tty/sysrq.c: "sysrq: Show Memory" (pr_fmt "sysrq: "; "SysRq : " before 5.x)
_SYSRQ = re.compile(r"^(?:sysrq: |SysRq ?: )Show Memory\s*$", re.I)
# mm/page_alloc.c warn_alloc(): "%s: page allocation failure: order:%u, mode:%#x(%pGg),
# nodemask=...", also "vmemmap alloc failure: order:%u" (mm/sparse-vmemmap.c).
_ALLOC_FAIL = re.compile(
    r"^(?P<comm>.*?): (?P<what>page allocation failure|vmemmap alloc failure)"
    r"(?:: order:(?P<order>\d+))?(?:, mode:(?P<mode>[^,\s]+))?"
)

_DRIVER_PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    # kernel/module: "%s: Unknown symbol %s (err %d)" - the module did not load (no such host)
    (re.compile(r"^hv_balloon: Unknown symbol (?P<detail>.*)$"), "hv_balloon", "module_error"),
    (re.compile(r"^vmw_balloon: Unknown symbol (?P<detail>.*)$"), "vmw_balloon", "module_error"),
    (re.compile(r"^virtio_balloon: Unknown symbol (?P<detail>.*)$"), "virtio_balloon",
     "module_error"),
    # drivers/hv/hv_balloon.c (pr_fmt "hv_balloon: ")
    (re.compile(r"^hv_balloon: Balloon request will be partially fulfilled\.\s*(?P<detail>.*)$"),
     "hv_balloon", "partially_fulfilled"),
    (re.compile(r"^hv_balloon: Max\. dynamic memory size: (?P<mib>\d+) MB"),
     "hv_balloon", "max_dynamic_memory"),
    (re.compile(r"^hv_balloon: Using Dynamic Memory protocol version (?P<detail>\S+)"),
     "hv_balloon", "protocol"),
    (re.compile(r"^hv_balloon: (?P<detail>.*)$"), "hv_balloon", "message"),
    (re.compile(r"^hv_vmbus: registering driver hv_balloon\s*$"), "hv_balloon", "registered"),
    # drivers/virtio/virtio_balloon.c: dev_info_ratelimited("Out of puff! Can't get %u pages")
    (re.compile(r"^virtio_balloon (?P<instance>virtio\d+): "
                r"Out of puff! Can't get (?P<pages>\d+) pages"),
     "virtio_balloon", "out_of_puff"),
    (re.compile(r"^virtio_balloon(?: (?P<instance>virtio\d+))?: (?P<detail>.*)$"),
     "virtio_balloon", "message"),
    (re.compile(r"^virtio_mem(?: (?P<instance>virtio\d+))?: (?P<detail>.*)$"),
     "virtio_mem", "message"),
    # drivers/misc/vmw_balloon.c (pr_fmt "vmw_balloon: ")
    (re.compile(r"^vmw_balloon: (?P<detail>.*)$"), "vmw_balloon", "message"),
    # drivers/xen/balloon.c (pr_fmt "xen:balloon: "; "xen_balloon: "/"xen_mem: " in old kernels)
    (re.compile(r"^(?:xen:balloon|xen_balloon|xen_mem): Initialising balloon driver\.?\s*$"),
     "xen_balloon", "init"),
    (re.compile(r"^(?:xen:balloon|xen_balloon): (?P<detail>.*)$"), "xen_balloon", "message"),
)


# -- classification for a kernel-log view -----------------------------------------------


def classify(record: Record) -> str | None:
    """Why ``record`` matters to balloontop: ``oom``, ``show_mem``, ``balloon``,
    ``alloc_failure``, ``sysrq``, or ``None``. For highlighting in a log view."""
    text = record.text
    if _INVOKE.match(text) or _OOM_KILL.match(text) or "Killed process" in text:
        return "oom"
    if _SYSRQ.match(text):
        return "sysrq"
    if _ALLOC_FAIL.match(text):
        return "alloc_failure"
    if _NODE.match(text) and _NODE_BALLOON.search(text) or _INFLATED.search(text):
        return "balloon"
    if driver_message(record) is not None:
        return "balloon"
    if (
        _MEMINFO.match(text)
        or _NODE.match(text)
        or _PAGES_RAM.match(text)
        or _PAGES_RESERVED.match(text)
    ):
        return "show_mem"
    return None


def driver_message(record: Record) -> BalloonDriverMessage | None:
    """``record`` as a balloon driver's message, or ``None``."""
    text = record.text
    for pattern, driver, kind in _DRIVER_PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        groups = match.groupdict()
        kib = None
        if groups.get("mib") is not None:
            kib = int(groups["mib"]) * 1024
        elif groups.get("pages") is not None:
            kib = None  # guest pages of unknown size here; kept in the text
        return BalloonDriverMessage(
            time_s=record.time_s,
            seq=record.seq,
            driver=driver,
            kind=kind,
            text=text,
            level=record.level,
            instance=groups.get("instance"),
            kib=kib,
            detail=groups.get("detail"),
        )
    return None


# -- grouping -----------------------------------------------------------------------------


class _ShowMemBuilder:
    def __init__(self, trigger: str, record: Record, **extra: Any) -> None:
        self.trigger = trigger
        self.record = record
        self.extra = extra
        self.has_mem_info = False
        self.node_balloon: dict[int, int] = {}
        self.inflated_total: int | None = None
        self.inflated_free: int | None = None
        self.pages_ram: int | None = None
        self.pages_reserved: int | None = None

    def feed(self, text: str) -> bool:
        """Take a show_mem line; False when it is not one of this block's lines."""
        if _MEMINFO.match(text):
            self.has_mem_info = True
            return True
        if not self.has_mem_info:
            return False
        node = _NODE.match(text)
        if node is not None:
            balloon = _NODE_BALLOON.search(text)
            if balloon is not None:
                self.node_balloon[int(node.group("node"))] = int(balloon.group("kib"))
            return True
        inflated = _INFLATED.search(text)
        if inflated is not None:
            self.inflated_total = int(inflated.group("total"))
            self.inflated_free = int(inflated.group("free"))
            return True
        ram = _PAGES_RAM.match(text)
        if ram is not None:
            self.pages_ram = int(ram.group("n"))
            return True
        reserved = _PAGES_RESERVED.match(text)
        if reserved is not None:
            self.pages_reserved = int(reserved.group("n"))
            return True
        return False

    def build(self, trigger: str | None = None) -> ShowMemReport:
        if self.node_balloon:
            balloon: int | None = sum(self.node_balloon.values())
            source: str | None = "show_mem:Balloon"
        elif self.inflated_total is not None:
            balloon = (self.inflated_total or 0) + (self.inflated_free or 0)
            source = "show_mem:Inflated"
        else:
            balloon, source = None, None
        return ShowMemReport(
            trigger=trigger or self.trigger,
            time_s=self.record.time_s,
            seq=self.record.seq,
            balloon_kib=balloon,
            balloon_source=source,
            pages_ram=self.pages_ram,
            pages_reserved=self.pages_reserved,
            node_balloon_kib=MappingProxyType(dict(self.node_balloon)),
            inflated_total_kib=self.inflated_total,
            inflated_free_kib=self.inflated_free,
            has_mem_info=self.has_mem_info,
            **self.extra,
        )


class _OomBuilder:
    def __init__(self, record: Record) -> None:
        self.record = record
        self.fields: dict[str, Any] = {}
        self.show_mem = _ShowMemBuilder("oom", record)
        self.killed = False

    def invoked(self, match: re.Match[str]) -> None:
        rest = match.group("rest")
        self.fields["invoker"] = match.group("comm")
        gfp, order, adj = _GFP.search(rest), _ORDER.search(rest), _ADJ.search(rest)
        self.fields["gfp_mask"] = gfp.group("gfp") if gfp else None
        self.fields["order"] = int(order.group("order")) if order else None
        self.fields["oom_score_adj"] = int(adj.group("adj")) if adj else None

    def oom_kill(self, body: str) -> None:
        task = _OOM_KILL_TASK.search(body)
        head = body[: task.start()] if task else body
        tokens = [t for t in head.split(",") if t]
        values = {}
        flags = set()
        for token in tokens:
            key, eq, value = token.partition("=")
            if eq:
                values[key.strip()] = value
            else:
                flags.add(token.strip())
        self.fields["constraint"] = values.get("constraint")
        self.fields["task_memcg"] = values.get("task_memcg")
        self.fields["global_oom"] = "global_oom" in flags if flags or values else None
        if "oom_memcg" in values:
            self.fields["memcg_oom"] = True
        if task is not None:
            self.fields.setdefault("victim_name", task.group("task"))
            self.fields.setdefault("victim_pid", int(task.group("pid")))
            self.fields.setdefault("victim_uid", int(task.group("uid")))

    def killed_process(self, match: re.Match[str]) -> None:
        self.killed = True
        self.fields["victim_name"] = match.group("comm")
        self.fields["victim_pid"] = int(match.group("pid"))
        self.fields["victim_total_vm_kib"] = int(match.group("vm"))
        self.fields["victim_anon_rss_kib"] = int(match.group("anon"))
        self.fields["victim_file_rss_kib"] = int(match.group("file"))
        self.fields["victim_shmem_rss_kib"] = int(match.group("shmem"))
        if match.group("uid") is not None:
            self.fields["victim_uid"] = int(match.group("uid"))
            self.fields["victim_pgtables_kib"] = int(match.group("pgt"))
            self.fields["victim_oom_score_adj"] = int(match.group("adj"))
        if "cgroup" in match.group("why").lower():
            self.fields["memcg_oom"] = True

    def build(self) -> OomReport:
        show = self.show_mem.build() if self.show_mem.has_mem_info else None
        f = self.fields
        return OomReport(
            time_s=self.record.time_s,
            seq=self.record.seq,
            invoker=f.get("invoker"),
            order=f.get("order"),
            oom_score_adj=f.get("oom_score_adj"),
            victim_name=f.get("victim_name"),
            victim_pid=f.get("victim_pid"),
            victim_total_vm_kib=f.get("victim_total_vm_kib"),
            victim_anon_rss_kib=f.get("victim_anon_rss_kib"),
            victim_file_rss_kib=f.get("victim_file_rss_kib"),
            victim_shmem_rss_kib=f.get("victim_shmem_rss_kib"),
            constraint=f.get("constraint"),
            balloon_kib=show.balloon_kib if show else None,
            balloon_source=show.balloon_source if show else None,
            pages_ram=show.pages_ram if show else None,
            pages_reserved=show.pages_reserved if show else None,
            gfp_mask=f.get("gfp_mask"),
            victim_uid=f.get("victim_uid"),
            victim_pgtables_kib=f.get("victim_pgtables_kib"),
            victim_oom_score_adj=f.get("victim_oom_score_adj"),
            global_oom=f.get("global_oom"),
            task_memcg=f.get("task_memcg"),
            memcg_oom=bool(f.get("memcg_oom", False)),
            killed=self.killed,
            show_mem=show,
        )


def parse_reports(records: Iterable[Record]) -> list[Report]:
    """OOM reports, show_mem reports and balloon driver messages, in log order."""
    return [report for _, report in parse_reports_indexed(records)]


def parse_reports_indexed(records: Iterable[Record]) -> list[tuple[int, Report]]:
    """``parse_reports`` with the index of each report's first record."""
    out: list[tuple[int, Report]] = []
    current: tuple[int, _OomBuilder | _ShowMemBuilder] | None = None

    def finish() -> None:
        nonlocal current
        if current is None:
            return
        index, builder = current
        if isinstance(builder, _OomBuilder):
            out.append((index, builder.build()))
        elif builder.has_mem_info or builder.trigger != "unknown":
            out.append((index, builder.build()))
        current = None

    def open_oom(index: int, record: Record) -> _OomBuilder:
        """The OOM report these lines belong to: the open one, or a new one (its start was lost)."""
        nonlocal current
        builder = current[1] if current else None
        if not isinstance(builder, _OomBuilder) or builder.killed:
            finish()
            builder = _OomBuilder(record)
            current = (index, builder)
        return builder

    for index, record in enumerate(records):
        try:
            text = record.text
            invoke = _INVOKE.match(text)
            if invoke is not None:
                finish()
                oom = _OomBuilder(record)
                oom.invoked(invoke)
                current = (index, oom)
                continue
            if _SYSRQ.match(text):
                finish()
                current = (index, _ShowMemBuilder("sysrq", record))
                continue
            alloc = _ALLOC_FAIL.match(text)
            if alloc is not None:
                finish()
                order = alloc.group("order")
                current = (index, _ShowMemBuilder(
                    "alloc_failure", record, comm=alloc.group("comm"),
                    order=int(order) if order is not None else None,
                    gfp_mode=alloc.group("mode")))
                continue
            if _MEMINFO.match(text):
                builder = current[1] if current else None
                target = builder.show_mem if isinstance(builder, _OomBuilder) else builder
                if target is None or target.has_mem_info:
                    finish()
                    current = (index, _ShowMemBuilder("unknown", record))
                    target = current[1]  # type: ignore[assignment]
                target.feed(text)  # type: ignore[union-attr]
                continue
            oom_kill = _OOM_KILL.match(text)
            if oom_kill is not None:
                open_oom(index, record).oom_kill(oom_kill.group("body"))
                continue
            killed = _KILLED.match(text)
            if killed is not None:
                open_oom(index, record).killed_process(killed)
                finish()
                continue
            message = driver_message(record)
            if message is not None:
                out.append((index, message))
                continue
            if current is not None:
                builder = current[1]
                target = builder.show_mem if isinstance(builder, _OomBuilder) else builder
                target.feed(text)
        except Exception:  # pragma: no cover - defensive: a report never raises
            continue
    finish()
    out.sort(key=lambda pair: pair[0])
    return out


def oom_reports(reports: Sequence[Report]) -> list[OomReport]:
    return [r for r in reports if isinstance(r, OomReport)]


def show_mem_reports(reports: Sequence[Report], include_oom: bool = False) -> list[ShowMemReport]:
    """show_mem reports; with ``include_oom`` also the blocks inside OOM reports."""
    out: list[ShowMemReport] = []
    for report in reports:
        if isinstance(report, ShowMemReport):
            out.append(report)
        elif include_oom and isinstance(report, OomReport) and report.show_mem is not None:
            out.append(report.show_mem)
    return out


# -- events -------------------------------------------------------------------------------


def report_events(reports: Iterable[Report], boot_time: float | None = None) -> list[Event]:
    """Events for the monitor's event log: ``oom_kill``, ``show_mem``, ``balloon_driver``.

    ``boot_time`` (wall-clock seconds at boot, e.g. ``now - /proc/uptime``) turns the log's
    uptime stamps into wall time; without it ``Event.time`` is the uptime in seconds.
    ``details["uptime_s"]`` always holds the log's own stamp.
    """
    events: list[Event] = []
    for report in reports:
        uptime = report.time_s
        when = (boot_time + uptime) if (boot_time is not None and uptime is not None) else (
            uptime if uptime is not None else 0.0)
        if isinstance(report, OomReport):
            victim = report.victim_name or "?"
            size = format_mib(report.victim_rss_kib)
            balloon = ("the log carried no balloon figure" if report.balloon_kib is None
                       else f"the balloon held {format_mib(report.balloon_kib)}")
            if report.killed:
                message = (f"OOM kill: {victim} (pid {report.victim_pid}, {size} resident); "
                           f"{balloon}")
            else:
                message = f"OOM killer invoked by {report.invoker or '?'}; {balloon}"
            details = report.to_json()
            details["uptime_s"] = uptime
            events.append(Event(time=when, kind="oom_kill", message=message,
                                kib=report.victim_rss_kib, details=MappingProxyType(details)))
        elif isinstance(report, ShowMemReport):
            what = {"sysrq": "SysRq-m memory report", "alloc_failure": "allocation failure report",
                    "oom": "OOM memory report"}.get(report.trigger, "memory report")
            balloon = ("no balloon figure (kernel before 6.15?)" if report.balloon_kib is None
                       else f"balloon {format_mib(report.balloon_kib)}")
            details = report.to_json()
            details["uptime_s"] = uptime
            events.append(Event(time=when, kind="show_mem", message=f"{what}: {balloon}",
                                kib=report.balloon_kib, details=MappingProxyType(details)))
        elif isinstance(report, BalloonDriverMessage):
            if report.kind in ("registered", "module_error"):
                continue  # printed on boots where the driver is merely present: not news
            details = report.to_json()
            details["uptime_s"] = uptime
            events.append(Event(time=when, kind="balloon_driver",
                                message=f"{report.driver}: {report.text.split(': ', 1)[-1]}",
                                kib=report.kib, driver=report.driver, instance=report.instance,
                                details=MappingProxyType(details)))
    return events
