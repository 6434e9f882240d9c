"""Reading a layer: :func:`read_layer` and the report of everything it did (:class:`ReadReport`).

A read opens the source (a file, a PostGIS table, a partitioned layer), decodes its text
(:mod:`redline.io.encoding`), resolves its CRS (from the file, given, or recognised from the coordinates),
drops what can't be used (no geometry, NaN/inf or out-of-range coordinates, flat polygons), repairs the
rest (:func:`redline.geometry.clean.repair`) and notes every step. :class:`LayerCache` reads each layer
once per run and lists what was read.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import CRSError, GeometryError, LayerReadError
from ..geometry.area import GEODESIC_STEP_M, densify_geodesic
from ..geometry.clean import NON_FINITE, describe_repairs, non_finite, out_of_range, repair
from ..geometry.clean import reproject as _reproject
from ..geometry.crs import crs_code, describe_crs, guess_crs, looks_swapped, to_crs, transform_bbox
from . import partition, postgis
from .formats import CRS_FREE_FORMATS, FormatOptions, read_format, sniff
from .encoding import _TEXT_FORMATS, _check_utf8, _encoding_error, _encoding_trouble, _label, _plan, _redecode
from .limits import _check_size
from .provenance import file_sha256
from .sources import _DB_URI, _PARQUET, _check_source, _choose_layer, _gdal_message, _where, split_layer_spec
from .write import register_input

Engine = Literal["pyogrio", "fiona"]
GeometryKind = Literal["polygon", "any"]


@dataclass
class ReadReport:
    """What :func:`read_layer` found and did, for ``layers check``, logs and reports.

    Feature ids are the file's FIDs (pyogrio) or positions (fiona). ``repaired``: ``{"id", "reason"}`` (GEOS's
    reason for the invalidity) and ``"repair"`` (what :func:`redline.geometry.clean.repair` did, in a planner's terms);
    ``dropped``: ``{"id", "reason"}`` (null or empty, NaN/inf coordinates, outside the CRS's range, …).
    """

    path: str
    layer: str | None = None
    features_in_file: int = 0
    crs: str | None = None
    crs_name: str | None = None
    crs_source: Literal["file", "detected", "given"] | None = None
    encoding: str | None = None
    encoding_source: str | None = None
    repaired: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    towgs84: str | None = None
    format: str | None = None  # a format of :mod:`redline.io.formats` ("gtxt", "dxf" …), None for GDAL's

    def note(self, message: str) -> None:
        self.notes.append(message)


class LayerRead(NamedTuple):
    """A layer and the report of how it was read; unpacks as ``gdf, report``."""

    gdf: gpd.GeoDataFrame
    report: ReadReport


def _read_raw(path: Path, layer: str | None, encoding: str | None, engine: Engine,
              report: ReadReport | None = None, bbox=None) -> gpd.GeoDataFrame:
    """Read with GDAL's warnings caught: they go to the report's notes, not to the terminal. With ``bbox`` (in
    the file's CRS) only the features meeting it, in file order (GDAL's spatial filter, or an index query)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gdf = _read_raw_quiet(path, layer, encoding, engine, report, bbox)
        if bbox is not None and (engine != "pyogrio" or path.suffix.lower() in _PARQUET):
            gdf = gdf.iloc[np.sort(gdf.sindex.query(shapely.box(*bbox)))]
        elif bbox is not None:  # an R-tree gives them in its own order
            gdf = gdf.sort_index(kind="stable")
    if report is not None:
        for message in dict.fromkeys(str(w.message).strip() for w in caught if issubclass(w.category, RuntimeWarning)):
            if not _NUMPY_FP_WARNING.match(message):  # NaN/inf coordinates seen by shapely: reported as such
                report.note(f"GDAL: {_first_sentence(message)}")
    return gdf


_NUMPY_FP_WARNING = re.compile(r"^(invalid value|overflow|divide by zero) encountered in ")


def _first_sentence(text: str) -> str:
    text = text.splitlines()[0] if text else text
    if text.startswith("Non closed ring"):
        return "unclosed polygon rings found and closed while reading"
    return text.split(". To avoid", 1)[0].rstrip(".")


def _read_raw_quiet(path: Path, layer: str | None, encoding: str | None, engine: Engine,
                    report: ReadReport | None, bbox=None) -> gpd.GeoDataFrame:
    """The layer as GDAL (pyogrio or fiona) or pyarrow reads it, indexed by feature id; failures as one line."""
    where = _where(path, layer)
    if path.suffix.lower() in _PARQUET:
        try:
            gdf = gpd.read_parquet(path)
        except Exception as exc:
            raise LayerReadError(f"{where}: not a readable GeoParquet file ({_gdal_message(exc, path)})") from None
        gdf.index.name = "fid"
        return gdf
    if engine == "pyogrio":
        return _read_pyogrio(path, layer, encoding, report, bbox, where)
    if engine == "fiona":
        return _read_fiona(path, layer, encoding, where)
    raise ValueError(f"engine must be 'pyogrio' or 'fiona', got {engine!r}")


def _read_pyogrio(path: Path, layer: str | None, encoding: str | None, report: ReadReport | None, bbox,
                  where: str) -> gpd.GeoDataFrame:
    """Read with pyogrio: Arrow first, then (malformed geometries, an 'id' colliding with the FID) row by row."""
    import pyogrio

    try:
        data = pyogrio.read_dataframe(
            path, layer=layer, encoding=encoding, fid_as_index=True, use_arrow=True, bbox=bbox
        )
    except Exception as exc:
        # the Arrow path fails on malformed geometries (unclosed rings) and on a GeoJSON 'id' property
        # that collides with the FID; the row path reads both, fixing rings GEOS can't build
        try:
            data = pyogrio.read_dataframe(
                path, layer=layer, encoding=encoding, fid_as_index=True, use_arrow=False, on_invalid="fix",
                bbox=bbox
            )
        except Exception as again:
            if _encoding_trouble(again) or _encoding_trouble(exc):
                raise _encoding_error(path, where, encoding, again if _encoding_trouble(again) else exc) from None
            raise LayerReadError(f"{where}: cannot read ({_gdal_message(exc, path)}); the file may be truncated "
                                 f"or corrupt: copy or export it again") from None
        _note_arrow_failure(exc, path, report)
    if not isinstance(data, gpd.GeoDataFrame):
        raise LayerReadError(f"{where}: has no geometry column — not a spatial layer; give a GeoPackage, Shapefile, "
                             f"GeoJSON, FlatGeobuf or GeoParquet layer (a table of coordinates must be made into "
                             f"one first)")
    _check_utf8(data, path, where, encoding)
    return _keep_non_finite(data, path, layer)


def _note_arrow_failure(exc: Exception, path: Path, report: ReadReport | None) -> None:
    """Say why the layer was read row by row instead of with Arrow (nothing for a given encoding GDAL doesn't
    recode, which Arrow refuses)."""
    if "not supported for Arrow" in str(exc) or report is None:
        return
    if _encoding_trouble(exc):
        report.note(f"the attribute text is not valid UTF-8 ({_gdal_message(exc, path)}): read without Arrow; "
                    f"check the names and values, or give the encoding (--encoding)")
    elif "1-dimensional" not in str(exc):
        report.note(f"malformed geometries fixed while reading ({_gdal_message(exc, path)})")


def _read_fiona(path: Path, layer: str | None, encoding: str | None, where: str) -> gpd.GeoDataFrame:
    """Read with fiona, feature by feature."""
    import fiona

    if encoding and codecs.lookup(encoding).name != "utf-8" and path.suffix.lower() in _TEXT_FORMATS:
        raise LayerReadError(f"{where}: the text is {_label(encoding)}, not UTF-8, and fiona reads this format as "
                             f"UTF-8 only (its values would come out empty); use --engine pyogrio, or save the "
                             f"file as UTF-8")
    try:
        source = f"zip://{path.resolve()}" if path.suffix.lower() == ".zip" else path  # fiona's way to a zip
        with fiona.open(source, layer=layer, encoding=encoding) as src:
            feats = list(src)
            crs = src.crs.to_wkt() if src.crs else None
            fields = list(src.schema["properties"])
    except Exception as exc:
        if _encoding_trouble(exc):
            raise _encoding_error(path, where, encoding, exc) from None
        raise LayerReadError(f"{where}: cannot read ({_gdal_message(exc, path)})") from None
    geoms = [_fiona_shape(f.geometry) if f.geometry else None for f in feats]
    rows = [dict(f.properties) for f in feats]
    gdf = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=fields), geometry=geoms, crs=crs
    )
    gdf.index = pd.Index([int(f.id) for f in feats], name="fid")
    return gdf


