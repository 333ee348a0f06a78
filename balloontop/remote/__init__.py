"""Remote guests: read a guest through a shell on a pipe, nothing installed in it.

API for the front ends (monitor, record, export; no Textual anywhere here):

* ``balloontop.guests.add_guest_arguments(parser, several)`` adds ``--via``, ``--ssh``,
  ``--ssh-option``, ``--guest``, ``--connect-timeout``, ``--tick-timeout``;
  ``guest_specs(args, several)`` turns them (and the config file's ``[[guest]]`` fleet)
  into ``GuestSpec``s; an empty list means "the local root".
* ``sources(specs)`` -> one ``RemoteSource`` per spec. A ``RemoteSource`` is a
  ``SampleSource``: ``sample() -> Sample | None`` (``None`` while the guest cannot be read;
  it reconnects by itself with a backoff) and ``close()``; for the UI: ``name``,
  ``target``, ``transport``, ``hostname``, ``state``, ``last_error``, ``events`` (drops
  and reconnects, to be taken by the caller), ``processes()`` (``ProcRow`` list) and
  ``kernel_log()``. Each sample carries ``Sample.guest``.
* ``sample()`` blocks for at most the tick timeout (the connect timeout while
  connecting): give each guest its own poll thread, or accept that a dead guest delays
  the others by that much.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..guests import GuestSpec
    from .source import RemoteSource


def sources(specs: list[GuestSpec]) -> list[RemoteSource]:
    """One ``RemoteSource`` per guest (nothing is connected before the first ``sample()``)."""
    from .source import RemoteSource

    return [RemoteSource(spec) for spec in specs]
