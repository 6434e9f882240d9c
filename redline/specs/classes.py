"""Class maps: which land-use or land-cover codes make up each indicator group, with class names.

A class map TOML (``analyses/classes/*.toml``) names the code fields of a land-use layer, the groups of codes
(``farmland``, ``forest`` …, codes or code prefixes), the class names and the park service tiers. The bundled
ones are 三调 (``sandiao.toml``, land-use layers) and ESA WorldCover (``worldcover.toml``, land-cover rasters).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._resources import resource_dir
from .schema import Key, check, read_toml, spec_error

__all__ = ["ClassMap", "CLASS_MAP_SCHEMA", "LANDCOVER_GROUPS", "LANDUSE_GROUPS", "load_class_map",
           "load_raster_classes"]

#: The groups a land-use class map must define.
LANDUSE_GROUPS = ("farmland", "forest", "wetland", "vegetation", "residential", "park")
#: The groups a land-cover class map must define.
LANDCOVER_GROUPS = ("forest", "farmland", "wetland", "vegetation")


@dataclass(frozen=True)
class ClassMap:
    """Land-use codes → indicator groups (三调 by default), with class names and park service tiers."""

    name: str
    code_fields: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]
    names: dict[str, str]
    park_service: tuple[tuple[float, float], ...]  # (min_area_m2, radius_m), largest first

    def codes(self, group: str, values: Sequence[str]) -> np.ndarray:
        """Boolean mask of ``values`` (class codes) belonging to ``group`` (codes or prefixes)."""
        patterns = self.groups.get(group, ())
        arr = np.asarray(values, dtype=str)
        mask = np.zeros(len(arr), dtype=bool)
        for p in patterns:
            mask |= np.char.startswith(arr, p)
        return mask


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: The keys of a class map TOML (``analyses/classes/*.toml``, ``--landcover-classes``, ``--class-map``).
CLASS_MAP_SCHEMA = {
    "name": Key("string"),
    "name_en": Key("string"),
    "code_fields": Key("list", items="string", what="a list of field names"),
    "groups": Key("table", values=Key("list", what='a list of code strings (quote them: "0101")'),
                  what="a table of group = [codes]"),
    "park_service": Key("tables", keys={"min_area_m2": Key("any"), "radius_m": Key("any")},
                        what="an array of tables ([[park_service]])"),
    "names": Key("table", values=Key("string", what="a class name (a string)"), what="a table of code = name"),
}


def _problems(data: dict, required: Sequence[str]) -> list[str]:
    """Every problem of a class map: the schema's, then missing groups, unquoted codes and bad park tiers."""
    problems = check(data, CLASS_MAP_SCHEMA)
    groups = data.get("groups", {})
    groups = groups if isinstance(groups, dict) else {}
    for g in required:
        if g not in groups:
            problems.append(f"group {g!r} is missing from [groups]")
    for g, codes in groups.items():
        if isinstance(codes, list) and not all(isinstance(c, str) and c for c in codes):
            problems.append(f"groups.{g} must be a list of code strings (quote them: \"0101\"), not {codes!r}")
    tiers = data.get("park_service", [])
    for i, t in enumerate(tiers if isinstance(tiers, list) else []):
        if isinstance(t, dict) and not all(_is_number(t.get(k)) for k in ("min_area_m2", "radius_m")):
            problems.append(f"park_service[{i}] needs numbers min_area_m2 and radius_m")
    return problems


def load_class_map(path: str | os.PathLike | None = None, required: Sequence[str] = LANDUSE_GROUPS) -> ClassMap:
    """Load a land-use class map TOML (default: the bundled 三调 map ``analyses/classes/sandiao.toml``).

    Raises :class:`CatalogError` listing every problem.

    Examples
    --------
    >>> cm = load_class_map()
    >>> cm.groups["farmland"]
    ('0101', '0102', '0103')
    """
    path = Path(path) if path is not None else resource_dir("analyses") / "classes" / "sandiao.toml"
    data = read_toml(path, "class map TOML")
    problems = _problems(data, required)
    if problems:
        raise spec_error(path, "class map", problems)
    tiers = data.get("park_service", [])
    tier_list = sorted(((float(t["min_area_m2"]), float(t["radius_m"])) for t in tiers), reverse=True)
    return ClassMap(
        name=str(data.get("name", path.stem)),
        code_fields=tuple(data.get("code_fields", ("DLBM",))),
        groups={g: tuple(c) for g, c in data.get("groups", {}).items()},
        names={str(k): str(v) for k, v in data.get("names", {}).items()},
        park_service=tuple(tier_list),
    )


def load_raster_classes(path=None) -> ClassMap:
    """Load a raster class map (default: ESA WorldCover, ``analyses/classes/worldcover.toml``)."""
    path = path if path is not None else resource_dir("analyses") / "classes" / "worldcover.toml"
    return load_class_map(path, required=LANDCOVER_GROUPS)
