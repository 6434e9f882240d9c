"""Three-line conflicts (三条控制线不交叉不重叠): every overlap between pairs of control-line layers.

Each layer is first dissolved into mutually non-overlapping parts (only
features that overlap *within* a layer are unioned, cluster by cluster, so they
count once); the parts of two layers that meet are intersected on all cores —
such pieces cannot overlap each other — and only pieces that touch are unioned
into connected conflict pieces. A piece is a **sliver** — digitising noise, not a planning
conflict — when its ellipsoidal area is below ``min_area`` (m²) or when it is
thinner than ``min_width`` (m: an inward buffer by half the width, in a local
Gauss-Krüger metric CRS, leaves nothing). Areas are ellipsoidal (CGCS2000).
Functions take GeoDataFrames and return DataFrames/GeoDataFrames.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CRSError, FieldError, GeometryError
from ..geometry._parallel import query, threaded
from ..geometry.area import dissolve, ellipsoidal_area
from ..geometry.clean import polygonal, repair, require_usable
from ..geometry.crs import reproject_to, working_crs
from ..geometry.overlay import dissolve_parts, union_clusters
from ..specs.catalog import load_catalog
from ..io import write_layers
from ..text import labels, t
from .indicators import UNASSIGNED

__all__ = [
    "DEFAULT_PAIRS",
    "MIN_AREA_M2",
    "MIN_WIDTH_M",
    "ConflictResult",
    "assemble",
    "clean_features",
    "conflicts",
    "measure_pieces",
    "overlap_pieces",
    "resolve_pairs",
    "split_by_units",
]

#: The pairs checked by default: the three control lines against each other.
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("eco_redline", "basic_farmland"),
    ("eco_redline", "urban_boundary"),
    ("basic_farmland", "urban_boundary"),
)
#: Default sliver tolerances: pieces below 1 m², or thinner than 2 m (edges of two layers digitised
#: from different base maps disagree by about a metre each way), are digitising noise.
MIN_AREA_M2 = 1.0
MIN_WIDTH_M = 2.0


def clean_features(gdf: gpd.GeoDataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Valid polygonal geometries of a layer and the ids (index) of the features they come from (empty ones
    dropped); :class:`~redline.errors.CRSError` for a layer without a CRS. The Dask engine cleans its reads so."""
    if gdf.crs is None:
        raise CRSError(f"layer {name}: no CRS; set one on the GeoDataFrame")
    geoms = repair(np.asarray(gdf.geometry.values, dtype=object), crs=gdf.crs, where=f"layer {name}",
                   ids=gdf.index).geoms
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return geoms[keep], np.asarray(gdf.index)[keep]


