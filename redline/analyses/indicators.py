"""Area indicators: shares of control lines, the per-unit ledger (台账), land-use indicators and quotas.

Every area is ellipsoidal on CGCS2000 (:func:`redline.geometry.area.ellipsoidal_area`).
A share is ``area(dissolve(layer) ∩ boundary) / area(boundary)``: layers are
dissolved first so overlaps count once, and clipped so spill-over never counts
(it is reported as ``outside_m2``). Functions take GeoDataFrames and return
DataFrames; nothing here reads or writes files (a layer given by its path is read by a ``measure`` of the
engines, :func:`redline.engines.local.local_measure`). Class maps are specs (:mod:`redline.specs.classes`);
their names stay importable here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CRSError, FieldError, GeometryError, InputError
from ..geometry.area import UNITS, dissolve, ellipsoidal_area
from ..geometry.clean import polygonal, repair
from ..geometry.crs import reproject_polygons, working_crs
from ..geometry.overlay import Dissolved, dissolve_parts, overlap_pairs
from ..specs.catalog import find_field
from ..specs.classes import CLASS_MAP_SCHEMA, ClassMap, load_class_map

__all__ = [
    "layer_shares",
    "ledger",
    "PreparedLayer",
    "prepare_layer",
    "measure_in_memory",
    "Ledger",
    "ClassMap",
    "CLASS_MAP_SCHEMA",
    "load_class_map",
    "landuse_indicators",
    "LanduseResult",
    "check_quotas",
    "validate_quotas",
    "zone_column",
    "UNASSIGNED",
]

_TOL_M2 = 1.0  # tiling differences below 1 m² are digitising noise
#: Ledger row for the part of the boundary that no unit covers.
UNASSIGNED = "(未归属单位)"


def _area_columns(m2: float, prefix: str = "area") -> dict:
    out = {f"{prefix}_m2": m2}
    out.update({f"{prefix}_{u}": m2 / f for u, f in UNITS.items() if u != "m2"})
    return out


def zone_column(gdf: gpd.GeoDataFrame, aliases: Sequence[str]) -> str | None:
    """The first of ``aliases`` that is a column of ``gdf`` (case-insensitive), or ``None``.

    Examples
    --------
    >>> zone_column(gpd.GeoDataFrame({"Zone": [1]}, geometry=[None]), ["zone", "功能分区"])
    'Zone'
    """
    return find_field(gdf.columns.drop(gdf.geometry.name), None, aliases, "zone")


def _district(boundary: gpd.GeoDataFrame) -> tuple[shapely.Geometry, float]:
    district = dissolve(boundary.geometry.values)
    if district.is_empty:
        raise GeometryError("the boundary has no area")
    area = float(ellipsoidal_area([district], crs=boundary.crs)[0])
    if area <= 0:
        raise GeometryError("the boundary has zero area")
    return district, area


def _zone_labels(gdf: gpd.GeoDataFrame, zone_field: str | None) -> np.ndarray:
    if zone_field is None:
        return np.full(len(gdf), "", dtype=object)
    values = gdf[zone_field].astype("string").fillna("").to_numpy(dtype=object)
    return np.where(values == "", "(空)", values)


@dataclass
class PreparedLayer:
    """A layer made ready for area indicators, once: repaired, measured and dissolved (overlaps count once),
    as a whole and per zone, in its own CRS. Pass it to :func:`layer_shares` and :func:`ledger` in place of
    the GeoDataFrame to measure a large layer against a district and its townships without redoing the work.
    """

    whole: Dissolved
    zones: dict[str, Dissolved]
    zone_field: str | None = None

    @property
    def crs(self):
        return self.whole.crs

    def inside(self, polys: np.ndarray, crs) -> list[tuple[str | None, np.ndarray, float]]:
        """``[(zone, m² inside each of polys, m² in all)]`` for the whole layer (zone None), then per zone."""
        polys = reproject_polygons(np.asarray(polys, dtype=object), crs, self.crs)
        out = [(None, self.whole.inside(polys), self.whole.total_m2)]
        out += [(zone, d.inside(polys), d.total_m2) for zone, d in self.zones.items()]
        return out


def prepare_layer(gdf: gpd.GeoDataFrame, zone_field: str | None = None) -> PreparedLayer:
    """Repair, measure and dissolve a layer for :func:`layer_shares` and :func:`ledger` (see
    :class:`PreparedLayer`). Only features that overlap each other are unioned, cluster by cluster.

    Examples
    --------
    >>> from shapely import box
    >>> x, y = 500_000, 3_300_000
    >>> squares = [box(x, y, x + 100, y + 100), box(x + 50, y, x + 150, y + 100), box(x + 500, y, x + 600, y + 100)]
    >>> prep = prepare_layer(gpd.GeoDataFrame(geometry=squares, crs=4545))
    >>> len(prep.whole.parts), round(prep.whole.total_m2 / 10_000, 2)  # two overlapping squares became one part
    (2, 2.5)
    """
    if gdf.crs is None:
        raise CRSError("the layer has no CRS: set one (e.g. gdf.set_crs(4490)) before measuring areas")
    feats = repair(np.asarray(gdf.geometry.values, dtype=object), crs=gdf.crs, where="layer", ids=gdf.index).geoms
    ok = ~(shapely.is_missing(feats) | shapely.is_empty(feats))
    feats, labels = feats[ok], _zone_labels(gdf, zone_field)[ok]
    m2 = ellipsoidal_area(feats, crs=gdf.crs)
    a, b = overlap_pairs(feats)  # once: a zone's overlapping pairs are the layer's within the zone
    whole = dissolve_parts(feats, gdf.crs, m2, pairs=(a, b))
    zones = {}
    if zone_field is not None:
        for zone in sorted(set(labels.tolist())):
            sel = labels == zone
            local = np.cumsum(sel) - 1  # layer index -> index within the zone
            both = sel[a] & sel[b]
            zones[str(zone)] = dissolve_parts(feats[sel], gdf.crs, m2[sel], pairs=(local[a[both]], local[b[both]]))
    return PreparedLayer(whole, zones, zone_field)


def _prepared(gdf, zone_field: str | None) -> PreparedLayer:
    return gdf if isinstance(gdf, PreparedLayer) else prepare_layer(gdf, zone_field)


def measure_in_memory(layer, zone_field: str | None, polys, crs, whole: bool = True
                      ) -> list[tuple[str | None, np.ndarray, float]]:
    """The default ``measure`` of :func:`layer_shares` and :func:`ledger`: the layer (a GeoDataFrame or a
    :class:`PreparedLayer`) prepared in memory; its whole area comes with the dissolve, so ``whole`` changes
    nothing here. A layer given by its path is read by a ``measure`` of the engines
    (:func:`redline.engines.local.local_measure`, :func:`redline.engines.dask.dask_measure`), never here."""
    if not isinstance(layer, (gpd.GeoDataFrame, PreparedLayer)):
        raise InputError(f"layer {layer!r} is not a GeoDataFrame: read it first (redline.read_layer), or pass "
                         f"measure=redline.engines.local.local_measure to read it while measuring")
    return _prepared(layer, zone_field).inside(polys, crs)


_SHARE_COLUMNS = ["kind", "zone", *_area_columns(0.0), "share_pct", "outside_m2", "outside_km2"]


def _share_row(kind: str, zone: str | None, inside_m2: float, whole_m2: float, boundary_m2: float) -> dict:
    """One row of :func:`layer_shares`: the area inside the district, its share and the layer's area outside."""
    # never more than the district: pieces of a split polygon add up to it within ~1e-9 (rounding)
    inside_m2 = min(inside_m2, boundary_m2)
    outside_m2 = float(max(whole_m2 - inside_m2, 0.0))
    return {"kind": kind, "zone": zone, **_area_columns(float(inside_m2)),
            "share_pct": 100.0 * inside_m2 / boundary_m2, "outside_m2": outside_m2, "outside_km2": outside_m2 / 1e6}


