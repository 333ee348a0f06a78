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
    """Rows of the live system's largest memory users.

    Nothing is imported or scanned until the first call: building the monitor (before its
    first frame) does not pay for psutil; the poll thread does, later.
    """
    state: dict = {}

    def read() -> list[ProcRow]:
        psutil = state.get("psutil")
        if psutil is None:
            import psutil

            state["psutil"] = psutil
            state["total"] = psutil.virtual_memory().total or 1
        total = state["total"]
        users: dict = state.setdefault("users", {})
        rows = []
        for proc in psutil.process_iter(["pid", "name", "uids", "memory_info"]):
            info = proc.info
            mem = info.get("memory_info")
            if mem is None:
                continue
            uids = info.get("uids")
            uid = uids.real if uids is not None else None
            rows.append((mem.rss, info["pid"], uid, info.get("name") or "?"))
        rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
        out = []
        for rss, pid, uid, name in rows[:limit]:
            user = users.get(uid)
            if user is None:  # user names of the shown rows only, each looked up once
                user = users[uid] = _user_name(uid)
            out.append(ProcRow(pid, user[:8], rss // 1024, rss * 100.0 / total, name))
        return out

    return read


def _user_name(uid: int | None) -> str:
    if uid is None:
        return "?"
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


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
