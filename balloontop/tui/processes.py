"""The compact process list: the largest memory users, as top shows them.

``psutil_source(limit)`` returns a callable giving rows for the live system; for a root
that is not ``/`` (a capture, a fixture) there are no processes to show and the monitor
prints a note instead. Runs in the poll thread, less often than the balloon figures.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..model import UNKNOWN_USER, ProcRow

__all__ = ["ProcRow", "ProcessSource", "process_lines", "psutil_source"]


ProcessSource = Callable[[], "list[ProcRow] | None"]


def psutil_source(limit: int = 8) -> ProcessSource:
    """Rows of the live system's largest memory users.

    Nothing is imported or scanned until the first call: building the monitor (before its
    first frame) does not pay for psutil; the poll thread does, later. A scan reads one
    small file per process (``statm``, for the RSS); names and owners are read for the
    shown rows only (``process_iter`` with those attributes reads three files per process
    and costs four times as much).
    """
    state: dict = {}
    procs: dict = {}  # pid -> psutil.Process, kept between scans

    def read() -> list[ProcRow]:
        psutil: Any = state.get("psutil")
        if psutil is None:
            psutil = importlib.import_module("psutil")
            state["psutil"] = psutil
            state["total"] = psutil.virtual_memory().total or 1
        total = state["total"]
        users: dict = state.setdefault("users", {})
        pids = psutil.pids()
        for gone in procs.keys() - set(pids):
            del procs[gone]
        sizes = []
        for pid in pids:
            try:
                proc = procs.get(pid) or procs.setdefault(pid, psutil.Process(pid))
                sizes.append((proc.memory_info().rss, pid, proc))
            except psutil.Error:  # gone meanwhile, a zombie, or not ours to read
                procs.pop(pid, None)
        sizes.sort(key=lambda r: (r[0], r[1]), reverse=True)
        out: list[ProcRow] = []
        for rss, pid, proc in sizes:
            if len(out) == limit:
                break
            try:
                with proc.oneshot():
                    name, uid = proc.name(), proc.uids().real
            except psutil.Error:
                continue
            user = users.get(uid)
            if user is None:  # user names of the shown rows only, each looked up once
                user = users[uid] = _user_name(uid)
            out.append(ProcRow(pid, user[:8], rss // 1024, rss * 100.0 / total, name or "?"))
        return out

    return read


def _user_name(uid: int | None) -> str:
    if uid is None:
        return UNKNOWN_USER
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


def process_lines(rows: list[ProcRow] | None, limit: int) -> list:
    """The process list's rows: a header, then one row per process.

    The command comes before the user, so a narrow pane (80 columns) cuts the user, not
    the command; no user column when no row has an owner (a remote guest's list); names
    are the guest's text (``Content``, never markup)."""
    from .guest_text import content

    if rows is None:
        return ["[$muted]no processes: not the live system (a capture or a demo)[/]"]
    shown = rows[:limit]
    users = any(r.user != UNKNOWN_USER for r in shown)  # a remote guest's list has no owners
    out: list = [f"[b]{'PID':>7} {'RSS':>6} {'%MEM':>5}  {'COMMAND':<16}{' USER' if users else ''}[/]"]
    row = f"{{pid:>7}} {{rss:>6}} {{mem:>5.1f}}  $command{' [$muted]$user[/]' if users else ''}"
    for r in shown:
        rss = f"{r.rss_kib / 1024:.0f}M" if r.rss_kib < 10 * 1024 * 1024 else f"{r.rss_kib / 1048576:.1f}G"
        out.append(content(row.format(pid=r.pid, rss=rss, mem=r.mem_percent),
                           command=f"{r.command:<16}" if users else r.command, user=r.user))
    return out
