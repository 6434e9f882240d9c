"""Project footprints: polygons as given, lines and points buffered to their width or radius in metres.

A siting screen measures what a project *occupies*. Polygons are that already;
a road or a canal (a line) occupies its width, a pump station or a pylon (a
point) a disc. Buffers are made in metres in a transverse Mercator CRS close
to the data — the CGCS2000 3° Gauss-Krüger zone whose central meridian is
nearest (EPSG:4534–4554) — never in degrees or Web Mercator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .area import ellipsoidal_area, polygonal, repair, require_usable
from ..specs.catalog import find_field
from .crs import working_crs
from ..errors import CRSError, GeometryError

__all__ = ["ID_FIELDS", "CATEGORY_FIELDS", "working_crs", "find_field", "footprints"]

#: Fields tried, in order, for the project id when none is given.
ID_FIELDS: tuple[str, ...] = ("project_id", "id", "name", "编号", "名称")
#: Fields tried, in order, for the project category when none is given.
CATEGORY_FIELDS: tuple[str, ...] = ("category", "类别", "项目类别", "type")

_LINE_TYPES = (1, 2, 5)  # LineString, LinearRing, MultiLineString
_POINT_TYPES = (0, 4)  # Point, MultiPoint
_QUAD_SEGS = 32  # a buffered point is a 128-gon: area within 0.04 % of π r²


def _sizes(gdf: gpd.GeoDataFrame, field: str, default: float | None) -> np.ndarray:
    values = pd.to_numeric(gdf[field], errors="coerce").to_numpy(float) if field in gdf.columns else np.full(len(gdf), np.nan)
    if default is not None:
        values = np.where(np.isfinite(values) & (values > 0), values, float(default))
    return values


def footprints(
    projects: gpd.GeoDataFrame,
    *,
    crs=None,
    ids: Iterable | None = None,
    line_width: float | None = None,
    point_radius: float | None = None,
    width_field: str = "width_m",
    radius_field: str = "radius_m",
    repaired: Iterable | None = None,
) -> gpd.GeoDataFrame:
    """Footprint polygons of projects, in metres, in ``crs`` (default: :func:`working_crs`).

    Polygons are kept as they are (invalid ones repaired with :func:`redline.geometry.area.repair`,
    keeping the polygonal part, and flagged); lines are buffered by half of
    their ``width_m`` (the width is the full corridor width, flat ends);
    points by their ``radius_m``. ``line_width`` / ``point_radius`` are used
    for features without a usable attribute.

    Parameters
    ----------
    projects : GeoDataFrame
        Any CRS; mixed geometry types allowed.
    crs : optional
        Metric CRS for the buffers; default :func:`working_crs`.
    ids : iterable, optional
        Project ids (for messages); default the index.
    line_width, point_radius : float, optional
        Fallback width (m) of lines and radius (m) of points.
    repaired : iterable or mapping, optional
        Index values of features already repaired upstream (e.g. by :func:`redline.read_layer`); a mapping
        gives what was done to each (its ``repair``).

    Returns
    -------
    GeoDataFrame in ``crs`` with the index of ``projects`` and columns
    ``geom_type`` (of the input), ``linear`` (bool), ``buffer_m``,
    ``repaired`` (bool), ``repair`` (what was done, ``""`` if nothing), ``footprint_m2`` (ellipsoidal).

    Raises
    ------
    GeometryError
        When lines or points have no width/radius and no fallback is given
        (listing every such project), a footprint has no area, or coordinates are
        NaN/inf or outside the range of the CRS (:func:`redline.geometry.area.require_usable`).

    Examples
    --------
    >>> from shapely import LineString
    >>> g = gpd.GeoDataFrame({"width_m": [20.0]}, geometry=[LineString([(108.7, 29.5), (108.71, 29.5)])], crs="EPSG:4490")
    >>> fp = footprints(g)
    >>> round(float(fp.footprint_m2.iloc[0]) / (20 * 969.9), 2)
    1.0
    """
    if projects.crs is None:
        raise CRSError("the projects have no CRS: set one on the layer")
    ids = list(projects.index if ids is None else ids)
    src = projects.geometry.values
    missing = shapely.is_missing(src) | shapely.is_empty(src)
    if missing.any():
        raise GeometryError(
            "projects without geometry: " + ", ".join(str(ids[i]) for i in np.flatnonzero(missing))
        )
    require_usable(src, projects.crs, where="projects", ids=ids)  # before their extent chooses the CRS
    crs = crs or working_crs(projects)
    geoms = projects.geometry.to_crs(crs).values
    geoms = shapely.force_2d(geoms)
    upstream = dict(repaired) if isinstance(repaired, Mapping) else dict.fromkeys(repaired or (), "")
    fix = pd.Series(projects.index).map(upstream).to_numpy(dtype=object)
    flagged = pd.notna(fix)
    fix[~flagged] = ""
    # collections: keep the polygonal part when there is one (its polygons may overlap: repaired next)
    coll = shapely.get_type_id(geoms) == 7
    if coll.any():
        poly = polygonal(geoms[coll])
        has_area = ~shapely.is_empty(poly)
        idx = np.flatnonzero(coll)
        geoms = geoms.copy()
        geoms[idx[has_area]] = poly[has_area]
    fixed = repair(geoms, geometry="any", crs=crs, where="projects", ids=ids)
    if fixed.repaired.any():
        geoms = fixed.geoms
        flagged |= fixed.repaired
        fix[fixed.repaired] = fixed.fixes[fixed.repaired]
    types = shapely.get_type_id(geoms)
    linear = np.isin(types, _LINE_TYPES)
    point = np.isin(types, _POINT_TYPES)
    polys = np.isin(types, (3, 6))
    width = _sizes(projects, width_field, line_width)
    radius = _sizes(projects, radius_field, point_radius)
    problems = []
    for i in np.flatnonzero(linear & ~(np.isfinite(width) & (width > 0))):
        problems.append(f"{ids[i]}: a line needs a positive '{width_field}' or --line-width")
    for i in np.flatnonzero(point & ~(np.isfinite(radius) & (radius > 0))):
        problems.append(f"{ids[i]}: a point needs a positive '{radius_field}' or --point-radius")
    for i in np.flatnonzero(~(linear | point | polys)):
        problems.append(f"{ids[i]}: geometry type {shapely.get_type_id(geoms[i])} can't make a footprint")
    if problems:
        raise GeometryError("projects: " + "; ".join(problems))
    out = geoms.copy()
    buffer_m = np.zeros(len(geoms))
    if linear.any():
        buffer_m[linear] = width[linear] / 2.0
        out[linear] = shapely.buffer(geoms[linear], buffer_m[linear], cap_style="flat", quad_segs=_QUAD_SEGS)
    if point.any():
        buffer_m[point] = radius[point]
        out[point] = shapely.buffer(geoms[point], buffer_m[point], quad_segs=_QUAD_SEGS)
    area = ellipsoidal_area(out, crs=crs)
    flat = np.flatnonzero(area <= 0)
    if flat.size:
        raise GeometryError("projects: footprints with no area: " + ", ".join(str(ids[i]) for i in flat))
    return gpd.GeoDataFrame(
        {
            "geom_type": np.asarray(projects.geometry.geom_type),
            "linear": linear,
            "buffer_m": buffer_m,
            "repaired": flagged,
            "repair": fix,
            "footprint_m2": area,
        },
        geometry=gpd.GeoSeries(out, crs=crs, index=projects.index),
        index=projects.index,
    )
