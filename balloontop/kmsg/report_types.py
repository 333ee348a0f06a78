"""The reports balloontop finds in the kernel log, as data: what ``kmsg.reports`` builds.

* ``OomReport``: one OOM kill (or invocation), its victim and the show_mem block it printed;
* ``ShowMemReport``: a show_mem block and its trigger (SysRq-m, an allocation failure, an OOM);
* ``BalloonDriverMessage``: a line a balloon driver printed;
* ``Report``: any of the three.

Each is frozen and has ``to_json()`` (the ``oom`` command's JSON and an event's ``details``).
A ``balloon_kib`` of ``None`` means the log printed no balloon figure (kernels before 6.15).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[Any, Any] = MappingProxyType({})


def _empty() -> Mapping[Any, Any]:
    return _EMPTY


@dataclass(frozen=True)
class ShowMemReport:
    """A show_mem block and its trigger: ``sysrq``, ``alloc_failure``, ``oom`` or ``unknown``."""

    trigger: str
    time_s: float | None
    seq: int | None
    balloon_kib: int | None
    """Ballooned memory the block printed (``None``: it printed no balloon figure)."""
    balloon_source: str | None
    pages_ram: int | None
    pages_reserved: int | None
    node_balloon_kib: Mapping[int, int] = field(default_factory=_empty)
    inflated_total_kib: int | None = None
    inflated_free_kib: int | None = None
    comm: str | None = None
    """The task that failed an allocation (``alloc_failure``)."""
    order: int | None = None
    gfp_mode: str | None = None
    has_mem_info: bool = False

    kind = "show_mem"

    @property
    def accounting(self) -> str | None:
        """``total``/``used`` where the design note's line says so; 6.15's line does not."""
        if self.inflated_total_kib:
            return "total"
        if self.inflated_free_kib:
            return "used"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "show_mem",
            "trigger": self.trigger,
            "time_s": self.time_s,
            "seq": self.seq,
            "balloon_kib": self.balloon_kib,
            "balloon_source": self.balloon_source,
            "node_balloon_kib": {str(k): v for k, v in self.node_balloon_kib.items()},
            "inflated_total_kib": self.inflated_total_kib,
            "inflated_free_kib": self.inflated_free_kib,
            "pages_ram": self.pages_ram,
            "pages_reserved": self.pages_reserved,
            "comm": self.comm,
            "order": self.order,
            "gfp_mode": self.gfp_mode,
        }


@dataclass(frozen=True)
class OomReport:
    """One OOM kill (or OOM invocation) as the kernel logged it."""

    time_s: float | None
    seq: int | None
    invoker: str | None
    order: int | None
    oom_score_adj: int | None
    victim_name: str | None
    victim_pid: int | None
    victim_total_vm_kib: int | None
    victim_anon_rss_kib: int | None
    victim_file_rss_kib: int | None
    victim_shmem_rss_kib: int | None
    constraint: str | None
    balloon_kib: int | None
    """Ballooned memory printed in the report's show_mem block; ``None`` if it printed none."""
    balloon_source: str | None
    pages_ram: int | None
    pages_reserved: int | None
    gfp_mask: str | None = None
    victim_uid: int | None = None
    victim_pgtables_kib: int | None = None
    victim_oom_score_adj: int | None = None
    global_oom: bool | None = None
    task_memcg: str | None = None
    memcg_oom: bool = False
    killed: bool = False
    """True when the ``Killed process`` line was seen."""
    show_mem: ShowMemReport | None = None

    kind = "oom"

    @property
    def victim_rss_kib(self) -> int | None:
        parts = (self.victim_anon_rss_kib, self.victim_file_rss_kib, self.victim_shmem_rss_kib)
        if all(p is None for p in parts):
            return None
        return sum(p or 0 for p in parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "oom",
            "time_s": self.time_s,
            "seq": self.seq,
            "invoker": self.invoker,
            "gfp_mask": self.gfp_mask,
            "order": self.order,
            "oom_score_adj": self.oom_score_adj,
            "constraint": self.constraint,
            "global_oom": self.global_oom,
            "task_memcg": self.task_memcg,
            "memcg_oom": self.memcg_oom,
            "killed": self.killed,
            "victim": {
                "name": self.victim_name,
                "pid": self.victim_pid,
                "uid": self.victim_uid,
                "total_vm_kib": self.victim_total_vm_kib,
                "anon_rss_kib": self.victim_anon_rss_kib,
                "file_rss_kib": self.victim_file_rss_kib,
                "shmem_rss_kib": self.victim_shmem_rss_kib,
                "rss_kib": self.victim_rss_kib,
                "pgtables_kib": self.victim_pgtables_kib,
                "oom_score_adj": self.victim_oom_score_adj,
            },
            "balloon_kib": self.balloon_kib,
            "balloon_source": self.balloon_source,
            "pages_ram": self.pages_ram,
            "pages_reserved": self.pages_reserved,
        }


@dataclass(frozen=True)
class BalloonDriverMessage:
    """A line a balloon driver printed."""

    time_s: float | None
    seq: int | None
    driver: str
    kind: str
    """``partially_fulfilled``, ``max_dynamic_memory``, ``protocol``, ``out_of_puff``,
    ``init``, ``registered``, ``module_error`` (the module failed to load) or ``message``."""
    text: str
    level: int | None = None
    instance: str | None = None
    kib: int | None = None
    """A size the message carried (hv's maximum dynamic memory; virtio's pages not got)."""
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "balloon_driver",
            "time_s": self.time_s,
            "seq": self.seq,
            "driver": self.driver,
            "instance": self.instance,
            "kind": self.kind,
            "kib": self.kib,
            "text": self.text,
        }


Report = OomReport | ShowMemReport | BalloonDriverMessage
