"""Spec files checked against a schema: every problem at once, on one line.

Specs are data — workspaces, scorecard recipes, screening rule sets, class maps, the layer
catalog, map themes. Each loader describes the keys it knows as a schema of :class:`Key`;
:func:`check` lists every problem of a file (a value of the wrong type, a required key
missing, an unknown key with the closest known one) and :func:`spec_error` makes them one
:class:`~redline.errors.CatalogError` whose message is one line. Loaders add their own checks
(a kind the catalog doesn't know, a comparator …) to the same list, and do all of it before
any layer is read. :func:`read_toml` reads a spec file.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CatalogError

__all__ = ["Key", "check", "check_value", "spec_error", "suggest", "unknown_name", "describe", "read_toml", "ON_READ"]

#: Called with the path of every spec file :func:`read_toml` reads. :mod:`redline.io` adds
#: :func:`redline.io.register_input`, so that within :func:`redline.io.protect_inputs` no output replaces a spec
#: the run read (specs stand below io and don't import it).
ON_READ: list[Callable[[Path], None]] = []

#: What each type of :class:`Key` accepts, and how a message names it.
_TYPES: dict[str, tuple[Callable[[object], bool], str]] = {
    "string": (lambda v: isinstance(v, str), "a string"),
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v), "a number"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "boolean": (lambda v: isinstance(v, bool), "true or false"),
    "table": (lambda v: isinstance(v, dict), "a table"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "tables": (lambda v: isinstance(v, list), "an array of tables"),
    "any": (lambda v: True, "a value"),
}


@dataclass(frozen=True)
class Key:
    """What one key of a spec file may hold.

    Parameters
    ----------
    type : {"string", "number", "integer", "boolean", "table", "list", "tables", "any"}
        ``"tables"`` is an array of tables (``[[indicator]]``); ``"table"`` a table.
    required : bool
        The key must be there.
    items : str, optional
        Type of each element of a ``"list"`` (``"string"`` …).
    keys : mapping of name -> Key, optional
        The keys of a ``"table"`` or of each table of ``"tables"`` (others are unknown keys).
    values : Key, optional
        What each value of a ``"table"`` of free keys holds (``[groups]``: name = [codes]).
    nonempty : bool
        A string, list or table must not be empty.
    what : str, optional
        How a message says what the value must be (``"a path"``, ``"a list of class codes"``);
        default from ``type`` and ``items``.
    label : callable, optional
        ``label(i, table) -> str``: how a message names the ``i``-th table of ``"tables"``
        (default ``name[i]``).
    """

    type: str
    required: bool = False
    items: str | None = None
    keys: Mapping[str, "Key"] | None = None
    values: "Key | None" = None
    nonempty: bool = False
    what: str = ""
    label: Callable[[int, object], str] | None = field(default=None, compare=False)

    def describe(self) -> str:
        """What the value must be, as a message says it (``a list of strings``)."""
        if self.what:
            return self.what
        text = _TYPES[self.type][1]
        if self.items and self.type == "list":
            text += f" of {_TYPES[self.items][1].removeprefix('a ').removeprefix('an ')}s"
        return ("a non-empty " + text.removeprefix("a ").removeprefix("an ")) if self.nonempty else text


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe(value) -> str:
    """A value as a message shows it: ``42 (an integer)``, ``'x' (a string)`` (long values cut).

    Examples
    --------
    >>> describe(42), describe("a"), describe(True), describe([1, 2])
    ('42 (an integer)', "'a' (a string)", 'true (a boolean)', '[1, 2] (a list)')
    """
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} (not a finite number)"
    kind = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__)
    return f"{_short(value)} ({kind})"


def suggest(name, choices: Iterable) -> str | None:
    """The valid name closest to ``name`` (difflib), or None.

    Examples
    --------
    >>> suggest("eco_redlin", ["eco_redline", "basic_farmland"]), suggest("zzz", ["eco_redline"])
    ('eco_redline', None)
    """
    choices = [str(c) for c in choices]
    text = str(name)
    lower = {c.lower(): c for c in choices}
    if text.lower() in lower:  # a case slip
        return lower[text.lower()]
    swapped = [c for c in choices if sorted(c) == sorted(text)]
    if len(swapped) == 1:  # letters swapped ('=>' for '>=')
        return swapped[0]
    found = difflib.get_close_matches(text, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_name(what: str, name, choices: Iterable, listing: str | None = None, of: str = "") -> str:
    """``unknown kind 'eco_redlin' — did you mean eco_redline?`` (or the valid names when none is close).

    Examples
    --------
    >>> unknown_name("kind", "eco_redlin", ["eco_redline", "basic_farmland"])
    "unknown kind 'eco_redlin' — did you mean eco_redline?"
    >>> unknown_name("kind", "x", ["eco_redline", "basic_farmland"], "catalog kinds")
    "unknown kind 'x' (catalog kinds: eco_redline, basic_farmland)"
    >>> unknown_name("zone", "二级区", ["一级", "二级"], "zones", of=" of water_source")
    "unknown zone '二级区' of water_source — did you mean 二级?"
    """
    choices = [str(c) for c in choices]
    close = suggest(name, choices)
    if close is not None:
        return f"unknown {what} {name!r}{of} — did you mean {close}?"
    return f"unknown {what} {name!r}{of} ({listing or 'valid'}: {', '.join(choices) or 'none'})"


def _empty(value) -> bool:
    """An empty string (or only spaces), list or table."""
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, dict)) and not value


def check_value(value, key: Key, at: str) -> list[str]:
    """Every problem of one value against ``key``; ``at`` names it in the messages (``layers.eco_redline``)."""
    ok, _ = _TYPES[key.type]
    if not ok(value):
        return [f"{at} must be {key.describe()}, not {describe(value)}"]
    if key.nonempty and _empty(value):
        return [f"{at} must be {key.describe()}, not empty"]
    problems = []
    if key.type == "list" and key.items:
        good, what = _TYPES[key.items]
        bad = [v for v in value if not good(v)]
        if bad:
            problems.append(f"{at} must be {key.describe()}, not {_short(value)}: {describe(bad[0])} is not {what}")
    elif key.type == "table" and key.keys is not None:
        problems += check(value, key.keys, at + ".")
    elif key.type == "table" and key.values is not None:
        for k, v in value.items():
            problems += check_value(v, key.values, f"{at}.{k}")
    elif key.type == "tables":
        for i, table in enumerate(value):
            name = key.label(i, table) if key.label else f"{at}[{i}]"
            if not isinstance(table, dict):
                problems.append(f"{name} must be a table, not {describe(table)}")
            elif key.keys is not None:
                problems += check(table, key.keys, name + (": " if key.label else "."))
    return problems


def check(data: Mapping, schema: Mapping[str, Key], at: str = "") -> list[str]:
    """Every problem of the table ``data`` against ``schema``: wrong types, missing keys, unknown keys.

    ``at`` is prefixed to each key's name (``"style."``, ``"[[indicator]] 2 (a): "``).

    Examples
    --------
    >>> check({"boundary": 42, "boundry": "b.gpkg"}, {"boundary": Key("string", what="a path")})
    ['boundary must be a path, not 42 (an integer)', "unknown key 'boundry' — did you mean boundary?"]
    """
    problems = []
    for name, key in schema.items():
        value = data.get(name)
        if key.required and (value is None or (key.nonempty and _empty(value))):
            where = f"'{at}{name}'" if not at or at.endswith(".") else f"{at}'{name}'"
            problems.append(f"{where} is required ({key.describe()})")
            continue
        if name not in data:
            continue
        problems += check_value(data[name], key, f"{at}{name}")
    where = f"{at[:-1]}: " if at.endswith(".") else at  # "style: unknown key …", "[[indicator]] 2: unknown key …"
    for name in data:
        if name not in schema:
            problems.append(where + unknown_name("key", name, schema, "known keys"))
    return problems


def spec_error(path: str | os.PathLike, what: str, problems: list[str]) -> CatalogError:
    """One error for every problem of a spec file, on one line.

    Examples
    --------
    >>> str(spec_error("ws.toml", "workspace", ["boundary must be a path, not 42 (an integer)"]))
    'ws.toml: invalid workspace: boundary must be a path, not 42 (an integer)'
    >>> str(spec_error("r.toml", "recipe", ["a", "b"]))
    'r.toml: invalid recipe, 2 problems: a; b'
    """
    items = [" ".join(str(p).split()) for p in problems]  # one line whatever a problem holds
    if len(items) == 1:
        return CatalogError(f"{path}: invalid {what}: {items[0]}")
    return CatalogError(f"{path}: invalid {what}, {len(items)} problems: " + "; ".join(items))


def read_toml(path: str | os.PathLike, what: str = "TOML file") -> dict:
    """Read a spec file (catalog entry, recipe, rule set, class map, workspace) as a dict.

    Raises :class:`~redline.errors.CatalogError` naming the file and ``what`` it should be.
    """
    path = Path(path)
    for hook in ON_READ:
        hook(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{path}: {what} not found") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not a valid {what} ({exc})") from None
