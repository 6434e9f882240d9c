"""Map themes (``maps/*.toml``): basemaps, verdict colours, simplification and fonts, as validated data."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .._resources import resource_dir
from .schema import read_toml
from .schema import Key, check, spec_error

__all__ = ["Theme", "load_theme", "GCJ02_HOSTS", "THEME_SCHEMA"]

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: Tile hosts that serve GCJ-02 ("Mars") coordinates, shifted 300–600 m from CGCS2000.
GCJ02_HOSTS = ("autonavi.com", "amap.com", "gtimg.com", "map.qq.com", "tencent", "gaode")
_COLOUR_TABLES = ("verdicts", "encroachment", "boundary", "units")


@dataclass(frozen=True)
class Theme:
    """A validated map theme."""

    name: str
    basemaps: dict[str, dict]
    verdicts: dict[str, str]
    encroachment: dict[str, str]
    boundary: dict[str, str]
    units: dict[str, str]
    tolerance_m: float
    precision_deg: float
    cjk_fonts: tuple[str, ...]
    #: layers with more features or vertices than these are drawn as raster tiles (with a folder for them)
    tile_above_features: int = 20000
    tile_above_vertices: int = 300000
    max_tiles: int = 4096


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_COLOURS = Key("table", values=Key("string", what="a #rrggbb colour (a string)"), what="a table of name = colour")
_BASEMAP = Key("table", keys={
    "name_zh": Key("string"),
    "name_en": Key("string"),
    "tiles": Key("string", required=True, nonempty=True, what="a tile URL template (a string)"),
    "labels": Key("string", what="a tile URL template (a string)"),
    "attribution": Key("string"),
    "crs": Key("string", what="WGS84, CGCS2000 or GCJ02"),
    "subdomains": Key("string"),
})
#: The keys of a map theme TOML (``maps/*.toml``).
THEME_SCHEMA = {
    "name": Key("string"),
    "basemaps": Key("table", values=_BASEMAP, what="a table of basemaps ([basemaps.NAME])"),
    "verdicts": _COLOURS,
    "encroachment": _COLOURS,
    "boundary": _COLOURS,
    "units": _COLOURS,
    "simplify": Key("table", keys={"tolerance_m": Key("number", what="a number ≥ 0"),
                                   "precision_deg": Key("number", what="a number in [0, 0.001]")}),
    "fonts": Key("table", keys={"cjk": Key("list", items="string", what="a list of font names")}),
    "tiles": Key("table", keys={"above_features": Key("integer", what="a whole number ≥ 0"),
                                "above_vertices": Key("integer", what="a whole number ≥ 0"),
                                "max_tiles": Key("integer", what="a whole number ≥ 64")}),
}


def _table(data: dict, name: str) -> dict:
    value = data.get(name, {})
    return value if isinstance(value, dict) else {}


def _basemap_problems(basemaps: dict) -> list[str]:
    problems = []
    for key, bm in basemaps.items():
        if isinstance(bm, dict) and isinstance(bm.get("crs", "WGS84"), str) \
                and bm.get("crs", "WGS84").upper() not in ("WGS84", "CGCS2000", "GCJ02"):
            problems.append(f"basemaps.{key}.crs must be WGS84, CGCS2000 or GCJ02, not {bm['crs']!r}")
    return problems


def _colour_problems(data: dict, colours: dict[str, dict]) -> list[str]:
    """Colours that are not ``#rrggbb`` and verdict colours missing (``colours``: each colour table)."""
    problems = []
    for table, values in colours.items():
        for k, v in values.items():
            if isinstance(v, str) and not _COLOUR.match(v):
                problems.append(f"{table}.{k} {v!r} is not a #rrggbb colour")
    for verdict in ("prohibited", "conditional", "restricted", "clear"):
        if isinstance(data.get("verdicts", {}), dict) and verdict not in colours["verdicts"]:
            problems.append(f"verdicts.{verdict} colour is missing")
    return problems


def _simplify_problems(tol, prec) -> list[str]:
    problems = []
    if _is_number(tol) and tol < 0:
        problems.append(f"simplify.tolerance_m must be a number ≥ 0, not {tol!r}")
    if _is_number(prec) and not 0 <= prec <= 1e-3:
        problems.append(f"simplify.precision_deg must be a number in [0, 0.001], not {prec!r}")
    return problems


def _tile_problems(tiles: dict) -> list[str]:
    return [f"tiles.{k} must be a whole number ≥ {low}, not {tiles[k]!r}"
            for k, low in (("above_features", 0), ("above_vertices", 0), ("max_tiles", 64))
            if isinstance(tiles.get(k), int) and not isinstance(tiles[k], bool) and tiles[k] < low]


def load_theme(path: str | os.PathLike | None = None) -> Theme:
    """Load and validate a theme (default ``maps/default.toml``), listing every problem.

    Examples
    --------
    >>> load_theme().verdicts["prohibited"]
    '#d50000'
    """
    path = Path(path) if path is not None else resource_dir("maps") / "default.toml"
    data = read_toml(path, "map theme (TOML)")
    basemaps = _table(data, "basemaps")
    colours = {table: dict(_table(data, table)) for table in _COLOUR_TABLES}
    simplify = _table(data, "simplify")
    tol, prec = simplify.get("tolerance_m", 5.0), simplify.get("precision_deg", 1e-5)
    tiles = _table(data, "tiles")
    problems = (check(data, THEME_SCHEMA) + _basemap_problems(basemaps) + _colour_problems(data, colours)
                + _simplify_problems(tol, prec) + _tile_problems(tiles))
    if problems:
        raise spec_error(path, "map theme", problems)
    return Theme(
        name=str(data.get("name", path.stem)),
        basemaps=basemaps,
        verdicts=colours["verdicts"],
        encroachment=colours["encroachment"],
        boundary=colours["boundary"],
        units=colours["units"],
        tolerance_m=float(tol),
        precision_deg=float(prec),
        cjk_fonts=tuple((data.get("fonts") or {}).get("cjk", ())),
        tile_above_features=int(tiles.get("above_features", Theme.tile_above_features)),
        tile_above_vertices=int(tiles.get("above_vertices", Theme.tile_above_vertices)),
        max_tiles=int(tiles.get("max_tiles", Theme.max_tiles)),
    )
