"""Map themes (``maps/*.toml``): basemaps, verdict colours, simplification and fonts."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .._resources import resource_dir
from ..errors import CatalogError
from ..io import read_toml

__all__ = ["Theme", "load_theme", "GCJ02_HOSTS"]

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: Tile hosts that serve GCJ-02 ("Mars") coordinates, shifted 300–600 m from CGCS2000.
GCJ02_HOSTS = ("autonavi.com", "amap.com", "gtimg.com", "map.qq.com", "tencent", "gaode")


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


def load_theme(path: str | os.PathLike | None = None) -> Theme:
    """Load and validate a theme (default ``maps/default.toml``), listing every problem.

    Examples
    --------
    >>> load_theme().verdicts["prohibited"]
    '#d50000'
    """
    path = Path(path) if path is not None else resource_dir("maps") / "default.toml"
    data = read_toml(path, "map theme (TOML)")
    problems = []
    basemaps = data.get("basemaps", {})
    for key, bm in basemaps.items():
        if not isinstance(bm, dict) or not isinstance(bm.get("tiles"), str):
            problems.append(f"{path}: basemaps.{key} needs a 'tiles' URL template")
        elif bm.get("crs", "WGS84").upper() not in ("WGS84", "CGCS2000", "GCJ02"):
            problems.append(f"{path}: basemaps.{key}.crs must be WGS84, CGCS2000 or GCJ02")
    colours = {}
    for table in ("verdicts", "encroachment", "boundary", "units"):
        values = data.get(table, {})
        for k, v in values.items():
            if not (isinstance(v, str) and _COLOUR.match(v)):
                problems.append(f"{path}: {table}.{k} {v!r} is not a #rrggbb colour")
        colours[table] = dict(values)
    for verdict in ("prohibited", "conditional", "restricted", "clear"):
        if verdict not in colours["verdicts"]:
            problems.append(f"{path}: verdicts.{verdict} colour is missing")
    simplify = data.get("simplify", {})
    tol, prec = simplify.get("tolerance_m", 5.0), simplify.get("precision_deg", 1e-5)
    if not isinstance(tol, (int, float)) or tol < 0:
        problems.append(f"{path}: simplify.tolerance_m must be a number ≥ 0")
    if not isinstance(prec, (int, float)) or not 0 <= prec <= 1e-3:
        problems.append(f"{path}: simplify.precision_deg must be a number in [0, 0.001]")
    if problems:
        raise CatalogError("invalid map theme:\n" + "\n".join(problems))
    return Theme(
        name=str(data.get("name", path.stem)),
        basemaps=basemaps,
        verdicts=colours["verdicts"],
        encroachment=colours["encroachment"],
        boundary=colours["boundary"],
        units=colours["units"],
        tolerance_m=float(tol),
        precision_deg=float(prec),
        cjk_fonts=tuple(data.get("fonts", {}).get("cjk", ())),
    )