def _fiona_shape(geometry):
    """A fiona geometry as shapely's; one GEOS cannot build because of a NaN/inf coordinate (a ring starting at
    NaN never closes) as a stand-in holding its coordinates (dropped as non-finite), anything else unbuildable as
    no geometry (dropped as such)."""
    try:
        return shapely.geometry.shape(geometry)
    except Exception:
        def leaves(value):
            if isinstance(value, (list, tuple)) and value and isinstance(value[0], (int, float)):
                yield value[:2]
            elif isinstance(value, (list, tuple)):
                for item in value:
                    yield from leaves(item)

        parts = getattr(geometry, "geometries", None) or [geometry]
        xy = np.array([c for g in parts for c in leaves(getattr(g, "coordinates", None) or [])], dtype=float)
        return shapely.multipoints(xy) if len(xy) and not np.isfinite(xy).all() else None


def _keep_non_finite(data: gpd.GeoDataFrame, path: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Features whose NaN/inf coordinates GDAL or GEOS turned into no geometry (a ring starting at NaN never
    closes: no geometry; GDAL's Arrow path makes a point with a NaN empty) get a stand-in holding their
    coordinates, so that they are dropped as :data:`~redline.geometry.clean.NON_FINITE` rather than as "null or empty
    geometry". Only the null and empty features are read again, by FID."""
    geoms = data.geometry.values
    lost = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not len(lost):
        return data
    from pyogrio.raw import read

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, fids, wkb, _ = read(path, layer=layer, columns=[], return_fids=True,
                                   fids=np.asarray(data.index[lost]).astype(np.int64))
    except Exception:
        return data
    raw = dict(zip(np.asarray(fids).tolist(), wkb))
    geoms = data.geometry.values.copy()
    changed = False
    for i in lost:
        coords = _wkb_coordinates(raw.get(_jsonable(data.index[i])))
        if coords is not None and len(coords) and not np.isfinite(coords).all():
            geoms[i] = shapely.multipoints(coords)
            changed = True
    return data.set_geometry(gpd.GeoSeries(geoms, index=data.index, crs=data.crs)) if changed else data


def _wkb_coordinates(data: bytes | None) -> np.ndarray | None:
    """The x, y of every vertex of a WKB geometry (ISO or extended; linear types and collections), or None."""
    if not data:
        return None
    out: list = []

    def walk(at: int) -> int:
        order = "<" if data[at] == 1 else ">"
        (code,) = np.frombuffer(data, dtype=f"{order}u4", count=1, offset=at + 1)
        code = int(code)
        dims = 2 + bool(code & 0x80000000) + bool(code & 0x40000000)
        at += 5 + (4 if code & 0x20000000 else 0)
        code &= 0x1FFFFFFF
        dims += (code // 1000 in (1, 2)) + 2 * (code // 1000 == 3)
        kind = code % 1000

        def count(pos: int) -> int:
            return int(np.frombuffer(data, dtype=f"{order}u4", count=1, offset=pos)[0])

        def points(pos: int, n: int) -> int:
            out.append(np.frombuffer(data, dtype=f"{order}f8", count=n * dims, offset=pos).reshape(n, dims)[:, :2])
            return pos + 8 * n * dims

        if kind == 1:  # POINT (NaN NaN) is how WKB writes an empty point
            xy = np.frombuffer(data, dtype=f"{order}f8", count=dims, offset=at)
            return at + 8 * dims if np.isnan(xy).all() else points(at, 1)
        if kind in (2, 8):
            return points(at + 4, count(at))
        if kind == 3:
            rings, at = count(at), at + 4
            for _ in range(rings):
                at = points(at + 4, count(at))
            return at
        if kind in (4, 5, 6, 7, 9, 10, 11, 12):
            parts, at = count(at), at + 4
            for _ in range(parts):
                at = walk(at)
            return at
        raise ValueError(kind)

    try:
        walk(0)
    except Exception:
        return None
    return np.concatenate(out) if out else np.zeros((0, 2))


def _resolve_crs(
    gdf: gpd.GeoDataFrame, report: ReadReport, crs, detect: bool, swap_xy: bool, where: str
) -> gpd.GeoDataFrame:
    file_crs = gdf.crs
    bounds = tuple(gdf.total_bounds) if len(gdf) and not gdf.geometry.is_empty.all() else None
    if crs is not None:
        given = to_crs(crs)
        if file_crs is not None and not CRS.from_user_input(file_crs).equals(given):
            report.note(f"CRS in file ({describe_crs(file_crs)}) overridden by given {describe_crs(given)}")
        gdf = gdf.set_crs(given, allow_override=True)
        report.crs_source = "given"
    elif file_crs is not None:
        report.crs_source = "file"
    else:
        guess = guess_crs(bounds) if bounds else None
        if guess is not None and guess.crs is not None and detect:
            gdf = gdf.set_crs(guess.crs)
            report.crs_source = "detected"
            report.note(f"no CRS in file; detected {guess.crs} from the coordinates ({guess.reason}) — confirm with --crs {guess.crs}")
        else:
            hint = (
                f"; coordinates suggest {guess.crs} ({guess.reason}) — re-run with --crs {guess.crs}"
                if guess and guess.crs
                else f"; {guess.reason}: give it with --crs EPSG:…" if guess else ""
            )
            missing = _NO_CRS.get(report.format, "no CRS in the file (.prj missing?)")
            raise CRSError(f"{where}: {missing}{hint or '; give one with --crs EPSG:XXXX'}")
    if bounds is not None:
        gdf = _check_axes(gdf, bounds, report, swap_xy, where)
    report.crs = crs_code(gdf.crs)
    report.crs_name = CRS.from_user_input(gdf.crs).name
    return gdf


#: why a file of a format has no CRS, for the message asking for --crs
_NO_CRS = {"gtxt": "no 带号 in [属性描述] and no zone prefix on the eastings (Y), so no CRS",
           "dxf": "a DXF drawing carries no CRS", "coords": "a coordinate table carries no CRS"}


def _check_axes(gdf, bounds, report: ReadReport, swap_xy: bool, where: str) -> gpd.GeoDataFrame:
    crs = CRS.from_user_input(gdf.crs)
    if swap_xy:
        geoms = shapely.transform(gdf.geometry.values, lambda xy: xy[:, ::-1])
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
        report.note("x and y swapped on request (--swap-xy)")
        return _drop_out_of_range(gdf, report, where)[0]
    gdf, kept_bounds = _drop_out_of_range(gdf, report, where)
    bounds = kept_bounds or bounds
    if crs.is_geographic:
        xmin, ymin, xmax, ymax = bounds
        if looks_swapped(bounds):
            raise CRSError(
                f"{where}: coordinates look like latitude/longitude in the wrong order "
                f"(x {xmin:.2f}–{xmax:.2f}, y {ymin:.2f}–{ymax:.2f}); re-run with --swap-xy"
            )
        if max(abs(xmin), abs(xmax)) > 180 or max(abs(ymin), abs(ymax)) > 90:
            guess = guess_crs(bounds)
            hint = f"; coordinates suggest {guess.crs} ({guess.reason})" if guess and guess.crs else ""
            raise CRSError(
                f"{where}: coordinates (x {_number(xmin)} to {_number(xmax)}, y {_number(ymin)} to {_number(ymax)}) "
                f"are not degrees but the CRS is "
                f"{describe_crs(crs)} — wrong .prj?{hint}; re-run with --crs to override"
            )
    return gdf


def _drop_non_finite(gdf: gpd.GeoDataFrame, report: ReadReport) -> gpd.GeoDataFrame:
    """Features with a NaN or infinite coordinate dropped and reported (:func:`redline.geometry.clean.non_finite`): before
    anything looks at the layer's extent, its CRS or its validity, which they would derail."""
    bad = non_finite(gdf.geometry.values)
    if not bad.any():
        return gdf
    for fid in np.asarray(gdf.index)[bad]:
        report.dropped.append({"id": _jsonable(fid), "reason": NON_FINITE})
    return gdf.loc[~bad]


def _drop_out_of_range(gdf: gpd.GeoDataFrame, report: ReadReport, where: str):
    """Features lying outside the range of the layer's CRS (:func:`redline.geometry.clean.out_of_range`: longitude beyond
    ±180°, a no-data value like 1e300, metres PROJ cannot transform) dropped and reported, when others are in
    range; ``(gdf, its bounds)``. When none is, the layer's CRS is wrong: a one-line error (geographic CRSs:
    left to :func:`_check_axes`, which knows more)."""
    crs = CRS.from_user_input(gdf.crs)
    geoms = gdf.geometry.values
    off = out_of_range(geoms, crs)
    if not off.any():
        return gdf, None
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if off[present].all():
        if crs.is_geographic:
            return gdf, None
        xmin, ymin, xmax, ymax = gdf.total_bounds
        guess = guess_crs((xmin, ymin, xmax, ymax))
        hint = f"; coordinates suggest {guess.crs} ({guess.reason})" if guess and guess.crs else ""
        raise CRSError(f"{where}: coordinates (x {xmin:,.6g}–{xmax:,.6g}, y {ymin:,.6g}–{ymax:,.6g}) lie outside "
                       f"the range of {describe_crs(crs)} — wrong .prj?{hint}; re-run with --crs to override")
    b = shapely.bounds(geoms[off])
    for fid, (x0, y0, x1, y1) in zip(np.asarray(gdf.index)[off], b):
        report.dropped.append({"id": _jsonable(fid), "reason": f"coordinates outside the range of {crs_code(crs)} "
                               f"(x {x0:.6g} to {x1:.6g}, y {y0:.6g} to {y1:.6g})"})
    gdf = gdf.loc[~off]
    return gdf, tuple(gdf.total_bounds)


def _number(value: float) -> str:
    """A coordinate for a message: ``36,512,345.5``, or ``1.2e+308`` for a runaway value."""
    return f"{value:,.1f}".removesuffix(".0") if abs(value) < 1e12 else f"{value:.3g}"


def _repair(gdf: gpd.GeoDataFrame, report: ReadReport, geometry: GeometryKind, where: str) -> gpd.GeoDataFrame:
    geoms = gdf.geometry.values
    ids = np.asarray(gdf.index)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for fid in ids[missing]:
        report.dropped.append({"id": _jsonable(fid), "reason": "null or empty geometry"})
    gdf = gdf.loc[~missing]
    geoms = gdf.geometry.values
    ids = np.asarray(gdf.index)
    if shapely.has_z(geoms).any() or shapely.has_m(geoms).any():
        geoms = shapely.force_2d(geoms)
        report.note("Z/M coordinates dropped: areas are measured in 2D")
    types = shapely.get_type_id(geoms)
    if geometry == "polygon" and len(gdf):
        is_poly = np.isin(types, (3, 6, 7))
        if not is_poly.any():
            found = ", ".join(f"{k} ×{v}" for k, v in Counter(gdf.geometry.geom_type).items())
            raise GeometryError(f"{where}: no polygons in the layer (found {found}); a polygon layer is needed here")
        for fid, gtype in zip(ids[~is_poly], np.asarray(gdf.geometry.geom_type)[~is_poly]):
            report.dropped.append({"id": _jsonable(fid), "reason": f"{gtype} in a polygon layer"})
        keep = is_poly
        gdf, geoms, ids = gdf.loc[keep], geoms[keep], ids[keep]
    areal = np.isin(shapely.get_type_id(geoms), (3, 6, 7)) if geometry == "any" else None
    fixed = repair(geoms, geometry=geometry, where=where, ids=ids)
    geoms = fixed.geoms
    for fid, reason, fix in zip(ids[fixed.repaired], fixed.reasons[fixed.repaired], fixed.fixes[fixed.repaired]):
        report.repaired.append({"id": _jsonable(fid), "reason": reason, "repair": fix})
    # polygons (or collections) with no area left after the repair; lines and points of "any" layers stay
    lost = shapely.is_empty(geoms) & (fixed.repaired if areal is None else fixed.repaired & areal)
    if geometry == "polygon":
        lost |= shapely.is_empty(geoms)  # collections without polygons
    if lost.any():
        for fid in ids[lost]:
            report.dropped.append({"id": _jsonable(fid), "reason": "no area left after repair"})
        keep = ~lost
        gdf, geoms, ids = gdf.loc[keep], geoms[keep], ids[keep]
    # valid polygons with (numerically) no area: all vertices on one line, or collapsed to a point
    polys = np.isin(shapely.get_type_id(geoms), (3, 6))
    if polys.any():
        xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
        extent = np.maximum(xmax - xmin, ymax - ymin)
        flat = polys & (shapely.area(geoms) <= 1e-9 * extent * extent)
        if flat.any():
            for fid in ids[flat]:
                report.dropped.append({"id": _jsonable(fid), "reason": "polygon with zero area (all vertices on a line)"})
            gdf, geoms = gdf.loc[~flat], geoms[~flat]
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))


def _jsonable(value):
    return value.item() if isinstance(value, np.generic) else value


def read_layer(
    path: str | os.PathLike,
    layer: str | None = None,
    *,
    crs=None,
    encoding: str | None = None,
    engine: Engine = "pyogrio",
    geometry: GeometryKind = "any",
    detect_crs: bool = False,
    swap_xy: bool = False,
    bbox: tuple[float, float, float, float] | None = None,
    bbox_crs=None,
    options: FormatOptions | None = None,
) -> LayerRead:
    """Read, validate and repair one layer.

    Parameters
    ----------
    path : path-like
        GeoPackage, Shapefile (``.shp`` or zipped ``.zip``), GeoJSON, FlatGeobuf,
        GeoParquet, or anything else GDAL reads. ``file.gpkg:layer`` names a layer.
        ``postgresql://user@host/db?table=schema.name`` (or ``?sql=SELECT …``) reads
        a PostGIS table or query (:mod:`redline.io.postgis`); a directory written by
        ``redline partition`` reads as one layer (:mod:`redline.io.partition`).
    layer : str, optional
        Layer name in a multi-layer source; required when there are several.
    crs : optional
        Override or supply the CRS (``"EPSG:4524"``); the file's CRS is used otherwise.
    encoding : str, optional
        Attribute encoding override (it wins; the ``.dbf`` bytes are only checked to decode). By default the
        ``.dbf`` bytes decide, field names and records together, with the ``.cpg`` when they agree
        (:func:`detect_encoding`).
    engine : {"pyogrio", "fiona"}
        pyogrio (Arrow, fast) or fiona.
    geometry : {"any", "polygon"}
        ``"polygon"`` keeps polygonal features only (others are dropped and reported)
        and fails when there are none.
    detect_crs : bool
        Without a CRS in the file, use the one recognised from the coordinates
        (zone-prefixed Gauss-Krüger eastings, lon/lat in China) instead of failing.
    swap_xy : bool
        Swap x and y (lat/lon files).
    bbox, bbox_crs : optional
        Read just the features meeting ``bbox`` (given in ``bbox_crs``, default the layer's CRS):
        filtered on the server with its spatial index (PostGIS), by opening only the partitions whose
        box meets it (partitioned layers), or with GDAL's spatial filter (files; a GeoPackage uses its
        R-tree). The memory guard is skipped: a box reads the part asked for.
    options : FormatOptions, optional
        What some formats need (:class:`redline.io.formats.FormatOptions`): GCJ-02 coordinates (``gcj02``), the
        datum shift of a Xi'an 1980 / Beijing 1954 input (``towgs84``), a coordinate table's columns.

    Returns
    -------
    LayerRead
        ``(gdf, report)``: the layer, indexed by feature id, and a :class:`ReadReport`.

    Raises
    ------
    LayerReadError, LayerNotFoundError, CRSError, GeometryError

    Examples
    --------
    >>> gdf, report = read_layer("data/qianjiang/eco_redline.gpkg", geometry="polygon")  # doctest: +SKIP
    >>> report.crs, report.repaired  # doctest: +SKIP
    ('EPSG:4490 (China Geodetic Coordinate System 2000)', [])
    """
    if postgis.is_postgis(path):
        gdf, report = _read_postgis(path, bbox, bbox_crs)
        where = report.path
    elif partition.is_partitioned(path):
        gdf, report = _read_partitioned(path, bbox, bbox_crs)
        where = str(path)
    else:
        gdf, report, where = _read_file(path, layer, encoding, engine, bbox, bbox_crs, options or FormatOptions())
    if bbox is not None and not len(gdf):  # nothing near: an empty layer, not an error
        report.features_in_file = 0
        return LayerRead(gdf, report)
    return _finish_read(gdf, report, crs, detect_crs, swap_xy, geometry, where, options or FormatOptions())


def _box_text(bbox) -> str:
    return ", ".join(f"{v:.6g}" for v in bbox)


def _read_postgis(path, bbox, bbox_crs) -> tuple[gpd.GeoDataFrame, ReadReport]:
    """A PostGIS table or query (the rows meeting ``bbox``: filtered on the server)."""
    gdf = postgis.read_postgis(os.fspath(path), bbox=bbox, bbox_crs=bbox_crs)
    report = ReadReport(path=postgis.parse_uri(os.fspath(path)).where, layer=None, encoding="utf-8",
                        encoding_source="database")
    if bbox is not None:
        report.note(f"read the rows meeting the box {_box_text(bbox)} (filtered on the server)")
    return gdf, report


def _read_partitioned(path, bbox, bbox_crs) -> tuple[gpd.GeoDataFrame, ReadReport]:
    """A layer written by ``redline partition`` (only the partitions meeting ``bbox``)."""
    gdf, parts = partition.read_partitioned(path, bbox=bbox, bbox_crs=bbox_crs)
    report = ReadReport(path=str(path), layer=None, encoding="utf-8", encoding_source="GeoParquet")
    total = len(partition.read_index(path)["partitions"])
    if bbox is not None:
        report.note(f"read {len(parts)} of {total} partitions (those meeting the box {_box_text(bbox)})")
    return gdf, report


def _read_file(path, layer: str | None, encoding: str | None, engine: Engine, bbox,
               bbox_crs, options: FormatOptions) -> tuple[gpd.GeoDataFrame, ReadReport, str]:
    """A layer of a file (the features meeting ``bbox``), its text decoded; ``(gdf, report, where)``."""
    if _DB_URI.match(os.fspath(path)):
        _check_source(Path(path))
    if layer is None:
        path, layer = split_layer_spec(path)
    path = Path(path)
    _check_source(path)
    fmt = sniff(path)
    if fmt is not None:
        return _read_special(fmt, path, layer, encoding, bbox, bbox_crs, options)
    layer, several = _choose_layer(path, layer)
    where = _where(path, layer if several else None)
    report = ReadReport(path=str(path), layer=layer)
    plan = _plan(path, layer, _codec(encoding, where), where)
    report.encoding, report.encoding_source = plan.values or plan.names or "utf-8", plan.source
    for message in plan.notes:
        report.note(message)
    file_box = None
    if bbox is not None:
        file_box = tuple(bbox) if bbox_crs is None else transform_bbox(bbox, bbox_crs, _file_crs(path, layer) or bbox_crs)
    else:
        _check_size(path, layer, where)  # a box reads a part: what the caller asked for
    register_input(path)
    gdf = _read_raw(path, layer, plan.gdal, engine, report, file_box)
    if plan.in_python:
        gdf = _redecode(gdf, plan)
    if file_box is not None:
        report.note(f"read the {len(gdf):,} features meeting the box {_box_text(file_box)}")
    return gdf, report, where


def _read_special(fmt: str, path: Path, layer: str | None, encoding: str | None, bbox, bbox_crs,
                  options: FormatOptions) -> tuple[gpd.GeoDataFrame, ReadReport, str]:
    """A 国土TXT, DXF, KML/KMZ or coordinate table (:mod:`redline.io.formats`), read by its own reader."""
    where = _where(path, layer)
    register_input(path)
    got = read_format(fmt, path, layer, _codec(encoding, where), options)
    report = ReadReport(path=str(path), layer=layer, encoding=got.encoding, encoding_source=got.encoding_source)
    report.notes.extend(got.notes)
    report.dropped.extend(got.dropped)
    report.towgs84, report.format = got.towgs84, fmt
    gdf = got.gdf
    if bbox is not None and gdf.crs is not None and len(gdf):
        box = tuple(bbox) if bbox_crs is None else transform_bbox(bbox, bbox_crs, gdf.crs)
        gdf = gdf.iloc[np.sort(gdf.sindex.query(shapely.box(*box)))]
    return gdf, report, where


def _codec(encoding: str | None, where: str) -> str | None:
    """The codec's name of an encoding given by the caller (``GBK`` → ``gbk``), refusing one Python doesn't know."""
    if encoding is None:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise LayerReadError(f"{where}: unknown encoding {encoding!r}; use GBK, GB18030 or UTF-8") from None


def _file_crs(path: Path, layer: str | None):
    """The CRS a file declares (None if none), without reading its features."""
    if path.suffix.lower() in _PARQUET:
        import pyarrow.parquet as pq

        geo = json.loads((pq.read_schema(path).metadata or {}).get(b"geo", b"{}") or b"{}")
        col = geo.get("columns", {}).get(geo.get("primary_column"), {})
        crs = col.get("crs", "OGC:CRS84") if geo else None
        return json.dumps(crs) if isinstance(crs, dict) else crs
    import pyogrio

    try:
        return pyogrio.read_info(path, layer=layer, encoding="ISO-8859-1").get("crs")  # names don't matter
    except Exception as exc:
        raise LayerReadError(f"{_where(path, layer)}: cannot read ({_gdal_message(exc, path)})") from None


def _finish_read(gdf: gpd.GeoDataFrame, report: ReadReport, crs, detect_crs: bool, swap_xy: bool,
                 geometry: GeometryKind, where: str, options: FormatOptions) -> LayerRead:
    """CRS resolved, geometries validated and repaired, every change in the report."""
    report.features_in_file = len(gdf) + len(report.dropped)
    if not len(gdf):
        if report.dropped:
            raise GeometryError(f"{where}: no usable geometry ({dropped_note(report.dropped)})")
        raise LayerReadError(f"{where}: the layer has no features")
    gdf = _drop_non_finite(gdf, report)
    if len(gdf):
        # a drawing or a table has no CRS to declare: recognised from the coordinates, said in the notes
        detect = detect_crs or report.format in CRS_FREE_FORMATS
        gdf = _resolve_crs(gdf, report, crs, detect, swap_xy, where)
        gdf = _datum_shift(gdf, report, options.towgs84 or report.towgs84, where)
        if options.gcj02:
            gdf = _from_gcj02(gdf, report, where)
        gdf = _repair(gdf, report, geometry, where)
    if not len(gdf):
        reasons = "; ".join(f"{reason} ×{n}" for reason, n in Counter(d["reason"] for d in report.dropped).items())
        raise GeometryError(f"{where}: no usable geometry left ({len(report.dropped)} features dropped: {reasons}); "
                            f"check the layer in a GIS")
    if gdf.crs is not None and CRS.from_user_input(gdf.crs).is_geographic:
        # long lon/lat edges: points along the geodesic, so overlays cut them where the area sees them
        dense, n = densify_geodesic(gdf.geometry.values, gdf.crs)
        if n:
            gdf = gdf.set_geometry(gpd.GeoSeries(dense, index=gdf.index, crs=gdf.crs))
            report.note(f"{n} features with edges over {GEODESIC_STEP_M:g} m: points added along the geodesic "
                        f"(areas unchanged)")
    _note_outside_china(gdf, report)
    if report.repaired:
        report.note(describe_repairs(r.get("repair", "") for r in report.repaired))
    if report.dropped:
        report.note(dropped_note(report.dropped))
    return LayerRead(gdf, report)


#: datums PROJ moves to CGCS2000 only by a ballpark (latitude and longitude kept): the size of what that misses
_BALLPARK_DATUMS = {"Xian 1980": "Xi'an 1980", "Beijing 1954": "Beijing 1954", "New Beijing": "New Beijing"}


def _datum_shift(gdf: gpd.GeoDataFrame, report: ReadReport, towgs84: str | None, where: str) -> gpd.GeoDataFrame:
    """A Xi'an 1980 / Beijing 1954 layer: with seven parameters (``--towgs84``, a 国土TXT's 转换参数) moved to
    CGCS2000 by them (:func:`redline.geometry.crs.shift_datum`); without, a note says PROJ can only take the
    latitudes and longitudes over unchanged, and how far off that can be."""
    from ..geometry.crs import shift_datum

    crs = CRS.from_user_input(gdf.crs)
    datum = crs.datum.name if crs.datum is not None else ""
    label = next((v for k, v in _BALLPARK_DATUMS.items() if datum.startswith(k)), None)
    if towgs84:
        geoms, target, params = shift_datum(gdf.geometry.values, crs, towgs84, where)
        report.towgs84 = params
        report.note(f"{label or datum or crs.name}: moved to {describe_crs(target)} with the seven parameters "
                    f"{params} (dx,dy,dz m; rx,ry,rz″; s ppm; position vector, as PROJ's +towgs84)")
        report.crs, report.crs_name = crs_code(target), target.name
        return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=target))
    if label is not None:
        report.note(f"warning: the layer is on the {label} datum, and PROJ has no transformation from it to CGCS2000 "
                    f"but a ballpark one (latitudes and longitudes taken over unchanged): positions may be off by "
                    f"tens of metres, over 100 m in places, against CGCS2000 layers; give the seven parameters "
                    f"of your province's conversion with --towgs84 dx,dy,dz,rx,ry,rz,s")
    return gdf


