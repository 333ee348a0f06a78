"""Prometheus metrics of the balloon, built with ``prometheus_client`` from one sample per scrape.

``BalloonCollector`` takes a fresh sample at each scrape (or reuses the last one when it is
younger than ``max_age`` seconds, so several scrapers do not multiply the reads). Metric names
follow Prometheus conventions: base units (bytes), ``_total`` for counters, ``_info`` for the
negotiated virtio features. ``prometheus_client`` is imported only by the functions that need
it, so importing this module stays cheap.

Metrics:

====================================================  =======  ===============================
name                                                  type     labels
====================================================  =======  ===============================
balloontop_balloon_bytes                              gauge    driver, instance
balloontop_balloon_total_bytes                        gauge    source
balloontop_balloon_accounting                         gauge    driver, instance, mode (=1)
balloontop_vmstat_balloon_inflate_pages_total         counter
balloontop_vmstat_balloon_deflate_pages_total         counter
balloontop_vmstat_balloon_migrate_pages_total         counter
balloontop_vmstat_balloon_pages                       gauge    (nr_balloon_pages)
balloontop_vmstat_oom_kill_total                      counter
balloontop_vmstat_allocstall_total                    counter  (Σ allocstall_*)
balloontop_memory_total_bytes                         gauge    (MemTotal)
balloontop_memory_available_bytes                     gauge    (MemAvailable)
balloontop_memory_free_bytes                          gauge    (MemFree)
balloontop_virtio_balloon_features_info               info     instance, bits, deflate_on_oom, ...
balloontop_<driver>_<stat>[_<unit>]                   gauge    instance (each numeric driver stat)
balloontop_sample_warnings                            gauge    (warnings in the last sample)
balloontop_host_actual_bytes                          gauge    guest (with --qmp: QEMU's actual)
balloontop_host_guest_stat                            gauge    guest, stat (QEMU's guest-stats)
balloontop_scrape_errors_total                        counter  (scrapes whose sample failed)
====================================================  =======  ===============================
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from . import drivers
from .model import Sample
from .parsers.vmstat import allocation_stalls
from .units import kib_to_bytes

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


class BalloonCollector:
    """A ``prometheus_client`` custom collector over a sample source (``Sampler.sample``)."""

    def __init__(self, sample: Callable[[], Sample], max_age: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sample = sample
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._last: Sample | None = None
        self._last_at = 0.0
        self.scrape_errors = 0
        self.last_error: str | None = None

    def current(self) -> Sample | None:
        """A sample no older than ``max_age`` (``None`` when sampling failed)."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last_at < self.max_age:
                return self._last
            try:
                self._last = self._sample()
                self._last_at = now
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - a scrape must answer, with the error counted
                self.scrape_errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._last = None
            return self._last

    def describe(self) -> list[Any]:
        return []  # metrics depend on the guest; registering must not take a sample

    def collect(self) -> Iterator[Any]:
        sample = self.current()
        yield from metric_families(sample, self.scrape_errors)


