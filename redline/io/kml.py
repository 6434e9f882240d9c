"""KML and KMZ: Google Earth's files and 奥维互动地图's exports, read and written with GDAL (LIBKML).

:func:`read` merges every folder of the file into one layer (GDAL gives one layer per ``<Folder>``; the
folder's name goes to a ``folder`` column), takes the placemark's ``<name>`` as ``project_id``, keeps
``<description>`` and the ExtendedData fields and drops the styling GDAL adds (``tessellate``, ``icon``, …).
KML is WGS84 longitude/latitude by definition: the layer is ``EPSG:4326``. A closed LineString — how 奥维
often exports an area — becomes a polygon.

GCJ-02. What we found about 奥维 (Ovital) exports, searching public pages and code (2025): a 测绘营地 article
(2023, comparing versions 9.0.3 and 9.3.8 point by point) says that from version 9.3.0 奥维 no longer exports
WGS84 KML/KMZ but GCJ-02 ``.ovkml``/``.ovkmz`` (its TXT/CSV exports are shifted too; DXF and SHP are not),
with offsets of several hundred metres everywhere but Hong Kong and Taiwan; a blog post adds that an
``.ovkml`` is a KML file under another suffix, its coordinates GCJ-02. We found no sample of the XML itself,
so which marks an export carries (an ``xmlns:ovital`` namespace, 奥维 in the Document's ``<name>``, a generator
comment) is a guess: :func:`read` looks for "ovital"/"奥维" before the first placemark and for "GCJ"/"火星"
anywhere, and warns when it finds one — the absence of a mark proves nothing, and a renamed ``.ovkml``
looks like any KML. The conversion itself is :func:`redline.io.read_layer`'s (``--gcj02``).

:func:`write` writes KML (or KMZ, by the suffix) for Google Earth and 奥维: lon/lat WGS84, one ``<Folder>``
per value of a ``folder`` column, the placemark's name from ``project_id``, other attributes as ExtendedData.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import LayerNotFoundError, LayerReadError, OutputError
from .write import atomic_output
from .formats import FormatOptions, FormatRead
from .sources import _gdal_message

__all__ = ["read", "write"]

#: a KMZ member larger than this unpacked, or packed more than _MAX_RATIO times, is refused (a zip bomb?)
_MAX_MEMBER = 200 * 1024 * 1024
_MAX_RATIO = 100
_RATIO_FROM = 1024 * 1024  # small members compress as they like: the ratio matters from 1 MiB unpacked

#: the columns GDAL's LIBKML driver adds to every layer: KML's display settings and the placemark's XML id
#: (an anchor for styles and links, "folder1.1" when GDAL wrote the file), not data
_NOISE = {"id", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude", "visibility", "draworder", "icon",
          "snippet"}
#: where the placemark's <name> and <description> go while reading (so an ExtendedData "name" stays apart)
_NAME, _DESCRIPTION = "kml_name", "kml_description"
_READ_OPTIONS = {"LIBKML_LAUNDER_FIELD_NAMES": "NO",  # else GDAL writes 面积 as ______
                 "LIBKML_NAME_FIELD": _NAME, "LIBKML_DESCRIPTION_FIELD": _DESCRIPTION}

_CREATOR = re.compile(r"ovital|奥维", re.IGNORECASE)
_GCJ = re.compile(r"gcj|火星", re.IGNORECASE)
_DECLARED = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@contextlib.contextmanager
def _gdal_options(options: dict[str, str]):
    """GDAL configuration options set for the block, the previous values restored afterwards."""
    import pyogrio

    before = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def _unreadable(path: Path, reason: str) -> LayerReadError:
    return LayerReadError(f"{path}: not a readable KML/KMZ ({reason}); export it again")


def _kmz_document(path: Path, zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The KMZ's main KML (``doc.kml``, else the first ``.kml``, as Google Earth takes it), every KML member
    checked against the zip-bomb limits first."""
    kmls = [info for info in zf.infolist() if info.filename.lower().endswith(".kml")]
    for info in kmls:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _MAX_MEMBER or (info.file_size > _RATIO_FROM and ratio > _MAX_RATIO):
            raise LayerReadError(f"{path}: refusing to unpack {info.filename} ({info.file_size / 2**20:,.0f} MB "
                                 f"unpacked, {ratio:,.0f} times its packed size) — possibly a zip bomb; unzip "
                                 f"and check it, or export the KMZ again")
    if not kmls:
        raise _unreadable(path, "no .kml file inside the zip")
    return next((info for info in kmls if info.filename.lower() == "doc.kml"), kmls[0])