def layer_shares(
    boundary: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    zone_fields: Mapping[str, str | None] | None = None,
    *,
    measure=None,
) -> pd.DataFrame:
    """Area and share of the boundary covered by each layer, and by each zone of a layer.

    Parameters
    ----------
    boundary : GeoDataFrame
        The district (any number of polygons; dissolved first).
    layers : mapping of kind -> GeoDataFrame or PreparedLayer
        Layers in any CRS; each is measured in its own CRS (the boundary is reprojected to it,
        densified). A :class:`PreparedLayer` (:func:`prepare_layer`) is reused as it is.
    zone_fields : mapping of kind -> column, optional
        The column holding the zone of a layer (核心保护区, 一级 …); each zone then
        gets a row of its own besides the whole layer (zones dissolved separately,
        so a zone's row never counts an overlap twice either).
    measure : callable, optional
        ``measure(layer, zone_field, polygons, crs, whole=True) -> [(zone, m² inside each polygon, m² in all)]``,
        the whole layer first (zone None), then each zone: how the areas are taken (``whole=False``: the m² in
        all is not needed and may be 0). Default: here, in memory (:func:`measure_in_memory`); the engines pass
        :func:`redline.engines.local.local_measure` (layers given by path) and :func:`redline.engines.dask.dask_measure`.

    Returns
    -------
    DataFrame with one row per layer (``zone`` = None) and per zone: ``kind, zone,
    area_m2, area_km2, area_ha, area_mu, area_wanmu, share_pct, outside_m2,
    outside_km2``; ``attrs["boundary_m2"]`` holds the boundary's area.

    Examples
    --------
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame(geometry=[box(108.0, 29.0, 108.1, 29.1)], crs="EPSG:4490")
    >>> lyr = gpd.GeoDataFrame(geometry=[box(108.0, 29.0, 108.05, 29.1), box(108.0, 29.0, 108.05, 29.1)], crs="EPSG:4490")
    >>> round(float(layer_shares(b, {"red": lyr}).loc[0, "share_pct"]), 2)
    50.0
    """
    zone_fields = zone_fields or {}
    crs = boundary.crs
    district, boundary_m2 = _district(boundary)
    rows = [_share_row(kind, zone, float(inside[0]), whole_m2, boundary_m2)
            for kind, gdf in layers.items()
            for zone, inside, whole_m2 in (measure or measure_in_memory)(gdf, zone_fields.get(kind), [district], crs)]
    table = pd.DataFrame(rows, columns=_SHARE_COLUMNS)
    table.attrs["boundary_m2"] = boundary_m2
    return table


