"""Hostile arguments and settings: intervals, listen addresses, textfile directories, numbers."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from balloontop import config
from balloontop.errors import UsageError

from .conftest import BASE, one_line, run


@pytest.mark.parametrize("value", ["1e13", "inf", "nan", "1e300", "3601"])
def test_intervals_beyond_the_cap_are_exit_2(tmp_path: Path, value: str) -> None:
    for args in (["record", str(tmp_path / "r.jsonl"), "--root", str(BASE)], ["export", "--root", str(BASE)]):
        result = run(*args, "--interval", value)
        assert result.returncode == 2
        assert "--interval: must be between 0.2 and 3600 s" in one_line(result.stderr)
    with pytest.raises(UsageError, match="between 0.2 and 3600"):
        config.resolve({"interval": value}, environ={})
    with pytest.raises(UsageError, match="BALLOONTOP_INTERVAL"):
        config.resolve({}, environ={"BALLOONTOP_INTERVAL": value})


def test_config_file_missing_or_a_fifo(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        config.resolve({}, environ={"BALLOONTOP_CONFIG": str(tmp_path / "missing.toml")})
    pipe = tmp_path / "config.toml"
    os.mkfifo(pipe)
    with pytest.raises(UsageError, match="not a regular file"):
        config.resolve({}, environ={"BALLOONTOP_CONFIG": str(pipe)})
    # the default place may be missing: that is no error
    assert config.resolve({}, environ={"XDG_CONFIG_HOME": str(tmp_path / "none")}).interval == 1.0


def test_theme_file_that_is_a_fifo_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    from balloontop.tui.themes import load_themes

    os.mkfifo(tmp_path / "stuck.toml")
    themes, problems = load_themes(tmp_path)
    assert "dark" in themes
    assert len(problems) == 1 and "not a regular file" in str(problems[0])


def test_listen_without_port_and_port_zero() -> None:
    result = run("export", "--root", str(BASE), "--listen", "::1")
    assert result.returncode == 2 and "port missing" in one_line(result.stderr)
    proc = subprocess.Popen([sys.executable, "-m", "balloontop", "export", "--root", str(BASE),
                             "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        match = re.fullmatch(r"serving metrics on http://127\.0\.0\.1:(\d+)/metrics\n", line)
        assert match and int(match.group(1)) > 0, line
        with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/metrics", timeout=10) as response:
            assert b"balloontop_balloon_total_bytes" in response.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and err == b""


def test_listen_backlog_takes_a_crowd() -> None:
    pytest.importorskip("prometheus_client")
    from balloontop.export import BalloonCollector, make_registry, serve
    from balloontop.sampler import Sampler

    server, _ = serve("127.0.0.1", 0, make_registry(BalloonCollector(Sampler(str(BASE)).sample, 1.0)))
    try:
        assert server.request_queue_size >= 64
    finally:
        server.shutdown()
        server.server_close()


def test_textfile_in_a_shared_directory(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    result = run("export", "--root", str(BASE), "--textfile", str(shared))
    assert result.returncode == 2 and "writable by every user" in one_line(result.stderr)
    assert os.listdir(shared) == []
    shared.chmod(0o777 | stat.S_ISVTX)  # as /tmp: others cannot replace our file
    victim = tmp_path / "victim"
    victim.write_text("do not touch\n")
    os.symlink(victim, shared / "balloontop.prom")  # planted at the final name
    for name in ("balloontop.prom.tmp", ".balloontop.prom.tmp"):
        os.symlink(victim, shared / name)  # and at names a temporary file might have
    assert run("export", "--root", str(BASE), "--textfile", str(shared)).returncode == 0
    assert victim.read_text() == "do not touch\n"
    prom = shared / "balloontop.prom"
    assert not prom.is_symlink() and "balloontop_balloon_total_bytes" in prom.read_text()
    assert sorted(os.listdir(shared)) == [".balloontop.prom.tmp", "balloontop.prom", "balloontop.prom.tmp"]


def test_export_without_the_extra_names_both_installs() -> None:
    code = ("import sys; sys.modules['prometheus_client'] = None; from balloontop.cli import main; "
            f"sys.exit(main(['export', '--root', {str(BASE)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    line = one_line(proc.stderr)
    assert "pip install 'balloontop[export]'" in line and "pip install '.[export]'" in line


def test_decode_numbers_over_the_digit_limit() -> None:
    for args in (["--bits", "1" + "0" * 5000], ["--device", "1" * 5000, "0x1"]):
        result = run("decode", *args)
        assert result.returncode == 2
        line = one_line(result.stderr)
        assert "too many digits" in line and "set_int_max_str_digits" not in line


def test_report_and_snapshot_on_an_ascii_terminal(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    assert run("record", str(path), "--root", str(BASE), "--interval", "0.2", "--duration", "0.4").returncode == 0
    for env in ({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}, {"PYTHONIOENCODING": "ascii"}):
        result = run("report", str(path), env=env)
        assert result.returncode == 0 and "3 samples" in result.stdout
        assert "chart left out" in result.stdout
        assert run("snapshot", "--root", str(BASE), env=env).returncode == 0
        assert run("decode", "--all", "--root", str(BASE), env=env).returncode == 0


def test_export_survives_a_fifo_per_scrape_without_threads_piling_up(make_root) -> None:
    pytest.importorskip("prometheus_client")
    import threading

    from balloontop.export import BalloonCollector, make_registry, serve
    from balloontop.sampler import Sampler

    root = make_root({"proc/meminfo": os.mkfifo})
    server, _ = serve("127.0.0.1", 0, make_registry(BalloonCollector(Sampler(str(root)).sample)))
    try:
        before = threading.active_count()
        for _ in range(10):
            url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
            with urllib.request.urlopen(url, timeout=10) as response:
                assert b"balloontop_sample_warnings" in response.read()
        time.sleep(0.2)
        assert threading.active_count() <= before + 1
    finally:
        server.shutdown()
        server.server_close()
