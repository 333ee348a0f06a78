"""The kernel log: records, the reports in them, and what balloontop infers from samples.

* ``records``: ``/dev/kmsg`` records and pasted ``dmesg`` text -> ``Record`` (``parse_log``)
* ``reader``: ``KmsgReader(root).read_new()`` -> new records (live ``/dev/kmsg`` or a file);
  ``KernelLog(root, boot_time=...)``: for the monitor, ``poll()`` -> new ``Event``s and
  ``highlighted()`` -> retained records with why each matters
* ``reports``: ``parse_reports(records)`` -> ``OomReport`` / ``ShowMemReport`` /
  ``BalloonDriverMessage``; ``report_events(reports)`` -> ``Event``s; ``classify(record)``
* ``report_types``: those three reports as frozen dataclasses, with their JSON
* ``inference``: ``infer_deflate_on_oom(samples)`` / ``DeflateOnOomDetector().feed(sample)``
  -> "likely deflate-on-OOM" events (the kernel logs nothing when a virtio balloon deflates
  on OOM); the rule is written down in that module
"""

from __future__ import annotations

from .reader import KernelLog, KmsgReader
from .records import ParseResult, Record, parse_kmsg_record, parse_log
from .report_types import BalloonDriverMessage, OomReport, ShowMemReport
from .reports import classify, parse_reports, report_events

__all__ = [
    "BalloonDriverMessage",
    "KernelLog",
    "KmsgReader",
    "OomReport",
    "ParseResult",
    "Record",
    "ShowMemReport",
    "classify",
    "parse_kmsg_record",
    "parse_log",
    "parse_reports",
    "report_events",
]