@dataclass
class Ledger:
    """The per-unit ledger (台账): one row per unit × layer (× zone), the totals, and how well the units tile."""

    rows: pd.DataFrame
    totals: pd.DataFrame
    units: pd.DataFrame
    tiling: dict = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """Sentences about gaps, overlaps and spill-over of the units (empty when they tile exactly)."""
        notes = []
        t = self.tiling
        if t["gap_m2"] > _TOL_M2:
            notes.append(f"units leave {t['gap_m2']:,.1f} m² of the boundary uncovered (gaps; ledger row {UNASSIGNED})")
        if t["overlap_m2"] > _TOL_M2:
            notes.append(f"units overlap each other over {t['overlap_m2']:,.1f} m² (counted in each unit)")
        if t["outside_m2"] > _TOL_M2:
            notes.append(f"units reach {t['outside_m2']:,.1f} m² beyond the boundary (not counted)")
        return notes


def ledger(
    units: gpd.GeoDataFrame,
    by: str,
    layers: Mapping[str, gpd.GeoDataFrame],
    boundary: gpd.GeoDataFrame | None = None,
    zone_fields: Mapping[str, str | None] | None = None,
    *,
    measure=None,
) -> Ledger:
    """The ledger (台账): each layer's area and share in each unit (township), plus totals.

    Each unit is clipped to the boundary (when given) and the part of the
    boundary no unit covers becomes a row of its own (``(未归属单位)``), so the
    totals equal the district's figures; units that leave gaps, overlap or
    spill over are reported in ``tiling`` (m²) and ``notes``.

    Returns
    -------
    Ledger
        ``rows``: ``unit, kind, zone, area_*, share_pct`` (share of the unit's area; for the row
        ``(未归属单位)``, which is no unit, of the units' total area, as in ``totals``);
        ``totals``: the same summed over units, per kind and zone, with ``share_pct`` of
        the units' total area; ``units``: ``unit, unit_area_m2``.

    Examples
    --------
    >>> from shapely import box
    >>> towns = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[box(108, 29, 108.05, 29.1), box(108.05, 29, 108.1, 29.1)], crs=4490)
    >>> red = gpd.GeoDataFrame(geometry=[box(108.0, 29.0, 108.1, 29.05)], crs=4490)
    >>> led = ledger(towns, "code", {"red": red})
    >>> [round(v, 1) for v in led.rows["share_pct"]]
    [50.0, 50.0]
    """
    if by not in units.columns:
        raise FieldError(f"no field {by!r} in the units layer; fields: {', '.join(map(str, units.columns.drop(units.geometry.name)))}")
    crs = boundary.crs if boundary is not None else units.crs
    units = units.to_crs(crs)
    clipped, unit_m2, tiling, gap = _clip_units(units, boundary, crs)
    ids = units[by].astype(str).to_numpy()
    per = unit_m2  # the area each row's share is of
    if tiling["gap_m2"] > 0:  # the part of the district no unit covers gets a row of its own, so totals equal the district's
        clipped = np.append(clipped, polygonal([gap])[0])
        unit_m2 = np.append(unit_m2, tiling["gap_m2"])
        ids = np.append(ids, UNASSIGNED)
        # that row is no unit: its share is of the district, as the totals' is (a share of the gap itself put
        # e.g. 11.76 % beside the 0.00 公顷 of a 42 m² sliver)
        per = np.append(per, unit_m2.sum())
    zone_fields = zone_fields or {}
    rows = [
        {"unit": uid, "kind": kind, "zone": zone, **_area_columns(float(m2)),
         "share_pct": 100.0 * m2 / total if total else float("nan")}
        for kind, gdf in layers.items()
        for zone, inside, _ in (measure or measure_in_memory)(gdf, zone_fields.get(kind), clipped, crs, whole=False)
        for uid, m2, total in zip(ids, np.minimum(inside, unit_m2), per)
    ]
    table = pd.DataFrame(rows, columns=["unit", "kind", "zone", *_area_columns(0.0), "share_pct"])
    return Ledger(rows=table, totals=_ledger_totals(table, float(unit_m2.sum())),
                  units=pd.DataFrame({"unit": ids, "unit_area_m2": unit_m2}), tiling=tiling)


