"""Prometheus metrics of the balloon for one guest or many, built with ``prometheus_client``.

``BalloonCollector`` reads every guest at each scrape (or reuses the readings when they
are younger than ``max_age`` seconds, so several scrapers do not multiply the reads);
``FleetReader`` reads them through a ``Fleet`` with a bounded wait, so a slow or silent
guest never holds a scrape. Every series carries ``guest``: a remote guest's configured
name, else its target (the ``--via`` command, the ``--ssh`` host); for a local root, the
host name it holds (``""`` for a capture without one). The virtio device is the ``device``
label (it was ``instance``, which clashes with Prometheus's own target label). Metric
names follow Prometheus conventions: base units (bytes), ``_total`` for counters, ``_info``
for the negotiated virtio features. ``prometheus_client`` is imported only by the
functions that need it, so importing this module stays cheap.

Metrics (every one also labelled ``guest``):

====================================================  =======  ===============================
name                                                  type     labels
====================================================  =======  ===============================
balloontop_guest_up                                   gauge    (1: read, 0: unreachable/failed)
balloontop_balloon_bytes                              gauge    driver, device
balloontop_balloon_total_bytes                        gauge    source
balloontop_balloon_accounting                         gauge    driver, device, mode (=1)
balloontop_vmstat_balloon_inflate_pages_total         counter
balloontop_vmstat_balloon_deflate_pages_total         counter
balloontop_vmstat_balloon_migrate_pages_total         counter
balloontop_vmstat_balloon_pages                       gauge    (nr_balloon_pages)
balloontop_vmstat_oom_kill_total                      counter
balloontop_vmstat_allocstall_total                    counter  (Σ allocstall_*)
balloontop_memory_total_bytes                         gauge    (MemTotal)
balloontop_memory_available_bytes                     gauge    (MemAvailable)
balloontop_memory_free_bytes                          gauge    (MemFree)
balloontop_virtio_balloon_features_info               info     device, bits, deflate_on_oom, ...
balloontop_<driver>_<stat>[_<unit>]                   gauge    device (each numeric driver stat)
balloontop_sample_warnings                            gauge    (warnings in the last sample)
balloontop_host_actual_bytes                          gauge    (with --qmp: QEMU's actual)
balloontop_host_guest_stat                            gauge    stat (QEMU's guest-stats)
balloontop_sample_age_seconds                         gauge    (age of the exported sample)
balloontop_scrape_errors_total                        counter  (refreshes without a fresh sample)
====================================================  =======  ===============================
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from . import drivers
from .model import Sample
from .safetext import clean
from .parsers.vmstat import allocation_stalls
from .units import kib_to_bytes

if TYPE_CHECKING:
    from .fleet import Fleet

DEFAULT_LISTEN = "127.0.0.1:9477"
TEXTFILE_NAME = "balloontop.prom"

VMSTAT_COUNTERS = (
    ("balloon_inflate", "balloontop_vmstat_balloon_inflate_pages",
     "Pages put into balloons since boot (vmstat balloon_inflate; vmw 2 MiB pages count 512)"),
    ("balloon_deflate", "balloontop_vmstat_balloon_deflate_pages",
     "Pages taken out of balloons since boot (vmstat balloon_deflate)"),
    ("balloon_migrate", "balloontop_vmstat_balloon_migrate_pages",
     "Balloon pages migrated by compaction since boot (vmstat balloon_migrate)"),
    ("oom_kill", "balloontop_vmstat_oom_kill", "Processes killed by the OOM killer since boot"),
)

# virtio_balloon feature bits 0-5 (include/uapi/linux/virtio_balloon.h) as info labels,
# named by their macro's one short form: must_tell_host, stats_vq, deflate_on_oom, ...
VIRTIO_BALLOON_FEATURE_BITS = range(6)

# A driver statistic's unit -> (metric name suffix, factor to the base unit, name endings dropped)
_UNIT_SUFFIX: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "kB": ("_bytes", 1024, ("_kb", "_kib")),
    "KiB": ("_bytes", 1024, ("_kb", "_kib")),
    "bytes": ("_bytes", 1, ("_bytes",)),
    "s": ("_seconds", 1, ("_seconds",)),
    "pages": ("_pages", 1, ("_pages",)),
    "frames": ("_frames", 1, ("_frames",)),
}


def driver_metric_name(driver: str, stat: str, unit: str) -> tuple[str, int]:
    """``("virtio_balloon", "InflatedTotal", "kB")`` -> ``("balloontop_virtio_balloon_inflated_total_bytes", 1024)``."""
    snake = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", stat).lower()
    snake = re.sub(r"[^a-z0-9_]", "_", snake)
    suffix, factor, endings = _UNIT_SUFFIX.get(unit, ("", 1, ()))
    for ending in endings:
        snake = snake.removesuffix(ending)
    return f"balloontop_{driver}_{snake}{suffix}", factor


def _feature_label(bit: int) -> str:
    from .virtio.decode import decode_bits

    return (decode_bits([bit], virtio_balloon_id())[0].short_name or f"bit_{bit}").lower()


def virtio_balloon_id() -> int:
    return int(drivers.virtio_balloon.DEVICE_ID)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as (host, port); ``ValueError`` when malformed
    (``port missing`` for a bare address such as ``::1`` or ``127.0.0.1``)."""
    import ipaddress

    try:  # a bare IPv6 address: its last group would pass for a port
        ipaddress.IPv6Address(text.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValueError(f"--listen {text!r}: port missing (an IPv6 address is written [ADDRESS]:PORT)")
    host, sep, port = text.rpartition(":")
    if not sep:
        if text.isdigit():
            raise ValueError(f"--listen {text!r}: host missing (HOST:PORT, for example 127.0.0.1:{text})")
        raise ValueError(f"--listen {text!r}: port missing (HOST:PORT, for example {text}:9477)")
    if not port:
        raise ValueError(f"--listen {text!r}: port missing (HOST:PORT)")
    if not port.isdigit() or len(port) > 5 or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen wants HOST:PORT with a port from 0 to 65535, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"--listen {text!r}: write an IPv6 address in brackets, [ADDRESS]:PORT")
    if not host:
        raise ValueError(f"--listen wants HOST:PORT, got {text!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


class GuestReading(NamedTuple):
    """What one guest gives a scrape."""

    guest: str
    """The ``guest`` label."""
    sample: Sample | None
    """Its newest sample: fresh, or the last one of a guest still reading (``None``: down)."""
    fresh: bool
    """``sample`` was taken for this refresh (``False``: the guest failed or was too slow)."""
    up: bool
    """The guest's latest finished reading gave a sample."""


Read = Callable[[], "Sample | Sequence[GuestReading]"]


class BalloonCollector:
    """A ``prometheus_client`` custom collector over every guest's readings.

    ``read`` gives each guest's ``GuestReading`` (``FleetReader``), or one ``Sample`` (a
    single guest labelled by its host name, ``""`` without one); it is called at most once
    per ``max_age`` seconds, whatever the number of scrapers. A reading that raises counts as
    a scrape error of every guest known so far.
    """

    def __init__(self, read: Read, max_age: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._readings: list[GuestReading] = []
        self._read_at: float | None = None
        self.errors: dict[str, int] = {}
        """Per guest: refreshes that gave no fresh sample of it."""
        self.last_error: str | None = None

    @property
    def scrape_errors(self) -> int:
        return sum(self.errors.values())

    def refresh(self) -> list[GuestReading]:
        """Every guest's reading, no older than ``max_age``."""
        with self._lock:
            now = self._clock()
            if self._read_at is not None and now - self._read_at < self.max_age:
                return self._readings
            try:
                got = self._read()
                self.last_error = None
                self._read_at = now  # a failure is not kept: the next scrape tries again
            except Exception as exc:  # noqa: BLE001 - a scrape must answer, with the error counted
                self.last_error = f"{type(exc).__name__}: {exc}"
                got = [GuestReading(r.guest, None, False, False) for r in self._readings] or [
                    GuestReading("", None, False, False)]
            if isinstance(got, Sample):
                got = [GuestReading(guest_label_of(got), got, True, True)]
            self._readings = list(got)
            for reading in self._readings:
                self.errors.setdefault(reading.guest, 0)
                if not reading.fresh:
                    self.errors[reading.guest] += 1
            return self._readings

    def current(self) -> Sample | None:
        """The first guest's sample (``None`` when it has none)."""
        readings = self.refresh()
        return readings[0].sample if readings else None

    def describe(self) -> list[Any]:
        return []  # metrics depend on the guests; registering must not read them

    def collect(self) -> Iterator[Any]:
        readings = self.refresh()
        yield from metric_families(readings, dict(self.errors), now=time.time())


def guest_label_of(sample: Sample) -> str:
    """A local root's ``guest`` label: its host name (``""`` when it has none)."""
    return clean(sample.system.hostname or "")


class FleetReader:
    """Each guest's newest reading through a ``Fleet``, waiting at most ``wait`` seconds.

    A guest whose tick is still running gives its last sample (if it was up); one whose
    tick finished without a sample (unreachable, disconnected, failed) is down and gives
    none: stale figures are not exported as current.
    """

    def __init__(self, fleet: Fleet, labels: Sequence[str], wait: float) -> None:
        if len(labels) != len(fleet.guests):
            raise ValueError("one label per guest")
        self.fleet = fleet
        self.labels = list(labels)
        self.wait = wait
        self._last: list[Sample | None] = [None] * len(labels)
        self.why: list[str | None] = [None] * len(labels)
        """Why each guest is down (the transport's message), ``None`` when it is up."""

    def __call__(self) -> list[GuestReading]:
        out: list[GuestReading] = []
        for index, part in enumerate(self.fleet.tick(self.wait, kernel_log=False)):
            label = self.labels[index]
            last = self._last[index]
            if part.result is None:  # still reading: the last sample stands
                out.append(GuestReading(label, last, False, last is not None))
                continue
            sample = part.result.sample
            self._last[index] = sample
            if sample is None:
                self.why[index] = part.result.error or part.guest.last_error() or part.state or "no sample"
            else:
                self.why[index] = None
            out.append(GuestReading(label, sample, sample is not None, sample is not None))
        return out


def metric_families(readings: Sequence[GuestReading], errors: Mapping[str, int] | None = None,
                    now: float | None = None) -> list[Any]:
    """The metric families of every guest, each series labelled ``guest``: up and the
    scrape error counter for all, the figures for those with a sample."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    errors = errors or {}
    families = _Families()
    up = GaugeMetricFamily("balloontop_guest_up",
                           "1 when the guest's latest reading gave a sample, 0 when it could not be read",
                           labels=["guest"])
    failed = CounterMetricFamily(
        "balloontop_scrape_errors",
        "Refreshes that gave no fresh sample of the guest (unreachable, failed or slower than the wait)",
        labels=["guest"])
    age = GaugeMetricFamily("balloontop_sample_age_seconds",
                            "Seconds since the exported sample of the guest was taken", labels=["guest"])
    for reading in readings:
        up.add_metric([reading.guest], 1 if reading.up else 0)
        failed.add_metric([reading.guest], errors.get(reading.guest, 0))
        if reading.sample is not None:
            when = time.time() if now is None else now
            age.add_metric([reading.guest], max(0.0, when - reading.sample.time))
            _sample_series(families, reading.guest, reading.sample)
    return [up, *families.values(), age, failed]


class _Families:
    """Metric families by name, filled guest by guest (one family per name in a scrape)."""

    def __init__(self) -> None:
        self._by_name: dict[str, Any] = {}

    def add(self, kind: str, name: str, help_text: str, labels: dict[str, str], value: Any) -> None:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            InfoMetricFamily,
        )

        family = self._by_name.get(name)
        if kind == "info":
            names = [k for k in labels if k in ("guest", "device")]
            if family is None:
                family = self._by_name[name] = InfoMetricFamily(name, help_text, labels=names)
            family.add_metric([labels[k] for k in names], value)
            return
        if family is None:
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            family = self._by_name[name] = cls(name, help_text, labels=list(labels))
        family.add_metric(list(labels.values()), value)

    def values(self) -> list[Any]:
        return list(self._by_name.values())


def _sample_series(out: _Families, guest: str, sample: Sample) -> None:
    """One guest's series (every one labelled ``guest``)."""
    g = {"guest": guest}
    for reading in sample.drivers:
        if not reading.counts_in_total:
            continue
        device = {**g, "driver": reading.driver, "device": reading.instance}
        if reading.inflated_kib is not None:
            out.add("gauge", "balloontop_balloon_bytes", "Memory in the balloon, per driver and device",
                    device, kib_to_bytes(reading.inflated_kib))
        if reading.accounting is not None:
            out.add("gauge", "balloontop_balloon_accounting",
                    "How ballooned memory shows: mode=total (removed from MemTotal) or used (counted as used)",
                    {**device, "mode": reading.accounting}, 1)
    if sample.balloon.kib is not None:
        out.add("gauge", "balloontop_balloon_total_bytes",
                "Memory in all balloons of the guest; source = where the figure comes from",
                {**g, "source": sample.balloon.source or ""}, kib_to_bytes(sample.balloon.kib))

    vm = sample.vmstat
    for key, name, help_text in VMSTAT_COUNTERS:
        if key in vm:
            out.add("counter", name, help_text, g, vm[key])
    stalls = allocation_stalls(vm)
    if stalls is not None:
        out.add("counter", "balloontop_vmstat_allocstall", "Allocation stalls (direct reclaim) since boot",
                g, stalls)
    if "nr_balloon_pages" in vm:
        out.add("gauge", "balloontop_vmstat_balloon_pages",
                "Pages in balloons by the kernel's count (vmstat nr_balloon_pages, Linux >= 6.15)",
                g, vm["nr_balloon_pages"])

    system = sample.system
    for name, value, help_text in (
        ("balloontop_memory_total_bytes", system.mem_total_kib, "MemTotal of the guest"),
        ("balloontop_memory_available_bytes", system.mem_available_kib, "MemAvailable of the guest"),
        ("balloontop_memory_free_bytes", system.mem_free_kib, "MemFree of the guest"),
    ):
        if value is not None:
            out.add("gauge", name, help_text, g, kib_to_bytes(value))

    for reading in sample.drivers:
        if reading.driver != "virtio_balloon" or reading.features is None:
            continue
        bits = set(reading.features.bits)
        labels = {
            **g, "device": reading.instance,
            "bits": ",".join(str(b) for b in sorted(bits)),
            "unknown_bits": ",".join(str(b) for b in reading.features.unknown_bits),
        }
        labels.update({_feature_label(bit): str(bit in bits).lower() for bit in VIRTIO_BALLOON_FEATURE_BITS})
        out.add("info", "balloontop_virtio_balloon_features", "Feature bits the virtio balloon negotiated",
                labels, {k: v for k, v in labels.items() if k not in ("guest", "device")})
    _driver_stat_series(out, guest, sample)
    out.add("gauge", "balloontop_sample_warnings", "Warnings in the last sample (unreadable files, ...)",
            g, len(sample.warnings))
    _host_series(out, guest, sample)


def _driver_stat_series(out: _Families, guest: str, sample: Sample) -> None:
    """One gauge per numeric statistic a driver declares (labels ``guest``, ``device``), its
    help text the declared meaning, in base units (bytes, seconds)."""
    for reading in sample.drivers:
        declared = drivers.BY_NAME.get(reading.driver)
        if declared is None:
            continue
        done: set[str] = set()
        for stat, spec in declared.STATS.items():
            value = reading.stats[stat].value if stat in reading.stats else None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            name, factor = driver_metric_name(reading.driver, stat, spec.unit)
            if name in done:  # the same figure in another unit (xen: target_kb, target): the first
                continue
            done.add(name)
            out.add("gauge", name, f"{spec.meaning} ({reading.driver} {stat})",
                    {"guest": guest, "device": reading.instance}, value * factor)


def _host_series(out: _Families, guest: str, sample: Sample) -> None:
    """The host's view (``sample.host``, from ``--qmp``): QEMU's ``actual`` and the guest
    statistics QEMU received, in its own ``stat-*`` names (values the guest did not supply
    are left out), labelled with the same ``guest`` as the guest's own series."""
    host = sample.host
    if host is None:
        return
    if host.actual_kib is not None:
        out.add("gauge", "balloontop_host_actual_bytes",
                "Guest memory minus the balloon as QEMU counts it (QMP query-balloon actual)",
                {"guest": guest}, host.actual_kib * 1024)
    for name, value in host.stats.items():
        if value is not None:
            out.add("gauge", "balloontop_host_guest_stat",
                    "A statistic the guest sent to QEMU (QMP guest-stats; bytes for *-memory, swap and caches)",
                    {"guest": guest, "stat": name}, value)


def local_guest_label(root: str) -> str:
    """The ``guest`` label of a local root: the host name it holds
    (``proc/sys/kernel/hostname``), read once at start so the label stays put; ``""``
    when it has none (a capture)."""
    from .rootfs import Root
    from .system import MAX_NAME_CHARS

    text = Root(root).text("proc/sys/kernel/hostname") or ""
    lines = text.strip().splitlines()
    return clean(lines[0].strip()[:MAX_NAME_CHARS]) if lines else ""


def make_registry(collector: BalloonCollector) -> Any:
    """A fresh ``CollectorRegistry`` holding only ``collector``."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


LISTEN_BACKLOG = 128  # the socket's accept queue: a fleet's scrapers arrive together


def serve(host: str, port: int, registry: Any) -> tuple[Any, threading.Thread]:
    """Serve ``/metrics`` on ``host:port`` in a daemon thread; returns (server, thread).

    ``prometheus_client.start_http_server``'s server with a deeper accept queue (its
    default of 5 drops connections when twenty scrapers come at once); ``port`` 0 takes a
    free port: ``server.server_address[1]`` says which.
    """
    import socket
    from wsgiref.simple_server import make_server

    from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler, make_wsgi_app

    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

    class Server(ThreadingWSGIServer):
        address_family = family
        request_queue_size = LISTEN_BACKLOG

    httpd = make_server(host, port, make_wsgi_app(registry), Server, handler_class=_SilentHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="balloontop-export", daemon=True)
    thread.start()
    return httpd, thread


def metrics_text(registry: Any) -> bytes:
    """The exposition text of ``registry`` (what a scrape of ``/metrics`` returns)."""
    from prometheus_client import generate_latest

    return generate_latest(registry)


def check_textfile_dir(directory: str) -> None:
    """Refuse (``ValueError``) a directory that others may write to without the sticky bit:
    anyone could then replace ``balloontop.prom`` with figures of their own (with the sticky
    bit, as on ``/tmp``, only the owner may replace it)."""
    import os
    import stat

    info = os.stat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise ValueError(f"--textfile {directory!r} is not a directory")
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        raise ValueError(
            f"--textfile {directory!r} is writable by every user and has no sticky bit: anyone could "
            "replace the metrics there (chmod o-w or +t it, or choose another directory)"
        )


def write_textfile(directory: str, registry: Any) -> str:
    """Write ``DIR/balloontop.prom`` atomically (for node_exporter's textfile collector).

    Written by hand, not with ``prometheus_client.write_to_textfile`` (whose temporary file
    has a predictable name and is opened following links): the temporary file has a random
    name and is created ``O_CREAT | O_EXCL | O_NOFOLLOW`` relative to a descriptor of the
    directory, so nothing planted there is followed or overwritten; it is then renamed over
    the file (``rename`` replaces a link planted at that name, never its target).
    """
    import os
    import secrets

    data = metrics_text(registry)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        temp = f".{TEXTFILE_NAME}.{secrets.token_hex(8)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                     dir_fd=dir_fd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(temp, dir_fd=dir_fd)
            raise
        os.close(fd)
        try:
            os.rename(temp, TEXTFILE_NAME, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            os.unlink(temp, dir_fd=dir_fd)
            raise
    finally:
        os.close(dir_fd)
    return os.path.join(directory, TEXTFILE_NAME)
