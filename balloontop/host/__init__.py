"""The host's side of the balloon: what the hypervisor sees (QEMU's QMP today).

* ``qmp``: a small QMP client (UNIX socket or TCP), every read bounded in time and size,
  every failure one ``QMPError`` line (gone, busy, a command this QEMU lacks, ...);
* ``reading``: the immutable ``HostReading`` a sample carries (``Sample.host``), ``Movement``,
  ``MovementTracker`` and ``guest_lag`` (pure functions, no sockets);
* ``reader``: ``HostReader(address, stats_interval=None).read() -> HostReading``, never raises;
* ``source``: ``HostSource(inner, reader)``, any ``SampleSource`` whose samples carry the
  host's reading and the guest's lag; what the monitor, ``record`` and ``export`` read through;
* ``text``: the report's lines (``host_lines``), a pane's lines (``pane_lines``), the guest's
  statistics beside QEMU's copy (``stat_pairs``);
* ``options``: ``--qmp``/``--qmp-stats-interval`` (``add_qmp_options``, ``host_reader``,
  ``wrap_source``);
* ``firecracker``: Firecracker's ``GET /balloon/statistics`` parser (documented format only).

A remote guest with its own socket (``--via``/``--ssh`` followed by ``--qmp``, or the ``qmp``
key of a ``[[guest]]`` table) is ``HostSource(remote_source, HostReader(spec.qmp))``.

Nothing here imports Textual, and ``reading`` imports nothing but the standard library, so a
recording with host blocks replays without the socket code.
"""
