"""The formats GDAL does not read as a planner needs, and how a read finds its reader.

A project's red line arrives as a 国土TXT boundary-point file (:mod:`~redline.io.gtxt`), a CAD drawing
(:mod:`~redline.io.dxf`), a KML/KMZ from 奥维互动地图 or Google Earth (:mod:`~redline.io.kml`) or a table of
coordinates saved by Excel (:mod:`~redline.io.coordtable`). :func:`sniff` says which, from the name and (for
``.txt``) the content; :func:`read_format` reads it into a :class:`FormatRead`, which :func:`redline.io.read_layer`
then finishes like any other layer (CRS checks, repair, notes). FileGDB, GeoPackage, Shapefile, GeoJSON and the
rest go to GDAL directly.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from ..errors import LayerReadError

__all__ = ["FormatRead", "FormatOptions", "CoordColumns", "sniff", "read_format", "FORMATS", "CRS_FREE_FORMATS",
           "WRITERS"]


@dataclass(frozen=True)
class CoordColumns:
    """The columns of a coordinate table (:mod:`~redline.io.coordtable`); None: recognised from the headers.

    ``x``/``y`` are the table's X and Y as a surveyor writes them (国土 tables: X the northing, Y the easting) or
    longitude/latitude; ``point`` the 点号, ``parcel`` the 地块 (one polygon each), ``ring`` the 圈号."""

    x: str | None = None
    y: str | None = None
    point: str | None = None
    parcel: str | None = None
    ring: str | None = None


@dataclass(frozen=True)
class FormatOptions:
    """Options of a read that only some formats use.

    ``gcj02``: the coordinates are GCJ-02 (奥维, Gaode, Tencent): converted to WGS84/CGCS2000.
    ``towgs84``: seven Helmert parameters ``dx,dy,dz,rx,ry,rz,s`` (m, arc-seconds, ppm) from the input's datum
    (Xi'an 1980, Beijing 1954) to WGS84/CGCS2000; a 国土TXT's 转换参数 are used when this is not given.
    ``columns``: the columns of a coordinate table."""

    gcj02: bool = False
    towgs84: str | None = None
    columns: CoordColumns = field(default_factory=CoordColumns)


@dataclass
class FormatRead:
    """A layer as a format reader gives it, before :func:`redline.io.read_layer` checks and repairs it.

    ``gdf`` is indexed by feature id (name ``fid``), its CRS set when the file declares one (None otherwise:
    ``--crs`` or detection decide). ``towgs84`` carries the datum shift the file declares (a 国土TXT's
    转换参数), which ``--towgs84`` overrides; ``dropped`` lists ``{"id", "reason"}`` for what could not be made into a geometry (an open polyline in a
    polygon drawing, a parcel of fewer than 3 points); ``notes`` what the reader found and did."""

    gdf: gpd.GeoDataFrame
    encoding: str | None = None
    encoding_source: str | None = None
    notes: list[str] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)
    towgs84: str | None = None


#: format name → (module, what it is)
FORMATS: dict[str, tuple[str, str]] = {
    "gtxt": ("redline.io.gtxt", "国土TXT boundary-point file"),
    "dxf": ("redline.io.dxf", "DXF drawing"),
    "kml": ("redline.io.kml", "KML/KMZ"),
    "coords": ("redline.io.coordtable", "coordinate table"),
}

#: formats that never carry a CRS: without --crs it is recognised from the coordinates (and the notes say so)
CRS_FREE_FORMATS = frozenset({"dxf", "coords"})

#: suffix → format (each format adds its suffixes as its reader lands)
_SUFFIXES: dict[str, str] = {
    ".dxf": "dxf",
    ".kml": "kml", ".kmz": "kml", ".ovkml": "kml", ".ovkmz": "kml",  # .ovkml/.ovkmz: 奥维's own KML (GCJ-02)
    ".csv": "coords", ".xlsx": "coords", ".xls": "coords",  # .xls: refused by coordtable with what to do
}


def sniff(path: Path) -> str | None:
    """The format of ``path`` among :data:`FORMATS`, or None for GDAL's formats.

    A ``.txt`` is a 国土TXT when its first kilobytes hold ``[属性描述]`` or ``[地块坐标]`` in any of the encodings
    these files come in; a ``.dwg`` is refused here (no open library reads it: export the drawing as DXF)."""
    suffix = path.suffix.lower()
    if suffix == ".dwg":
        raise LayerReadError(f"{path}: a DWG drawing, which redline cannot read; save it as DXF in the CAD program "
                             f"(另存为 DXF, any version) and give the .dxf")
    if suffix == ".csv" and _has_wkt(path):
        return None  # a CSV with a WKT column: GDAL's CSV driver reads it as a layer
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if suffix == ".txt" and path.is_file():
        head = path.read_bytes()[:8192]
        for codec in ("utf-8-sig", "gb18030"):
            text = head.decode(codec, errors="ignore")
            if "[地块坐标]" in text or "[属性描述]" in text:
                return "gtxt"
        raise LayerReadError(f"{path}: a .txt file that is not a 国土TXT boundary-point file (no [属性描述] or "
                             f"[地块坐标] section); give a 国土TXT, or a coordinate table as .csv")
    return None


#: output suffix → (module with ``write(gdf, path, *, encoding)`` writing ``path`` atomically, what it is)
WRITERS: dict[str, tuple[str, str]] = {".txt": ("redline.io.gtxt", "国土TXT"), ".kml": ("redline.io.kml", "KML"),
                                       ".kmz": ("redline.io.kml", "KMZ"), ".dxf": ("redline.io.dxf", "DXF")}


def _has_wkt(path: Path) -> bool:
    """Whether a CSV's header names a WKT geometry column (``WKT``, ``geometry``, ``geom``)."""
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        head = fh.readline(65536).decode("utf-8-sig", errors="ignore")
    names = {n.strip().strip('"').lower() for n in head.replace(";", ",").split(",")}
    return bool(names & {"wkt", "geometry", "geom", "the_geom"})


def read_format(fmt: str, path: Path, layer: str | None, encoding: str | None, options: FormatOptions) -> FormatRead:
    """Read ``path`` with the reader of ``fmt`` (its module's ``read(path, layer, encoding, options)``)."""
    module = importlib.import_module(FORMATS[fmt][0])
    return module.read(path, layer, encoding, options)