def _clip_units(units: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame | None, crs
                ) -> tuple[np.ndarray, np.ndarray, dict, shapely.Geometry]:
    """The units (in ``crs``) repaired and clipped to the boundary: ``(clipped units, their m², tiling, the part
    of the boundary no unit covers)``; ``tiling`` holds the m² of gaps, overlaps and spill-over."""
    geoms = repair(units.geometry.values, crs=crs, where="units layer", ids=units.index).geoms
    union_units = dissolve(geoms)
    if boundary is not None:
        district, _ = _district(boundary)
        clipped = polygonal(shapely.intersection(geoms, district))
        gap, outside = shapely.difference(district, union_units), shapely.difference(union_units, district)
    else:
        clipped, gap, outside = polygonal(geoms), shapely.Polygon(), shapely.Polygon()
    unit_m2 = ellipsoidal_area(clipped, crs=crs)
    gap_m2, outside_m2, union_m2 = ellipsoidal_area(polygonal([gap, outside, union_units]), crs=crs)
    raw_m2 = ellipsoidal_area(geoms, crs=crs).sum()
    tiling = {
        "gap_m2": float(gap_m2),
        "overlap_m2": float(max(raw_m2 - union_m2, 0.0)),
        "outside_m2": float(outside_m2),
    }
    return clipped, unit_m2, tiling, gap


