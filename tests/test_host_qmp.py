"""The host's view over QMP, against a real QEMU (paused, no guest kernel: tests/paused_qemu.py).

What a paused QEMU 7.2 answered when these tests were written: ``query-balloon``
``{"actual": 268435456}`` for ``-m 256``, ``guest-stats`` with every ``stat-*`` at 2**64-1 (QEMU's
-1: nothing supplied) and ``last-update`` 0, ``guest-stats-polling-interval`` 0, and
``CommandNotFound`` for ``query-hv-balloon-status-report``. Values below are read from it,
not assumed, except the boot size we gave it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from balloontop.host.qmp import QMPClient, QMPError, parse_address
from balloontop.host.reader import HostReader, stat_value
from balloontop.host.reading import host_reading_from_json
from tests.conftest import CAPTURES
from tests.paused_qemu import MEM_MIB, paused_qemu

ROOT = CAPTURES / "virtio-6.1-deflate" / "0512M"


@pytest.fixture(scope="module")
def qmp_socket():
    with paused_qemu("virtio-balloon-pci,id=odd-bal_7") as address:
        yield address


def test_finds_the_balloon_by_type_not_by_name(qmp_socket):
    with HostReader(qmp_socket) as reader:
        reading = reader.read()
    assert reading.error is None, reading.error
    assert reading.device == "/machine/peripheral/odd-bal_7"


def test_finds_a_balloon_without_an_id():
    with paused_qemu("virtio-balloon-pci") as address, HostReader(address) as reader:
        reading = reader.read()
    assert reading.error is None, reading.error
    assert reading.device is not None and reading.device.startswith("/machine/peripheral-anon/device[")
    assert reading.actual_kib == MEM_MIB * 1024


def test_actual_and_ram_in_kib(qmp_socket):
    with HostReader(qmp_socket) as reader:
        reading = reader.read()
    assert reading.actual_kib == MEM_MIB * 1024
    assert reading.ram_kib == MEM_MIB * 1024
    assert reading.balloon_kib == 0
    assert reading.qemu is not None and reading.qemu.count(".") == 2


def test_statistics_not_supplied_are_none(qmp_socket):
    with HostReader(qmp_socket) as reader:
        reading = reader.read()
    assert "stat-total-memory" in reading.stats and "stat-free-memory" in reading.stats
    assert set(reading.stats.values()) == {None}  # QEMU's -1 for every statistic
    assert reading.last_update is None
    assert reading.stats_interval == 0
    assert reading.stats_stale is False
    assert any("statistics polling is off: --qmp-stats-interval S" in n and reading.device in n
               for n in reading.notes), reading.notes


def test_stat_value_reads_both_spellings_of_minus_one():
    assert stat_value(-1) is None
    assert stat_value((1 << 64) - 1) is None  # how QEMU 7.2 writes -1 (a uint64)
    assert stat_value(True) is None and stat_value("12") is None
    assert stat_value(0) == 0 and stat_value(1005854720) == 1005854720


def test_a_command_qemu_lacks_is_a_note_not_a_failure(qmp_socket):
    with HostReader(qmp_socket) as reader:
        first, second = reader.read(), reader.read()
    for reading in (first, second):
        assert reading.error is None
        assert reading.actual_kib == MEM_MIB * 1024
        assert reading.hv_status is None
        hv = [n for n in reading.notes if "query-hv-balloon-status-report" in n]
        assert hv == [f"QEMU {reading.qemu} at {qmp_socket} has no QMP command query-hv-balloon-status-report"]
    assert first.memory_devices == ()  # no virtio-mem on this machine


def test_stats_interval_is_written_only_when_asked():
    with paused_qemu() as address:
        with HostReader(address) as reader:
            assert reader.read().stats_interval == 0
        with QMPClient(address) as client:
            assert client.execute("qom-get", {"path": "/machine/peripheral/odd-bal_7",
                                              "property": "guest-stats-polling-interval"}) == 0
        with HostReader(address, stats_interval=3) as reader:
            reading = reader.read()
        assert reading.stats_interval == 3
        assert reading.stats_stale is True  # polling on, but the (paused) guest never answered
        assert any("every 3 s" in n for n in reading.notes)
        with QMPClient(address) as client:
            assert client.execute("qom-get", {"path": "/machine/peripheral/odd-bal_7",
                                              "property": "guest-stats-polling-interval"}) == 3


def test_busy_socket_names_itself(qmp_socket):
    with HostReader(qmp_socket, connect_timeout=0.5, retry_s=0) as reader:
        holder = QMPClient(qmp_socket).open()  # QMP's one client
        try:
            t0 = time.monotonic()
            reading = reader.read()
            assert time.monotonic() - t0 < 5  # bounded, not a hang
        finally:
            holder.close()
        assert reading.error == (
            f"QMP socket {qmp_socket} is busy: QEMU serves one client per socket; add a second -qmp for balloontop"
        )
        assert reading.actual_kib is None
        # once the other client is gone, the same reader connects again
        time.sleep(0.2)
        assert reader.read().actual_kib == MEM_MIB * 1024


def test_a_busy_socket_is_not_tried_again_at_every_tick(qmp_socket):
    holder = QMPClient(qmp_socket).open()
    try:
        with HostReader(qmp_socket, connect_timeout=0.5, retry_s=30) as reader:
            first = reader.read()
            t0 = time.monotonic()
            second = reader.read()
            assert time.monotonic() - t0 < 0.3  # the error repeated, not a second 0.5 s wait
    finally:
        holder.close()
    assert "is busy" in first.error and second.error == first.error


def test_gone_socket():
    path = os.path.join(tempfile.mkdtemp(prefix="bt-qmp-"), "none.sock")
    reading = HostReader(path).read()
    assert reading.error == f"no QMP socket at {path}"
    # a socket file nobody listens on any more (QEMU exited without removing it)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    reading = HostReader(path).read()
    assert reading.error == f"no QMP socket at {path} (nothing listens on it: has QEMU exited?)"


def test_qemu_exiting_is_an_error_then_gone():
    with paused_qemu() as address:
        reader = HostReader(address)
        assert reader.read().actual_kib == MEM_MIB * 1024
    reading = reader.read()  # QEMU gone: the connection broke
    assert reading.error is not None and reading.actual_kib is None
    assert reading.error.startswith("QMP "), reading.error
    assert "has QEMU exited?" in reading.error, reading.error
    assert reader.read().error == f"no QMP socket at {address}"  # the next read tries to reconnect
    reader.close()


def test_tcp_address():
    with paused_qemu(tcp=True) as address, HostReader(address) as reader:
        reading = reader.read()
    assert reading.error is None, reading.error
    assert reading.actual_kib == MEM_MIB * 1024
    assert parse_address(address)[0] == "tcp"


def test_parse_address():
    assert parse_address("/run/q.sock") == ("unix", "/run/q.sock")
    assert parse_address("unix:/run/q:1.sock") == ("unix", "/run/q:1.sock")
    assert parse_address("qmp.sock") == ("unix", "qmp.sock")
    assert parse_address("127.0.0.1:4444") == ("tcp", ("127.0.0.1", 4444))
    assert parse_address("tcp:[::1]:4444") == ("tcp", ("::1", 4444))
    with pytest.raises(QMPError):
        parse_address("tcp:localhost:notaport")


def test_snapshot_qmp_json(qmp_socket):
    out = subprocess.run(
        [sys.executable, "-m", "balloontop", "snapshot", "--root", str(ROOT), "--json", "--qmp", qmp_socket],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    host = doc["host"]
    assert host["source"] == "qmp"
    assert host["actual_kib"] == MEM_MIB * 1024
    assert host["device"] == "/machine/peripheral/odd-bal_7"
    assert host["stats"]["stat-total-memory"] is None
    assert host["last_update"] is None and host["movement"] is None and host["error"] is None
    assert {"source", "actual_kib", "stats", "last_update", "movement", "stats_stale", "notes"} <= set(host)
    assert doc["balloon"]["kib"] == 524288  # the guest's side is still the capture's
    again = host_reading_from_json(host)
    assert again is not None and again.to_json() == host


def test_snapshot_qmp_text_and_busy(qmp_socket):
    argv = [sys.executable, "-m", "balloontop", "snapshot", "--root", str(ROOT), "--qmp", qmp_socket]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"host (QMP {qmp_socket}, QEMU " in out.stdout
    assert "  actual 256.0 MiB of 256.0 MiB RAM   guest MemTotal 960.7 MiB" in out.stdout
    assert "    stat-total-memory      not supplied" in out.stdout
    holder = QMPClient(qmp_socket).open()
    try:
        busy = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    finally:
        holder.close()
    assert busy.returncode == 0  # the guest's view is printed all the same
    assert "Ballooned: 512.0 MiB" in busy.stdout
    assert busy.stderr.strip().endswith("is busy: QEMU serves one client per socket; add a second -qmp for balloontop")
    assert len(busy.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["--qmp-stats-interval", "2"], "--qmp-stats-interval needs --qmp SOCKET"),
    (["--qmp", "x.sock", "--qmp-stats-interval", "0"], "wants 1 to 3600 seconds"),
    (["--qmp", "x.sock", "--qmp-stats-interval", "1.5"], "wants whole seconds"),
    (["--qmp", "tcp:host:port"], "is not tcp:HOST:PORT"),
])
def test_snapshot_qmp_usage_errors(argv, message):
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", "--root", str(ROOT), *argv],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


# -- a QMP peer that misbehaves (a loopback UNIX socket served by a thread) -------------------

GREETING = b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}\n'


def _serve_once(script):
    """A UNIX socket whose one connection is handled by ``script(conn)``; returns its path."""
    path = os.path.join(tempfile.mkdtemp(prefix="bt-qmp-"), "fake.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)

    def run():
        conn, _ = server.accept()
        try:
            script(conn)
        except OSError:
            pass
        finally:
            time.sleep(0.5)
            conn.close()
            server.close()

    threading.Thread(target=run, daemon=True).start()
    return path


def _answer_capabilities(conn):
    conn.sendall(GREETING)
    request = json.loads(conn.makefile("rb").readline())
    conn.sendall(json.dumps({"return": {}, "id": request["id"]}).encode() + b"\n")


def test_a_line_over_the_cap_is_an_error_not_a_growing_buffer():
    def script(conn):
        _answer_capabilities(conn)
        conn.sendall(b'{"return": "' + b"x" * 70000)  # no newline, ever

    client = QMPClient(_serve_once(script), max_line=65536).open()
    with pytest.raises(QMPError) as err:
        client.execute("query-balloon")
    assert err.value.kind == "protocol" and "over 65536 bytes" in str(err.value)
    assert not client.connected


def test_a_command_without_answer_times_out():
    path = _serve_once(lambda conn: (_answer_capabilities(conn), time.sleep(3)))
    client = QMPClient(path, command_timeout=0.3).open()
    t0 = time.monotonic()
    with pytest.raises(QMPError) as err:
        client.execute("query-balloon")
    assert time.monotonic() - t0 < 2
    assert err.value.kind == "timeout" and str(err.value) == f"QMP command query-balloon at {path} got no answer within 0.3 s"


def test_not_json_and_late_answers():
    def script(conn):
        _answer_capabilities(conn)
        f = conn.makefile("rb")
        first = json.loads(f.readline())
        # an event, an answer to some other id (dropped), then ours
        conn.sendall(b'{"event": "BALLOON_CHANGE", "data": {"actual": 536870912}, '
                     b'"timestamp": {"seconds": 1700000000, "microseconds": 500000}}\n')
        conn.sendall(b'{"return": {"actual": 1}, "id": "bt-0"}\n')
        conn.sendall(json.dumps({"return": {"actual": 805306368}, "id": first["id"]}).encode() + b"\n")
        f.readline()
        conn.sendall(b"\x1b[31mnot json\n")

    client = QMPClient(_serve_once(script)).open()
    assert client.execute("query-balloon") == {"actual": 805306368}
    events = client.take_events()
    assert [e["data"]["actual"] for e in events] == [536870912]
    with pytest.raises(QMPError) as err:
        client.execute("query-balloon")
    assert err.value.kind == "protocol" and "\x1b" not in str(err.value)


def test_record_and_export_carry_the_host(qmp_socket, tmp_path):
    pytest.importorskip("prometheus_client")
    from balloontop.recording import read_recording

    rec = tmp_path / "rec.jsonl"
    out = subprocess.run([sys.executable, "-m", "balloontop", "record", str(rec), "--root", str(ROOT),
                          "--interval", "0.2", "--duration", "0.5", "--qmp", qmp_socket],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    samples = read_recording(str(rec)).samples
    assert samples and all(s.host is not None and s.host.actual_kib == MEM_MIB * 1024 for s in samples)
    assert all(s.host.device == "/machine/peripheral/odd-bal_7" for s in samples)

    out = subprocess.run([sys.executable, "-m", "balloontop", "export", "--root", str(ROOT),
                          "--textfile", str(tmp_path), "--qmp", qmp_socket],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    from prometheus_client.parser import text_string_to_metric_families

    metrics = (tmp_path / "balloontop.prom").read_text()
    got = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for family in text_string_to_metric_families(metrics) for s in family.samples}
    guest = samples[0].system.hostname or ""  # the capture has no host name
    assert got[("balloontop_host_actual_bytes", (("guest", guest),))] == MEM_MIB << 20
    assert "balloontop_host_guest_stat" not in metrics  # a paused guest supplied no statistics


def test_host_source_through_the_monitor_pipeline(qmp_socket):
    from balloontop.host.source import HostSource
    from balloontop.monitor import Monitor
    from balloontop.sampler import Sampler

    inner = Sampler(str(ROOT))
    source = HostSource(inner, HostReader(qmp_socket))
    assert source.kind == inner.kind
    monitor = Monitor(source)
    try:
        first, second = monitor.tick(), monitor.tick()
    finally:
        monitor.close()
    for result in (first, second):
        assert result.error is None and result.sample is not None
        assert result.sample.host.actual_kib == MEM_MIB * 1024
        assert result.sample.balloon.kib == 524288  # the guest's side untouched
    assert not source.reader.client.connected  # closing the monitor let the socket go


@pytest.mark.parametrize("argv, message", [
    (["--qmp", "a.sock", "--via", "cat"], "--qmp before any --via/--ssh pairs with the local root"),
    (["--via", "cat", "--qmp", "a.sock", "--qmp", "b.sock"], "has a QMP socket already"),
    (["--qmp", "a.sock", "--qmp", "b.sock"], "one --qmp for the local root"),
])
def test_qmp_pairs_with_the_guest_option_before_it_or_exit_2(argv, message):
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", *argv],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_qmp_after_via_becomes_that_guests_socket():
    from balloontop.cli import build_parser
    from balloontop.guests import guest_specs

    parser, _ = build_parser(["snapshot"])
    args = parser.parse_args(["snapshot", "--via", "socat - UNIX-CONNECT:/run/vm7/console", "--qmp", "/run/vm7/bt.qmp",
                              "--qmp-stats-interval", "2"])
    assert [(s.transport, s.target, s.qmp) for s in guest_specs(args)] == [
        ("via", "socat - UNIX-CONNECT:/run/vm7/console", "/run/vm7/bt.qmp")]
    local = parser.parse_args(["snapshot", "--qmp", "/run/vm7/bt.qmp"])
    assert guest_specs(local) == [] and local.qmp == "/run/vm7/bt.qmp"
