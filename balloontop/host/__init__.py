"""The host's side of the balloon: what the hypervisor sees (QEMU's QMP today).

* ``qmp``: a small QMP client (UNIX socket or TCP), every read bounded in time and size;
* ``reading``: the immutable ``HostReading`` a sample carries, ``Movement`` and the lag between
  the guest's figure and the host's (pure functions, no sockets);
* ``reader``: ``HostReader``, which turns QMP answers into ``HostReading`` and never raises;
* ``options``: the ``--qmp``/``--qmp-stats-interval`` options shared by the commands.

Nothing here imports Textual, and ``reading`` imports nothing but the standard library, so a
recording with host blocks replays without the socket code.
"""
