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

from ..errors import CRSError, FieldError, GeometryError, OutputError
from ..geometry.area import dissolve, ellipsoidal_area
from ..geometry.clean import polygonal, repair
from ..geometry.crs import describe_crs
from ..specs.classes import ClassMap, load_raster_classes
from ..specs.transitions import TRANSITIONS_SCHEMA, Transition, load_transitions
from ..io import write_layer
from ..text import labels, t
from .conflicts import split_by_units
from .landcover import cell_areas, check_classified, class_notes

__all__ = ["Transition", "load_transitions", "TRANSITIONS_SCHEMA", "MonitorResult", "monitor"]


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
        """Display tables (labels in ``lang``): patches per transition, and per unit when units were given."""
        col = labels("monitor.column", lang)
        label = {r.id: r.label(lang) for r in self.rules}
        s = self.summary
        out = {t("monitor.table.human_activity", lang): pd.DataFrame({
            col["transition"]: s["rule"].map(label),
            col["patches"]: s["patches"],
            col["area_ha"]: s["area_m2"] / 1e4,
            col["dropped"]: s["dropped"],
        })}
        if self.by_unit is not None and len(self.by_unit):
            u = self.by_unit
            out[t("monitor.table.by_unit", lang)] = pd.DataFrame({
                col["unit"]: u["unit"],
                col["transition"]: u["rule"].map(label),
                col["patches"]: u["patches"],
                col["area_ha"]: u["area_m2"] / 1e4,
            })
        return out

    def to_file(self, path: str | os.PathLike) -> Path:
        """Write the patches (layer ``patches``) to a GeoPackage, atomically."""
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


