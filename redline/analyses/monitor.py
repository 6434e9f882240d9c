"""Land-cover change inside a protected layer (生态保护红线区域内人类活动遥感监测).

Two classified rasters (before, after) are compared cell by cell inside the
protected layer. The transitions that mean human activity (to built-up, to bare
ground or quarry, forest to cropland — a TOML file, editable) are vectorised
into patches (``rasterio.features.shapes``, 4-connected cells of the same
before → after transition), clipped exactly to the protected layer and measured
on the CGCS2000 ellipsoid (edges densified to the cell size, so a patch of a
geographic raster measures what its cells do). When the rasters are on
different grids the after raster is resampled (nearest) onto the before grid,
with a note. Patches below ``min_patch`` m² are dropped and counted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .._resources import resource_dir
from ..geometry.area import dissolve, ellipsoidal_area, polygonal, repair
from ..geometry.crs import describe_crs
from ..errors import CRSError, FieldError, GeometryError, OutputError
from ..specs.schema import Key, check, spec_error, unknown_name
from .conflicts import split_by_units
from .indicators import ClassMap
from .landcover import _cell_areas, check_classified, class_notes, load_raster_classes

__all__ = ["Transition", "load_transitions", "MonitorResult", "monitor"]


@dataclass(frozen=True)
class Transition:
    """A land-cover transition that counts as human activity: ``from`` codes (``*`` = any) → ``to`` codes."""

    id: str
    name_zh: str
    name_en: str
    from_codes: tuple[str, ...]
    to_codes: tuple[str, ...]

    def label(self, lang: str = "zh") -> str:
        return self.name_en if lang == "en" else self.name_zh

    def matches(self, before: str, after: str) -> bool:
        return before != after and after in self.to_codes and ("*" in self.from_codes or before in self.from_codes)


def _codes(value) -> tuple[str, ...] | None:
    if value == "*":
        return ("*",)
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, (str, int)) and str(v) for v in value):
        return tuple(str(v) for v in value)
    return None


def _transition_label(i: int, item) -> str:
    tid = item.get("id") if isinstance(item, dict) else None
    return f"[[transition]] {i + 1}" + (f" ({tid})" if isinstance(tid, str) and tid else "")


#: The keys of a transitions TOML (``analyses/classes/human_activity.toml``, ``--transitions``).
TRANSITIONS_SCHEMA = {
    "name": Key("string"),
    "name_en": Key("string"),
    "transition": Key("tables", label=_transition_label, what="[[transition]] tables"),
}
_TRANSITION_SCHEMA = {
    "id": Key("string", required=True, nonempty=True),
    "name_zh": Key("string"),
    "name_en": Key("string"),
    "from": Key("any", required=True, what='"*" or a list of class codes ("10")'),
    "to": Key("any", required=True, what='a list of class codes ("50")'),
}


def load_transitions(path: str | os.PathLike | None = None, classes: ClassMap | None = None) -> tuple[Transition, ...]:
    """Load the transitions that count as human activity (default ``analyses/classes/human_activity.toml``).

    With ``classes`` (the rasters' class map) every code a transition names must be one of its
    classes (when the map names its classes). Raises :class:`CatalogError` listing every problem
    of the file on one line.

    Examples
    --------
    >>> [t.id for t in load_transitions()]
    ['built_up', 'bare_quarry', 'forest_to_cropland']
    """
    from ..io import read_toml

    path = Path(path) if path is not None else resource_dir("analyses") / "classes" / "human_activity.toml"
    data = read_toml(path, "transitions TOML")
    items = data.get("transition")
    if items is None or items == []:
        raise spec_error(path, "transitions file", ["no [[transition]] tables"])
    problems = check(data, TRANSITIONS_SCHEMA)
    out, seen = [], set()
    known = list(classes.names) if classes is not None and classes.names else None
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue  # the schema said so
        where = _transition_label(i, item) + ": "
        found = check(item, _TRANSITION_SCHEMA, where)
        tid = item.get("id")
        if isinstance(tid, str) and tid in seen:
            found.append(f"{where}duplicate id {tid!r}")
        if isinstance(tid, str):
            seen.add(tid)
        src, dst = _codes(item.get("from")), _codes(item.get("to"))
        if "from" in item and src is None:
            found.append(f"{where}'from' must be \"*\" or a list of class codes (\"10\"), not {item['from']!r}")
        if "to" in item and (dst is None or dst == ("*",)):
            found.append(f"{where}'to' must be a list of class codes (\"50\"), not {item['to']!r}")
        for key, codes in (("from", src), ("to", dst)):
            for code in [c for c in codes or () if c != "*" and known is not None and c not in known]:
                found.append(f"{where}{key}: " + unknown_name("class code", code, known, f"classes of {classes.name}"))
        problems += found
        if not found:
            out.append(Transition(tid, str(item.get("name_zh", tid)), str(item.get("name_en", item.get("name_zh", tid))),
                                  src, dst))
    if problems:
        raise spec_error(path, "transitions file", problems)
    return tuple(out)


@dataclass
class MonitorResult:
    """Human-activity patches inside a protected layer, with a summary per transition and per unit."""

    patches: gpd.GeoDataFrame
    summary: pd.DataFrame
    transitions: pd.DataFrame
    by_unit: pd.DataFrame | None = None
    dropped: dict = field(default_factory=lambda: {"patches": 0, "area_m2": 0.0})
    notes: list[str] = field(default_factory=list)
    min_patch: float = 0.0
    rules: tuple[Transition, ...] = ()

    def to_json(self) -> dict:
        """``patches`` (no geometry), ``summary`` per transition, ``units``, ``transitions`` (all class changes),
        ``dropped`` (patches below ``min_patch``), ``min_patch_m2``, ``notes``."""
        def records(df):
            return [{k: _plain(v) for k, v in r.items()} for r in df.to_dict(orient="records")]

        return {
            "patches": records(pd.DataFrame(self.patches.drop(columns=self.patches.geometry.name))),
            "summary": records(self.summary),
            "units": None if self.by_unit is None else records(self.by_unit),
            "transitions": records(self.transitions),
            "dropped": {k: _plain(v) for k, v in self.dropped.items()},
            "min_patch_m2": self.min_patch,
            "total_m2": float(self.summary["area_m2"].sum()) if len(self.summary) else 0.0,
            "notes": list(self.notes),
        }

    def tables(self, lang: str = "zh") -> dict[str, pd.DataFrame]:
        zh = lang == "zh"
        label = {t.id: t.label(lang) for t in self.rules}
        s = self.summary
        out = {("人类活动图斑" if zh else "human activity"): pd.DataFrame({
            ("变化类型" if zh else "transition"): s["rule"].map(label),
            ("图斑数" if zh else "patches"): s["patches"],
            ("面积(公顷)" if zh else "area (ha)"): s["area_m2"] / 1e4,
            ("剔除小图斑" if zh else "dropped"): s["dropped"],
        })}
        if self.by_unit is not None and len(self.by_unit):
            u = self.by_unit
            out["分单位" if zh else "by unit"] = pd.DataFrame({
                ("单位" if zh else "unit"): u["unit"],
                ("变化类型" if zh else "transition"): u["rule"].map(label),
                ("图斑数" if zh else "patches"): u["patches"],
                ("面积(公顷)" if zh else "area (ha)"): u["area_m2"] / 1e4,
            })
        return out

    def to_file(self, path: str | os.PathLike) -> Path:
        """Write the patches (layer ``patches``) to a GeoPackage, atomically."""
        from ..io import write_layer

        path = Path(path)
        if path.suffix.lower() != ".gpkg":
            raise OutputError(f"{path}: the monitor output is a GeoPackage; use .gpkg")
        return write_layer(self.patches, path, layer="patches")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def _code(v) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else str(f)


def _window(raster, geom_bounds):
    from rasterio.windows import Window, from_bounds

    full = Window(0, 0, raster.width, raster.height)
    win = from_bounds(*geom_bounds, transform=raster.transform)
    win = win.round_offsets(op="floor").round_lengths(op="ceil")
    win = Window(win.col_off - 1, win.row_off - 1, win.width + 2, win.height + 2)
    try:
        return win.intersection(full)
    except Exception:  # rasterio raises WindowError when they don't meet
        return None


def _coverage_notes(before, after, tr, covered: np.ndarray, area_geom, crs) -> list[str]:
    """A warning when the two rasters' common cells with data cover only part of the protected layer: the
    change outside them is not seen, and "no human activity" there would be a silent wrong answer."""
    rr, cc = np.nonzero(covered)
    layer_m2 = float(ellipsoidal_area([area_geom], crs=crs)[0])
    if not layer_m2:
        return []
    xs = tr.c + (cc + 0.5) * tr.a + (rr + 0.5) * tr.b
    ys = tr.f + (cc + 0.5) * tr.d + (rr + 0.5) * tr.e
    seen = float(_cell_areas(before, np.asarray(xs), np.asarray(ys)).sum()) if len(rr) else 0.0
    share = min(100.0, 100.0 * seen / layer_m2)
    if share >= 98.0:  # cell centres inside the layer: a few % either way along its edge is the grid, not a gap
        return []
    names = f"{getattr(before, 'name', 'before')} and {getattr(after, 'name', 'after')}"
    return [f"warning: {names} have cells with data on only {share:.1f} % of the protected layer; change in the "
            f"rest is not measured — give rasters that cover the whole layer"]


def monitor(
    before,
    after,
    within: gpd.GeoDataFrame,
    *,
    transitions: Sequence[Transition] | None = None,
    class_map: ClassMap | None = None,
    units: gpd.GeoDataFrame | None = None,
    by: str | None = None,
    min_patch: float = 0.0,
) -> MonitorResult:
    """Human-activity patches inside ``within`` between two classified rasters.

    Parameters
    ----------
    before, after : rasterio datasets
        Classified rasters (band 1) with a CRS (:func:`redline.io.open_raster`). ``after`` is
        resampled (nearest) onto the grid of ``before`` when the grids differ.
    within : GeoDataFrame
        The protected layer (e.g. the red line), any CRS; dissolved.
    transitions : sequence of Transition, optional
        What counts as human activity (default :func:`load_transitions`).
    class_map : ClassMap, optional
        Class names (default ESA WorldCover).
    units, by : GeoDataFrame and field, optional
        Per-unit rows (patches clipped to units; the rest under ``(未归属单位)``).
    min_patch : float
        Patches smaller than this (m², ellipsoidal, after clipping) are dropped and counted.

    Returns
    -------
    MonitorResult
        ``patches`` (GeoDataFrame in the before raster's CRS: ``patch, rule, from_code, to_code, from_name,
        to_name, area_m2, area_ha``), ``summary`` (``rule, patches, area_m2, dropped, dropped_m2``),
        ``transitions`` (every class change inside the layer, cell centres inside, ``from_code, to_code,
        area_m2, human``), ``by_unit``, ``dropped`` and ``notes``.

    Examples
    --------
    >>> result = monitor(rasterio.open("lc2020.tif"), rasterio.open("lc2024.tif"), redline_gdf)  # doctest: +SKIP
    """
    from rasterio import features
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    for r, which in ((before, "before"), (after, "after")):
        if r.crs is None:
            raise CRSError(f"{getattr(r, 'name', which)}: the {which} raster has no CRS")
    if within.crs is None:
        raise CRSError("the protected layer has no CRS")
    if units is not None and by is None:
        raise FieldError("units given without the unit id field (by=)")
    rules = tuple(transitions) if transitions is not None else load_transitions()
    class_map = class_map or load_raster_classes()
    check_classified(before)
    check_classified(after)
    notes: list[str] = []
    crs = CRS.from_user_input(before.crs)
    area_geom = dissolve(repair(within.to_crs(crs).geometry.values, crs=crs, where="the protected layer",
                                ids=within.index).geoms)
    if area_geom.is_empty:
        raise GeometryError("the protected layer has no area")
    win = _window(before, area_geom.bounds)
    if win is None or win.width <= 0 or win.height <= 0:
        raise GeometryError(f"{getattr(before, 'name', 'before raster')}: does not overlap the protected layer")
    tr = before.window_transform(win)
    b = before.read(1, window=win)
    shape = b.shape
    same_grid = (CRS.from_user_input(after.crs).equals(crs) and after.transform == before.transform
                 and (after.width, after.height) == (before.width, before.height))
    if same_grid:
        a = after.read(1, window=win).astype(np.int64)
        a_valid = a != after.nodata if after.nodata is not None else np.ones(shape, bool)
    else:
        a = np.full(shape, -1, dtype=np.int64)
        src = after.read(1).astype(np.int64)
        reproject(src, a, src_transform=after.transform, src_crs=after.crs, src_nodata=after.nodata,
                  dst_transform=tr, dst_crs=crs, dst_nodata=-1, resampling=Resampling.nearest)
        a_valid = a != -1
        notes.append(f"{getattr(after, 'name', 'after raster')} is on another grid "
                     f"({describe_crs(after.crs)}, {abs(after.transform.a):g} × {abs(after.transform.e):g}) than "
                     f"{getattr(before, 'name', 'before raster')} ({describe_crs(crs)}, {abs(tr.a):g} × {abs(tr.e):g}): "
                     "resampled onto the before grid (nearest)")
    b = b.astype(np.int64)
    valid = a_valid & ((b != before.nodata) if before.nodata is not None else True)
    if not valid.any():
        notes.append("the rasters have no valid cells in common inside the protected layer")
    touched = features.rasterize([area_geom], out_shape=shape, transform=tr, all_touched=True, fill=0,
                                 default_value=1, dtype="uint8").astype(bool)
    centred = features.rasterize([area_geom], out_shape=shape, transform=tr, all_touched=False, fill=0,
                                 default_value=1, dtype="uint8").astype(bool)
    notes += _coverage_notes(before, after, tr, valid & centred, area_geom, crs)
    both = valid & centred
    for r, grid in ((before, b), (after, a)):
        codes, counts = np.unique(grid[both], return_counts=True)
        notes += class_notes([_code(c) for c in codes], counts, class_map, getattr(r, "name", "raster"))
    changed = valid & (a != b)
    # every before → after pair among changed cells; the rule each pair matches (first wins)
    shift = np.int64(1) << 32
    pair = b * shift + a
    pairs, inverse = np.unique(pair[changed & touched], return_inverse=True)
    pair_from = [_code(p // shift) for p in pairs]
    pair_to = [_code(p % shift) for p in pairs]
    pair_rule = np.array([next((i for i, t in enumerate(rules) if t.matches(f, t_)), -1)
                          for f, t_ in zip(pair_from, pair_to)], dtype=int)
    label = np.zeros(shape, dtype=np.int32)
    label[changed & touched] = inverse.ravel() + 1
    human = np.zeros(shape, dtype=bool)
    human[changed & touched] = pair_rule[inverse.ravel()] >= 0
    label[~human] = 0
    geoms, values = [], []
    if human.any():
        for geom, value in features.shapes(label, mask=human, connectivity=4, transform=tr):
            geoms.append(shapely.geometry.shape(geom))
            values.append(int(value) - 1)
    geoms = np.asarray(geoms, dtype=object)
    values = np.asarray(values, dtype=int)
    if len(geoms):
        clipped = polygonal(shapely.intersection(geoms, area_geom))
        keep = ~shapely.is_empty(clipped)
        geoms, values = clipped[keep], values[keep]
    step = min(abs(tr.a), abs(tr.e))
    m2 = ellipsoidal_area(shapely.segmentize(geoms, step), crs=crs) if len(geoms) else np.array([])
    small = m2 < min_patch
    rule_ids = np.array([rules[pair_rule[v]].id for v in values], dtype=object)
    dropped = {"patches": int(small.sum()), "area_m2": float(m2[small].sum())}
    if small.any():
        notes.append(f"{int(small.sum())} patches below {min_patch:g} m² dropped ({float(m2[small].sum()):,.0f} m² in all)")
    names = class_map.names
    fr = np.array([pair_from[v] for v in values], dtype=object)
    to = np.array([pair_to[v] for v in values], dtype=object)
    keep = ~small
    patches = gpd.GeoDataFrame({
        "patch": np.arange(1, int(keep.sum()) + 1),
        "rule": rule_ids[keep], "from_code": fr[keep], "to_code": to[keep],
        "from_name": [names.get(c, "") for c in fr[keep]], "to_name": [names.get(c, "") for c in to[keep]],
        "area_m2": m2[keep], "area_ha": m2[keep] / 1e4,
    }, geometry=gpd.GeoSeries(np.asarray(geoms[keep], dtype=object), crs=crs).values, crs=crs)
    rows = []
    for t in rules:
        mine, gone = patches["rule"] == t.id, (rule_ids == t.id) & small
        rows.append({"rule": t.id, "name": t.label("zh"), "name_en": t.label("en"), "patches": int(mine.sum()),
                     "area_m2": float(patches.loc[mine, "area_m2"].sum()),
                     "dropped": int(gone.sum()), "dropped_m2": float(m2[gone].sum())})
    summary = pd.DataFrame(rows)
    # every class change inside the layer (cells whose centre is inside), by true cell area
    inside = changed & centred
    rr, cc = np.nonzero(inside)
    if len(rr):
        xs = tr.c + (cc + 0.5) * tr.a + (rr + 0.5) * tr.b
        ys = tr.f + (cc + 0.5) * tr.d + (rr + 0.5) * tr.e
        cell_m2 = _cell_areas(before, np.asarray(xs), np.asarray(ys))
        p_in, inv = np.unique(pair[inside], return_inverse=True)
        sums = np.bincount(inv.ravel(), weights=cell_m2)
        trans = pd.DataFrame({"from_code": [_code(p // shift) for p in p_in], "to_code": [_code(p % shift) for p in p_in],
                              "area_m2": sums})
    else:
        trans = pd.DataFrame({"from_code": [], "to_code": [], "area_m2": []})
    trans["from_name"] = trans["from_code"].map(lambda c: names.get(c, ""))
    trans["to_name"] = trans["to_code"].map(lambda c: names.get(c, ""))
    trans["human"] = [next((t.id for t in rules if t.matches(f, t_)), "") for f, t_ in zip(trans["from_code"], trans["to_code"])]
    trans = trans.sort_values("area_m2", ascending=False).reset_index(drop=True)
    by_unit = None
    if units is not None:
        src, unit, parts = split_by_units(patches.geometry.values, crs, units, by)
        pm2 = ellipsoidal_area(shapely.segmentize(parts, step), crs=crs) if len(parts) else np.array([])
        df = pd.DataFrame({"unit": unit, "rule": patches["rule"].to_numpy()[src], "m2": pm2})
        by_unit = df.groupby(["unit", "rule"], sort=False).agg(patches=("m2", "size"), area_m2=("m2", "sum")).reset_index()
        by_unit["patches"] = by_unit["patches"].astype(int)
    return MonitorResult(patches=patches, summary=summary, transitions=trans, by_unit=by_unit, dropped=dropped,
                         notes=notes, min_patch=min_patch, rules=rules)
