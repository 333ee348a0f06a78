"""``ShellRoot``: a guest's file tree read through a shell on a pipe (a ``FileTree``).

``Connection`` opens the transport and greets the guest once (is ``head`` there, does the
root directory exist, what is the running kernel's page size). ``ShellRoot`` answers the
readers' questions (``read_text``, ``exists``, ``listdir``, ...) from one batch per tick:

* ``refresh()`` asks, in ONE round trip, every question the previous tick asked;
* a question not in the batch (the first tick, a new device) costs one more round trip
  and joins the next batches; questions no longer asked drop out;
* answers that rarely change (where links point, the kernel's release and host name, the
  mount table, files found missing) are asked every ``SLOW_EVERY`` ticks, and at once
  when the list of virtio devices changes;
* links are resolved by the guest's own kernel (``cd -P``), so a remote ``--root DIR``
  is a prefix on the guest, not a chroot: an absolute link inside DIR points outside it,
  and links stored as text files (9p copies) are not followed.

No method raises: when the connection fails in the middle of a tick, ``failed`` holds the
error and every further question of that tick is answered "error"; the caller discards
the tick's sample and reconnects.
"""

from __future__ import annotations

import re

from ..errors import RootError
from ..rootfs import ReadError
from .protocol import (FILE_CAP, TICK_CAP, FileResult, Framing, FramingError, Query, Reply,
                       build_batch, end_marker, parse_batch, prelude, quote)
from .transport import Transport, TransportError

DEVICES_LIST = "sys/bus/virtio/devices"
SLOW_EVERY = 30
SLOW_READS = frozenset({"proc/sys/kernel/osrelease", "proc/sys/kernel/hostname", "proc/self/mounts", "proc/mounts"})

_DETAILS = {
    "missing": "not found",
    "permission": "permission denied on the guest",
    "not-a-file": "is a directory",
    "too-large": f"larger than {FILE_CAP >> 20} MiB: not read",
    "error": "read error on the guest",
}


class Connection:
    """A started transport, its framing secrets and what the greeting learned."""

    def __init__(self, transport: Transport, root: str = "/", connect_timeout: float = 10.0,
                 tick_timeout: float = 5.0) -> None:
        self.transport = transport
        self.root = root if root.startswith("/") else "/" + root
        self.connect_timeout = connect_timeout
        self.tick_timeout = tick_timeout
        self.framing = Framing()
        self.root_physical = "/"
        self.page_size: int | None = None
        self.round_trips = 0
        self._seq = 0

    def open(self) -> None:
        """Start the transport and greet the guest (``TransportError``, ``RootError``)."""
        self.transport.start()
        script = (
            prelude(self.framing)
            + "printf '\\n%s O\\n' \"$T\"\n"
            "printf '\\n%s h '  \"$T\"; command -v head\n"
            f"if cd -P {quote(self.root)} 2>&-; then printf '\\n%s r ' \"$T\"; pwd -P; fi; cd /\n"
            "printf '\\n%s g\\n' \"$T\"; head -c 16384 /proc/self/smaps 2>&-\n"
            "printf '\\n%s Z 0\\n' \"$T\"\n"
        ).encode()
        data = self.transport.exchange(script, end_marker(self.framing, 0), self.connect_timeout, 1 << 20,
                                       what="answer to the greeting (connect timeout)")
        self.round_trips += 1
        parts = data.split(self.framing.sep)
        kinds = {part[:1]: part for part in parts[1:]}
        if b"O" not in kinds:
            raise TransportError(f"{self.transport.label}: the guest's answer is not framed")
        if not kinds.get(b"h", b"").strip(b"h \n"):
            raise TransportError(f"{self.transport.label}: the guest has no 'head' command (balloontop needs sh and head)")
        if b"r" not in kinds:
            raise RootError(f"root {self.root!r} does not exist on the guest (or is not a directory)")
        self.root_physical = kinds[b"r"][2:].rstrip(b"\n").decode("utf-8", "surrogateescape") or "/"
        found = re.search(rb"^KernelPageSize:\s+(\d+) kB", kinds.get(b"g", b""), re.MULTILINE)
        if found and self.root == "/":
            size = int(found.group(1)) * 1024
            self.page_size = size if size >= 1024 and size & (size - 1) == 0 else None

    def batch(self, queries: list[Query], procs: bool = False, procs_min_pages: int = 0) -> Reply:
        """One round trip answering ``queries`` (``TransportError``, ``FramingError``)."""
        self._seq += 1
        script = build_batch(self.framing, self.root, queries, self._seq, procs=procs,
                             procs_min_pages=procs_min_pages)
        data = self.transport.exchange(script, end_marker(self.framing, self._seq), self.tick_timeout,
                                       TICK_CAP + 65536)
        self.round_trips += 1
        return parse_batch(self.framing, self.root, queries, self._seq, data, procs=procs)

    def close(self) -> None:
        self.transport.close()


