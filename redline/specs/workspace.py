"""Workspaces: the files of one district described once.

A workspace TOML names the boundary, the control-line layers by kind, the units
(townships) and their id field, the land-use layer and the quota table; paths
are relative to the TOML. :func:`load_workspace` reads and checks it; the indicator
run over a workspace is :func:`redline.jobs.indicators.run_indicators`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from .catalog import kind_problems, load_catalog
from .schema import Key, check, read_toml, spec_error

__all__ = ["Workspace", "WORKSPACE_SCHEMA", "load_workspace"]

@dataclass(frozen=True)
class Workspace:
    """Input files of an indicator run (any may be None except the boundary)."""

    boundary: Path | None = None
    layers: dict[str, Path] = field(default_factory=dict)
    units: Path | None = None
    by: str | None = None
    landuse: Path | None = None
    landuse_field: str | None = None
    quotas: Path | None = None
    landcover: Path | None = None
    landcover_classes: Path | None = None

    def merged(self, **overrides) -> "Workspace":
        """A copy with the given non-empty values replacing these (command-line options over the file)."""
        layers = {**self.layers, **(overrides.pop("layers", None) or {})}
        return replace(self, layers=layers, **{k: v for k, v in overrides.items() if v})


#: The keys of a workspace TOML (paths are relative to the file).
WORKSPACE_SCHEMA = {
    "boundary": Key("string", nonempty=True, what="a path (a string)"),
    "layers": Key("table", values=Key("string", nonempty=True, what="a path (a string)"),
                  what="a table of kind = path"),
    "units": Key("string", nonempty=True, what="a path (a string)"),
    "by": Key("string", nonempty=True, what="a field name (a string)"),
    "landuse": Key("string", nonempty=True, what="a path (a string)"),
    "landuse_field": Key("string", nonempty=True, what="a field name (a string)"),
    "quotas": Key("string", nonempty=True, what="a path (a string)"),
    "landcover": Key("string", nonempty=True, what="a path (a string)"),
    "landcover_classes": Key("string", nonempty=True, what="a path (a string)"),
}


def load_workspace(path: str | os.PathLike) -> Workspace:
    """Read a workspace TOML; paths are resolved relative to it.

    Every problem (a value of the wrong type, an unknown key, a layer kind the catalog doesn't
    know) is listed at once in one :class:`CatalogError`, before anything is read.
    """
    path = Path(path)
    data = read_toml(path, "workspace TOML")
    base = path.parent
    problems = check(data, WORKSPACE_SCHEMA)
    layers = data.get("layers", {})
    if isinstance(layers, dict):
        problems += kind_problems(layers, load_catalog(), "layers.{kind}: ")
    if problems:
        raise spec_error(path, "workspace", problems)

    def resolve(value):
        return base / value if value else None

    return Workspace(
        boundary=resolve(data.get("boundary")),
        layers={k: base / v for k, v in layers.items()},
        units=resolve(data.get("units")),
        by=data.get("by"),
        landuse=resolve(data.get("landuse")),
        landuse_field=data.get("landuse_field"),
        quotas=resolve(data.get("quotas")),
        landcover=resolve(data.get("landcover")),
        landcover_classes=resolve(data.get("landcover_classes")),
    )

