"""The guest options and the config file's fleet: what ssh is run with, which guests are read."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from balloontop.errors import UsageError
from balloontop.guests import GuestSpec, add_guest_arguments, fleet_from_tables, guest_specs, read_fleet
from balloontop.remote.protocol import quote
from balloontop.remote.transport import ssh_argv, via_argv


def _args(argv: list[str], several: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default="/")
    add_guest_arguments(parser, several)
    return parser.parse_args(argv)


def test_ssh_argv_has_batch_mode_compression_and_the_timeout() -> None:
    assert ssh_argv("admin@db1:2222", ["ProxyJump=bastion"], 7.5) == [
        "ssh", "-T", "-C", "-o", "BatchMode=yes", "-o", "ConnectTimeout=8", "-p", "2222",
        "-o", "ProxyJump=bastion", "-l", "admin", "--", "db1", "sh"]
    assert ssh_argv("[::1]:22")[-3:] == ["--", "::1", "sh"]
    assert ssh_argv("host")[-3:] == ["--", "host", "sh"]


@pytest.mark.parametrize("bad", ["", "-oProxyCommand=x", "a b", "host:port", "user@", "[::1"])
def test_ssh_target_that_is_not_a_host_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        ssh_argv(bad)


def test_via_command_is_run_exactly_as_given() -> None:
    assert via_argv("docker exec -i web sh") == ["sh", "-c", "docker exec -i web sh"]
    with pytest.raises(UsageError):
        via_argv("  ")


def test_command_line_guests_keep_their_order_and_share_root_and_timeouts() -> None:
    args = _args(["--ssh", "a:22", "--via", "socat - UNIX-CONNECT:/s", "--ssh-option", "Port=1",
                  "--root", "/srv/g", "--connect-timeout", "3", "--tick-timeout", "2"], several=True)
    specs = guest_specs(args, several=True, fleet=[])
    assert [(s.transport, s.target, s.ssh_options, s.root) for s in specs] == [
        ("ssh", "a:22", ("Port=1",), "/srv/g"), ("via", "socat - UNIX-CONNECT:/s", (), "/srv/g")]
    assert {(s.connect_timeout, s.tick_timeout) for s in specs} == {(3.0, 2.0)}


def test_one_shot_commands_take_one_guest() -> None:
    with pytest.raises(UsageError, match="one guest"):
        guest_specs(_args(["--ssh", "a", "--ssh", "b"]))
    with pytest.raises(UsageError, match="needs --ssh"):
        guest_specs(_args(["--via", "sh", "--ssh-option", "X=y"]))
    with pytest.raises(UsageError, match="--tick-timeout"):
        guest_specs(_args(["--via", "sh", "--tick-timeout", "0"]))
    assert guest_specs(_args([])) == []  # the local root


FLEET = [GuestSpec("db1", "ssh", "admin@db1", ("ProxyJump=b",)), GuestSpec("vm7", "via", "socat - UNIX-CONNECT:/r/s")]


def test_guest_names_pick_from_the_fleet_and_no_option_reads_all_of_it() -> None:
    assert [s.name for s in guest_specs(_args(["--guest", "vm7"]), fleet=FLEET)] == ["vm7"]
    assert [s.name for s in guest_specs(_args([], several=True), several=True, fleet=FLEET)] == ["db1", "vm7"]
    # flags win: a --ssh given on the command line replaces the fleet
    assert [s.target for s in guest_specs(_args(["--ssh", "x"], several=True), several=True, fleet=FLEET)] == ["x"]
    with pytest.raises(UsageError, match="no such"):
        guest_specs(_args(["--guest", "nope"]), fleet=FLEET)


def test_fleet_tables_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('interval = 2.0\n\n[[guest]]\nname = "db1"\nssh = "admin@db1:2222"\n'
                    'ssh_options = ["ProxyJump=bastion"]\n\n[[guest]]\nname = "vm7"\n'
                    'via = "socat - UNIX-CONNECT:/run/vm7.sock"\nroot = "/"\nqmp = "/run/vm7/qmp.sock"\n')
    assert read_fleet(path) == [
        GuestSpec("db1", "ssh", "admin@db1:2222", ("ProxyJump=bastion",)),
        GuestSpec("vm7", "via", "socat - UNIX-CONNECT:/run/vm7.sock", (), "/", "/run/vm7/qmp.sock")]
    assert read_fleet(tmp_path / "absent.toml") == []


@pytest.mark.parametrize("table, message", [
    ({"name": "a"}, "exactly one of"),
    ({"via": "sh", "ssh": "h"}, "exactly one of"),
    ({"via": "sh", "colour": "red"}, "unknown key"),
    ({"ssh": "h", "ssh_options": "X=y"}, "list of strings"),
    ({"via": ""}, "non-empty"),
])
def test_bad_fleet_table_is_a_usage_error(table: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        fleet_from_tables([table], "f")


def test_quoting_survives_every_character() -> None:
    hostile = "a'b\"c$(d)`e`\\f\ng;h&i|j*k?l~m#n %o"
    out = subprocess.run(["sh", "-c", f"printf '%s' {quote(hostile)}"], capture_output=True, text=True, check=True)
    assert out.stdout == hostile


def test_help_of_snapshot_lists_the_guest_options() -> None:
    out = subprocess.run([sys.executable, "-m", "balloontop", "snapshot", "--help"], capture_output=True, text=True)
    for option in ("--via", "--ssh", "--ssh-option", "--guest", "--connect-timeout", "--tick-timeout"):
        assert option in out.stdout


def test_monitor_settings_accept_a_file_with_a_fleet(tmp_path: Path) -> None:
    from balloontop.config import from_file

    path = tmp_path / "config.toml"
    path.write_text('interval = 2.0\n[[guest]]\nname = "a"\nvia = "sh"\n')
    assert from_file(path) == {"interval": 2.0}