def _ledger_totals(table: pd.DataFrame, all_units_m2: float) -> pd.DataFrame:
    """The ledger's rows summed over units, per kind and zone, with the share of the units' total area."""
    totals = (
        table.assign(zone=table["zone"].fillna(""))
        .groupby(["kind", "zone"], sort=False)["area_m2"]
        .sum()
        .reset_index()
    )
    totals["zone"] = totals["zone"].replace("", None)
    totals = pd.concat([totals[["kind", "zone"]], pd.DataFrame([_area_columns(v) for v in totals["area_m2"]])], axis=1)
    totals["share_pct"] = 100.0 * totals["area_m2"] / all_units_m2 if all_units_m2 else float("nan")
    return totals


# ---------------------------------------------------------------------------
# land use


@dataclass
class LanduseResult:
    """Land-use indicators (``indicators``: name → value) and the area of each class (``by_class``)."""

    indicators: dict[str, float | None]
    by_class: pd.DataFrame
    pieces: gpd.GeoDataFrame


def landuse_indicators(
    landuse: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    class_map: ClassMap | None = None,
    code_field: str | None = None,
    protected: gpd.GeoDataFrame | None = None,
    builtup: gpd.GeoDataFrame | None = None,
) -> LanduseResult:
    """Indicators from a land-use layer with class codes (三调 by default).

    Indicators (percentages of the boundary's area unless said otherwise):

    - ``forest_coverage_pct``: forest classes ÷ boundary area (森林覆盖率);
    - ``farmland_m2``: 耕地 area; ``wetland_m2``: wetland area, paddy fields excluded;
    - ``wetland_protection_rate_pct``: wetland inside ``protected`` (dissolved) ÷ all wetland;
    - ``green_coverage_pct``: vegetation inside ``builtup`` ÷ built-up area (建成区绿化覆盖率);
    - ``park_service_coverage_pct``: residential land within the service radius of a park
      (adjacent park parcels merged; tiers from the class map, 500 m for ≥ 5000 m²,
      300 m for 1000–5000 m² by default) ÷ all residential land.

    An indicator whose inputs are missing is ``None``, never 0.

    Examples
    --------
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame(geometry=[box(108.0, 29.0, 108.1, 29.1)], crs=4490)
    >>> lu = gpd.GeoDataFrame({"DLBM": ["0301", "0101"]}, geometry=[box(108.0, 29.0, 108.06, 29.1), box(108.06, 29.0, 108.1, 29.1)], crs=4490)
    >>> r = landuse_indicators(lu, b)
    >>> round(r.indicators["forest_coverage_pct"])
    60
    """
    class_map = class_map or load_class_map()
    field_name = code_field or zone_column(landuse, class_map.code_fields)
    if field_name is None or field_name not in landuse.columns:
        raise FieldError(
            f"no land-use code field (looked for {', '.join(class_map.code_fields)}); give code_field= / --landuse-field"
        )
    crs = boundary.crs
    district, boundary_m2 = _district(boundary)
    pieces = _landuse_pieces(landuse, field_name, district, crs)
    wetland_mask = class_map.codes("wetland", pieces["code"]) & ~class_map.codes("paddy", pieces["code"])
    wetland_m2 = float(pieces["area_m2"][wetland_mask].sum())
    ind = _group_areas(pieces, class_map, boundary_m2, wetland_m2)
    if protected is not None and wetland_m2 > 0:
        ind["wetland_protection_rate_pct"] = _wetland_protection(pieces.geometry.values[wetland_mask], wetland_m2,
                                                                 protected, crs)
    if builtup is not None:
        ind.update(_green_coverage(pieces, class_map, builtup, district, crs))
    ind["park_service_coverage_pct"] = _park_service(pieces, class_map, crs)
    return LanduseResult(indicators=ind, by_class=_by_class(pieces, class_map, boundary_m2), pieces=pieces)


