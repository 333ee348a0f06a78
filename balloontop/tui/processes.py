"""The compact process list: the largest memory users, as top shows them.

``psutil_source(limit)`` returns a callable giving rows for the live system; for a root
that is not ``/`` (a capture, a fixture) there are no processes to show and the monitor
prints a note instead. Runs in the poll thread, less often than the balloon figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcRow:
    pid: int
    user: str
    rss_kib: int
    mem_percent: float
    command: str


ProcessSource = Callable[[], "list[ProcRow] | None"]


def psutil_source(limit: int = 8) -> ProcessSource:
    import psutil

    total = psutil.virtual_memory().total or 1

    def read() -> list[ProcRow]:
        rows = []
        for proc in psutil.process_iter(["pid", "name", "username", "memory_info"]):
            info = proc.info
            mem = info.get("memory_info")
            if mem is None:
                continue
            rows.append((mem.rss, info["pid"], info.get("username") or "?", info.get("name") or "?"))
        rows.sort(reverse=True)
        return [ProcRow(pid, user[:8], rss // 1024, rss * 100.0 / total, name)
                for rss, pid, user, name in rows[:limit]]

    return read


def process_lines(rows: list[ProcRow] | None, limit: int) -> list[str]:
    from textual.markup import escape

    if rows is None:
        return ["[$muted]no processes in this root (a capture): the list shows the live system's[/]",
                "[$muted]largest memory users when run with --root /[/]"]
    head = f"[b]{'PID':>7} {'USER':<8} {'RSS':>9} {'%MEM':>5}  COMMAND[/]"
    out = [head]
    for r in rows[:limit]:
        rss = f"{r.rss_kib / 1024:.0f}M" if r.rss_kib < 10 * 1024 * 1024 else f"{r.rss_kib / 1048576:.1f}G"
        out.append(f"{r.pid:>7} {escape(r.user):<8} {rss:>9} {r.mem_percent:>5.1f}  {escape(r.command)}")
    return out