def _cell_centres(tr, rr: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates of the centres of cells (rows ``rr``, columns ``cc``) of the grid ``tr``."""
    xs = tr.c + (cc + 0.5) * tr.a + (rr + 0.5) * tr.b
    ys = tr.f + (cc + 0.5) * tr.d + (rr + 0.5) * tr.e
    return np.asarray(xs), np.asarray(ys)


def _coverage_notes(before, after, tr, covered: np.ndarray, area_geom, crs) -> list[str]:
    """A warning when the two rasters' common cells with data cover only part of the protected layer: the
    change outside them is not seen, and "no human activity" there would be a silent wrong answer."""
    rr, cc = np.nonzero(covered)
    layer_m2 = float(ellipsoidal_area([area_geom], crs=crs)[0])
    if not layer_m2:
        return []
    seen = float(cell_areas(before, *_cell_centres(tr, rr, cc)).sum()) if len(rr) else 0.0
    share = min(100.0, 100.0 * seen / layer_m2)
    if share >= 98.0:  # cell centres inside the layer: a few % either way along its edge is the grid, not a gap
        return []
    names = f"{getattr(before, 'name', 'before')} and {getattr(after, 'name', 'after')}"
    return [f"warning: {names} have cells with data on only {share:.1f} % of the protected layer; change in the "
            f"rest is not measured — give rasters that cover the whole layer"]


def _check_inputs(before, after, within: gpd.GeoDataFrame, units, by, transitions, class_map
                  ) -> tuple[tuple[Transition, ...], ClassMap]:
    """Refuse rasters or a protected layer without a CRS, units without their id field and rasters that are not
    classified; the transitions and the class map (the defaults when not given)."""
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
    return rules, class_map


def _small_patches(m2: np.ndarray, min_patch: float, notes: list[str]) -> tuple[np.ndarray, dict]:
    """The patches below ``min_patch`` m² (dropped) and how many and how much they are, with a note."""
    small = m2 < min_patch
    dropped = {"patches": int(small.sum()), "area_m2": float(m2[small].sum())}
    if small.any():
        notes.append(f"{dropped['patches']} patches below {min_patch:g} m² dropped ({dropped['area_m2']:,.0f} m² in all)")
    return small, dropped


def _protected_area(within: gpd.GeoDataFrame, crs):
    """The protected layer in ``crs``, repaired and dissolved into one geometry."""
    area_geom = dissolve(repair(within.to_crs(crs).geometry.values, crs=crs, where="the protected layer",
                                ids=within.index).geoms)
    if area_geom.is_empty:
        raise GeometryError("the protected layer has no area")
    return area_geom


@dataclass
class _Grids:
    """The two rasters read on the before grid's window around the protected layer."""

    transform: object
    before: np.ndarray
    after: np.ndarray
    valid: np.ndarray


def _read_grids(before, after, area_geom, crs, notes: list[str]) -> _Grids:
    """Both rasters on the before grid around the protected layer (the after raster resampled, nearest, when its
    grid differs: with a note); ``valid``: cells with data in both."""
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

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
    return _Grids(tr, b, a, valid)


def _masks(area_geom, grids: _Grids) -> tuple[np.ndarray, np.ndarray]:
    """Cells the protected layer touches, and cells whose centre lies inside it."""
    from rasterio import features

    shape = grids.before.shape
    return tuple(features.rasterize([area_geom], out_shape=shape, transform=grids.transform, all_touched=touched,
                                    fill=0, default_value=1, dtype="uint8").astype(bool) for touched in (True, False))


def _unnamed_classes(before, after, grids: _Grids, inside: np.ndarray, class_map: ClassMap) -> list[str]:
    """A note for each raster whose values inside the layer include classes the class map does not name."""
    notes = []
    for r, grid in ((before, grids.before), (after, grids.after)):
        codes, counts = np.unique(grid[inside], return_counts=True)
        notes += class_notes([_code(c) for c in codes], counts, class_map, getattr(r, "name", "raster"))
    return notes


_SHIFT = np.int64(1) << 32  # a before → after pair of class codes as one integer: before * _SHIFT + after


def _split_pair(p) -> tuple[str, str]:
    return _code(p // _SHIFT), _code(p % _SHIFT)


def _human_patches(grids: _Grids, where: np.ndarray, rules, area_geom):
    """The patches of human activity among the changed cells ``where``: 4-connected cells of one before → after
    pair that a rule matches (the first wins), clipped to the protected layer. Returns the patches, the pair of
    each, and the ``from``/``to`` codes and rule index of each pair."""
    from rasterio import features

    pairs, inverse = np.unique((grids.before * _SHIFT + grids.after)[where], return_inverse=True)
    pair_from, pair_to = zip(*map(_split_pair, pairs)) if len(pairs) else ((), ())
    pair_rule = np.array([next((i for i, rule in enumerate(rules) if rule.matches(f, t_)), -1)
                          for f, t_ in zip(pair_from, pair_to)], dtype=int)
    label = np.zeros(where.shape, dtype=np.int32)
    label[where] = inverse.ravel() + 1
    human = np.zeros(where.shape, dtype=bool)
    human[where] = pair_rule[inverse.ravel()] >= 0
    label[~human] = 0
    geoms, values = [], []
    if human.any():
        for geom, value in features.shapes(label, mask=human, connectivity=4, transform=grids.transform):
            geoms.append(shapely.geometry.shape(geom))
            values.append(int(value) - 1)
    geoms = np.asarray(geoms, dtype=object)
    values = np.asarray(values, dtype=int)
    if len(geoms):
        clipped = polygonal(shapely.intersection(geoms, area_geom))
        keep = ~shapely.is_empty(clipped)
        geoms, values = clipped[keep], values[keep]
    return geoms, values, list(pair_from), list(pair_to), pair_rule


def _patch_table(geoms, values, pair_from, pair_to, rule_ids, m2, keep, names, crs) -> gpd.GeoDataFrame:
    """The kept patches: ``patch, rule, from_code, to_code, from_name, to_name, area_m2, area_ha``."""
    fr = np.array([pair_from[v] for v in values], dtype=object)
    to = np.array([pair_to[v] for v in values], dtype=object)
    return gpd.GeoDataFrame({
        "patch": np.arange(1, int(keep.sum()) + 1),
        "rule": rule_ids[keep], "from_code": fr[keep], "to_code": to[keep],
        "from_name": [names.get(c, "") for c in fr[keep]], "to_name": [names.get(c, "") for c in to[keep]],
        "area_m2": m2[keep], "area_ha": m2[keep] / 1e4,
    }, geometry=gpd.GeoSeries(np.asarray(geoms[keep], dtype=object), crs=crs).values, crs=crs)


def _summary(rules, patches: gpd.GeoDataFrame, rule_ids: np.ndarray, small: np.ndarray, m2: np.ndarray) -> pd.DataFrame:
    """A row per rule: ``rule, name, name_en, patches, area_m2, dropped, dropped_m2``."""
    rows = []
    for rule in rules:
        mine, gone = patches["rule"] == rule.id, (rule_ids == rule.id) & small
        rows.append({"rule": rule.id, "name": rule.label("zh"), "name_en": rule.label("en"), "patches": int(mine.sum()),
                     "area_m2": float(patches.loc[mine, "area_m2"].sum()),
                     "dropped": int(gone.sum()), "dropped_m2": float(m2[gone].sum())})
    return pd.DataFrame(rows)


def _all_transitions(before, grids: _Grids, inside: np.ndarray, rules, names: dict) -> pd.DataFrame:
    """Every class change of the cells ``inside`` (centre inside the layer), by true cell area, largest first."""
    rr, cc = np.nonzero(inside)
    if len(rr):
        cell_m2 = cell_areas(before, *_cell_centres(grids.transform, rr, cc))
        p_in, inv = np.unique((grids.before * _SHIFT + grids.after)[inside], return_inverse=True)
        sums = np.bincount(inv.ravel(), weights=cell_m2)
        trans = pd.DataFrame({"from_code": [_code(p // _SHIFT) for p in p_in],
                              "to_code": [_code(p % _SHIFT) for p in p_in], "area_m2": sums})
    else:
        trans = pd.DataFrame({"from_code": [], "to_code": [], "area_m2": []})
    trans["from_name"] = trans["from_code"].map(lambda c: names.get(c, ""))
    trans["to_name"] = trans["to_code"].map(lambda c: names.get(c, ""))
    trans["human"] = [next((rule.id for rule in rules if rule.matches(f, t_)), "")
                      for f, t_ in zip(trans["from_code"], trans["to_code"])]
    return trans.sort_values("area_m2", ascending=False).reset_index(drop=True)


def _patches_by_unit(patches: gpd.GeoDataFrame, crs, units: gpd.GeoDataFrame, by: str, step: float) -> pd.DataFrame:
    """Patches clipped to the units: ``unit, rule, patches, area_m2``."""
    src, unit, parts = split_by_units(patches.geometry.values, crs, units, by)
    pm2 = ellipsoidal_area(shapely.segmentize(parts, step), crs=crs) if len(parts) else np.array([])
    df = pd.DataFrame({"unit": unit, "rule": patches["rule"].to_numpy()[src], "m2": pm2})
    by_unit = df.groupby(["unit", "rule"], sort=False).agg(patches=("m2", "size"), area_m2=("m2", "sum")).reset_index()
    by_unit["patches"] = by_unit["patches"].astype(int)
    return by_unit


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
    rules, class_map = _check_inputs(before, after, within, units, by, transitions, class_map)
    notes: list[str] = []
    crs = CRS.from_user_input(before.crs)
    area_geom = _protected_area(within, crs)
    grids = _read_grids(before, after, area_geom, crs, notes)
    touched, centred = _masks(area_geom, grids)
    notes += _coverage_notes(before, after, grids.transform, grids.valid & centred, area_geom, crs)
    notes += _unnamed_classes(before, after, grids, grids.valid & centred, class_map)
    changed = grids.valid & (grids.after != grids.before)
    geoms, values, pair_from, pair_to, pair_rule = _human_patches(grids, changed & touched, rules, area_geom)
    step = min(abs(grids.transform.a), abs(grids.transform.e))
    m2 = ellipsoidal_area(shapely.segmentize(geoms, step), crs=crs) if len(geoms) else np.array([])
    small, dropped = _small_patches(m2, min_patch, notes)
    rule_ids = np.array([rules[pair_rule[v]].id for v in values], dtype=object)
    patches = _patch_table(geoms, values, pair_from, pair_to, rule_ids, m2, ~small, class_map.names, crs)
    return MonitorResult(patches=patches, summary=_summary(rules, patches, rule_ids, small, m2),
                         transitions=_all_transitions(before, grids, changed & centred, rules, class_map.names),
                         by_unit=_patches_by_unit(patches, crs, units, by, step) if units is not None else None,
                         dropped=dropped, notes=notes, min_patch=min_patch, rules=rules)