def _group_areas(pieces: gpd.GeoDataFrame, class_map: ClassMap, boundary_m2: float, wetland_m2: float
                 ) -> dict[str, float | None]:
    """The indicators that are areas of groups (forest, farmland, wetland), the others still ``None``."""
    def group_area(group: str) -> float:
        return float(pieces["area_m2"][class_map.codes(group, pieces["code"])].sum())

    return {
        "boundary_m2": boundary_m2,
        "forest_m2": group_area("forest"),
        "forest_coverage_pct": 100.0 * group_area("forest") / boundary_m2,
        "farmland_m2": group_area("farmland"),
        "wetland_m2": wetland_m2,
        "wetland_protection_rate_pct": None,
        "green_coverage_pct": None,
        "park_service_coverage_pct": None,
    }


def _landuse_pieces(landuse: gpd.GeoDataFrame, field_name: str, district, crs) -> gpd.GeoDataFrame:
    """The land-use parcels (in ``crs``) clipped to the district: ``code, area_m2``, only those with area."""
    lu = landuse.to_crs(crs)
    geoms = repair(lu.geometry.values, crs=crs, where="land-use layer", ids=lu.index).geoms
    shapely.prepare(district)
    inside = shapely.contains_properly(district, geoms)
    clipped = geoms.copy()
    clipped[~inside] = polygonal(shapely.intersection(geoms[~inside], district))
    codes = lu[field_name].astype(str).str.strip().to_numpy()
    m2 = ellipsoidal_area(clipped, crs=crs)
    pieces = gpd.GeoDataFrame({"code": codes, "area_m2": m2}, geometry=clipped, crs=crs)
    return pieces[m2 > 0]


def _by_class(pieces: gpd.GeoDataFrame, class_map: ClassMap, boundary_m2: float) -> pd.DataFrame:
    """The area of each class: ``code, name, area_m2, share_pct`` (of the boundary's area)."""
    by_class = (
        pieces.groupby("code", sort=True)["area_m2"].sum().reset_index()
        .assign(name=lambda d: d["code"].map(class_map.names).fillna(""))
    )
    by_class["share_pct"] = 100.0 * by_class["area_m2"] / boundary_m2
    return by_class[["code", "name", "area_m2", "share_pct"]].reset_index(drop=True)


def _wetland_protection(wet: np.ndarray, wetland_m2: float, protected: gpd.GeoDataFrame, crs) -> float:
    """Wetland inside the protected areas (dissolved) ÷ all wetland, in %."""
    reserve = dissolve(protected.to_crs(crs).geometry.values)
    inside_m2 = ellipsoidal_area(polygonal(shapely.intersection(wet, reserve)), crs=crs).sum()
    return 100.0 * float(inside_m2) / wetland_m2


def _green_coverage(pieces: gpd.GeoDataFrame, class_map: ClassMap, builtup: gpd.GeoDataFrame, district, crs
                    ) -> dict[str, float]:
    """``green_coverage_pct`` (vegetation inside the built-up area ÷ the built-up area) and ``builtup_m2``;
    nothing when the built-up area within the district is empty."""
    area_b = polygonal([shapely.intersection(dissolve(builtup.to_crs(crs).geometry.values), district)])[0]
    builtup_m2 = float(ellipsoidal_area([area_b], crs=crs)[0])
    if builtup_m2 <= 0:
        return {}
    veg = pieces.geometry.values[class_map.codes("vegetation", pieces["code"])]
    veg_m2 = ellipsoidal_area(polygonal(shapely.intersection(veg, area_b)), crs=crs).sum()
    return {"green_coverage_pct": 100.0 * float(veg_m2) / builtup_m2, "builtup_m2": builtup_m2}


