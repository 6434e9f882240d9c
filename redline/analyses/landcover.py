"""Class areas from a classified land-cover raster, per unit, with exact partial pixels and true cell areas.

Zonal statistics come from exactextract (the fraction of each cell covered by
each polygon). Each cell's area is its area on the CGCS2000 ellipsoid, not the
raster's nominal cell size: for a geographic raster the closed form of the
ellipsoidal quadrangle between two parallels (a 10″ cell is 36 % smaller at
53°N than at 18°N); for a projected raster the plane cell area divided by the
projection's areal scale at the cell centre.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from ..errors import CRSError, FieldError, LayerReadError
from ..geometry.area import areal_scale, ellipsoidal_area
from ..specs.classes import LANDCOVER_GROUPS, ClassMap, load_raster_classes

__all__ = ["landcover_areas", "group_shares", "geographic_cell_area", "load_raster_classes", "check_classified",
           "class_notes", "cell_areas", "LANDCOVER_GROUPS"]

#: A unit whose cells with data cover less than this share of it gets a note (its shares are then too low).
MIN_COVERAGE = 0.99


def check_classified(raster) -> None:
    """Refuse a raster whose values are not class codes: fractions (a continuous raster — NDVI, elevation — or a
    resampled class raster) would be truncated into nonsense classes.

    Looks at band 1 at up to 1024 × 1024 cells (an overview where the file has one). Raises
    :class:`~redline.errors.LayerReadError` naming the file.
    """
    if np.issubdtype(np.dtype(raster.dtypes[0]), np.integer):
        return
    h, w = min(raster.height, 1024), min(raster.width, 1024)
    sample = raster.read(1, out_shape=(h, w), masked=True)
    values = np.asarray(sample.compressed(), dtype=float)
    values = values[np.isfinite(values)]
    fractional = values[values != np.round(values)]
    if fractional.size:
        raise LayerReadError(
            f"{getattr(raster, 'name', 'raster')}: holds {raster.dtypes[0]} values such as {fractional[0]:g}, not "
            f"class codes — a continuous raster (or one resampled with interpolation); give a classified raster "
            f"with whole-number class codes (e.g. ESA WorldCover)")


def class_notes(codes, areas_m2, class_map: ClassMap, where: str) -> list[str]:
    """A note for raster values the class map does not name (their area counts in no group)."""
    codes = np.asarray(codes, dtype=object)
    areas = np.asarray(areas_m2, dtype=float)
    unknown = np.array([str(c) not in class_map.names for c in codes], dtype=bool)
    if not unknown.any():
        return []
    total = areas.sum()
    share = 100.0 * areas[unknown].sum() / total if total else 0.0
    shown = sorted(dict.fromkeys(str(c) for c in codes[unknown]))
    return [f"{where}: warning: {share:.2f} % of the area has values the class map does not name "
            f"({', '.join(shown[:8])}{', …' if len(shown) > 8 else ''}); they count in no indicator — "
            f"check the raster and its class map (--landcover-classes / --class-map)"]


def geographic_cell_area(lat_center, dlat: float, dlon: float, a: float = 6378137.0,
                         f: float = 1 / 298.257222101) -> np.ndarray:
    """Ellipsoidal area (m²) of lon/lat cells of ``dlon`` × ``dlat`` degrees centred at ``lat_center``.

    Exact for a cell bounded by two meridians and two parallels (authalic-latitude closed form).

    Examples
    --------
    >>> cells = geographic_cell_area([18.0, 53.0], 10 / 3600, 10 / 3600)
    >>> round(float(cells[1] / cells[0]), 3)
    0.637
    """
    e2 = f * (2 - f)
    e = np.sqrt(e2)
    b2 = a * a * (1 - e2)

    def q(phi):
        s = np.sin(np.radians(phi))
        return s / (1 - e2 * s * s) + np.log((1 + e * s) / (1 - e * s)) / (2 * e)

    lat = np.asarray(lat_center, dtype=float)
    return 0.5 * b2 * np.radians(abs(dlon)) * np.abs(q(lat + abs(dlat) / 2) - q(lat - abs(dlat) / 2))


def cell_areas(raster, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Ellipsoidal area (m²) of the raster's cells centred at ``xs``, ``ys`` (in the raster's CRS)."""
    crs = CRS.from_user_input(raster.crs)
    t = raster.transform
    if crs.is_geographic:
        return geographic_cell_area(ys, t.e, t.a, a=crs.ellipsoid.semi_major_metre,
                                    f=1 / crs.ellipsoid.inverse_flattening)
    return abs(t.a * t.e - t.b * t.d) / areal_scale(crs, xs, ys)