def split_by_units(geoms: np.ndarray, crs, units: gpd.GeoDataFrame, by: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip each geometry to each unit it meets (STRtree + vectorised intersection).

    The part of a geometry that no unit covers goes to the unit :data:`~redline.analyses.indicators.UNASSIGNED`,
    so the pieces of a geometry add up to it (where units don't overlap).

    Returns
    -------
    ``(source index, unit id, clipped geometry)``, three aligned arrays.

    Examples
    --------
    >>> from shapely import box
    >>> towns = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=4545)
    >>> src, unit, parts = split_by_units(np.array([box(0.5, 0, 2, 1)]), 4545, towns, "id")
    >>> list(unit), [p.area for p in parts]
    (['a', '(未归属单位)'], [0.5, 1.0])
    """
    if by not in units.columns:
        cols = ", ".join(map(str, units.columns.drop(units.geometry.name)))
        raise FieldError(f"no field {by!r} in the units layer; fields: {cols}")
    ugeoms = repair(units.to_crs(crs).geometry.values, crs=crs, where="units layer", ids=units.index).geoms
    ids = units[by].astype(str).to_numpy()
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return np.array([], dtype=int), np.array([], dtype=object), np.array([], dtype=object)
    tree = shapely.STRtree(ugeoms)
    gi, ui = tree.query(geoms, predicate="intersects")
    inside = polygonal(shapely.intersection(geoms[gi], ugeoms[ui]))
    rest = polygonal(shapely.difference(geoms, dissolve(ugeoms)))
    src = np.concatenate([gi, np.arange(len(geoms))])
    unit = np.concatenate([ids[ui], np.full(len(geoms), UNASSIGNED, dtype=object)])
    parts = np.concatenate([inside, rest])
    keep = ~shapely.is_empty(parts)
    order = np.argsort(src[keep], kind="stable")
    return src[keep][order], unit[keep][order].astype(object), parts[keep][order]


def overlap_pieces(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """The connected pieces of the overlap of two dissolved layers (parts that overlap nothing else in their own
    layer, :func:`redline.geometry.overlay.dissolve_parts`).

    Part × part intersections cannot overlap each other, so nothing is unioned but the pieces that touch (one
    conflict spanning several parcels), cluster by cluster. A part lying wholly inside the other layer's part is
    its own piece. The Dask engine finds the pieces of each of its cells so.
    """
    if not len(pa) or not len(pb):
        return np.array([], dtype=object)
    shapely.prepare(pa)
    ia, ib = query(shapely.STRtree(pb), pa, "intersects")
    inside = threaded(shapely.contains_properly, pa[ia], pb[ib], align=ia)  # pa is prepared
    pieces = pb[ib].copy()
    pieces[~inside] = polygonal(threaded(shapely.intersection, pa[ia[~inside]], pb[ib[~inside]], chunk=5_000))
    pieces = shapely.get_parts(pieces)
    pieces = pieces[~shapely.is_empty(pieces)]
    if len(pieces) < 2:
        return pieces
    i, j = shapely.STRtree(pieces).query(pieces, predicate="intersects")
    keep = i < j
    alone, merged = union_clusters(pieces, i[keep], j[keep])
    merged = np.concatenate([pieces[alone], merged])
    out = shapely.get_parts(polygonal(merged))
    return out[~shapely.is_empty(out)]


def _clip_to(pieces: np.ndarray, district, crs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pieces clipped to the district: ``(parts, the piece each part comes from, m² of each piece left
    outside the district)``; a piece the boundary cuts may fall into several parts."""
    shapely.prepare(district)
    within = shapely.contains_properly(district, pieces)
    cross = np.flatnonzero(~within)
    outside = np.zeros(len(pieces))
    outside[cross] = ellipsoidal_area(polygonal(shapely.difference(pieces[cross], district)), crs=crs)
    clipped, at = shapely.get_parts(polygonal(shapely.intersection(pieces[cross], district)), return_index=True)
    parts = np.concatenate([pieces[within], clipped])
    parent = np.concatenate([np.flatnonzero(within), cross[at]])
    keep = ~shapely.is_empty(parts)
    return parts[keep], parent[keep], outside


def _thin(geoms_metric: np.ndarray, min_width: float) -> np.ndarray:
    if min_width <= 0 or not len(geoms_metric):
        return np.zeros(len(geoms_metric), dtype=bool)
    return shapely.is_empty(threaded(lambda g: shapely.buffer(g, -min_width / 2.0, quad_segs=2), geoms_metric,
                                     chunk=5_000))


def _feature_ids(pieces: np.ndarray, geoms: np.ndarray, ids: np.ndarray, metric_area: np.ndarray) -> list[str]:
    """The ids of the features of one layer that each piece lies on (overlap of positive area), in the layer's
    order."""
    pi, fi = query(shapely.STRtree(geoms), pieces, "intersects")
    order = np.lexsort((fi, pi))
    pi, fi = pi[order], fi[order]
    # a piece lying within a feature, or a feature within a piece, shares area without an intersection
    real = threaded(shapely.covers, geoms[fi], pieces[pi])
    rest = np.flatnonzero(~real)
    real[rest] = threaded(shapely.covers, pieces[pi[rest]], geoms[fi[rest]])
    rest = rest[~real[rest]]
    shared = shapely.area(threaded(shapely.intersection, pieces[pi[rest]], geoms[fi[rest]], chunk=5_000))
    real[rest] = shared > 1e-9 * np.maximum(metric_area[pi[rest]], 1e-30)
    out: list[list[str]] = [[] for _ in range(len(pieces))]
    for p, f in zip(pi[real].tolist(), fi[real].tolist()):
        out[p].append(str(ids[f]))
    return ["、".join(v) for v in out]


def measure_pieces(pieces: np.ndarray, crs, metric, *, district=None, min_width: float = MIN_WIDTH_M,
                   a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[pd.DataFrame, np.ndarray]:
    """Measure connected overlap pieces (in ``crs``): clipped to ``district`` (a polygon in ``crs``) when given,
    ellipsoidal areas, whether each part is thinner than ``min_width`` (in the metric CRS), and the ids of the
    features of each layer under it (``a``, ``b``: the layers' geometries in the metric CRS and their ids).

    Returns a frame with a row per part (``parent`` — the piece it comes from —, ``geometry``, ``area_m2``,
    ``thin``, ``a_ids``, ``b_ids``) and the m² of each piece left outside the district. The engines share it:
    one machine measures all pieces at once, a Dask task those it owns.
    """
    parent = np.arange(len(pieces))
    outside = np.zeros(len(pieces))
    parts = pieces
    if district is not None and len(pieces):
        parts, parent, outside = _clip_to(pieces, district, crs)
    m2 = ellipsoidal_area(parts, crs=crs)
    metric_parts = reproject_to(gpd.GeoSeries(parts, crs=crs), metric).values if len(parts) else parts
    metric_area = shapely.area(metric_parts) if len(parts) else np.array([])
    frame = pd.DataFrame({
        "parent": parent, "geometry": np.asarray(parts, dtype=object), "area_m2": m2,
        "thin": _thin(metric_parts, min_width),
        "a_ids": _feature_ids(metric_parts, *a, metric_area) if len(parts) else [],
        "b_ids": _feature_ids(metric_parts, *b, metric_area) if len(parts) else [],
    })
    return frame, outside


@dataclass
class ConflictResult:
    """Overlaps of pairs of layers: the pieces, a row per pair, per-unit rows, and notes."""

    pieces: gpd.GeoDataFrame
    pairs: pd.DataFrame
    by_unit: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    min_area: float = MIN_AREA_M2
    min_width: float = MIN_WIDTH_M

    def to_json(self) -> dict:
        """``pairs`` (``a, b, overlap_m2, pieces, slivers, sliver_m2``), ``units`` (or None), tolerances and notes."""
        units = None
        if self.by_unit is not None:
            units = self.by_unit.to_dict(orient="records")
        return {
            "pairs": [{k: _plain(v) for k, v in r.items()} for r in self.pairs.to_dict(orient="records")],
            "units": units,
            "min_area_m2": self.min_area,
            "min_width_m": self.min_width,
            "notes": list(self.notes),
        }

    def tables(self, lang: str = "zh", catalog=None) -> dict[str, pd.DataFrame]:
        """Display tables: per pair, and per unit when units were given (labels in ``lang``)."""
        label = _kind_labeller(lang, catalog)
        col = labels("conflicts.column", lang)
        pairs = pd.DataFrame({
            col["layer_a"]: self.pairs["a"].map(label),
            col["layer_b"]: self.pairs["b"].map(label),
            col["conflict_ha"]: self.pairs["overlap_m2"] / 1e4,
            col["pieces"]: self.pairs["pieces"],
            col["slivers"]: self.pairs["slivers"],
            col["sliver_m2"]: self.pairs["sliver_m2"],
        })
        out = {t("conflicts.table.conflicts", lang): pairs}
        if self.by_unit is not None:
            u = self.by_unit
            out[t("conflicts.table.by_unit", lang)] = pd.DataFrame({
                col["unit"]: u["unit"],
                col["layer_a"]: u["a"].map(label),
                col["layer_b"]: u["b"].map(label),
                col["conflict_ha"]: u["overlap_m2"] / 1e4,
                col["pieces"]: u["pieces"],
                col["sliver_m2"]: u["sliver_m2"],
            })
        return out

    def to_file(self, path: str | os.PathLike) -> Path:
        """Write the layers ``conflicts`` (real conflicts) and ``slivers`` to one GeoPackage, atomically."""
        layers = {"conflicts": self.pieces[~self.pieces["sliver"]], "slivers": self.pieces[self.pieces["sliver"]]}
        return write_layers(layers, path, "conflicts output")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _kind_labeller(lang: str, catalog=None):
    """``kind -> its name in lang`` (from the layer catalog; a kind it doesn't know as it is)."""
    if catalog is None:
        catalog = load_catalog()
    return lambda kind: catalog[kind].label(lang) if kind in catalog else kind


_PIECE_COLUMNS = ["a", "b", "piece", "area_m2", "area_ha", "width_ok", "sliver", "reason", "a_ids", "b_ids"]


def conflicts(
    layers: Mapping[str, gpd.GeoDataFrame],
    pairs: Sequence[tuple[str, str]] | None = None,
    *,
    boundary: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    by: str | None = None,
    min_area: float = MIN_AREA_M2,
    min_width: float = MIN_WIDTH_M,
) -> ConflictResult:
    """Every overlap between pairs of layers, with ellipsoidal areas, slivers apart, per unit.

    Parameters
    ----------
    layers : mapping of kind -> GeoDataFrame
        Polygon layers in any CRS (each reprojected to a common one: the boundary's, else the first layer's).
    pairs : sequence of (kind, kind), optional
        Default: the pairs of :data:`DEFAULT_PAIRS` whose layers are both given, else every pair of the layers.
    boundary : GeoDataFrame, optional
        Conflicts are clipped to it (spill-over is reported in ``notes``).
    units, by : GeoDataFrame and field, optional
        Per-unit rows (pieces clipped to each unit; the rest under ``(未归属单位)``).
    min_area : float
        Pieces below this ellipsoidal area (m²) are slivers.
    min_width : float
        Pieces thinner than this (m) are slivers: ``buffer(-min_width / 2)`` in a local metric CRS is empty.

    Returns
    -------
    ConflictResult
        ``pieces`` (GeoDataFrame: ``a, b, piece, area_m2, area_ha, width_ok, sliver, reason, a_ids, b_ids``;
        numbered largest first within each pair; ``a_ids``/``b_ids`` are the features' ids joined by 、),
        ``pairs`` (``a, b, overlap_m2, pieces, slivers, sliver_m2, total_m2``: ``overlap_m2`` counts real
        conflicts only, ``overlap_m2 + sliver_m2 = total_m2``), ``by_unit`` and ``notes``.

    Examples
    --------
    >>> from shapely import box
    >>> red = gpd.GeoDataFrame(geometry=[box(108.0, 29.0, 108.01, 29.01)], crs=4490)
    >>> farm = gpd.GeoDataFrame(geometry=[box(108.005, 29.0, 108.02, 29.01)], crs=4490)
    >>> r = conflicts({"eco_redline": red, "basic_farmland": farm})
    >>> r.pairs[["a", "b", "pieces", "slivers"]].values.tolist()
    [['eco_redline', 'basic_farmland', 1, 0]]
    """
    pairs = resolve_pairs(list(layers), pairs)
    if units is not None and by is None:
        raise FieldError("units given without the unit id field (by=)")
    first = layers[pairs[0][0]]
    crs = boundary.crs if boundary is not None else first.crs
    if crs is None:
        raise CRSError("the layers have no CRS")
    if boundary is not None:
        require_usable(boundary.geometry.values, boundary.crs, where="boundary", ids=boundary.index)
    geoms, ids = _clean_layers(layers, {k for p in pairs for k in p}, crs)
    metric = working_crs(boundary if boundary is not None else first)
    district = dissolve(boundary.to_crs(crs).geometry.values) if boundary is not None else None
    measured = _measure_pairs(pairs, geoms, ids, crs, metric, district, min_width)
    return assemble(measured, pairs, crs, units=units, by=by, min_area=min_area, min_width=min_width)


def _measure_pairs(pairs, geoms: dict, ids: dict, crs, metric, district, min_width: float) -> dict:
    """Each pair's overlap pieces measured (:func:`measure_pieces`) and the m² of overlap outside the district:
    ``{(a, b): (frame, outside_m2)}``."""
    dissolved = {k: dissolve_parts(g, crs) for k, g in geoms.items()}
    metric_geoms: dict[str, np.ndarray] = {}

    def in_metric(kind: str) -> np.ndarray:  # each layer reprojected once, whatever the pairs it is in
        if kind not in metric_geoms:
            metric_geoms[kind] = reproject_to(gpd.GeoSeries(geoms[kind], crs=crs), metric).values
        return metric_geoms[kind]

    measured = {}
    for a, b in pairs:
        pieces = overlap_pieces(dissolved[a].parts, dissolved[b].parts)
        frame, outside = measure_pieces(pieces, crs, metric, district=district, min_width=min_width,
                                        a=(in_metric(a), ids[a]), b=(in_metric(b), ids[b]))
        measured[(a, b)] = (frame, float(outside.sum()))
    return measured


def _clean_layers(layers: Mapping[str, gpd.GeoDataFrame], kinds, crs) -> tuple[dict, dict]:
    """The layers ``kinds``, each checked for usable coordinates in its own CRS, then in ``crs`` and repaired
    (:func:`clean_features`): ``({kind: geometries}, {kind: feature ids})``."""
    geoms, ids = {}, {}
    for k in kinds:
        if layers[k].crs is not None:  # in the layer's own CRS, before reprojection turns a 1e300 into inf
            require_usable(layers[k].geometry.values, layers[k].crs, where=f"layer {k}", ids=layers[k].index)
        geoms[k], ids[k] = clean_features(reproject_to(layers[k], crs) if layers[k].crs is not None else layers[k], k)
    return geoms, ids


def resolve_pairs(kinds: Sequence[str], pairs: Sequence[tuple[str, str]] | None) -> list[tuple[str, str]]:
    """The pairs to check among the layers ``kinds``: those given (each layer must be there), else the pairs of
    :data:`DEFAULT_PAIRS` whose layers are both given, else every pair."""
    if not kinds:
        raise GeometryError("no layers given: conflicts need at least two")
    if pairs is None:
        pairs = [p for p in DEFAULT_PAIRS if p[0] in kinds and p[1] in kinds]
        if not pairs:
            pairs = [(kinds[i], kinds[j]) for i in range(len(kinds)) for j in range(i + 1, len(kinds))]
    if not pairs:
        raise GeometryError(f"no pair of layers to compare (given: {', '.join(kinds)}); give at least two layers")
    for a, b in pairs:
        for k in (a, b):
            if k not in kinds:
                raise FieldError(f"pair {a}×{b}: no layer {k!r} given (layers: {', '.join(kinds)})")
    return [tuple(p) for p in pairs]


def assemble(measured: Mapping[tuple[str, str], tuple[pd.DataFrame, float]], pairs, crs, *,
             units: gpd.GeoDataFrame | None = None, by: str | None = None, min_area: float = MIN_AREA_M2,
             min_width: float = MIN_WIDTH_M) -> ConflictResult:
    """The result from each pair's measured parts (:func:`measure_pieces`) and the m² outside the boundary:
    slivers marked, parts numbered largest first (then west to east, south to north), a row per pair, per unit."""
    frames, rows, notes = [], [], []
    for a, b in pairs:
        frame, outside_m2 = measured[(a, b)]
        if outside_m2 > MIN_AREA_M2:
            notes.append(f"{a} × {b}: {outside_m2:,.1f} m² of overlap outside the boundary not counted")
        geoms = np.asarray(frame["geometry"].to_numpy(), dtype=object)
        m2 = frame["area_m2"].to_numpy(float)
        bounds = shapely.bounds(geoms) if len(geoms) else np.zeros((0, 4))
        # the same order whichever engine found them: largest first, then by position
        order = np.lexsort((np.round(bounds[:, 1], 7), np.round(bounds[:, 0], 7), -np.round(m2, 2)))
        frame, geoms, m2 = frame.iloc[order], geoms[order], m2[order]
        thin = frame["thin"].to_numpy(bool)
        small = m2 < min_area
        sliver = small | thin
        frames.append(gpd.GeoDataFrame({
            "a": a, "b": b, "piece": np.arange(1, len(m2) + 1), "area_m2": m2, "area_ha": m2 / 1e4,
            "width_ok": ~thin, "sliver": sliver, "reason": np.where(small, "area", np.where(thin, "width", "")),
            "a_ids": frame["a_ids"].to_list(), "b_ids": frame["b_ids"].to_list(),
        }, geometry=gpd.GeoSeries(geoms, crs=crs).values, crs=crs))
        rows.append({"a": a, "b": b, "overlap_m2": float(m2[~sliver].sum()), "pieces": int((~sliver).sum()),
                     "slivers": int(sliver.sum()), "sliver_m2": float(m2[sliver].sum()), "total_m2": float(m2.sum())})
    pieces = pd.concat(frames, ignore_index=True) if frames else gpd.GeoDataFrame(columns=_PIECE_COLUMNS)
    pieces = gpd.GeoDataFrame(pieces, geometry="geometry", crs=crs)
    pieces["sliver"] = pieces["sliver"].astype(bool)
    pieces["width_ok"] = pieces["width_ok"].astype(bool)
    by_unit = _by_unit(pieces, units, by, crs, pairs) if units is not None else None
    return ConflictResult(pieces=pieces, pairs=pd.DataFrame(rows), by_unit=by_unit, notes=notes,
                          min_area=min_area, min_width=min_width)


def _by_unit(pieces: gpd.GeoDataFrame, units: gpd.GeoDataFrame, by: str, crs, pairs) -> pd.DataFrame:
    src, unit, parts = split_by_units(pieces.geometry.values, crs, units, by)
    m2 = ellipsoidal_area(parts, crs=crs)
    df = pd.DataFrame({"unit": unit, "a": pieces["a"].to_numpy()[src], "b": pieces["b"].to_numpy()[src],
                       "sliver": pieces["sliver"].to_numpy()[src], "m2": m2})
    real, sl = df[~df["sliver"]], df[df["sliver"]]
    keys = ["unit", "a", "b"]
    out = pd.concat([
        real.groupby(keys, sort=False)["m2"].sum().rename("overlap_m2"),
        real.groupby(keys, sort=False)["m2"].size().rename("pieces"),
        sl.groupby(keys, sort=False)["m2"].sum().rename("sliver_m2"),
    ], axis=1).fillna(0.0).reset_index()
    out["pieces"] = out["pieces"].astype(int)
    order = {p: i for i, p in enumerate(pairs)}
    uorder = {u: i for i, u in enumerate(list(units[by].astype(str)) + [UNASSIGNED])}
    out = out.assign(_p=[order.get((a, b), 99) for a, b in zip(out["a"], out["b"])],
                     _u=out["unit"].map(uorder)).sort_values(["_p", "_u"]).drop(columns=["_p", "_u"])
    return out.reset_index(drop=True)
