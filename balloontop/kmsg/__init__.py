"""The kernel log: records, the reports in them, and what balloontop infers from samples.

* ``records``: ``/dev/kmsg`` records and pasted ``dmesg`` text -> ``Record``
* ``reader``: ``KmsgReader(root).read_new()`` -> new records (live ``/dev/kmsg`` or a file)
* ``reports``: ``parse_reports(records)`` -> ``OomReport`` / ``ShowMemReport`` /
  ``BalloonDriverMessage``; ``report_events(reports)`` -> ``Event``s; ``classify(record)``
* ``inference``: ``infer_deflate_on_oom(samples)`` / ``DeflateOnOomDetector`` -> "likely
  deflate-on-OOM" events (the kernel logs nothing when a virtio balloon deflates on OOM)
"""

from __future__ import annotations

from .records import ParseResult, Record, parse_kmsg_record, parse_log

__all__ = ["ParseResult", "Record", "parse_kmsg_record", "parse_log"]