def _scan_stream(stream) -> tuple[list[str], str | None]:
    """The creator and GCJ-02 marks of a KML's text (read in pieces) and the encoding its XML declares."""
    marks: list[str] = []
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    in_head, declared, tail = True, None, ""
    while chunk := stream.read(1 << 20):
        if declared is None and not tail:
            found = _DECLARED.search(chunk[:512])
            declared = found.group(1).decode("ascii") if found else ""
        text = tail + decoder.decode(chunk)
        if in_head:  # before the first placemark: the namespaces, the Document's name, comments
            head = text.split("<Placemark", 1)[0]
            in_head = len(head) == len(text)
            marks += [f"{m.group(0)!r} in the header" for m in _CREATOR.finditer(head)]
        marks += [f"{m.group(0)!r} in the text" for m in _GCJ.finditer(text)]
        tail = text[-16:]  # a mark cut by the end of a piece
    return list(dict.fromkeys(marks)), declared or None


def _scan(path: Path) -> tuple[list[str], str | None]:
    """The marks of an 奥维/GCJ-02 export in the KML (a KMZ's main KML) and its declared encoding."""
    try:
        if path.suffix.lower() == ".kmz":
            with zipfile.ZipFile(path) as zf, zf.open(_kmz_document(path, zf)) as stream:
                return _scan_stream(stream)
        with path.open("rb") as stream:
            return _scan_stream(stream)
    except zipfile.BadZipFile as exc:
        raise _unreadable(path, f"not a zip file: {exc}") from None
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from None


def _folders(path: Path) -> list[str]:
    """The names of the file's folders (GDAL's layers)."""
    import pyogrio

    try:
        with warnings.catch_warnings(), _gdal_options(_READ_OPTIONS):
            warnings.simplefilter("ignore")
            return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:
        reason = re.sub(r"^ERROR parsing kml .*? ?:", "", _gdal_message(exc, path)).strip()
        raise _unreadable(path, reason or "GDAL cannot open it") from None


def _read_folders(path: Path, names: list[str]) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The folders read and stacked (a ``folder`` column each), with GDAL's warnings as notes."""
    import pyogrio

    frames, notes = [], []
    with warnings.catch_warnings(record=True) as caught, _gdal_options(_READ_OPTIONS):
        warnings.simplefilter("always")
        for name in names:
            try:
                frame = pyogrio.read_dataframe(path, layer=name)
            except Exception as exc:
                raise _unreadable(path, f"folder {name!r}: {_gdal_message(exc, path)}") from None
            if "folder" in frame.columns:  # an ExtendedData field of that name
                frame = frame.rename(columns={"folder": "folder_data"})
            frames.append(frame.assign(folder=name))
    for message in dict.fromkeys(str(w.message).strip() for w in caught if issubclass(w.category, RuntimeWarning)):
        notes.append(f"GDAL: {message.splitlines()[0].rstrip('.')}")
    frames = [f for f in frames if len(f)] or frames[:1]
    if not frames:
        return gpd.GeoDataFrame({"project_id": []}, geometry=[], crs="EPSG:4326"), notes
    gdf = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(gdf, geometry="geometry", crs="EPSG:4326"), notes