def metric_families(sample: Sample | None, scrape_errors: int = 0) -> Iterator[Any]:
    """The metric families for ``sample`` (only the error counter when it is ``None``)."""
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        InfoMetricFamily,
    )

    errors = CounterMetricFamily(
        "balloontop_scrape_errors", "Scrapes for which no sample could be taken"
    )
    errors.add_metric([], scrape_errors)
    if sample is None:
        yield errors
        return

    size = GaugeMetricFamily(
        "balloontop_balloon_bytes", "Memory in the balloon, per driver instance",
        labels=["driver", "instance"],
    )
    accounting = GaugeMetricFamily(
        "balloontop_balloon_accounting",
        "How ballooned memory shows: mode=total (removed from MemTotal) or used (counted as used)",
        labels=["driver", "instance", "mode"],
    )
    for reading in sample.drivers:
        if not reading.counts_in_total:
            continue
        if reading.inflated_kib is not None:
            size.add_metric([reading.driver, reading.instance], kib_to_bytes(reading.inflated_kib))
        if reading.accounting is not None:
            accounting.add_metric([reading.driver, reading.instance, reading.accounting], 1)
    yield size
    yield accounting

    if sample.balloon.kib is not None:
        total = GaugeMetricFamily(
            "balloontop_balloon_total_bytes",
            "Memory in all balloons of the guest; source = where the figure comes from",
            labels=["source"],
        )
        total.add_metric([sample.balloon.source or ""], kib_to_bytes(sample.balloon.kib))
        yield total

    vm = sample.vmstat
    for key, name, help_text in VMSTAT_COUNTERS:
        if key in vm:
            family = CounterMetricFamily(name, help_text)
            family.add_metric([], vm[key])
            yield family
    stalls = allocation_stalls(vm)
    if stalls is not None:
        family = CounterMetricFamily(
            "balloontop_vmstat_allocstall", "Allocation stalls (direct reclaim) since boot"
        )
        family.add_metric([], stalls)
        yield family
    if "nr_balloon_pages" in vm:
        yield GaugeMetricFamily(
            "balloontop_vmstat_balloon_pages",
            "Pages in balloons by the kernel's count (vmstat nr_balloon_pages, Linux >= 6.15)",
            value=vm["nr_balloon_pages"],
        )

    system = sample.system
    for name, value, help_text in (
        ("balloontop_memory_total_bytes", system.mem_total_kib, "MemTotal of the guest"),
        ("balloontop_memory_available_bytes", system.mem_available_kib,
         "MemAvailable of the guest"),
        ("balloontop_memory_free_bytes", system.mem_free_kib, "MemFree of the guest"),
    ):
        if value is not None:
            yield GaugeMetricFamily(name, help_text, value=kib_to_bytes(value))

    info = InfoMetricFamily(
        "balloontop_virtio_balloon_features",
        "Feature bits the virtio balloon negotiated",
        labels=["instance"],
    )
    has_info = False
    for reading in sample.drivers:
        if reading.driver != "virtio_balloon" or reading.features is None:
            continue
        bits = set(reading.features.bits)
        labels = {
            "bits": ",".join(str(b) for b in sorted(bits)),
            "unknown_bits": ",".join(str(b) for b in reading.features.unknown_bits),
        }
        labels.update({_feature_label(bit): str(bit in bits).lower() for bit in VIRTIO_BALLOON_FEATURE_BITS})
        info.add_metric([reading.instance], labels)
        has_info = True
    if has_info:
        yield info
    yield from driver_stat_families(sample)

    yield GaugeMetricFamily(
        "balloontop_sample_warnings", "Warnings in the last sample (unreadable files, ...)",
        value=len(sample.warnings),
    )
    yield from host_metric_families(sample)
    yield errors


def driver_stat_families(sample: Sample) -> Iterator[Any]:
    """One gauge per numeric statistic a driver declares (label ``instance``), its help text
    the declared meaning, in base units (bytes, seconds)."""
    from prometheus_client.core import GaugeMetricFamily

    families: dict[str, Any] = {}
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
            if name not in families:
                families[name] = GaugeMetricFamily(
                    name, f"{spec.meaning} ({reading.driver} {stat})", labels=["instance"])
            families[name].add_metric([reading.instance], value * factor)
    yield from families.values()


def host_metric_families(sample: Sample, guest: str | None = None) -> Iterator[Any]:
    """The host's view (``sample.host``, from ``--qmp``): QEMU's ``actual`` and the guest
    statistics QEMU received, in its own ``stat-*`` names (values the guest did not supply
    are left out). ``guest`` defaults to the guest's host name."""
    host = sample.host
    if host is None:
        return
    from prometheus_client.core import GaugeMetricFamily

    label = guest if guest is not None else (sample.system.hostname or "")
    if host.actual_kib is not None:
        actual = GaugeMetricFamily(
            "balloontop_host_actual_bytes",
            "Guest memory minus the balloon as QEMU counts it (QMP query-balloon actual)",
            labels=["guest"],
        )
        actual.add_metric([label], host.actual_kib * 1024)
        yield actual
    supplied = [(name, value) for name, value in host.stats.items() if value is not None]
    if supplied:
        stats = GaugeMetricFamily(
            "balloontop_host_guest_stat",
            "A statistic the guest sent to QEMU (QMP guest-stats; bytes for *-memory, swap and caches)",
            labels=["guest", "stat"],
        )
        for name, value in supplied:
            stats.add_metric([label, name], value)
        yield stats


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
