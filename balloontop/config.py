"""Settings of the live monitor and where they come from.

Precedence, highest first (also printed by ``balloontop --help``):

1. command-line flags (``--interval``, ``--theme``, ``--root``, ``--no-color``);
2. environment variables ``BALLOONTOP_INTERVAL``, ``BALLOONTOP_THEME``, ``BALLOONTOP_ROOT``,
   ``BALLOONTOP_NO_COLOR``, ``BALLOONTOP_PROCESS_INTERVAL`` (and ``NO_COLOR``, honoured as
   ``--no-color``);
3. the TOML file ``$XDG_CONFIG_HOME/balloontop/config.toml`` (``~/.config/...`` when
   ``XDG_CONFIG_HOME`` is unset; ``BALLOONTOP_CONFIG`` names another file);
4. built-in defaults.

The file holds top-level keys with the same names::

    interval = 2.0            # seconds, 0.2 to 3600
    theme = "light"           # dark, light, monochrome or a file in themes/ (see themes/README.md)
    root = "/"
    no_color = false
    process_interval = 5.0    # seconds between refreshes of the process list

User themes live in ``$XDG_CONFIG_HOME/balloontop/themes/*.toml``.

No Textual; a bad file or value is a ``UsageError`` (one line, exit 2).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 guests
    import tomli as tomllib

INTERVAL_FLOOR = 0.2
INTERVAL_CAP = 3600.0  # one hour: a longer interval is a typo (or an attempt to overflow a timer)
DEFAULT_INTERVAL = 1.0

PRECEDENCE_HELP = """\
configuration (highest first):
  flags > environment (BALLOONTOP_INTERVAL, BALLOONTOP_THEME, BALLOONTOP_ROOT,
  BALLOONTOP_NO_COLOR, BALLOONTOP_PROCESS_INTERVAL; NO_COLOR too) > the file
  $XDG_CONFIG_HOME/balloontop/config.toml (or BALLOONTOP_CONFIG) > defaults.
  User themes: $XDG_CONFIG_HOME/balloontop/themes/NAME.toml."""


@dataclass(frozen=True)
class Config:
    interval: float = DEFAULT_INTERVAL
    theme: str = "dark"
    root: str = "/"
    no_color: bool = False
    process_interval: float = 5.0


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "balloontop"


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    explicit = env.get("BALLOONTOP_CONFIG")
    return Path(explicit) if explicit else config_dir(env) / "config.toml"


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise UsageError(f"{where}: expected true or false, got {value!r}")


def check_seconds(seconds: float, where: str, floor: float = INTERVAL_FLOOR) -> float:
    """``seconds`` when it lies in [``floor``, ``INTERVAL_CAP``], else a ``UsageError`` (exit 2):
    NaN, infinities and values that would overflow a timer are refused like values too small."""
    if not floor <= seconds <= INTERVAL_CAP:  # False for NaN too
        raise UsageError(f"{where}: must be between {floor:g} and {INTERVAL_CAP:g} s, got {seconds:g}")
    return seconds


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, str) and len(value) > 40:
        raise UsageError(f"{where}: expected seconds, got {value[:40]!r}...")
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{where}: expected seconds, got {value!r}") from None
    return check_seconds(seconds, where)


def _coerce(key: str, value: Any, where: str) -> Any:
    if key in ("interval", "process_interval"):
        return _seconds(value, where)
    if key == "no_color":
        return _bool(value, where)
    if not isinstance(value, str) or not value:
        raise UsageError(f"{where}: expected a non-empty string, got {value!r}")
    return value


_KEYS = {f.name for f in fields(Config)}


MAX_CONFIG_BYTES = 64 << 10  # a settings file is a few lines


def from_file(path: Path, required: bool = False) -> dict[str, Any]:
    """Settings from a TOML file (missing file: none, unless ``required``).

    Only a regular file is read, without blocking (a FIFO named as the config file is an
    error, not a hang), and at most ``MAX_CONFIG_BYTES`` of it.
    """
    from .rootfs import read_host_file

    try:
        data_bytes, cut = read_host_file(str(path), limit=MAX_CONFIG_BYTES)
        if cut:
            raise UsageError(f"config file {path}: larger than {MAX_CONFIG_BYTES >> 10} KiB")
        data = tomllib.loads(data_bytes.decode("utf-8"))
    except FileNotFoundError:
        if required:
            raise UsageError(f"config file {path} (BALLOONTOP_CONFIG) does not exist") from None
        return {}
    except OSError as exc:
        raise UsageError(f"config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"config file {path}: not UTF-8 ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path}: {exc}") from None
    out = {}
    for key, value in data.items():
        if key == "guest":  # [[guest]] tables: the fleet, read by balloontop.guests.read_fleet
            continue
        if key not in _KEYS:
            raise UsageError(f"config file {path}: unknown key {key!r}")
        out[key] = _coerce(key, value, f"config file {path}: {key}")
    return out


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    out = {}
    for key in _KEYS:
        name = f"BALLOONTOP_{key.upper()}"
        if environ.get(name, "") != "":
            out[key] = _coerce(key, environ[name], name)
    # https://no-color.org: any non-empty value.
    if environ.get("NO_COLOR", "") != "" and "no_color" not in out:
        out["no_color"] = True
    return out


def resolve(
    flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Defaults, then the file, then the environment, then ``flags`` (``None`` values skipped)."""
    env = os.environ if environ is None else environ
    config = Config()
    config = replace(config, **from_file(config_path(env), required=bool(env.get("BALLOONTOP_CONFIG"))))
    config = replace(config, **from_environ(env))
    chosen = {}
    for key, value in (flags or {}).items():
        if key in _KEYS and value is not None and value is not False:
            chosen[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    return replace(config, **chosen)