def _tidy(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``project_id``, ``name``, ``description`` and ``folder`` first, the ExtendedData fields after, GDAL's
    styling columns dropped. ``name`` is the placemark's ``<name>`` unless an ExtendedData field ``name`` holds
    another (as :func:`write` stores one), ``project_id`` the ``<name>`` unless ExtendedData has its own."""
    own = _NAME in gdf.columns  # GDAL's older KML driver (no LIBKML) calls them Name and Description
    kml_name = gdf.get(_NAME if own else "Name", pd.Series(None, index=gdf.index, dtype=object))
    out = pd.DataFrame(index=gdf.index)
    out["project_id"] = _prefer(gdf.get("project_id"), kml_name)
    out["name"] = _prefer(gdf.get("name"), kml_name)
    out["description"] = _prefer(gdf.get(_DESCRIPTION if own else "Description"), gdf.get("description"))
    out["folder"] = gdf["folder"]
    skip = _NOISE | {_NAME, _DESCRIPTION, "name", "description", "project_id", "folder", "geometry"}
    for column in gdf.columns:
        if column.lower() not in skip:
            out[column] = gdf[column]
    out.index = pd.RangeIndex(len(out), name="fid")
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs="EPSG:4326")


def _prefer(first: pd.Series | None, second: pd.Series | None) -> pd.Series:
    """``first`` where it has a value, ``second`` elsewhere (either may be missing)."""
    if first is None:
        return second if second is not None else pd.Series(dtype=object)
    if second is None:
        return first
    return first.where(first.notna(), second)


def _close_lines(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Closed LineStrings (first point = last, at least 4 points) made into polygons; ``(gdf, how many)``."""
    geoms = gdf.geometry.values
    lines = np.flatnonzero(shapely.get_type_id(geoms) == 1)
    closed = []
    for i in lines:
        xy = shapely.get_coordinates(geoms[i], include_z=True)
        if len(xy) >= 4 and np.array_equal(xy[0, :2], xy[-1, :2]):
            closed.append(i)
    if not closed:
        return gdf, 0
    geoms = geoms.copy()
    for i in closed:
        geoms[i] = shapely.Polygon(shapely.get_coordinates(geoms[i], include_z=shapely.has_z(geoms[i])))
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)), len(closed)


def _gcj_note(marks: list[str], options: FormatOptions) -> str | None:
    """What the marks of an 奥维/GCJ-02 export mean for this read."""
    if not marks:
        return None
    seen = ", ".join(marks[:4])
    if options.gcj02:
        return f"the file carries marks of an 奥维互动地图/GCJ-02 export ({seen}); its coordinates are taken as " \
               f"GCJ-02 (--gcj02)"
    return (f"warning: the file looks like an 奥维互动地图/GCJ-02 export ({seen}): 奥维 writes KML in GCJ-02 since "
            f"v9.3, and read as WGS84 its positions would be 300–600 m off; if it came from 奥维 (or Gaode, "
            f"Tencent), re-run with --gcj02")


def read(path: Path, layer: str | None, encoding: str | None, options: FormatOptions) -> FormatRead:
    """Read a KML or KMZ: all folders (or the one named ``layer``) as one lon/lat WGS84 layer.

    Parameters
    ----------
    path : Path
        The ``.kml`` or ``.kmz``.
    layer : str, optional
        A folder's name (as GDAL names them; see :func:`redline.io.list_layers`); all folders when None.
    encoding : str, optional
        Not used: a KML's encoding is the one its XML declares (UTF-8 normally); given, a note says so.
    options : FormatOptions
        ``gcj02`` decides whether a mark of an 奥维/GCJ-02 export is a warning or a plain note.

    Returns
    -------
    FormatRead
        ``project_id`` (the placemark's name), ``name``, ``description``, ``folder`` and the ExtendedData
        fields; CRS ``EPSG:4326``; closed LineStrings made into polygons (noted).

    Raises
    ------
    LayerReadError
        The file is not well-formed KML, not a zip, or a KMZ member too large to unpack.
    LayerNotFoundError
        ``layer`` is not one of the file's folders (the message lists them).
    """
    marks, declared = _scan(path)
    names = _folders(path)
    if layer is not None and layer not in names:
        raise LayerNotFoundError(f"{path}: no folder {layer!r}; folders: {', '.join(names) or 'none'}")
    gdf, notes = _read_folders(path, [layer] if layer is not None else names)
    gdf = _tidy(gdf)
    gdf, closed = _close_lines(gdf)
    if closed:
        notes.append(f"{closed} closed line{'s' if closed > 1 else ''} (first point = last) made into "
                     f"polygon{'s' if closed > 1 else ''}: 奥维 and others export areas so")
    if layer is None and len(names) > 1:
        notes.append(f"{len(names)} folders read as one layer ({', '.join(names)}): the folder column says which")
    if (note := _gcj_note(marks, options)) is not None:
        notes.append(note)
    try:
        label = codecs.lookup(declared).name if declared else "utf-8"
    except LookupError:
        label = declared
    if encoding is not None and codecs.lookup(encoding).name != label:
        notes.append(f"the encoding given ({encoding}) is not used: a KML's text is in the encoding its XML "
                     f"declares ({label})")
    return FormatRead(gdf, encoding=label, encoding_source="XML", notes=notes)