def _park_service(pieces: gpd.GeoDataFrame, class_map: ClassMap, crs) -> float | None:
    """Residential area within the service radius of parks ÷ residential area (None without residential land)."""
    res = pieces[class_map.codes("residential", pieces["code"])]
    parks = pieces[class_map.codes("park", pieces["code"])]
    res_m2 = float(res["area_m2"].sum())
    if res_m2 <= 0 or not class_map.park_service:
        return None
    if parks.empty:
        return 0.0
    metric = working_crs(res)
    merged = shapely.get_parts(dissolve(parks.geometry.values))  # adjacent park parcels form one park
    park_m2 = ellipsoidal_area(merged, crs=crs)
    radius = np.zeros(len(merged))
    for min_area, r in reversed(class_map.park_service):  # smallest tier first, larger tiers overwrite
        radius[park_m2 >= min_area] = r
    served = merged[radius > 0]
    if not len(served):
        return 0.0
    served_m = gpd.GeoSeries(served, crs=crs).to_crs(metric).values
    reach = dissolve(shapely.buffer(served_m, radius[radius > 0], quad_segs=16))
    res_m = res.to_crs(metric).geometry.values
    covered = ellipsoidal_area(polygonal(shapely.intersection(res_m, reach)), crs=metric).sum()
    return 100.0 * float(covered) / res_m2


def class_area_by_unit(pieces: gpd.GeoDataFrame, mask: np.ndarray, units: gpd.GeoDataFrame, by: str) -> pd.Series:
    """Area (m²) of the land-use ``pieces`` selected by ``mask`` inside each unit, indexed by unit id."""
    units = units.to_crs(pieces.crs)
    geoms = pieces.geometry.values[mask]
    tree = shapely.STRtree(geoms)
    ui, gi = tree.query(units.geometry.values, predicate="intersects")
    m2 = ellipsoidal_area(polygonal(shapely.intersection(units.geometry.values[ui], geoms[gi])), crs=pieces.crs)
    ids = units[by].astype(str).to_numpy()
    return pd.Series(m2, index=ids[ui]).groupby(level=0).sum().reindex(ids, fill_value=0.0)


# ---------------------------------------------------------------------------
# quotas

QUOTA_INDICATORS = {
    "farmland": "耕地保有量",
    "basic_farmland": "永久基本农田保护面积",
}
_QUOTA_UNITS = {"亩": "mu", "万亩": "wanmu", "公顷": "ha", "平方公里": "km2", "mu": "mu", "wanmu": "wanmu",
                "ha": "ha", "km2": "km2", "m2": "m2"}


def validate_quotas(quotas: pd.DataFrame, where: str = "quota table") -> pd.DataFrame:
    """Check a quota table before any measuring and normalise it; every problem is listed at once.

    Returns the rows with ``indicator`` as a code (``farmland``, ``basic_farmland``) and the quota in 亩
    (``quota_mu``). Raises :class:`~redline.errors.FieldError` naming ``where`` and each bad row by its line in
    the CSV (the header is line 1).

    Examples
    --------
    >>> q = pd.DataFrame({"unit": ["a"], "indicator": ["耕地保有量"], "quota": ["1.5"], "quota_unit": ["万亩"]})
    >>> validate_quotas(q)[["indicator", "quota_mu"]].values.tolist()
    [['farmland', 15000.0]]
    """
    missing = {"unit", "indicator", "quota", "quota_unit"} - set(quotas.columns)
    if missing:
        raise FieldError(f"{where}: lacks the column{'s' if len(missing) > 1 else ''} {', '.join(sorted(missing))} "
                         f"(columns: unit, indicator, quota, quota_unit); add {'them' if len(missing) > 1 else 'it'}")
    reverse = {v: k for k, v in QUOTA_INDICATORS.items()}
    problems, rows = [], []
    for line, rec in zip(range(2, len(quotas) + 2), quotas.itertuples(index=False)):
        text = {k: "" if pd.isna(v) else str(v).strip() for k, v in rec._asdict().items()}
        ind = reverse.get(text["indicator"], text["indicator"])
        unit = _QUOTA_UNITS.get(text["quota_unit"])
        try:
            value = float(text["quota"].replace(",", ""))
        except ValueError:
            value = float("nan")
        if not text["unit"]:
            problems.append(f"line {line}: no unit")
        if ind not in QUOTA_INDICATORS:
            problems.append(f"line {line}: unknown indicator {text['indicator']!r} "
                            f"(use {', '.join(f'{k}/{v}' for k, v in QUOTA_INDICATORS.items())})")
        if unit is None:
            problems.append(f"line {line}: unknown quota unit {text['quota_unit']!r} (use 亩, 万亩, 公顷 or 平方公里)")
        if not np.isfinite(value) or value < 0:
            problems.append(f"line {line}: quota {text['quota']!r} is not a number ≥ 0")
        if not problems or not problems[-1].startswith(f"line {line}:"):
            rows.append({"unit": text["unit"], "indicator": ind, "quota_mu": value * UNITS[unit] / UNITS["mu"]})
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise FieldError(f"{where}: {len(problems)} problem{'s' if len(problems) > 1 else ''}: {shown}; fix the table")
    return pd.DataFrame(rows, columns=["unit", "indicator", "quota_mu"])