def _from_gcj02(gdf: gpd.GeoDataFrame, report: ReadReport, where: str) -> gpd.GeoDataFrame:
    """GCJ-02 lon/lat (``--gcj02``) converted to WGS84, labelled CGCS2000 (they agree to centimetres)."""
    from ..geometry.gcj02 import gcj02_to_wgs84, in_china

    crs = CRS.from_user_input(gdf.crs)
    if not crs.is_geographic:
        raise CRSError(f"{where}: --gcj02 converts GCJ-02 longitude/latitude, but the layer's coordinates are "
                       f"{describe_crs(crs)}; leave out --gcj02 (projected coordinates are never GCJ-02)")

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    geoms = shapely.transform(gdf.geometry.values, shift)
    xy = shapely.get_coordinates(gdf.geometry.values)
    moved = int(in_china(xy[:, 0], xy[:, 1]).sum()) if len(xy) else 0
    report.note(f"GCJ-02 coordinates converted to WGS84/CGCS2000 (--gcj02): {moved:,} of {len(xy):,} points "
                f"moved by the published GCJ-02 offset (300–600 m)")
    report.crs, report.crs_name = "EPSG:4490", CRS.from_epsg(4490).name
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs="EPSG:4490"))


def dropped_note(dropped: list[dict], shown: int = 10) -> str:
    """One line saying which features were dropped and why, grouped by reason (at most ``shown`` ids each).

    Examples
    --------
    >>> dropped_note([{"id": 4, "reason": "null or empty geometry"}, {"id": 9, "reason": "null or empty geometry"}])
    '2 features dropped — null or empty geometry: features 4, 9'
    """
    by_reason: dict[str, list] = {}
    for entry in dropped:
        by_reason.setdefault(entry["reason"], []).append(str(entry["id"]))
    parts = [f"{reason}: feature{'s' if len(ids) > 1 else ''} {', '.join(ids[:shown])}"
             + (f" and {len(ids) - shown} more" if len(ids) > shown else "") for reason, ids in by_reason.items()]
    return f"{len(dropped)} feature{'s' if len(dropped) != 1 else ''} dropped — {'; '.join(parts)}"


