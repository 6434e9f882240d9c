"""The layer catalog: one TOML file per kind of control line in ``layers/``.

Rules are data, not code: a province with other rules edits the TOML. Every
file is validated before use and all problems are reported at once.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ._resources import resource_dir
from .errors import CatalogError

__all__ = ["LayerKind", "load_catalog", "validate_kind"]

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer (``eco_redline``, ``basic_farmland`` …) as the catalog describes it."""

    kind: str
    name_zh: str
    name_en: str
    description: str = ""
    zone_fields: tuple[str, ...] = ()
    zones: tuple[dict, ...] = ()
    style: dict = field(default_factory=dict)
    source: str = ""

    def label(self, lang: str = "zh") -> str:
        """The kind's name in ``lang`` (``zh`` or ``en``)."""
        return self.name_en if lang == "en" else self.name_zh


def validate_kind(data: dict, source: str) -> list[str]:
    """Every problem of one catalog entry, as ``source: problem`` lines (empty when valid)."""
    problems = []
    for key in ("kind", "name_zh", "name_en"):
        if not isinstance(data.get(key), str) or not data.get(key):
            problems.append(f"{source}: '{key}' is required and must be a non-empty string")
    kind = data.get("kind")
    if isinstance(kind, str) and not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        problems.append(f"{source}: kind {kind!r} must be lower_snake_case")
    zf = data.get("zone_fields", [])
    if not isinstance(zf, list) or not all(isinstance(x, str) for x in zf):
        problems.append(f"{source}: 'zone_fields' must be a list of field names")
    zones = data.get("zones", [])
    if not isinstance(zones, list):
        problems.append(f"{source}: 'zones' must be an array of tables ([[zones]])")
    else:
        for i, zone in enumerate(zones):
            if not isinstance(zone, dict) or not zone.get("name_zh"):
                problems.append(f"{source}: zones[{i}] needs 'name_zh'")
    style = data.get("style", {})
    if not isinstance(style, dict):
        problems.append(f"{source}: [style] must be a table")
    else:
        for key in ("fill", "stroke"):
            if key in style and not (isinstance(style[key], str) and _COLOUR.match(style[key])):
                problems.append(f"{source}: style.{key} {style[key]!r} is not a #rrggbb colour")
        opacity = style.get("fill_opacity", 0.5)
        if not isinstance(opacity, (int, float)) or not 0 <= opacity <= 1:
            problems.append(f"{source}: style.fill_opacity must be a number in [0, 1]")
    return problems


def load_catalog(directory: str | os.PathLike | None = None) -> dict[str, LayerKind]:
    """Load and validate every ``*.toml`` in ``directory`` (default: the bundled ``layers/``).

    Raises
    ------
    CatalogError
        Listing every problem found, one per line.

    Examples
    --------
    >>> cat = load_catalog()
    >>> cat["eco_redline"].label("zh")
    '生态保护红线'
    """
    directory = Path(directory) if directory is not None else resource_dir("layers")
    kinds: dict[str, LayerKind] = {}
    problems: list[str] = []
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise CatalogError(f"{directory}: no catalog files (*.toml)")
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not valid TOML ({exc})")
            continue
        found = validate_kind(data, str(path))
        if data.get("kind") in kinds:
            found.append(f"{path}: kind {data['kind']!r} is defined twice")
        problems += found
        if found:
            continue
        kinds[data["kind"]] = LayerKind(
            kind=data["kind"],
            name_zh=data["name_zh"],
            name_en=data["name_en"],
            description=data.get("description", ""),
            zone_fields=tuple(data.get("zone_fields", ())),
            zones=tuple(data.get("zones", ())),
            style=dict(data.get("style", {})),
            source=str(path),
        )
    if problems:
        raise CatalogError("invalid layer catalog:\n" + "\n".join(problems))
    return kinds