def check_quotas(quotas: pd.DataFrame, measured: Mapping[str, pd.Series], where: str = "quota table") -> pd.DataFrame:
    """Per-unit quotas (耕地保有量, 永久基本农田保护面积) against measured areas.

    Parameters
    ----------
    quotas : DataFrame
        Columns ``unit`` (unit id), ``indicator`` (``farmland``/``耕地保有量`` or
        ``basic_farmland``/``永久基本农田保护面积``), ``quota``, ``quota_unit``
        (亩, 万亩, 公顷, 平方公里); checked by :func:`validate_quotas`.
    measured : mapping indicator -> Series of m² indexed by unit id
    where : str
        The table's name in messages (its file).

    Returns
    -------
    DataFrame ``unit, indicator, quota_mu, measured_mu, surplus_mu, met`` (``surplus_mu`` < 0 is a shortfall).

    Examples
    --------
    >>> q = pd.DataFrame({"unit": ["a"], "indicator": ["耕地保有量"], "quota": [1.0], "quota_unit": ["万亩"]})
    >>> check_quotas(q, {"farmland": pd.Series({"a": 1e8 / 15 * 1.1})})["surplus_mu"].round().tolist()
    [1000.0]
    """
    table = validate_quotas(quotas, where)
    needs = {"farmland": "a land-use layer (--landuse)", "basic_farmland": "the basic_farmland layer"}
    problems = [f"no measured area for {ind!r}: give {needs[ind]}" for ind in dict.fromkeys(table["indicator"])
                if measured.get(ind) is None]
    known = set().union(*(s.index for s in measured.values() if s is not None)) - {UNASSIGNED} if measured else set()
    unknown = [u for u in dict.fromkeys(table["unit"]) if u not in known]
    if unknown and known:
        problems.append(f"unit{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown[:10]))}"
                        f"{', …' if len(unknown) > 10 else ''} not in the units layer (units: "
                        f"{', '.join(sorted(map(str, known))[:5])}{', …' if len(known) > 5 else ''})")
    if problems:
        raise FieldError(f"{where}: {'; '.join(problems)}")
    rows = []
    for rec in table.itertuples(index=False):
        measured_mu = float(measured[rec.indicator][rec.unit]) / UNITS["mu"]
        rows.append({"unit": rec.unit, "indicator": rec.indicator, "quota_mu": rec.quota_mu,
                     "measured_mu": measured_mu, "surplus_mu": measured_mu - rec.quota_mu,
                     "met": measured_mu >= rec.quota_mu})
    return pd.DataFrame(rows, columns=["unit", "indicator", "quota_mu", "measured_mu", "surplus_mu", "met"])