#: lon/lat box around China with its seas and islands: a layer wholly outside it is almost always a CRS mistake
CHINA_LONLAT = (73.0, 3.0, 136.0, 54.0)


def _note_outside_china(gdf: gpd.GeoDataFrame, report: ReadReport) -> None:
    """A warning note when the layer lies wholly outside China — a wrong CRS or .prj gives exactly that, and
    every figure measured against Chinese control lines would then be 0 or "no conflict" without saying why."""
    if gdf.crs is None or not len(gdf):
        return
    try:
        xmin, ymin, xmax, ymax = transform_bbox(gdf.total_bounds, gdf.crs, "EPSG:4490")
    except Exception:  # coordinates that can't be transformed are reported elsewhere
        return
    if not np.all(np.isfinite([xmin, ymin, xmax, ymax])):
        return
    cx0, cy0, cx1, cy1 = CHINA_LONLAT
    if xmax < cx0 or xmin > cx1 or ymax < cy0 or ymin > cy1:
        report.note(f"warning: the layer lies outside China (lon {xmin:.2f}–{xmax:.2f}, lat {ymin:.2f}–{ymax:.2f}) — "
                    f"check its CRS (.prj) or give the right one with --crs")


def reproject(gdf: gpd.GeoDataFrame, crs, report: ReadReport | None = None, name: str | None = None) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to ``crs`` when it differs, noting it in ``report`` (``NAME: reprojected from … to …``;
    :func:`redline.geometry.clean.reproject`).

    Layers in different CRSs are normal in Chinese data: redline reprojects
    them automatically and says so.
    """
    if report is None:
        return _reproject(gdf, crs)
    return _reproject(gdf, crs, report.note, name or report.path)


class LayerCache:
    """A :func:`read_layer` that reads each (file, options) once and keeps the reports, for runs that
    need the same layer twice (indicators, screening, maps) and a provenance list at the end."""

    def __init__(self):
        self._cache: dict[tuple, LayerRead] = {}

    def __call__(self, path, **kwargs) -> LayerRead:
        key = (str(Path(path).resolve()), tuple(sorted(kwargs.items())))
        if key not in self._cache:
            self._cache[key] = read_layer(path, **kwargs)
        return self._cache[key]

    def put(self, path, result: LayerRead, **kwargs) -> None:
        """Register a layer read elsewhere."""
        self._cache[(str(Path(path).resolve()), tuple(sorted(kwargs.items())))] = result

    def provenance(self) -> list[dict]:
        """One entry per file read: path, SHA-256, features, CRS, encoding, repairs and drops."""
        seen, out = set(), []
        for (path, _), (gdf, report) in self._cache.items():
            if path in seen:
                continue
            seen.add(path)
            out.append({
                "path": report.path, "sha256": file_sha256(path), "features": report.features_in_file,
                "crs": report.crs, "crs_source": report.crs_source, "encoding": report.encoding,
                "repaired": len(report.repaired), "dropped": len(report.dropped), "notes": list(report.notes),
            })
        return out
