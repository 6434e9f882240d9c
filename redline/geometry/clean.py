"""Clean geometry: the one repair, the coordinate checks and the one reprojection, used by every room.

Invalid geometries are made valid in one place, :func:`repair`, wherever they
come from (a file, a GeoDataFrame, the pieces of an overlay): overlapping parts
of a feature count once (their union), and every repair says what it did
(:func:`describe_repairs`). Coordinates nothing can be measured from — NaN,
infinite, or outside the range of the layer's CRS — are found by
:func:`unusable_coordinates` and refused by :func:`require_usable`.
:func:`reproject` moves a layer to another CRS and says so.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal, NamedTuple

import numpy as np
import shapely
from pyproj import CRS, Transformer

from ._parallel import threaded
from .crs import CGCS2000, crs_code, describe_crs
from ..errors import GeometryError

__all__ = [
    "polygonal",
    "repair",
    "Repair",
    "describe_repairs",
    "non_finite",
    "out_of_range",
    "unusable_coordinates",
    "require_usable",
    "NON_FINITE",
    "reproject",
]


def polygonal(geoms) -> np.ndarray:
    """Return one geometry per input holding only its polygonal parts (others become empty).

    GeometryCollections (from ``make_valid`` or overlays) keep their polygons;
    points and lines contribute nothing to an area.

    Examples
    --------
    >>> from shapely import GeometryCollection, Point, box
    >>> polygonal([GeometryCollection([box(0, 0, 1, 1), Point(5, 5)])])[0].wkt
    'MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)))'
    """
    arr = np.asarray(geoms, dtype=object)
    out = arr.copy()
    types = shapely.get_type_id(arr)
    poly = (types == 3) | (types == 6)
    out[~poly & (types >= 0)] = shapely.Polygon()
    coll = np.flatnonzero(types == 7)
    if coll.size:
        parts, idx = shapely.get_parts(arr[coll], return_index=True)
        # collections may nest multipolygons: flatten once more
        parts, idx2 = shapely.get_parts(parts, return_index=True)
        idx = idx[idx2]
        keep = shapely.get_type_id(parts) == 3
        for j, pos in enumerate(coll):
            mine = parts[keep & (idx == j)]
            out[pos] = shapely.multipolygons(mine) if mine.size else shapely.Polygon()
    return out


#: The reason given for features with a NaN or infinite coordinate (dropped on read, refused elsewhere).
NON_FINITE = "non-finite coordinates (NaN/inf)"

_CHUNK_COORDS = 4_000_000  # coordinates looked at per pass: bounds the memory of non_finite()


def non_finite(geoms) -> np.ndarray:
    """Which geometries have a coordinate (x or y) that is NaN or infinite.

    GEOS cannot compute with such a geometry (``make_valid``, overlays and buffers raise or silently drop
    the vertex) and no area or distance can be measured from it. Bounds hide NaN, so every coordinate is
    looked at — in chunks, vectorised.

    Examples
    --------
    >>> from shapely import Point, box
    >>> non_finite([box(0, 0, 1, 1), Point(float("inf"), 1), None]).tolist()
    [False, True, False]
    """
    arr = np.asarray(geoms, dtype=object)
    out = np.zeros(len(arr), dtype=bool)
    if not len(arr):
        return out
    # a NaN or infinite coordinate makes a line's or a ring's length NaN or infinite: only geometries whose length
    # is not finite (a huge coordinate overflows it too), points and collections are looked at coordinate by
    # coordinate (500 000 parcels: 0.1 s instead of 0.6)
    with np.errstate(all="ignore"):
        length = threaded(shapely.length, arr, chunk=100_000)
    suspect = np.flatnonzero(~np.isfinite(length) | np.isin(shapely.get_type_id(arr), (0, 4, 7)))
    arr = arr[suspect]
    if not len(arr):
        return out
    counts = np.cumsum(shapely.get_num_coordinates(arr))
    cuts = np.unique(np.r_[0, np.searchsorted(counts, np.arange(_CHUNK_COORDS, counts[-1], _CHUNK_COORDS)),
                           len(arr)])
    for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        xy, owner = shapely.get_coordinates(arr[lo:hi], return_index=True)
        bad = ~np.isfinite(xy).all(axis=1)
        if bad.any():
            out[suspect[lo + np.unique(owner[bad])]] = True
    return out


def _lonlat_ok(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180.0 + 1e-9) & (np.abs(lat) <= 90.0 + 1e-9)


def out_of_range(geoms, crs) -> np.ndarray:
    """Which geometries lie (partly) outside the range of ``crs``: finite coordinates that are not a place on
    the Earth in it — longitude beyond ±180° or latitude beyond ±90° in a geographic CRS, or, in a projected
    one, coordinates that cannot be transformed to longitude/latitude (PROJ returns infinity: ``1e300``, a
    no-data value, metres far beyond the projection's zone). Geometries with NaN/inf coordinates are not
    flagged here (see :func:`non_finite`).

    Judged by each geometry's bounding box; a CRS that PROJ cannot invert flags nothing.

    Examples
    --------
    >>> from shapely import box
    >>> out_of_range([box(108, 29, 109, 30), box(108, 29, 1e300, 30)], "EPSG:4490").tolist()
    [False, True]
    >>> out_of_range([box(500_000, 3_300_000, 501_000, 3_301_000), box(5e7, 0, 5e7 + 1, 1)], "EPSG:4545").tolist()
    [False, True]
    """
    arr = np.asarray(geoms, dtype=object)
    out = np.zeros(len(arr), dtype=bool)
    if not len(arr) or crs is None:
        return out
    crs = CRS.from_user_input(crs)
    b = shapely.bounds(arr)
    present = np.isfinite(b).all(axis=1)  # empty, missing and non-finite geometries are judged elsewhere
    if not present.any():
        return out
    if crs.is_geographic:
        out[present] = ~(_lonlat_ok(b[present, 0], b[present, 1]) & _lonlat_ok(b[present, 2], b[present, 3]))
        return out
    try:
        tr = Transformer.from_crs(crs, crs.geodetic_crs or CGCS2000, always_xy=True)
    except Exception:  # a CRS PROJ cannot invert (engineering, unknown): nothing to judge by
        return out
    # the layer's box first (corners, edge midpoints, centre): inside PROJ's range, every feature is
    xmin, ymin = b[present, 0].min(), b[present, 1].min()
    xmax, ymax = b[present, 2].max(), b[present, 3].max()
    xs = np.array([xmin, xmax, xmin, xmax, (xmin + xmax) / 2, (xmin + xmax) / 2, xmin, xmax, (xmin + xmax) / 2])
    ys = np.array([ymin, ymin, ymax, ymax, ymin, ymax, (ymin + ymax) / 2, (ymin + ymax) / 2, (ymin + ymax) / 2])
    with np.errstate(all="ignore"):
        if _lonlat_ok(*tr.transform(xs, ys)).all():
            return out
        idx = np.flatnonzero(present)
        corners_x = b[idx][:, [0, 2, 0, 2]].ravel()
        corners_y = b[idx][:, [1, 1, 3, 3]].ravel()
        ok = _lonlat_ok(*tr.transform(corners_x, corners_y)).reshape(-1, 4).all(axis=1)
    out[idx[~ok]] = True
    return out


def unusable_coordinates(geoms, crs=None) -> np.ndarray:
    """Why each geometry's coordinates cannot be used (``""`` where they can): :data:`NON_FINITE`, or
    ``"coordinates outside the range of <CRS>"`` (:func:`out_of_range`; only when ``crs`` is given).

    :func:`redline.read_layer` drops and reports such features; :func:`repair` and the analyses refuse them
    (:func:`require_usable`).

    Examples
    --------
    >>> from shapely import Point, box
    >>> geoms = [box(108, 29, 109, 30), Point(float("inf"), 0), box(108, 29, 200, 30)]
    >>> unusable_coordinates(geoms, "EPSG:4490").tolist()
    ['', 'non-finite coordinates (NaN/inf)', 'coordinates outside the range of EPSG:4490']
    """
    arr = np.asarray(geoms, dtype=object)
    reasons = np.full(len(arr), "", dtype=object)
    bad = non_finite(arr)
    reasons[bad] = NON_FINITE
    if crs is not None:
        off = out_of_range(arr, crs) & ~bad
        reasons[off] = f"coordinates outside the range of {crs_code(crs)}"
    return reasons


def require_usable(geoms, crs=None, *, where: str = "layer", ids=None) -> None:
    """Raise :class:`~redline.errors.GeometryError` naming the features whose coordinates cannot be used
    (:func:`unusable_coordinates`), before GEOS or PROJ fail on them with a traceback.

    Files read with :func:`redline.read_layer` have had such features dropped and reported already; this guards
    GeoDataFrames handed to the Python API.

    Examples
    --------
    >>> from shapely import Point
    >>> require_usable([Point(108, 29), Point(float("nan"), 29)], where="projects", ids=["A", "B"])
    Traceback (most recent call last):
    ...
    redline.errors.GeometryError: projects: 1 feature with non-finite coordinates (NaN/inf): B; fix or delete it ...
    """
    reasons = unusable_coordinates(geoms, crs)
    bad = np.flatnonzero(reasons != "")
    if not len(bad):
        return
    names = list(range(len(reasons))) if ids is None else list(ids)
    parts = []
    for reason in dict.fromkeys(reasons[bad].tolist()):
        which = bad[reasons[bad] == reason]
        shown = ", ".join(str(names[i]) for i in which[:10]) + (", …" if len(which) > 10 else "")
        parts.append(f"{len(which)} feature{'s' if len(which) > 1 else ''} with {reason}: {shown}")
    one = len(bad) == 1
    raise GeometryError(f"{where}: {'; '.join(parts)}; fix or delete {'it' if one else 'them'} in a GIS "
                        f"(redline drops such features when it reads a file)")


class Repair(NamedTuple):
    """What :func:`repair` returns: the geometries, which were repaired, GEOS's reason and what was done."""

    geoms: np.ndarray     #: one valid geometry per input (a copy when any was repaired)
    repaired: np.ndarray  #: bool, the inputs that were invalid and were remade
    reasons: np.ndarray   #: GEOS's reason for each repaired one (``is_valid_reason``), ``""`` for the others
    fixes: np.ndarray     #: what the repair did, in a planner's terms, ``""`` for the others


_OVERLAPPING_PARTS = "overlapping parts merged (union; the shared area counts once)"
_EDGE_SHARING_PARTS = "parts sharing an edge joined into one (union; area unchanged)"
_CROSSING_RINGS = "hole crossing the boundary or another hole: holes merged and cut back to the polygon"
#: What the repair did, by the first words of GEOS's reason. ``Self-intersection`` of a multipolygon whose parts
#: are each valid is :data:`_OVERLAPPING_PARTS`; of a polygon whose rings are each simple, :data:`_CROSSING_RINGS`.
_FIXES = (
    ("Ring Self-intersection", "self-touching boundary fixed (split where it touches itself)"),
    ("Self-intersection", "self-intersection fixed (each loop of the boundary kept)"),
    ("Nested shells", "a part lying inside another merged into it (union)"),
    ("Hole lies outside shell", "a hole lying outside its polygon kept as an area of its own"),
    ("Interior is disconnected", "holes that cut the polygon apart: its pieces kept as separate parts"),
    ("Nested holes", "a hole inside another hole merged into it"),
    ("Duplicate Rings", "a repeated ring removed"),
    ("Too few points", "degenerate ring or line (too few distinct points) removed"),
    ("Ring is not closed", "unclosed ring closed"),
)


def _fixes(geoms: np.ndarray, reasons: np.ndarray) -> np.ndarray:
    """What :func:`repair` did to each of the invalid ``geoms``, from GEOS's ``reasons`` and their parts."""
    fixes = np.full(len(geoms), "made valid", dtype=object)
    text = reasons.astype(str)
    for prefix, fix in reversed(_FIXES):
        fixes[np.char.startswith(text, prefix)] = fix
    selfx = np.flatnonzero(np.char.startswith(text, "Self-intersection")
                           & np.isin(shapely.get_type_id(geoms), (3, 6)))
    if len(selfx):
        parts, owner = shapely.get_parts(geoms[selfx], return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        simple = shapely.is_valid(shapely.polygons(rings))  # a simple ring makes a valid polygon
        parts_simple = np.bincount(ring_part[~simple], minlength=len(parts)) == 0
        each_valid = np.bincount(owner[~shapely.is_valid(parts)], minlength=len(selfx)) == 0
        each_simple = np.bincount(owner[~parts_simple], minlength=len(selfx)) == 0
        multi = shapely.get_type_id(geoms[selfx]) == 6
        fixes[selfx[each_simple & ~(multi & each_valid)]] = _CROSSING_RINGS
        fixes[selfx[multi & each_valid]] = _OVERLAPPING_PARTS
    return fixes


def repair(geoms, *, geometry: Literal["polygon", "any"] = "polygon", crs=None, where: str = "layer",
           ids=None) -> Repair:
    """Make every geometry valid, keeping what was drawn: the one repair redline applies everywhere.

    Invalid polygons are remade with GEOS's *structure* method (``shapely.make_valid(g, method="structure")``):
    the union of the outer rings minus the union of the holes. So the overlapping parts of a multipolygon
    merge into their union (counted once — the default *linework* method would keep only their symmetric
    difference and lose the shared area), a bow-tie keeps both loops, a hole crossing its polygon's edge is cut
    back to the polygon, and a hole outside its polygon is kept as an area. Valid geometries are not touched.

    Parameters
    ----------
    geoms : array-like of shapely geometries
    geometry : {"polygon", "any"}
        ``"polygon"``: every result is polygonal (a Polygon, a MultiPolygon, or empty when nothing with area
        is left); points, lines and the non-polygonal parts of collections are dropped, and the polygons of a
        collection are united. ``"any"`` (project footprints): lines and points are kept; invalid ones are
        repaired with the *linework* method (the structure method is for areas); collections with the
        structure method, keeping collapsed parts.
    crs : optional
        The CRS of ``geoms``: with it, coordinates outside its range are refused as well.
    where, ids : optional
        Names of the layer and its features, for the error below (default: positions).

    Returns
    -------
    Repair
        ``(geoms, repaired, reasons, fixes)``: the geometries; a bool mask of those repaired; GEOS's reason
        (``shapely.is_valid_reason``) and what the repair did, in a planner's terms, for each repaired one.

    Raises
    ------
    GeometryError
        When a geometry has NaN/inf coordinates (or, with ``crs``, coordinates outside its range): nothing
        can repair or measure them (:func:`require_usable`); :func:`redline.read_layer` drops such features.

    Examples
    --------
    >>> from shapely import MultiPolygon, box
    >>> overlapping = MultiPolygon([box(0, 0, 2, 2), box(1, 1, 3, 3)])  # two 4 m² parts sharing 1 m²
    >>> fixed = repair([overlapping, box(5, 5, 6, 6)])
    >>> fixed.geoms[0].area, fixed.repaired.tolist(), fixed.fixes[0]
    (7.0, [True, False], 'overlapping parts merged (union; the shared area counts once)')
    >>> fixed.reasons[0]
    'Self-intersection[1 2]'
    """
    arr = np.asarray(geoms, dtype=object)
    require_usable(arr, crs, where=where, ids=ids)
    with np.errstate(all="ignore"):  # huge coordinates overflow in GEOS's checks: no warnings on the terminal
        return _repair(arr, geometry)


def _repair(arr: np.ndarray, geometry: str) -> Repair:
    out = arr
    if geometry == "polygon":
        kind = shapely.get_type_id(arr)
        reduce = (kind >= 0) & ~np.isin(kind, (3, 6))
        if reduce.any():  # collections keep their polygons (which may overlap: repaired below), others nothing
            out = arr.copy()
            out[reduce] = polygonal(arr[reduce])
    elif geometry != "any":
        raise ValueError(f"geometry must be 'polygon' or 'any', got {geometry!r}")
    valid = threaded(shapely.is_valid, out)
    repaired = ~valid & ~shapely.is_missing(out)
    reasons = np.full(len(out), "", dtype=object)
    fixes = np.full(len(out), "", dtype=object)
    if not repaired.any():
        return Repair(out, repaired, reasons, fixes)
    idx = np.flatnonzero(repaired)
    bad = out[idx]
    reasons[idx] = shapely.is_valid_reason(bad)
    fixes[idx] = _fixes(bad, reasons[idx])
    out = out.copy()
    kind = shapely.get_type_id(bad)
    areal = np.isin(kind, (3, 6))
    if geometry == "polygon":
        out[idx] = shapely.make_valid(bad, method="structure", keep_collapsed=False)
    else:
        if areal.any():
            out[idx[areal]] = shapely.make_valid(bad[areal], method="structure", keep_collapsed=False)
        coll = kind == 7
        if coll.any():
            out[idx[coll]] = shapely.make_valid(bad[coll], method="structure", keep_collapsed=True)
        rest = ~areal & ~coll
        if rest.any():
            out[idx[rest]] = shapely.make_valid(bad[rest])
    merged = np.flatnonzero(fixes[idx] == _OVERLAPPING_PARTS)
    if len(merged):  # parts that only share an edge lose no area in the union: say so
        parts, owner = shapely.get_parts(bad[merged], return_index=True)
        summed = np.bincount(owner, weights=shapely.area(parts), minlength=len(merged))
        joined = shapely.area(out[idx[merged]]) >= summed * (1 - 1e-9)
        fixes[idx[merged[joined]]] = _EDGE_SHARING_PARTS
    return Repair(out, repaired, reasons, fixes)


def describe_repairs(fixes) -> str:
    """One note for a layer's repairs: how many, and what was done (the ``fixes`` of :func:`repair`).

    Examples
    --------
    >>> describe_repairs(["overlapping parts merged (union; the shared area counts once)"])
    '1 invalid geometry repaired: overlapping parts merged (union; the shared area counts once) ×1'
    """
    counts = Counter(fix or "made valid" for fix in fixes)
    n = sum(counts.values())
    return (f"{n} invalid geometr{'y' if n == 1 else 'ies'} repaired: "
            + "; ".join(f"{fix} ×{k}" for fix, k in counts.most_common()))


def reproject(data, crs, note=None, name: str | None = None):
    """``data`` (a GeoDataFrame or GeoSeries) in ``crs``: itself when it is already there, else reprojected,
    and ``note`` (a callable, e.g. :meth:`redline.io.ReadReport.note`) told from which CRS to which —
    ``"NAME: reprojected from EPSG:4490 (…) to EPSG:4545 (…)"``.

    geopandas transforms every coordinate unless the two CRSs are *exactly* the same object description
    (EPSG:4545 read from GeoParquet's PROJJSON and from a GeoPackage differ in metadata only): 3 s on
    500 000 parcels for nothing. So equal CRSs are compared here first.

    Examples
    --------
    >>> import geopandas as gpd
    >>> notes = []
    >>> layer = gpd.GeoSeries([shapely.Point(108.0, 29.0)], crs="EPSG:4490")
    >>> reproject(layer, "EPSG:4490", notes.append) is layer, notes
    (True, [])
    >>> round(reproject(layer, "EPSG:4545", notes.append, "projects").x[0]), notes[0]
    (500000, 'projects: reprojected from EPSG:4490 (China Geodetic Coordinate System 2000) to EPSG:4545 (CGCS2000 / 3-degree Gauss-Kruger CM 108E)')
    """
    target = CRS.from_user_input(crs)
    if data.crs is not None and CRS.from_user_input(data.crs).equals(target):
        return data
    out = data.to_crs(target)
    if note is not None:
        note(f"{name + ': ' if name else ''}reprojected from {describe_crs(data.crs)} to {describe_crs(target)}")
    return out