def landcover_areas(
    raster,
    units: gpd.GeoDataFrame,
    by: str,
    class_map: ClassMap | None = None,
) -> pd.DataFrame:
    """Area of each land-cover class inside each unit (m², partial pixels counted by their covered fraction).

    Parameters
    ----------
    raster : rasterio dataset
        A classified raster (band 1) with a CRS; open it with :func:`redline.io.open_raster`.
    units : GeoDataFrame
        Polygons (a district, townships); reprojected to the raster's CRS.
    by : str
        Unit id field.
    class_map : ClassMap, optional
        Class names and groups (default ESA WorldCover).

    Returns
    -------
    DataFrame ``unit, code, name, area_m2, share_pct`` — ``share_pct`` of the unit's
    ellipsoidal area; cells without data are not counted, so the shares of a unit
    add up to less than 100 where the raster has gaps.

    Examples
    --------
    >>> import rasterio  # doctest: +SKIP
    >>> landcover_areas(rasterio.open("lc.tif"), towns, "name")  # doctest: +SKIP
    """
    from exactextract import exact_extract

    if raster.crs is None:
        raise CRSError(f"{getattr(raster, 'name', 'raster')}: the raster has no CRS")
    if by not in units.columns:
        raise FieldError(f"no field {by!r} in the units layer")
    class_map = class_map or load_raster_classes()
    check_classified(raster)
    zones = units[[by, units.geometry.name]].to_crs(raster.crs)
    zones[by] = zones[by].astype(str)
    stats = exact_extract(raster, zones, ["values", "coverage", "center_x", "center_y"], output="pandas")
    unit_m2 = dict(zip(units[by].astype(str), ellipsoidal_area(units)))
    rows, uncovered = [], []
    # one row of statistics per zone, in the zones' order (one Python step per unit, not per cell)
    for uid, rec in zip(zones[by], stats.itertuples(index=False)):
        found, covered_pct = _unit_classes(raster, uid, rec, unit_m2[uid], class_map)
        rows += found
        if covered_pct is not None:
            uncovered.append((uid, covered_pct))
    table = pd.DataFrame(rows, columns=["unit", "code", "name", "area_m2", "share_pct"])
    name = getattr(raster, "name", "raster")
    table.attrs["notes"] = (class_notes(table["code"], table["area_m2"], class_map, name)
                            + _coverage_notes(name, uncovered, len(zones)))
    return table


def _unit_classes(raster, uid: str, rec, unit_m2: float, class_map: ClassMap) -> tuple[list[dict], float | None]:
    """The rows of one unit (``rec``: its exactextract statistics) and, when the raster's cells with data cover
    less than :data:`MIN_COVERAGE` of it, the % they cover (else None)."""
    values = np.asarray(rec.values)
    if not values.size:
        return [], 0.0
    weights = np.asarray(rec.coverage) * cell_areas(raster, np.asarray(rec.center_x), np.asarray(rec.center_y))
    codes, inverse = np.unique(values, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=weights)
    covered = 100.0 * sums.sum() / unit_m2 if unit_m2 and sums.sum() < MIN_COVERAGE * unit_m2 else None
    rows = []
    for code, m2 in zip(codes, sums):
        key = str(int(code)) if float(code).is_integer() else str(code)
        rows.append({"unit": uid, "code": key, "name": class_map.names.get(key, ""), "area_m2": float(m2),
                     "share_pct": 100.0 * m2 / unit_m2 if unit_m2 else float("nan")})
    return rows, covered


def _coverage_notes(name: str, uncovered: list[tuple[str, float]], n_units: int) -> list[str]:
    """A warning for the units the raster covers only in part; an error when it covers none of them at all."""
    if len(uncovered) == n_units and all(pct == 0.0 for _, pct in uncovered):
        raise LayerReadError(f"{name}: does not cover the units (no cell with data inside them); give the "
                             f"land-cover raster of this area (check its CRS and extent)")
    if not uncovered:
        return []
    shown = ", ".join(f"{u} {p:.1f} %" for u, p in uncovered[:8]) + (", …" if len(uncovered) > 8 else "")
    return [f"{name}: warning: the raster's cells with data cover only part of {len(uncovered)} "
            f"unit{'s' if len(uncovered) > 1 else ''} ({shown}); their shares count only what is covered"]


def group_shares(table: pd.DataFrame, class_map: ClassMap, groups: Sequence[str] = LANDCOVER_GROUPS) -> pd.DataFrame:
    """Per unit, the share (%) of each group (forest, farmland, wetland, vegetation) from :func:`landcover_areas`."""
    out = {}
    for group in groups:
        mask = class_map.codes(group, table["code"])
        out[f"{group}_pct"] = table[mask].groupby("unit", sort=False)["share_pct"].sum()
    return pd.DataFrame(out).reindex(table["unit"].unique()).fillna(0.0).rename_axis("unit").reset_index()
