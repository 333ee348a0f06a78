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

    interval = 2.0            # seconds, at least 0.2
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


def _seconds(value: Any, where: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: expected seconds, got {value!r}") from None
    if not seconds >= INTERVAL_FLOOR:
        raise UsageError(f"{where}: must be at least {INTERVAL_FLOOR} s, got {value!r}")
    return seconds


def _coerce(key: str, value: Any, where: str) -> Any:
    if key in ("interval", "process_interval"):
        return _seconds(value, where)
    if key == "no_color":
        return _bool(value, where)
    if not isinstance(value, str) or not value:
        raise UsageError(f"{where}: expected a non-empty string, got {value!r}")
    return value


_KEYS = {f.name for f in fields(Config)}


def from_file(path: Path) -> dict[str, Any]:
    """Settings from a TOML file (missing file: none)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path}: {exc}") from None
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
    config = replace(config, **from_file(config_path(env)))
    config = replace(config, **from_environ(env))
    chosen = {}
    for key, value in (flags or {}).items():
        if key in _KEYS and value is not None and value is not False:
            chosen[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    return replace(config, **chosen)
