"""Areas on the CGCS2000 ellipsoid, dissolve, and the units of Chinese planning documents.

Areas in Chinese land data are *ellipsoidal* areas on the CGCS2000 ellipsoid
(GRS80 semi-axes and flattening; the difference from GRS80 is below 1e-10).
:func:`ellipsoidal_area` transforms every coordinate to longitude/latitude in
one vectorised call, whatever the input CRS, and measures all rings at once on
the authalic sphere (the equal-area sphere of the ellipsoid) with great-circle
edges — equal to GeographicLib's geodesic polygon area
(``pyproj.Geod.polygon_area_perimeter``, the algorithm of GDAL's
``OGR_G_GeodesicArea``) within ~1e-11 relative for parcel-sized edges; rings
with edges longer than ~5 km are measured with GeographicLib itself.

Small polygons (at most 150 m across) in a projected CRS on the GRS80 figure take
a shortcut: their plane area divided by the projection's areal scale factor at
their centroid (one point transformed per polygon instead of every vertex) —
within 0.02 m² of GeographicLib even at a 3° zone's edge, and ~5× faster on a
layer of farmland parcels. Plane area is available on request and refused where
it would mislead (degrees, Web Mercator).

The repair and the coordinate checks the measurements rely on live in
:mod:`redline.geometry.clean`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Geod, Proj, Transformer

from ._parallel import threaded, workers
from .clean import polygonal, repair
from .crs import CGCS2000
from ..errors import CRSError, InputError
from ..text import LANGS, labels

__all__ = [
    "UNITS",
    "UNIT_LABELS",
    "convert",
    "area",
    "ellipsoidal_area",
    "plane_area",
    "dissolve",
    "covered_area",
    "areal_scale",
]

#: Square metres in one unit. 1 亩 = 10000/15 m²; 1 公顷 = 15 亩; 1 km² = 1500 亩.
UNITS: dict[str, float] = {
    "m2": 1.0,
    "km2": 1_000_000.0,
    "ha": 10_000.0,
    "mu": 10_000.0 / 15.0,
    "wanmu": 100_000_000.0 / 15.0,
}

#: Unit labels for tables and reports, from the message catalog (``text/units.toml``): ``{lang: {unit: label}}``.
UNIT_LABELS: dict[str, dict[str, str]] = {lang: labels("units", lang) for lang in LANGS}

_GEOD = Geod(ellps="GRS80")
_PARALLEL_RINGS = 20_000  # below this, threads cost more than they save
AreaMethod = Literal["ellipsoidal", "plane"]


def convert(area_m2, unit: str):
    """Convert square metres to ``unit`` (``m2``, ``km2``, ``ha``, ``mu``, ``wanmu``).

    Examples
    --------
    >>> convert(1_000_000, "mu")
    1500.0
    >>> convert(10_000, "mu")
    15.0
    """
    try:
        factor = UNITS[unit]
    except KeyError:
        raise InputError(f"unknown area unit {unit!r}; use one of {', '.join(UNITS)}") from None
    return area_m2 / factor


def _geometries_and_crs(geoms, crs) -> tuple[np.ndarray, CRS]:
    if isinstance(geoms, gpd.GeoDataFrame):
        geoms = geoms.geometry
    if isinstance(geoms, gpd.GeoSeries):
        crs = crs if crs is not None else geoms.crs
        geoms = geoms.values
    arr = np.asarray(geoms, dtype=object)
    if crs is None:
        raise CRSError("cannot measure areas without a CRS: set one on the layer or pass crs=")
    return arr, CRS.from_user_input(crs)




def _lonlat(xy: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    if crs.is_geographic and crs.ellipsoid is not None and abs(crs.ellipsoid.semi_major_metre - 6378137.0) < 1e-3:
        # CGCS2000, WGS 84 and ETRS89 share the GRS80 figure to 1e-10: coordinates are already lon/lat
        # (pyproj's axis order is normalised by always_xy below, geopandas stores x=lon).
        return xy[:, 0], xy[:, 1]
    lon, lat = np.empty(len(xy)), np.empty(len(xy))

    def work(lo: int, hi: int) -> None:  # a Transformer per thread: they are not shared across threads
        tr = Transformer.from_crs(crs, CGCS2000, always_xy=True)
        lon[lo:hi], lat[lo:hi] = tr.transform(xy[lo:hi, 0], xy[lo:hi, 1])

    _in_slices(work, len(xy), _CHUNK_VERTICES)
    return lon, lat


def _in_slices(work, n: int, per: int) -> None:
    """``work(lo, hi)`` over ``range(n)`` in one slice per core (at most one per ``per`` items), on threads (PROJ
    releases the GIL); one slice runs here."""
    edges = np.linspace(0, n, max(1, min(workers(), n // per)) + 1).astype(int)
    if len(edges) == 2:
        work(0, n)
        return
    with ThreadPoolExecutor(len(edges) - 1) as pool:
        for future in [pool.submit(work, lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]:
            future.result()


def areal_scale(crs, x, y) -> np.ndarray:
    """The projection's areal scale factor at points ``x, y`` of a projected ``crs``: plane area ÷ the
    ellipsoidal area of a small patch there (PROJ's ``proj_factors``).

    Examples
    --------
    >>> round(float(areal_scale("EPSG:4545", [650_000.0], [3_300_000.0])[0]), 6)  # 150 km off the central meridian
    1.000555
    """
    crs = CRS.from_user_input(crs)
    x, y = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
    out = np.empty(len(x))

    def work(lo: int, hi: int) -> None:  # PROJ objects per thread: they are not shared across threads
        lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(x[lo:hi], y[lo:hi])
        out[lo:hi] = Proj(crs).get_factors(np.asarray(lon), np.asarray(lat)).areal_scale

    _in_slices(work, len(x), 50_000)
    return out


_SCALE_SHORTCUT_M = 150.0  # polygons at most this wide: plane area ÷ areal scale at the centroid


def _scale_shortcut(arr: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``arr`` may be measured as plane area ÷ areal scale at the centroid, and their areas.

    The shortcut needs a projected CRS on the GRS80 figure (CGCS2000 GK, UTM …) and polygons at most
    150 m across: the areal scale then varies by <1e-9 over the polygon, and a straight edge in the
    plane parts from the geodesic by < 0.02 m² of area (measured against GeographicLib 160 km off a
    3° zone's central meridian, where it is largest). Anything else takes the full path.
    """
    none = np.zeros(len(arr), dtype=bool), np.zeros(0)
    if crs.is_geographic or not crs.is_projected or crs.ellipsoid is None:
        return none
    if abs(crs.ellipsoid.semi_major_metre - 6378137.0) > 1e-3 or abs(crs.ellipsoid.inverse_flattening - 298.257) > 1e-2:
        return none
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    types = shapely.get_type_id(arr)
    xmin, ymin, xmax, ymax = shapely.bounds(arr).T
    with np.errstate(invalid="ignore"):
        small = ((types == 3) | (types == 6)) & (np.fmax(xmax - xmin, ymax - ymin) * unit <= _SCALE_SHORTCUT_M)
    small &= ~shapely.is_empty(arr)
    if not small.any():
        return none
    geoms = arr[small]
    centre, plane = threaded(shapely.centroid, geoms, chunk=50_000), threaded(shapely.area, geoms, chunk=50_000)
    scale = areal_scale(crs, shapely.get_x(centre), shapely.get_y(centre))
    return small, plane * unit * unit / scale


def ellipsoidal_area(geoms, crs=None) -> np.ndarray:
    """Ellipsoidal area in m² of each geometry, on the CGCS2000 (GRS80) ellipsoid.

    Works for any input CRS: coordinates are transformed to longitude/latitude
    first (one vectorised call). Holes are subtracted, multi-parts added,
    non-polygonal parts count zero, empty/missing geometries measure 0.

    Parameters
    ----------
    geoms : GeoSeries, GeoDataFrame or array-like of shapely geometries
    crs : optional
        Required when ``geoms`` carries no CRS.

    Returns
    -------
    numpy.ndarray of float64, square metres.

    Examples
    --------
    >>> from shapely import box
    >>> a = ellipsoidal_area([box(108.0, 29.0, 108.01, 29.01)], crs="EPSG:4490")
    >>> round(float(a[0]))
    1079920
    """
    arr, crs = _geometries_and_crs(geoms, crs)
    result = np.zeros(len(arr), dtype=float)
    if not len(arr):
        return result
    if crs.is_geographic:  # lon/lat edges are geodesics: points along every one over 120 m, so a ring's sliver off
        arr, _ = densify_geodesic(arr, crs, _AREA_STEP_M)  # the authalic great circle stays under ~5e-10
    small, small_m2 = _scale_shortcut(arr, crs)
    if small.any():
        result[small] = small_m2
        rest = np.flatnonzero(~small)
        if len(rest):
            result[rest] = _full_area(arr[rest], crs)
        return result
    return _full_area(arr, crs)


#: Edges of lon/lat polygons longer than this (m) get points along their geodesic on read (:func:`densify_geodesic`).
GEODESIC_STEP_M = 100.0
#: ... and when measured: a little longer than on read, so a layer read (its edges at most 100 m) is not looked at
#: again edge by edge (the first look's estimate of an edge's length is within 10 %)
_AREA_STEP_M = 120.0


def densify_geodesic(geoms, crs, max_m: float = GEODESIC_STEP_M) -> tuple[np.ndarray, int]:
    """Points added along the geodesic of every edge longer than ``max_m`` (m) of polygons in a geographic CRS,
    so no edge is longer than that; ``(geometries, how many changed)``. Others (projected CRS, points, lines,
    3D) are returned as they are.

    A polygon's ellipsoidal area takes its edges as geodesics; overlays (intersection, union) take them as
    straight lines in lon/lat, and put the points where they cut an edge on that line. On a 10 km edge at 30°N
    the two part by metres, so the area of a piece depends on which edges were cut, and where. With points on
    the geodesic every ``max_m`` the area is unchanged (the geodesic through them is the same) and the lines
    part by ~0.1 mm: any two cuts give the same areas, to ~0.01 m² per cut edge.

    Examples
    --------
    >>> from shapely import box
    >>> dense, n = densify_geodesic(np.array([box(108.0, 29.0, 108.1, 29.1)]), "EPSG:4490")
    >>> n, int(shapely.get_num_coordinates(dense[0]))  # 4 edges of ~10 km: a point every 100 m or less
    (1, 419)
    >>> before = ellipsoidal_area([box(108.0, 29.0, 108.1, 29.1)], crs=4490)[0]
    >>> bool(abs(ellipsoidal_area(dense, crs=4490)[0] / before - 1) < 1e-12)
    True
    """
    arr = np.asarray(geoms, dtype=object).copy()
    if not CRS.from_user_input(crs).is_geographic or not len(arr):
        return arr, 0
    kind = shapely.get_type_id(arr)
    ok = ((kind == 3) | (kind == 6)) & ~shapely.has_z(arr)
    if not ok.any():
        return arr, 0
    xy, owner = shapely.get_coordinates(arr[ok], return_index=True)
    step = np.hypot(np.diff(xy[:, 0]) * np.cos(np.radians(xy[1:, 1])), np.diff(xy[:, 1])) * 111_320.0
    # a conservative first look (the step between two rings counts too): only these are measured
    candidate = np.zeros(int(ok.sum()), bool)
    candidate[owner[1:][step > 0.9 * max_m]] = True
    at = np.flatnonzero(ok)[candidate]
    changed = 0
    for type_id in (3, 6):  # one geometry type per ragged array
        which = at[kind[at] == type_id]
        if not len(which):
            continue
        new = _densified(arr[which], max_m)
        if new is None:
            continue
        grew = shapely.get_num_coordinates(new) > shapely.get_num_coordinates(arr[which])
        arr[which[grew]] = new[grew]
        changed += int(grew.sum())
    return arr, changed


def _densified(geoms: np.ndarray, max_m: float) -> np.ndarray | None:
    """Polygons of one type (all Polygons, or all MultiPolygons) with points along the geodesic of every edge
    longer than ``max_m``; ``None`` when no edge is."""
    geom_type, coords, offsets = shapely.to_ragged_array(geoms)
    rings = offsets[0]
    n = len(coords)
    same = np.ones(max(n - 1, 0), bool)
    same[rings[1:-1] - 1] = False  # no edge from a ring's last vertex to the next ring's first
    edges = np.flatnonzero(same)
    az, _, dist = _GEOD.inv(coords[edges, 0], coords[edges, 1], coords[edges + 1, 0], coords[edges + 1, 1])
    extra = np.maximum(np.ceil(dist / max_m).astype(int) - 1, 0)
    if not extra.any():
        return None
    long = extra > 0
    edges, az, dist, extra = edges[long], az[long], dist[long], extra[long]
    rep = np.repeat(np.arange(len(edges)), extra)
    k = np.arange(len(rep)) - np.repeat(np.cumsum(extra) - extra, extra) + 1  # 1 … extra on each edge
    lon, lat, _ = _GEOD.fwd(coords[edges[rep], 0], coords[edges[rep], 1], az[rep],
                            dist[rep] * k / (extra[rep] + 1))
    dense = np.insert(coords, np.repeat(edges + 1, extra), np.c_[lon, lat], axis=0)
    added = np.zeros(n + 1, dtype=np.int64)
    np.add.at(added, edges + 1, extra)
    shift = np.cumsum(added)
    return shapely.from_ragged_array(geom_type, dense, (rings + shift[rings], *offsets[1:]))


def _full_area(arr: np.ndarray, crs: CRS) -> np.ndarray:
    """Every vertex to lon/lat, every ring on the authalic sphere (GeographicLib for long edges)."""
    result = np.zeros(len(arr), dtype=float)
    types = shapely.get_type_id(arr)
    if (types == 3).all():  # plain polygons (the common case): no need to split parts
        polys, owner = arr, np.arange(len(arr))
    else:
        polys, owner = shapely.get_parts(polygonal(arr), return_index=True)
    polys_ok = ~shapely.is_empty(polys)
    polys, owner = polys[polys_ok], owner[polys_ok]
    if not len(polys):
        return result
    # one pass over the coordinates: rings and their polygons as offsets (no ring geometries are built)
    if not shapely.get_num_interior_rings(polys).any():  # no holes: a polygon is its ring
        xy = shapely.get_coordinates(polys)
        ring_offsets = np.r_[0, np.cumsum(shapely.get_num_coordinates(polys))]
        poly_offsets = np.arange(len(polys) + 1)
    else:
        _, xy, (ring_offsets, poly_offsets) = shapely.to_ragged_array(polys)
    n_rings = len(ring_offsets) - 1
    coord_ring = np.repeat(np.arange(n_rings), np.diff(ring_offsets))
    ring_owner = np.repeat(np.arange(len(polys)), np.diff(poly_offsets))
    is_exterior = np.zeros(n_rings, dtype=bool)
    is_exterior[poly_offsets[:-1]] = True
    lon, lat = _lonlat(xy, crs)
    ring_area = np.abs(_authalic_ring_areas(lon, lat, coord_ring, n_rings))
    # rings with an edge longer than ~5 km: GeographicLib itself. Between a great circle of the authalic sphere and
    # the ellipsoid's geodesic lies a sliver growing with the edge's length cubed, the same whatever the polygon's
    # size: ~1e-9 of a large polygon at 0.1° edges, but up to 6e-7 of a 30 ha parcel with a 2 km diagonal edge.
    # read_layer puts points every 100 m along long lon/lat edges (densify_geodesic), which makes that 3e-10.
    # Switching method per ring at 100 m instead broke additivity: an edge two pieces share was measured one way
    # on one side and the other way on the other (the Dask and local screenings then parted by 1e-7).
    long_edges = _max_edge_deg(lon, lat, ring_offsets) > _AUTHALIC_MAX_EDGE_DEG
    if long_edges.any():
        which = np.flatnonzero(long_edges)
        ring_area[which] = np.abs(_ring_areas(lon, lat, ring_offsets[:-1][which], ring_offsets[1:][which]))
    ring_area = ring_area * np.where(is_exterior, 1.0, -1.0)
    poly_area = np.bincount(ring_owner, weights=ring_area, minlength=len(polys))
    result += np.bincount(owner, weights=poly_area, minlength=len(arr))
    return result


# The authalic ("equal-area") sphere: latitude φ maps to authalic latitude β with the same area between
# parallels, on a sphere of radius R_q. A ring's area is its spherical excess × R_q².
_A = 6378137.0
_F = 1 / 298.257222101
_E2 = _F * (2 - _F)
_E = np.sqrt(_E2)
_AUTHALIC_MAX_EDGE_DEG = 0.05
_CHUNK_VERTICES = 250_000


def _q(phi: np.ndarray) -> np.ndarray:
    s = np.sin(phi)
    return (1 - _E2) * (s / (1 - _E2 * s * s) - np.log((1 - _E * s) / (1 + _E * s)) / (2 * _E))


_QP = float(_q(np.array(np.pi / 2)))
_RQ2 = _A * _A * _QP / 2


def _authalic_ring_areas(lon: np.ndarray, lat: np.ndarray, ring: np.ndarray, n: int) -> np.ndarray:
    """Signed area of each ring (see :func:`_authalic_chunk`), in chunks of whole rings on all cores.

    numpy releases the GIL in its loops, and chunks of ~250 000 vertices stay in cache.
    """
    if len(ring) <= _CHUNK_VERTICES:
        return _authalic_chunk(lon, lat, ring - ring[0] if len(ring) else ring, n)
    cuts = np.searchsorted(ring, np.arange(0, n, max(1, int(n * _CHUNK_VERTICES / len(ring)))), side="left")
    cuts = np.unique(np.r_[cuts, len(ring)])
    out = np.zeros(n)

    def work(lo: int, hi: int) -> None:
        first = int(ring[lo])
        local = ring[lo:hi] - first
        last = int(local[-1]) + 1
        out[first:first + last] = _authalic_chunk(lon[lo:hi], lat[lo:hi], local, last)

    with ThreadPoolExecutor(min(os.cpu_count() or 1, 8)) as pool:
        for future in [pool.submit(work, lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo]:
            future.result()
    return out


def _authalic_chunk(lon: np.ndarray, lat: np.ndarray, ring: np.ndarray, n: int) -> np.ndarray:
    """Signed area of each ring on the authalic sphere with great-circle edges, all rings in one pass.

    Each ring is first rotated so that its centre lies at (0°, 0°): the spherical-excess terms are
    then small and no precision is lost summing them (at 29°N, without the rotation, a 1 ha
    parcel of 40 vertices loses ~1e-5 of its area to rounding). Equal to GeographicLib's geodesic
    polygon area within ~1e-11 (edges of 1 km) to ~1e-9 (edges of 10 km) relative; rings with
    longer edges are measured with GeographicLib.
    """
    lam = np.radians(lon)
    z = np.clip(_q(np.radians(lat)) / _QP, -1.0, 1.0)  # sin of the authalic latitude
    cb = np.sqrt(1.0 - z * z)
    x, y = cb * np.cos(lam), cb * np.sin(lam)
    # rotate each ring's centre to (0°, 0°): about the polar axis, then about the new y axis
    cx, cy, cz = (np.bincount(ring, weights=v, minlength=n) for v in (x, y, z))
    h = np.hypot(cx, cy)
    norm = np.hypot(h, cz)
    norm[norm == 0] = 1.0
    h_safe = np.where(h == 0, 1.0, h)
    cos_l, sin_l = np.where(h == 0, 1.0, cx / h_safe)[ring], np.where(h == 0, 0.0, cy / h_safe)[ring]
    cos_b, sin_b = (h / norm)[ring], (cz / norm)[ring]
    x1, y1 = x * cos_l + y * sin_l, y * cos_l - x * sin_l
    x2, z2 = x1 * cos_b + z * sin_b, z * cos_b - x1 * sin_b
    rho = np.hypot(x2, y1)
    t = z2 / (1.0 + rho)  # tan(β'/2)
    same = ring[1:] == ring[:-1]
    # tan(Δλ'/2) from the two vertices' horizontal directions
    dot = x2[:-1] * x2[1:] + y1[:-1] * y1[1:]
    cross = x2[:-1] * y1[1:] - y1[:-1] * x2[1:]
    rr = rho[:-1] * rho[1:]
    tan_half = cross / (rr + dot)
    t1, t2 = t[:-1], t[1:]
    excess = 2 * np.arctan2(tan_half * (t1 + t2), 1 + t1 * t2)
    return np.bincount(ring[:-1][same], weights=excess[same], minlength=n) * _RQ2


def _max_edge_deg(lon: np.ndarray, lat: np.ndarray, ring_offsets: np.ndarray) -> np.ndarray:
    """The longest edge of each ring, in degrees of longitude or latitude (whichever is larger)."""
    span = np.maximum(np.abs(np.diff(lon)), np.abs(np.diff(lat)))
    if not len(span):
        return np.zeros(len(ring_offsets) - 1)
    span[ring_offsets[1:-1] - 1] = 0.0  # the step from one ring's last vertex to the next ring's first
    return np.maximum.reduceat(np.r_[span, 0.0], ring_offsets[:-1])


def _ring_areas(lon: np.ndarray, lat: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Signed geodesic area of each ring ``lon/lat[starts[i]:ends[i]]``.

    GeographicLib measures one ring per call and releases the GIL, so large
    layers are split into chunks measured on all cores.
    """
    out = np.empty(len(starts))
    measure = _GEOD.polygon_area_perimeter

    def work(lo: int, hi: int) -> None:
        for i, s, e in zip(range(lo, hi), starts[lo:hi].tolist(), ends[lo:hi].tolist()):
            out[i] = measure(lon[s:e], lat[s:e])[0]

    workers = min(os.cpu_count() or 1, 8)
    if workers == 1 or len(starts) < _PARALLEL_RINGS:
        work(0, len(starts))
        return out
    edges = np.linspace(0, len(starts), workers * 4 + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work, lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]:
            future.result()
    return out


def plane_area(geoms, crs=None) -> np.ndarray:
    """Plane (grid) area in m² in the layer's own projected CRS.

    Refused for geographic CRSs (degrees are no unit of area) and for Web
    Mercator, whose areas are about 33 % too large at 30°N.

    Examples
    --------
    >>> from shapely import box
    >>> plane_area([box(500_000, 3_300_000, 501_000, 3_301_000)], crs="EPSG:4545")
    array([1000000.])
    """
    arr, crs = _geometries_and_crs(geoms, crs)
    if crs.is_geographic:
        raise CRSError(f"plane area needs a projected CRS; {crs.to_string()} is geographic — use ellipsoidal area")
    if crs.to_epsg() in (3857, 900913, 3785):
        raise CRSError("plane area in Web Mercator (EPSG:3857) is ~33 % too large in China — use ellipsoidal area")
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return shapely.area(polygonal(arr)) * unit * unit


def area(geoms, crs=None, method: AreaMethod = "ellipsoidal", unit: str = "m2") -> np.ndarray:
    """Area of each geometry by ``method`` (``ellipsoidal`` default, or ``plane``) in ``unit``.

    Examples
    --------
    >>> from shapely import box
    >>> area([box(500_000, 3_300_000, 501_000, 3_301_000)], crs="EPSG:4545", method="plane", unit="mu")
    array([1500.])
    """
    if method == "ellipsoidal":
        m2 = ellipsoidal_area(geoms, crs)
    elif method == "plane":
        m2 = plane_area(geoms, crs)
    else:
        raise ValueError(f"area method must be 'ellipsoidal' or 'plane', got {method!r}")
    return convert(m2, unit)


def dissolve(geoms, grid_size: float | None = None) -> shapely.Geometry:
    """Union of all polygonal parts into one valid (Multi)Polygon: overlaps count once.

    Examples
    --------
    >>> from shapely import box
    >>> dissolve([box(0, 0, 2, 2), box(1, 1, 3, 3)]).area
    7.0
    """
    if isinstance(geoms, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geoms = geoms.geometry.values if isinstance(geoms, gpd.GeoDataFrame) else geoms.values
    arr = repair(np.asarray(geoms, dtype=object)).geoms
    arr = arr[~(shapely.is_missing(arr) | shapely.is_empty(arr))]
    if not len(arr):
        return shapely.MultiPolygon()
    merged = shapely.union_all(arr, grid_size=grid_size)
    merged = polygonal([merged])[0]
    return merged


def covered_area(
    geoms, crs=None, within: shapely.Geometry | None = None, method: AreaMethod = "ellipsoidal"
) -> float:
    """Area (m²) covered by a layer — dissolved, so overlaps count once — optionally clipped to ``within``.

    ``within`` must be in the same CRS as ``geoms``.

    Examples
    --------
    >>> from shapely import box
    >>> covered_area([box(0, 0, 2, 2), box(1, 1, 3, 3)], crs="EPSG:4545", within=box(0, 0, 2, 3), method="plane")
    5.0
    """
    _, crs = _geometries_and_crs(geoms, crs)
    merged = dissolve(geoms)
    if within is not None:
        merged = polygonal([shapely.intersection(merged, within)])[0]
    return float(area([merged], crs=crs, method=method)[0])
