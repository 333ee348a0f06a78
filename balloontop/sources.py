"""Where samples come from: the ``SampleSource`` protocol every front end reads through.

A source hands out one immutable ``Sample`` per call (or ``None`` when it has none yet: a
replay between samples, a paused demo) and is closed once. Its ``kind`` tells the pipeline
what it is, so no caller has to guess from attributes:

* ``live``: this machine's ``/`` (``Sampler``);
* ``capture``: a folder standing for a guest's ``/`` (``Sampler`` over ``--root``): static;
* ``demo``: the simulator (``balloontop.demo.DemoSource``);
* ``replay``: a recording played back (``balloontop.replay.ReplaySource``);
* ``remote``: a guest read through a shell (``balloontop.remote``).
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from .model import Event, Sample

SourceKind = Literal["live", "capture", "demo", "replay", "remote"]


@runtime_checkable
class SampleSource(Protocol):
    """Anything the monitor pipeline can read samples from."""

    @property
    def kind(self) -> SourceKind:
        """What the source is (see the module docstring)."""
        ...

    def sample(self) -> Sample | None:
        """The next sample, or ``None`` when none is due."""
        ...

    def close(self) -> None:
        """Release what the source holds (a temporary tree, a connection)."""
        ...


@runtime_checkable
class ConnectionEvents(Protocol):
    """A source that can lose its guest (a remote one): its drops (``gap``) and reconnects
    (``reconnect``) are events the pipeline shows and records like the others."""

    def take_events(self) -> list[Event]:
        """The connection's events since the last call."""
        ...
