"""balloontop's palettes: TOML files turned into Textual ``Theme`` objects.

Built-in files ship inside the package (``balloontop/tui/themes`` is the top-level
``themes/`` directory, see ``themes/README.md`` for the format); users add their own in
``$XDG_CONFIG_HOME/balloontop/themes``. A file that does not load is reported in the
returned problems list (shown as a notification), never raised.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from textual.color import Color, ColorParseError
from textual.theme import Theme

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BUILTIN_DIR = Path(__file__).resolve().parent / "themes"
BUILTIN_ORDER = ("dark", "light", "monochrome")

COLOR_KEYS = (
    "primary", "secondary", "accent", "foreground", "background", "surface", "panel",
    "boost", "success", "warning", "error",
)
VARIABLES: Mapping[str, str] = {
    "balloon-graph": "#ffaf00",
    "total-graph": "#5fafff",
    "available-graph": "#5fd787",
    "host-graph": "#d787ff",
    "changed": "#ffd75f",
    "muted": "#8a8a8a",
}
"""balloontop's own theme variables and their defaults (the ``dark`` palette)."""


class ThemeProblem(NamedTuple):
    path: str
    reason: str

    def __str__(self) -> str:
        return f"theme file {self.path}: {self.reason}"


def _color(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a colour string, got {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{where}: {value!r} is not a colour") from None
    return value


def theme_from_toml(text: str, default_name: str) -> Theme:
    """A ``Theme`` from the text of a theme file; ``ValueError`` saying what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML ({exc})") from None
    unknown = set(data) - {"name", "dark", "colors", "variables"}
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-empty string")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ValueError("dark must be true or false")
    colors = data.get("colors", {})
    if not isinstance(colors, dict) or "primary" not in colors:
        raise ValueError("[colors] with at least primary is required")
    bad = set(colors) - set(COLOR_KEYS)
    if bad:
        raise ValueError(f"unknown colour(s): {', '.join(sorted(bad))}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError("[variables] must be a table")
    bad = set(variables) - set(VARIABLES)
    if bad:
        raise ValueError(f"unknown variable(s): {', '.join(sorted(bad))}")
    kwargs: dict[str, Any] = {key: _color(value, f"colors.{key}") for key, value in colors.items()}
    merged = dict(VARIABLES)
    merged.update({k: _color(v, f"variables.{k}") for k, v in variables.items()})
    return Theme(name=name.strip(), dark=dark, variables=merged, **kwargs)


def _read_theme(path: Path) -> str:
    """A theme file's text: only a regular file, read without blocking (a FIFO is a
    problem reported, not a hang), at most 64 KiB."""
    from ..rootfs import read_host_file

    data, cut = read_host_file(str(path), limit=64 << 10)
    if cut:
        raise ValueError("larger than 64 KiB: not a theme file")
    return data.decode("utf-8")


def _load_dir(folder: Path, problems: list[ThemeProblem]) -> dict[str, Theme]:
    themes: dict[str, Theme] = {}
    try:
        paths = sorted(folder.glob("*.toml"))
    except OSError:
        return themes
    for path in paths:
        try:
            theme = theme_from_toml(_read_theme(path), path.stem)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(ThemeProblem(str(path), str(exc)))
            continue
        except ValueError as exc:
            problems.append(ThemeProblem(str(path), str(exc)))
            continue
        themes[theme.name] = theme
    return themes


def load_themes(user_dir: Path | None = None) -> tuple[dict[str, Theme], list[ThemeProblem]]:
    """Built-in themes, then the user's (same name replaces), and the files that failed."""
    problems: list[ThemeProblem] = []
    themes = _load_dir(BUILTIN_DIR, problems)
    if user_dir is not None:
        themes.update(_load_dir(user_dir, problems))
    ordered = {name: themes[name] for name in BUILTIN_ORDER if name in themes}
    ordered.update({name: theme for name, theme in themes.items() if name not in ordered})
    if not ordered:  # the package lost its files: still run, in Textual's own palette
        ordered["dark"] = Theme(name="dark", primary="#5fafff", dark=True, variables=dict(VARIABLES))
    return ordered, problems
