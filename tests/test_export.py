"""The Prometheus exporter, scraped over loopback by a real HTTP client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from balloontop.cli import main  # noqa: E402
from balloontop.export import BalloonCollector, make_registry, parse_listen, serve  # noqa: E402
from balloontop.sampler import Sampler  # noqa: E402

CAPTURES = Path(__file__).parent / "fixtures" / "captures"
ROOT = CAPTURES / "virtio-6.18-nodeflate" / "0512M"


def values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


def test_scrape_returns_the_fixture_figures() -> None:
    collector = BalloonCollector(Sampler(str(ROOT)).sample)
    server, _ = serve("127.0.0.1", 0, make_registry(collector))
    try:
        got = values(scrape(server.server_port))
    finally:
        server.shutdown()
        server.server_close()
    balloon = (("driver", "virtio_balloon"), ("instance", "virtio0"))
    assert got[("balloontop_balloon_bytes", balloon)] == 536870912
    assert got[("balloontop_balloon_total_bytes", (("source", "meminfo:Balloon"),))] == 536870912
    assert got[("balloontop_balloon_accounting", balloon + (("mode", "total"),))] == 1
    assert got[("balloontop_memory_total_bytes", ())] == 461940 * 1024
    assert got[("balloontop_memory_available_bytes", ())] == 354636 * 1024
    assert got[("balloontop_vmstat_balloon_inflate_pages_total", ())] == 131072
    assert got[("balloontop_vmstat_balloon_deflate_pages_total", ())] == 0
    assert got[("balloontop_vmstat_balloon_pages", ())] == 131072
    assert got[("balloontop_vmstat_oom_kill_total", ())] == 0
    assert got[("balloontop_scrape_errors_total", ())] == 0
    info = [k for k in got if k[0] == "balloontop_virtio_balloon_features_info"]
    assert len(info) == 1
    labels = dict(info[0][1])
    assert labels["instance"] == "virtio0"
    assert labels["deflate_on_oom"] == "false"  # this guest ran with deflate-on-oom=off
    assert labels["stats_vq"] == "true"
    assert "1" in labels["bits"].split(",") and "32" in labels["bits"].split(",")


def test_devguest_features_and_unknown_bit() -> None:
    collector = BalloonCollector(Sampler(str(CAPTURES / "devguest-6.18" / "idle")).sample)
    from prometheus_client import generate_latest

    got = values(generate_latest(make_registry(collector)).decode())
    (key,) = [k for k in got if k[0] == "balloontop_virtio_balloon_features_info"]
    labels = dict(key[1])
    assert labels["bits"] == "1,2,5,7,32"
    assert labels["deflate_on_oom"] == "true" and labels["reporting"] == "true"
    assert labels["unknown_bits"] == "7"


def test_cache_and_scrape_errors() -> None:
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return Sampler(str(ROOT)).sample()

    now = [0.0]
    collector = BalloonCollector(flaky, max_age=5.0, clock=lambda: now[0])
    assert collector.current() is collector.current()  # cached
    now[0] = 10.0
    assert collector.current() is None and collector.scrape_errors == 1
    from prometheus_client import generate_latest

    got = values(generate_latest(make_registry(collector)).decode())
    assert got[("balloontop_scrape_errors_total", ())] == 1
    assert ("balloontop_balloon_total_bytes", (("source", "meminfo:Balloon"),)) in got


def test_textfile_written_atomically(tmp_path: Path) -> None:
    assert main(["export", "--root", str(ROOT), "--textfile", str(tmp_path)]) == 0
    assert os.listdir(tmp_path) == ["balloontop.prom"]
    got = values((tmp_path / "balloontop.prom").read_text())
    assert got[("balloontop_balloon_total_bytes", (("source", "meminfo:Balloon"),))] == 536870912


def test_listen_parsing() -> None:
    assert parse_listen("127.0.0.1:9477") == ("127.0.0.1", 9477)
    assert parse_listen("[::1]:9100") == ("::1", 9100)
    for bad in ("9477", "host:", ":80", "h:99999"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    assert main(["export", "--listen", "nope"]) == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_serves_until_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "balloontop", "export", "--root", str(ROOT),
         "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                text = scrape(port)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert "balloontop_balloon_bytes" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert err == b""  # loopback: no warning


def test_driver_statistics_are_exported_as_declared() -> None:
    """Each numeric driver statistic is a gauge named after it, in base units, whose help
    is the meaning the driver declares (balloontop.drivers.xen_balloon.STATS)."""
    from prometheus_client import generate_latest

    from balloontop.drivers import xen_balloon

    root = Path(__file__).parent / "fixtures" / "synthetic" / "xen-balloon"
    folder = root / "sys/devices/system/xen_memory/xen_memory0"
    text = generate_latest(make_registry(BalloonCollector(Sampler(str(root)).sample))).decode()
    got = values(text)
    instance = (("instance", "xen_memory0"),)
    target_kb = int((folder / "target_kb").read_text())
    assert got[("balloontop_xen_balloon_target_bytes", instance)] == target_kb * 1024
    low_kb = int((folder / "info" / "low_kb").read_text())
    assert got[("balloontop_xen_balloon_low_bytes", instance)] == low_kb * 1024
    assert text.count('balloontop_xen_balloon_target_bytes{instance="xen_memory0"}') == 1  # not target again
    helps = {f.name: f.documentation for f in text_string_to_metric_families(text)}
    assert helps["balloontop_xen_balloon_target_bytes"].startswith(xen_balloon.STATS["target_kb"].meaning)