class ShellRoot:
    """A ``FileTree`` over a ``Connection``; call ``refresh()`` once per tick."""

    def __init__(self, connection: Connection, slow_every: int = SLOW_EVERY) -> None:
        self.connection = connection
        self.path = connection.root
        self.is_live = connection.root == "/"
        self.failed: Exception | None = None
        self.procs: list[tuple[int, str, str]] | None = None
        self.slow_every = slow_every
        self._results: dict[Query, object] = {}
        self._used: dict[Query, None] = {}
        self._slow: dict[Query, object] = {}
        self._slow_age = 0
        self._devices: object = None
        self.collecting = False
        """While True, a question not answered yet is noted in ``missed`` and answered
        "unknown" (no round trip): ``RemoteSource`` then asks all of them in one batch and
        reads the tick again (a few round trips for the first tick instead of one per file)."""
        self.missed: dict[Query, None] = {}

    def __repr__(self) -> str:
        return f"ShellRoot({self.connection.transport.label!r}, {self.path!r})"

    def take_warnings(self) -> list[str]:
        """Nothing to add: a file over the cap is not read at all (its ``ReadError`` says so)."""
        return []

    # -- one tick ------------------------------------------------------------------------

    def refresh(self, procs: bool = False, procs_min_pages: int = 0) -> None:
        """Ask every question of the previous tick in one round trip (raises on failure).

        Answers that rarely change (``_is_slow``: links, the kernel's name, the mount
        table, files found missing) are kept for ``slow_every`` ticks, and asked again at
        once when the list of virtio devices changes.
        """
        self.failed = None
        used = list(self._used)
        self._used = {}
        self._results = {}
        self.procs = None
        self._slow_age += 1
        if self._slow_age >= self.slow_every:
            self._slow, self._slow_age = {}, 0
        plan = [q for q in used if q not in self._slow]
        if not plan and not procs:
            self._results = dict(self._slow)
            return
        reply = self.connection.batch(plan, procs=procs, procs_min_pages=procs_min_pages)
        fresh = _results(plan, reply)
        self.procs = reply.procs
        devices = fresh.get(Query("list", DEVICES_LIST), self._devices)
        if devices != self._devices and self._slow:
            self._slow, self._slow_age = {}, 0  # the device set changed: learn again
            again = [q for q in used if q not in fresh]
            if again:
                fresh.update(_results(again, self.connection.batch(again)))
        self._keep(fresh)
        self._results = {**self._slow, **fresh}

    def fetch_missed(self) -> int:
        """Ask every question noted in ``missed`` in one round trip; how many there were."""
        plan, self.missed = list(self.missed), {}
        if plan:
            fresh = _results(plan, self.connection.batch(plan))
            self._keep(fresh)
            self._results.update(fresh)
        return len(plan)

    def _keep(self, fresh: dict[Query, object]) -> None:
        """Note the slow answers and the device list among ``fresh`` answers."""
        for query, result in fresh.items():
            if _is_slow(query, result):
                self._slow[query] = result
        self._devices = fresh.get(Query("list", DEVICES_LIST), self._devices)

    def forget_used(self) -> None:
        """Start the tick's list of questions again (before reading the tick once more)."""
        self._used = {}

    def _ask(self, query: Query) -> object:
        self._used[query] = None
        if query in self._results:
            return self._results[query]
        if self.failed is not None:
            return None
        if self.collecting:
            self.missed[query] = None
            return None
        try:
            reply = self.connection.batch([query])
        except (TransportError, FramingError) as exc:
            self.failed = exc
            return None
        fresh = _results([query], reply)
        self._keep(fresh)
        self._results.update(fresh)
        return fresh[query]

    # -- FileTree --------------------------------------------------------------------------

    def read_text(self, rel: str, limit: int | None = None) -> tuple[str | None, ReadError | None]:
        """``limit`` is accepted as by ``Root.read_text``; the connection's own cap per file
        (``protocol.FILE_CAP``) applies to every answer."""
        rel = rel.lstrip("/")
        result = self._ask(Query("read", rel))
        if not isinstance(result, FileResult):
            return None, ReadError(rel, "error", "the guest did not answer")
        if result.data is None:
            reason = result.reason or "error"
            return None, ReadError(rel, reason if reason in ("missing", "permission", "not-a-file") else "error",
                                   _DETAILS.get(reason, reason))
        return result.data.decode("utf-8", "replace"), None

    def text(self, rel: str) -> str | None:
        return self.read_text(rel)[0]

    def exists(self, rel: str) -> bool:
        return self._ask(Query("exists", rel.lstrip("/"))) is True

    def is_dir(self, rel: str) -> bool:
        return self._ask(Query("isdir", rel.lstrip("/"))) is True

    def list_entries(self, rel: str) -> tuple[list[str] | None, str | None]:
        result = self._ask(Query("list", rel.lstrip("/")))
        if not isinstance(result, tuple):
            return None, "missing"
        return list(result[0]) if result[0] is not None else None, result[1]

    def listdir(self, rel: str) -> list[str]:
        return self.list_entries(rel)[0] or []

    def _physical(self, rel: str) -> tuple[bool, str] | None:
        result = self._ask(Query("phys", rel.lstrip("/")))
        return result if isinstance(result, tuple) else None

    def readlink(self, rel: str) -> str | None:
        """The guest path the link resolves to (not its raw text: the kernel resolved it)."""
        found = self._physical(rel)
        return found[1] if found is not None and found[0] else None

    def real_rel(self, rel: str) -> str | None:
        found = self._physical(rel)
        if found is None:
            return None
        path, root = found[1], self.connection.root_physical.rstrip("/")
        if root and (path == root or path.startswith(root + "/")):
            return path[len(root):] or "/"
        return path

    def dir_identity(self, rel: str) -> str | None:
        """The directory's physical path on the guest (no inode without a fork)."""
        found = self._physical(rel)
        return found[1] if found is not None else None

    def running_page_size(self) -> int | None:
        return self.connection.page_size if self.is_live else None


def _is_slow(query: Query, result: object) -> bool:
    """Whether an answer may be reused for a while (see ``ShellRoot.refresh``)."""
    if query.kind == "phys":
        return True
    if query.kind == "list":
        return query.rel != DEVICES_LIST
    if query.kind == "read" and isinstance(result, FileResult):
        return query.rel in SLOW_READS or result.reason == "missing"
    return False


def _results(plan: list[Query], reply: Reply) -> dict[Query, object]:
    results: dict[Query, object] = {}
    for index, query in enumerate(plan):
        if query.kind == "read":
            results[query] = reply.files.get(index, FileResult(None, "error"))
        elif query.kind == "exists":
            results[query] = index in reply.exists
        elif query.kind == "isdir":
            results[query] = index in reply.dirs
        elif query.kind == "list":
            results[query] = reply.lists.get(index, (None, "missing"))
        elif query.kind == "phys":
            results[query] = reply.phys.get(index)
    return results