def _folder_frames(gdf: gpd.GeoDataFrame) -> list[tuple[str, gpd.GeoDataFrame]]:
    """``(folder name, rows)`` for each value of a ``folder`` column in order of appearance, or one folder."""
    if "folder" not in gdf.columns:
        return [("", gdf)]
    keys = gdf["folder"].fillna("").astype(str)
    return [(key, gdf.loc[keys == key].drop(columns="folder")) for key in dict.fromkeys(keys)]


def _for_kml(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """The layer in lon/lat WGS84, ``project_id`` as the placemark name (a ``name`` equal to it dropped)."""
    if gdf.crs is None:
        raise OutputError(f"{path}: the layer has no CRS, and KML needs longitude/latitude; set the layer's CRS "
                          f"before writing KML")
    if not CRS.from_user_input(gdf.crs).equals(CRS.from_epsg(4326)):
        gdf = gdf.to_crs("EPSG:4326")
    if "project_id" in gdf.columns and "name" in gdf.columns:
        same = gdf["name"].astype(str).eq(gdf["project_id"].astype(str)) | gdf["name"].isna()
        if same.all():
            gdf = gdf.drop(columns="name")
    return gdf.reset_index(drop=True)


def _write_kml(gdf: gpd.GeoDataFrame, target: Path, title: str) -> None:
    """One KML file, a ``<Folder>`` per folder (ASCII ids, the names as ``<name>``), ExtendedData as <Data>.
    ``target`` is a staging path: :func:`write` renames it into place (``atomic_output``)."""
    name_field = "project_id" if "project_id" in gdf.columns else "name"
    options = {"LIBKML_NAME_FIELD": name_field, "LIBKML_DESCRIPTION_FIELD": "description",
               "LIBKML_USE_SIMPLEFIELD": "NO"}
    with warnings.catch_warnings(), _gdal_options(options):
        warnings.simplefilter("ignore")
        for n, (folder, part) in enumerate(_folder_frames(gdf), start=1):
            part.to_file(target, driver="LIBKML", engine="pyogrio", layer=f"folder{n}", append=n > 1,
                         dataset_options={"NAME": title},
                         layer_options={"FOLDER": "YES", "NAME": folder or title})


def write(gdf: gpd.GeoDataFrame, path: Path, *, encoding: str | None = None) -> None:
    """Write ``gdf`` as KML, or as KMZ (a zip holding ``doc.kml``) when ``path`` ends in ``.kmz``.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any CRS (reprojected to lon/lat WGS84 here). ``project_id`` becomes the placemark's ``<name>``,
        ``description`` its ``<description>``, a ``folder`` column the ``<Folder>`` it goes in; the other
        columns are ExtendedData (a ``name`` differing from ``project_id`` among them).
    path : Path
        Exactly the file to write.
    encoding : str, optional
        Not used: KML is UTF-8.

    Raises
    ------
    OutputError
        The layer has no CRS, or GDAL cannot write it.
    """
    gdf = _for_kml(gdf, path)
    title = path.stem
    try:
        with atomic_output(path) as staged:  # nothing half-written, whoever calls
            if path.suffix.lower() != ".kmz":
                _write_kml(gdf, staged, title)
                return
            with tempfile.TemporaryDirectory() as tmp:
                doc = Path(tmp) / "doc.kml"
                _write_kml(gdf, doc, title)
                with zipfile.ZipFile(staged, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                    zf.write(doc, "doc.kml")
    except OutputError:
        raise
    except Exception as exc:
        raise OutputError(f"{path}: cannot write KML ({_gdal_message(exc, path)})") from None
