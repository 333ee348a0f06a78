"""The event log as shown: events in order, one line per OOM kill.

An OOM kill is seen twice: ``oom_kill`` rising in ``/proc/vmstat`` (at the next sample) and
the kernel log's report of the same kill (victim, balloon figure). ``EventJournal`` keeps one
line per kill: the log's event replaces the vmstat one, and a vmstat event after the log's
report of the same kill is dropped. Recordings keep every event as it came; the monitor's
pane and ``report`` show the journal.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import Event

OOM_MERGE_S = 120.0
"""A kernel-log OOM report and a vmstat ``oom_kill`` rise this close in time are one kill."""
MAX_EVENTS = 500


def from_kernel_log(event: Event) -> bool:
    """An event from the kernel log carries the log's own stamp (``details["uptime_s"]``)."""
    return "uptime_s" in (event.details or {})


class EventJournal:
    """The newest ``limit`` events, with the two sightings of one OOM kill merged."""

    def __init__(self, limit: int = MAX_EVENTS) -> None:
        self.limit = limit
        self.events: list[Event] = []
        self._merged: set[int] = set()

    def clear(self) -> None:
        self.events = []
        self._merged.clear()

    def add(self, events: Iterable[Event]) -> tuple[list[Event], bool]:
        """Add ``events``; return those appended and whether an earlier line was replaced
        (the view must then be rebuilt from ``events``)."""
        appended: list[Event] = []
        replaced = False
        for event in events:
            if event.kind == "oom_kill":
                index = self._oom_partner(event)
                if index is not None:
                    if from_kernel_log(event):
                        self.events[index] = event  # the log's line replaces vmstat's
                        self._merged.add(id(event))
                        replaced = True
                    else:  # the log's line came first: it already stands for this kill
                        self._merged.add(id(self.events[index]))
                    continue
            self.events.append(event)
            appended.append(event)
        if len(self.events) > self.limit:
            dropped = len(self.events) - self.limit
            del self.events[:dropped]
        return appended, replaced

    def _oom_partner(self, event: Event) -> int | None:
        """Index of the kept oom_kill line of the other origin for the same kill."""
        kernel = from_kernel_log(event)
        for index in range(len(self.events) - 1, -1, -1):
            item = self.events[index]
            if item.kind != "oom_kill":
                continue
            if from_kernel_log(item) == kernel or id(item) in self._merged:
                continue
            if abs(item.time - event.time) <= OOM_MERGE_S:
                return index
        return None


def merged(events: Iterable[Event], limit: int | None = None) -> list[Event]:
    """``events`` in time order as the journal shows them (``report``'s list)."""
    journal = EventJournal(limit if limit is not None else 1 << 62)
    journal.add(sorted(events, key=lambda e: e.time))
    return journal.events
