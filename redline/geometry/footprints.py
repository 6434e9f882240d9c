"""Project footprints: polygons as given, lines and points buffered to their width or radius in metres.

A siting screen measures what a project *occupies*. Polygons are that already;
a road or a canal (a line) occupies its width, a pump station or a pylon (a
point) a disc. Buffers are made in metres in a transverse Mercator CRS close
to the data — the CGCS2000 3° Gauss-Krüger zone whose central meridian is
nearest (EPSG:4534–4554) — never in degrees or Web Mercator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .area import ellipsoidal_area
from .clean import polygonal, repair, reproject, require_usable
from .crs import working_crs
from ..errors import CRSError, FieldError, GeometryError

__all__ = ["ID_FIELDS", "CATEGORY_FIELDS", "working_crs", "find_field", "footprints", "check_project_ids",
           "prepare_projects"]

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

    Polygons are kept as they are (invalid ones repaired with :func:`redline.geometry.clean.repair`,
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
        NaN/inf or outside the range of the CRS (:func:`redline.geometry.clean.require_usable`).

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
    _check_geometries(projects.geometry.values, projects.crs, ids)
    crs = crs or working_crs(projects)
    geoms = shapely.force_2d(reproject(projects.geometry, crs).values)
    geoms, flagged, fix = _repaired(geoms, projects.index, repaired, crs, ids)
    types = shapely.get_type_id(geoms)
    linear, point = np.isin(types, _LINE_TYPES), np.isin(types, _POINT_TYPES)
    width = _sizes(projects, width_field, line_width)
    radius = _sizes(projects, radius_field, point_radius)
    _check_sizes(types, width, radius, width_field, radius_field, ids)
    out, buffer_m = _buffered(geoms, linear, point, width, radius)
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


def _check_geometries(src: np.ndarray, crs, ids: list) -> None:
    """Refuse projects without geometry, or with coordinates nothing can be measured from — before their extent
    chooses the CRS."""
    missing = shapely.is_missing(src) | shapely.is_empty(src)
    if missing.any():
        raise GeometryError(
            "projects without geometry: " + ", ".join(str(ids[i]) for i in np.flatnonzero(missing))
        )
    require_usable(src, crs, where="projects", ids=ids)


def _repaired(geoms: np.ndarray, index, upstream, crs, ids: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The footprints' geometries repaired (a collection keeps its polygonal part when it has one), which were
    repaired here or ``upstream`` (index values, or a mapping to what was done), and what was done to each."""
    upstream = dict(upstream) if isinstance(upstream, Mapping) else dict.fromkeys(upstream or (), "")
    fix = pd.Series(index).map(upstream).to_numpy(dtype=object)
    flagged = pd.notna(fix)
    fix[~flagged] = ""
    coll = shapely.get_type_id(geoms) == 7
    if coll.any():  # its polygons may overlap: repaired next
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
    return geoms, flagged, fix


def _check_sizes(types: np.ndarray, width: np.ndarray, radius: np.ndarray, width_field: str, radius_field: str,
                 ids: list) -> None:
    """Refuse, all at once, lines without a width, points without a radius and types that make no footprint."""
    linear, point = np.isin(types, _LINE_TYPES), np.isin(types, _POINT_TYPES)
    polys = np.isin(types, (3, 6))
    problems = []
    for i in np.flatnonzero(linear & ~(np.isfinite(width) & (width > 0))):
        problems.append(f"{ids[i]}: a line needs a positive '{width_field}' or --line-width")
    for i in np.flatnonzero(point & ~(np.isfinite(radius) & (radius > 0))):
        problems.append(f"{ids[i]}: a point needs a positive '{radius_field}' or --point-radius")
    for i in np.flatnonzero(~(linear | point | polys)):
        problems.append(f"{ids[i]}: geometry type {types[i]} can't make a footprint")
    if problems:
        raise GeometryError("projects: " + "; ".join(problems))


