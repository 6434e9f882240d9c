"""Coordinate reference systems of Chinese data: CGCS2000 and its Gauss-Krüger zones.

Chinese layers come as CGCS2000 geographic (EPSG:4490), as Gauss-Krüger 3° zones
with the zone number prefixed to the easting (EPSG:4513–4533, x ≈ 36 500 000) or
without it (EPSG:4534–4554, "CM 108E"), as 6° zones (EPSG:4491–4512), and often
with no ``.prj`` at all.  This module recognises what the coordinates reveal and
*suggests* a CRS; it never guesses silently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from ..errors import CRSError

__all__ = [
    "CGCS2000",
    "CHINA_LON",
    "CHINA_LAT",
    "CRSGuess",
    "gk_crs",
    "guess_crs",
    "looks_swapped",
    "describe_crs",
    "crs_code",
    "to_crs",
    "reproject_polygons",
    "reproject_to",
    "transform_bbox",
    "working_crs",
]

#: CGCS2000 geographic, the reference frame of Chinese land data.
CGCS2000 = "EPSG:4490"

#: Longitude and latitude ranges of China, with a small margin.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)

# Northings of China in a transverse Mercator / Gauss-Krüger grid.
_NORTHING = (300_000.0, 6_100_000.0)


@dataclass(frozen=True)
class CRSGuess:
    """A CRS suggested from coordinates, with the reason in words.

    ``crs`` is ``None`` when the coordinates narrow it down but don't decide it
    (a Gauss-Krüger easting without zone prefix: the central meridian is unknown).
    """

    crs: str | None
    reason: str


def gk_crs(
    zone_or_cm: int, width: Literal[3, 6] = 3, prefixed: bool = True
) -> str:
    """Return the CGCS2000 Gauss-Krüger CRS for a zone number or central meridian.

    Parameters
    ----------
    zone_or_cm : int
        The zone number when ``prefixed`` (3° zones 25–45, 6° zones 13–23),
        otherwise the central meridian in degrees east (75–135).
    width : {3, 6}
        Zone width in degrees.
    prefixed : bool
        Whether eastings carry the zone number (``36 500 000``) or not (``500 000``).

    Examples
    --------
    >>> gk_crs(36)
    'EPSG:4524'
    >>> gk_crs(108, prefixed=False)
    'EPSG:4545'
    >>> gk_crs(18, width=6)
    'EPSG:4496'
    """
    if width == 3:
        if prefixed:
            if not 25 <= zone_or_cm <= 45:
                raise ValueError(f"3° Gauss-Krüger zones of China are 25–45, got {zone_or_cm}")
            return f"EPSG:{4513 + zone_or_cm - 25}"
        if zone_or_cm % 3 or not 75 <= zone_or_cm <= 135:
            raise ValueError(f"3° central meridians of China are 75E–135E in steps of 3, got {zone_or_cm}")
        return f"EPSG:{4534 + (zone_or_cm - 75) // 3}"
    if width == 6:
        if prefixed:
            if not 13 <= zone_or_cm <= 23:
                raise ValueError(f"6° Gauss-Krüger zones of China are 13–23, got {zone_or_cm}")
            return f"EPSG:{4491 + zone_or_cm - 13}"
        if (zone_or_cm - 75) % 6 or not 75 <= zone_or_cm <= 135:
            raise ValueError(f"6° central meridians of China are 75E–135E in steps of 6, got {zone_or_cm}")
        return f"EPSG:{4502 + (zone_or_cm - 75) // 6}"
    raise ValueError(f"zone width must be 3 or 6, got {width}")


def _inside(lo: float, hi: float, rng: tuple[float, float]) -> bool:
    return rng[0] <= lo and hi <= rng[1]


def guess_crs(bounds: tuple[float, float, float, float]) -> CRSGuess | None:
    """Suggest a CRS from a layer's bounds ``(xmin, ymin, xmax, ymax)``.

    Recognises lon/lat in China (CGCS2000), lat/lon given in the wrong order,
    and Gauss-Krüger eastings with a zone prefix (8 digits: ``36 4xx xxx`` is
    3° zone 36, ``18 6xx xxx`` is 6° zone 18).  Returns ``None`` when nothing fits.

    Examples
    --------
    >>> guess_crs((108.3, 29.1, 109.0, 29.9)).crs
    'EPSG:4490'
    >>> guess_crs((36_420_000, 3_230_000, 36_490_000, 3_310_000)).crs
    'EPSG:4524'
    """
    xmin, ymin, xmax, ymax = bounds
    if _inside(xmin, xmax, CHINA_LON) and _inside(ymin, ymax, CHINA_LAT):
        return CRSGuess(CGCS2000, "coordinates are longitude/latitude in China")
    if _inside(xmin, xmax, CHINA_LAT) and _inside(ymin, ymax, CHINA_LON):
        return CRSGuess(
            CGCS2000,
            "coordinates look like latitude/longitude in the wrong order (x is 3–54, y is 73–136)",
        )
    if not _inside(ymin, ymax, _NORTHING):
        return None
    zone_lo, zone_hi = int(xmin // 1_000_000), int(xmax // 1_000_000)
    if zone_lo == zone_hi and 10_000_000 <= xmin:
        zone = zone_lo
        if 25 <= zone <= 45:
            return CRSGuess(
                gk_crs(zone, 3), f"8-digit eastings with zone prefix {zone}: CGCS2000 3° Gauss-Krüger zone {zone}"
            )
        if 13 <= zone <= 23:
            return CRSGuess(
                gk_crs(zone, 6), f"8-digit eastings with zone prefix {zone}: CGCS2000 6° Gauss-Krüger zone {zone}"
            )
        return None
    if _inside(xmin, xmax, (0.0, 1_000_000.0)):
        return CRSGuess(
            None,
            "eastings of 0–1 000 000 m without zone prefix: a Gauss-Krüger 'CM' CRS "
            "(CGCS2000 3°: EPSG:4534–4554, one per central meridian 75E–135E) whose central meridian "
            "the coordinates don't tell",
        )
    return None


def looks_swapped(bounds: tuple[float, float, float, float]) -> bool:
    """True when geographic bounds look like lat/lon in China given in the wrong order.

    Examples
    --------
    >>> looks_swapped((29.1, 108.3, 29.9, 109.0))
    True
    >>> looks_swapped((108.3, 29.1, 109.0, 29.9))
    False
    """
    xmin, ymin, xmax, ymax = bounds
    return (
        _inside(xmin, xmax, CHINA_LAT)
        and _inside(ymin, ymax, CHINA_LON)
        and not _inside(xmin, xmax, CHINA_LON)
    )


def describe_crs(crs: CRS | str | int | None) -> str:
    """A short human label such as ``EPSG:4545 (CGCS2000 / 3-degree Gauss-Kruger CM 108E)``.

    Examples
    --------
    >>> describe_crs("EPSG:4490")
    'EPSG:4490 (China Geodetic Coordinate System 2000)'
    >>> describe_crs("+proj=tmerc +lon_0=1.5 +k=1 +x_0=500000 +ellps=GRS80 +units=m")
    'Transverse Mercator centred on 1.5°E (GRS 1980)'
    """
    if crs is None:
        return "none"
    crs = CRS.from_user_input(crs)
    code = crs.to_epsg()
    if code:
        return f"EPSG:{code} ({crs.name})"
    if crs.name not in ("unknown", "", None):
        return crs.name
    operation = crs.coordinate_operation
    if operation is None:  # a custom geographic CRS
        return f"lon/lat on the {crs.ellipsoid.name if crs.ellipsoid else 'unknown'} ellipsoid"
    params = {p.name: p.value for p in operation.params}
    centre = params.get("Longitude of natural origin")
    return f"{operation.method_name}" + (f" centred on {centre:g}°E" if centre is not None else "") + \
        (f" ({crs.ellipsoid.name})" if crs.ellipsoid else "")


def working_crs(gdf: gpd.GeoDataFrame) -> str:
    """A metric CRS for buffers and distances near ``gdf``: the nearest CGCS2000 3° Gauss-Krüger CM zone.

    Outside China's central meridians (75E–135E) a transverse Mercator
    centred on the data is returned instead.

    Examples
    --------
    >>> from shapely import box
    >>> working_crs(gpd.GeoDataFrame(geometry=[box(108.5, 29.3, 108.9, 29.7)], crs="EPSG:4490"))
    'EPSG:4545'
    """
    if gdf.crs is None:
        raise CRSError("the layer has no CRS: set one first")
    from .clean import require_usable  # clean.py names CRSs with this module: imported here, not in a cycle

    require_usable(gdf.geometry.values, gdf.crs, where="layer", ids=gdf.index)  # NaN or 1e300 has no zone
    bounds = gdf.to_crs(CGCS2000).total_bounds if not CRS.from_user_input(gdf.crs).is_geographic else gdf.total_bounds
    lon = float((bounds[0] + bounds[2]) / 2)
    cm = int(3 * round(lon / 3))
    if 75 <= cm <= 135:
        return gk_crs(cm, prefixed=False)
    return f"+proj=tmerc +lat_0=0 +lon_0={lon:.6f} +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs"


def crs_code(crs: CRS | str | int | None) -> str | None:
    """The authority code of a CRS (``EPSG:4545``), or its name when it has none.

    Examples
    --------
    >>> crs_code("+proj=longlat +ellps=GRS80 +no_defs")
    'unknown'
    >>> crs_code(4545)
    'EPSG:4545'
    """
    if crs is None:
        return None
    crs = CRS.from_user_input(crs)
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.name


def to_crs(crs: CRS | str | int) -> CRS:
    """Parse a user-given CRS (``EPSG:4545``, ``4545``, WKT, PROJ string), raising :class:`CRSError`."""
    try:
        if isinstance(crs, str) and crs.strip().isdigit():
            crs = int(crs)
        return CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError
        reason = str(exc).rsplit(": ", 1)[-1].strip(" )") if str(exc) else ""
        reason = "" if reason in str(crs) else f" ({reason})"
        raise CRSError(f"unknown CRS {crs!r}{reason}; give an EPSG code such as EPSG:4490 "
                       f"(CGCS2000 lon/lat) or EPSG:4545 (CGCS2000 3° Gauss-Krüger CM 108E)") from None


def reproject_to(data, crs):
    """``data`` in ``crs``, without a note: :func:`redline.geometry.clean.reproject`, the one reprojection."""
    from .clean import reproject  # clean.py names CRSs with this module: imported here, not in a cycle

    return reproject(data, crs)


def reproject_polygons(geoms: np.ndarray, src, dst) -> np.ndarray:
    """Polygons from CRS ``src`` to ``dst``, their edges densified first (0.001° or 100 m) so they keep their shape;
    ``geoms`` themselves when the two CRSs are the same."""
    src, dst = CRS.from_user_input(src), CRS.from_user_input(dst)
    if src.equals(dst):
        return geoms
    step = 0.001 if src.is_geographic else 100.0
    return gpd.GeoSeries(shapely.segmentize(geoms, step), crs=src).to_crs(dst).values.to_numpy()


def transform_bbox(bbox, src, dst) -> tuple[float, float, float, float]:
    """A bounding box ``(xmin, ymin, xmax, ymax)`` from CRS ``src`` (None: already in ``dst``) to ``dst``: the
    box of its densified outline, so it still covers everything the original box did.

    Examples
    --------
    >>> [round(v) for v in transform_bbox((108.0, 29.0, 108.1, 29.1), "EPSG:4490", "EPSG:4545")]
    [500000, 3209269, 509744, 3220357]
    """
    if src is None or CRS.from_user_input(src).equals(CRS.from_user_input(dst)):
        return tuple(float(v) for v in bbox)
    xmin, ymin, xmax, ymax = (float(v) for v in bbox)
    xs, ys = np.linspace(xmin, xmax, 21), np.linspace(ymin, ymax, 21)
    ring = np.r_[np.c_[xs, np.full(21, ymin)], np.c_[np.full(21, xmax), ys], np.c_[xs, np.full(21, ymax)],
                 np.c_[np.full(21, xmin), ys]]
    x, y = Transformer.from_crs(src, dst, always_xy=True).transform(ring[:, 0], ring[:, 1])
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))


def bind_towgs84(crs, params: str, where: str = "--towgs84") -> tuple[CRS, str]:
    """``crs`` bound to WGS84 by Helmert parameters ``dx,dy,dz[,rx,ry,rz,s]`` (metres, arc-seconds, ppm; the
    position-vector convention of PROJ's ``+towgs84``), so that every transformation from it uses them;
    ``(bound CRS, the parameters as written)``. Commas, spaces or semicolons separate the numbers.

    Examples
    --------
    >>> bound, text = bind_towgs84("EPSG:2383", "24,-123,-94,0.02,-0.25,-0.13,1.1")
    >>> bound.type_name, text
    ('Bound CRS', '24,-123,-94,0.02,-0.25,-0.13,1.1')
    """
    from pyproj.crs import BoundCRS
    from pyproj.crs.coordinate_operation import ToWGS84Transformation

    parts = [p for p in re.split(r"[,\s;，]+", str(params).strip()) if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (3, 7) or not all(math.isfinite(v) for v in values):
        raise CRSError(f"{where}: the datum shift {params!r} is not 3 or 7 numbers; give dx,dy,dz,rx,ry,rz,s "
                       f"(metres, arc-seconds, ppm), e.g. --towgs84 24,-123,-94,0.02,-0.25,-0.13,1.1")
    src = CRS.from_user_input(crs)
    geodetic = src.geodetic_crs or src
    bound = BoundCRS(source_crs=src, target_crs="EPSG:4326",
                     transformation=ToWGS84Transformation(geodetic, *values))
    return bound, ",".join(f"{v:g}" for v in values)


def cgcs2000_counterpart(crs) -> CRS:
    """The CGCS2000 CRS with the same projection as a Xi'an 1980 / Beijing 1954 one (``Xian 1980 / 3-degree
    Gauss-Kruger CM 114E`` → EPSG:4547), or CGCS2000 lon/lat (EPSG:4490) when there is none."""
    from pyproj.database import query_crs_info

    src = CRS.from_user_input(crs)
    if src.is_projected and " / " in src.name:
        wanted = "CGCS2000 / " + src.name.split(" / ", 1)[1]
        for info in query_crs_info(auth_name="EPSG", pj_types=["PROJECTED_CRS"]):
            if info.name == wanted and not info.deprecated:
                return CRS.from_epsg(int(info.code))
    return CRS.from_epsg(4490)


def shift_datum(geoms: np.ndarray, crs, params: str, where: str = "--towgs84") -> tuple[np.ndarray, CRS, str]:
    """Geometries in a Xi'an 1980 / Beijing 1954 (or any) CRS moved to CGCS2000 by seven Helmert parameters:
    through WGS84 (CGCS2000 agrees with it to centimetres) into :func:`cgcs2000_counterpart`;
    ``(geometries, the CGCS2000 CRS, the parameters as written)``.

    PROJ uses a bound CRS's parameters only on the way to WGS84 itself (to CGCS2000 it prefers its ballpark),
    so the shift is made here, once, at the read."""
    bound, text = bind_towgs84(crs, params, where)
    target = cgcs2000_counterpart(crs)
    to_wgs = Transformer.from_crs(bound, "EPSG:4326", always_xy=True)
    from_wgs = Transformer.from_crs("EPSG:4326", target, always_xy=True)

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
        x, y = from_wgs.transform(lon, lat)
        return np.column_stack([x, y])

    return shapely.transform(geoms, move), target, text
