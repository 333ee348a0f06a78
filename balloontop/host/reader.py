"""``HostReader``: one QEMU machine's balloon, read over QMP into a ``HostReading``.

Read only by default. Each ``read()``:

* finds the balloon device once per connection: ``qom-list`` of ``/machine/peripheral`` and
  ``/machine/peripheral-anon`` for a ``child<virtio-balloon-*>``, else ``query-pci`` for a
  virtio balloon function (vendor 0x1af4, device 0x1002 or 0x1045) with a ``qdev_id``; never
  assumes ``/machine/peripheral/balloon0``;
* ``query-balloon`` (``actual``, bytes), ``query-memory-size-summary`` (what ``actual`` is out of);
* ``qom-get DEVICE guest-stats-polling-interval`` and ``qom-get DEVICE guest-stats`` (``stat-*``;
  QEMU's -1, written by QEMU 7.2 as 2**64-1, means the guest did not supply it: ``None``);
* ``query-hv-balloon-status-report`` (QEMU >= 8.2 with an hv-balloon; once missing, not asked
  again on that connection) and ``query-memory-devices`` (virtio-mem, hv-balloon, DIMMs);
* the ``BALLOON_CHANGE`` events queued since the last read, into a ``MovementTracker``.

``guest-stats-polling-interval`` is written only when ``stats_interval`` is given (the
``--qmp-stats-interval`` option); otherwise a note says how to turn statistics on.

Failures never raise: a reading carries ``error`` (the socket is gone or busy, the connection
broke: the next ``read()`` reconnects) or ``notes`` (a command this QEMU lacks). Each read is
bounded by ``budget`` seconds in all (default 4 s) and each command by ``command_timeout``;
after a failed connection the next ``retry_s`` seconds (default 5) repeat its error at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from .qmp import QMPClient, QMPError, one_line
from .reading import HostReading, MovementTracker, stats_are_stale

BALLOON_QOM_PREFIX = "virtio-balloon"
VIRTIO_VENDOR = 0x1AF4
BALLOON_PCI_IDS = (0x1002, 0x1045)  # transitional, and modern (0x1040 + virtio id 5)
QOM_CONTAINERS = ("/machine/peripheral", "/machine/peripheral-anon")
NOT_SUPPLIED = (-1, (1 << 64) - 1)


def stat_value(value: Any) -> int | None:
    """A ``guest-stats`` value, or None when the guest did not supply it (-1 / 2**64-1)."""
    if isinstance(value, bool) or not isinstance(value, int) or value in NOT_SUPPLIED or value < 0:
        return None
    return value


def _kib(value: Any) -> int | None:
    return value // 1024 if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class HostReader:
    """Reads one QMP socket (``address``: a path, ``unix:PATH``, ``tcp:HOST:PORT``)."""

    def __init__(
        self,
        address: str,
        stats_interval: int | None = None,
        *,
        connect_timeout: float = 2.0,
        command_timeout: float = 2.0,
        budget: float = 4.0,
        retry_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.address = address
        self.stats_interval = stats_interval
        self.budget = budget
        self.clock = clock
        self.client = QMPClient(address, connect_timeout=connect_timeout, command_timeout=command_timeout)
        self.tracker = MovementTracker()
        self._device: str | None = None
        self._device_note: str | None = None
        self._missing: dict[str, str] = {}
        self._interval_set = False
        self.retry_s = retry_s
        """After a failed connection, reads within this many seconds repeat its error
        without trying (a busy socket costs ``connect_timeout`` per try)."""
        self._retry_at: float | None = None
        self._last_error: str | None = None

    # -- life cycle ----------------------------------------------------------------------
    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HostReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> None:
        now = time.monotonic()
        if self._retry_at is not None and now < self._retry_at and self._last_error:
            raise QMPError(self._last_error, "retry")
        try:
            self.client.open()
        except QMPError as exc:
            self._retry_at, self._last_error = now + self.retry_s, str(exc)
            raise
        self._retry_at = self._last_error = None
        self._device, self._device_note = None, None
        self._missing = {}
        self._interval_set = False
        self._device, self._device_note = find_balloon(self.client)

    # -- one reading ---------------------------------------------------------------------
    def read(self) -> HostReading:
        """One ``HostReading``; never raises (failures are its ``error`` or ``notes``)."""
        now = self.clock()
        try:
            return self._read(now)
        except QMPError as exc:
            self._take_events()
            return HostReading(address=self.address, time=now, qemu=self.client.qemu_version,
                               movement=self.tracker.current(now), error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a reader never raises; the guest's view goes on
            self.client.close()
            return HostReading(address=self.address, time=now, movement=self.tracker.current(now),
                               error=f"QMP {self.client.where}: {type(exc).__name__}: {one_line(exc)}")

    def _read(self, now: float) -> HostReading:
        deadline = time.monotonic() + self.budget
        if not self.client.connected:
            self._connect()
        notes: list[str] = []
        if self._device_note:
            notes.append(self._device_note)

        def ask(command: str, arguments: dict[str, Any] | None = None) -> Any:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QMPError(f"QMP {self.client.where}: the reading took over {self.budget:g} s", "timeout", command)
            return self.client.execute(command, arguments, timeout=min(self.client.command_timeout, remaining))

        def optional(command: str, arguments: dict[str, Any] | None = None) -> Any:
            """A command whose absence is a note: None when QEMU lacks it or refuses it."""
            if command in self._missing:
                notes.append(self._missing[command])
                return None
            try:
                return ask(command, arguments)
            except QMPError as exc:
                if exc.kind not in ("not_found", "error"):
                    raise
                self._missing[command] = str(exc)
                notes.append(str(exc))
                return None

        balloon = optional("query-balloon")
        actual_kib = _kib(balloon.get("actual")) if isinstance(balloon, dict) else None
        summary = optional("query-memory-size-summary")
        ram_kib = None
        if isinstance(summary, dict) and _kib(summary.get("base-memory")) is not None:
            ram_kib = (_kib(summary.get("base-memory")) or 0) + (_kib(summary.get("plugged-memory")) or 0)

        stats: dict[str, int | None] = {}
        last_update = interval = None
        device = self._device
        if device is not None:
            interval = self._polling_interval(ask, device, notes)
            raw = ask("qom-get", {"path": device, "property": "guest-stats"})
            if isinstance(raw, dict):
                for name, value in sorted((raw.get("stats") or {}).items()):
                    stats[one_line(name, 64)] = stat_value(value)
                lu = raw.get("last-update")
                last_update = lu if isinstance(lu, int) and not isinstance(lu, bool) and lu > 0 else None

        hv = optional("query-hv-balloon-status-report")
        hv_status = None
        if isinstance(hv, dict):
            hv_status = MappingProxyType({f"{k}_kib": _kib(v) for k, v in hv.items()})
        mem = optional("query-memory-devices")
        memory_devices = tuple(memory_device(d) for d in mem or () if isinstance(d, dict)) if isinstance(mem, list) else ()

        self._take_events()
        if actual_kib is not None:
            self.tracker.poll(now, actual_kib)
        return HostReading(
            address=self.address,
            time=now,
            actual_kib=actual_kib,
            ram_kib=ram_kib,
            stats=MappingProxyType(stats),
            last_update=last_update,
            stats_interval=interval,
            stats_stale=stats_are_stale(last_update, interval, now) if device is not None else False,
            movement=self.tracker.current(now),
            device=device,
            memory_devices=memory_devices,
            hv_status=hv_status,
            qemu=self.client.qemu_version,
            notes=tuple(notes),
        )

    def _polling_interval(self, ask: Callable[..., Any], device: str, notes: list[str]) -> int | None:
        prop = {"path": device, "property": "guest-stats-polling-interval"}
        current = ask("qom-get", prop)
        current = current if isinstance(current, int) and not isinstance(current, bool) else None
        want = self.stats_interval
        if want is not None and not self._interval_set:
            if current != want:
                ask("qom-set", {**prop, "value": want})
                current = want
            self._interval_set = True
        if want is not None:
            notes.append(f"statistics polling every {want} s (set by balloontop with --qmp-stats-interval)")
        elif current == 0:
            notes.append(
                "statistics polling is off: --qmp-stats-interval S turns it on "
                f"(qom-set {device} guest-stats-polling-interval S)"
            )
        return current

    def _take_events(self) -> None:
        for event in self.client.take_events():
            if event.get("event") != "BALLOON_CHANGE":
                continue
            data = event.get("data")
            actual_kib = _kib(data.get("actual")) if isinstance(data, dict) else None
            if actual_kib is None:
                continue
            stamp = event.get("timestamp")
            try:
                t = float(stamp["seconds"]) + float(stamp["microseconds"]) / 1e6  # type: ignore[index]
            except (KeyError, TypeError, ValueError):
                t = self.clock()
            self.tracker.event(t, actual_kib)


def find_balloon(client: QMPClient) -> tuple[str | None, str | None]:
    """``(QOM path, None)`` of the first virtio balloon device, or ``(None, note)``."""
    for container in QOM_CONTAINERS:
        try:
            children = client.execute("qom-list", {"path": container})
        except QMPError as exc:
            if exc.kind in ("not_found", "error"):
                continue
            raise
        for child in children if isinstance(children, list) else ():
            if not isinstance(child, dict):
                continue
            kind = str(child.get("type", ""))
            if kind.startswith("child<") and kind[6:].startswith(BALLOON_QOM_PREFIX):
                return f"{container}/{child.get('name')}", None
    try:
        buses = client.execute("query-pci")
    except QMPError as exc:
        if exc.kind not in ("not_found", "error"):
            raise
        buses = []
    for device in _pci_devices(buses):
        raw_ident = device.get("id")
        ident: dict[str, Any] = raw_ident if isinstance(raw_ident, dict) else {}
        if ident.get("vendor") == VIRTIO_VENDOR and ident.get("device") in BALLOON_PCI_IDS:
            qdev = device.get("qdev_id")
            if qdev:
                return f"/machine/peripheral/{qdev}", None
            return None, "a virtio balloon is on the PCI bus but has no id: give its -device an id= to read its statistics"
    return None, "no virtio balloon device on this machine (looked in /machine/peripheral, /machine/peripheral-anon, query-pci)"


def _pci_devices(buses: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [b for b in buses if isinstance(b, dict)] if isinstance(buses, list) else []
    while stack:
        bus = stack.pop()
        for device in bus.get("devices") or ():
            if not isinstance(device, dict):
                continue
            out.append(device)
            bridge = device.get("pci_bridge")
            if isinstance(bridge, dict) and isinstance(bridge.get("bus"), dict):
                stack.append({"devices": bridge.get("devices") or []})
    return out


def memory_device(entry: dict[str, Any]) -> MappingProxyType[str, Any]:
    """One ``query-memory-devices`` entry in KiB: type, id, size and, for virtio-mem, the
    requested and maximum sizes."""
    raw_data = entry.get("data")
    data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    out: dict[str, Any] = {"type": one_line(entry.get("type", ""), 40), "id": None}
    if data.get("id") is not None:
        out["id"] = one_line(data["id"], 80)
    for key in ("size", "requested-size", "max-size", "block-size"):
        if key in data:
            out[key.replace("-", "_") + "_kib"] = _kib(data[key])
    return MappingProxyType(out)