def _buffered(geoms: np.ndarray, linear: np.ndarray, point: np.ndarray, width: np.ndarray,
              radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines buffered by half their width (flat ends), points by their radius; ``(footprints, buffer_m)``."""
    out = geoms.copy()
    buffer_m = np.zeros(len(geoms))
    if linear.any():
        buffer_m[linear] = width[linear] / 2.0
        out[linear] = shapely.buffer(geoms[linear], buffer_m[linear], cap_style="flat", quad_segs=_QUAD_SEGS)
    if point.any():
        buffer_m[point] = radius[point]
        out[point] = shapely.buffer(geoms[point], buffer_m[point], quad_segs=_QUAD_SEGS)
    return out, buffer_m


def find_field(columns: Iterable, wanted: str | None, candidates: Iterable[str], what: str, where: str = "projects") -> str | None:
    """The field to use: ``wanted`` (must exist), else the first of ``candidates`` present (case-insensitive).

    Examples
    --------
    >>> find_field(["name", "project_id"], None, ["project_id", "id", "name"], "id")
    'project_id'
    """
    cols = [str(c) for c in columns if str(c) != "geometry"]
    if wanted is not None:
        if wanted not in cols:
            raise FieldError(f"{where}: no {what} field {wanted!r}; fields: {', '.join(cols) or 'none'}")
        return wanted
    lower = {c.lower(): c for c in cols}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    return None


def check_project_ids(gdf: gpd.GeoDataFrame, id_field: str | None = None, where: str = "projects") -> str | None:
    """Check that every project has an id and no two share one; returns the id field used.

    The id names a project in every output (tables, the map, ``maps/<id>.png``), so a blank or
    repeated id would merge or lose projects. Raises :class:`~redline.errors.FieldError` listing
    the blank ids by feature id and the repeated values.
    """
    field_name = find_field(gdf.columns, id_field, ID_FIELDS, "id", where)
    if field_name is None:
        return None
    values = gdf[field_name]
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    problems = []
    blank = [str(i) for i in np.asarray(gdf.index)[(text == "").to_numpy()]]
    if blank:
        problems.append(f"{len(blank)} blank (features {', '.join(blank[:10])}{', …' if len(blank) > 10 else ''})")
    counts = Counter(t for t in text if t)
    dup = sorted((t, n) for t, n in counts.items() if n > 1)
    if dup:
        shown = ", ".join(f"{t} ×{n}" for t, n in dup[:10]) + (", …" if len(dup) > 10 else "")
        problems.append(f"{len(dup)} repeated ({shown})")
    if problems:
        raise FieldError(
            f"{where}: project ids in field {field_name!r} must be unique and not blank: {'; '.join(problems)}; "
            f"fix the ids or choose another field with --id-field"
        )
    return field_name


def prepare_projects(gdf: gpd.GeoDataFrame, report, id_field: str | None = None) -> gpd.GeoDataFrame:
    """Project footprints as read, made ready to screen: ids checked (:func:`check_project_ids`) and
    geometry collections reduced to what a footprint can be, with a note for each.

    ``report`` is the layer's :class:`redline.io.ReadReport` (or anything with a ``path`` naming the layer
    and a ``note(message)``).

    A collection keeps its polygons (points and lines beside them are dropped and reported);
    without polygons, its lines (as a MultiLineString, buffered to their width) or its points.
    """
    check_project_ids(gdf, id_field, report.path)
    geoms = gdf.geometry.values
    coll = np.flatnonzero(shapely.get_type_id(geoms) == 7)
    if not coll.size:
        return gdf
    geoms = geoms.copy()
    ids = np.asarray(gdf.index)
    for i in coll:
        parts = shapely.get_parts(shapely.get_parts(geoms[i]))  # nested collections flattened one level more
        types = shapely.get_type_id(parts)
        groups = {"polygon": parts[np.isin(types, (3, 6))], "line": parts[np.isin(types, (1, 2, 5))],
                  "point": parts[np.isin(types, (0, 4))]}
        keep = next((k for k in ("polygon", "line", "point") if len(groups[k])), None)
        if keep is None:
            continue  # an empty collection: footprints() names it
        geoms[i] = shapely.union_all(groups[keep]) if keep == "polygon" else (
            shapely.multilinestrings(shapely.get_parts(groups[keep])) if keep == "line"
            else shapely.multipoints(shapely.get_parts(groups[keep])))
        dropped = [f"{len(groups[k])} {k}{'s' if len(groups[k]) > 1 else ''}" for k in ("polygon", "line", "point")
                   if k != keep and len(groups[k])]
        report.note(f"feature {ids[i]}: a GeometryCollection footprint; its {keep}s are screened"
                    + (f", {' and '.join(dropped)} beside them dropped" if dropped else ""))
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
