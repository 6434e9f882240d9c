"""Where a layer comes from: paths and layer names, checks of a source before it is opened, GDAL's messages.

:func:`list_layers` names the layers of a source and :func:`split_layer_spec` splits ``file.gpkg:layer``;
a missing shapefile part, a truncated copy or a ``.prj`` GDAL can't read is refused here in one line, and
GDAL's (SQLite's, pyarrow's) reasons for a failure are shortened to a clause a planner can read.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from pyproj import CRS

from ..errors import CRSError, LayerNotFoundError, LayerReadError
from . import postgis

_PARQUET = (".parquet", ".geoparquet")


def _where(path: Path, layer: str | None = None) -> str:
    return f"{path}" + (f" (layer {layer!r})" if layer else "")


_DB_URI = re.compile(r"^(postgres|postgresql|pg|mysql|mssql|oracle)(\+\w+)?:/", re.IGNORECASE)


def _check_source(path: Path) -> None:
    if _DB_URI.match(str(path)):
        raise LayerReadError(f"{path}: only PostGIS databases are supported (postgresql://user@host/db?table=…); "
                             f"export other databases' tables to a GeoPackage")
    if not path.exists():
        raise LayerReadError(f"{path}: file not found")
    if path.is_dir() and not any(path.glob("*.shp")) and path.suffix.lower() != ".gdb":
        raise LayerReadError(f"{path}: is a directory with no shapefile in it; give the path of a layer file")
    if path.suffix.lower() == ".shp":
        stem = path.with_suffix("")
        for ext in (".shx", ".dbf"):
            if not _sibling(stem, ext):
                raise LayerReadError(
                    f"{path}: the shapefile's {ext} file is missing; copy all parts "
                    f"(.shp, .shx, .dbf, .prj, .cpg) together"
                )
        _check_shapefile_sizes(path, stem)
        _check_prj(path, stem)


def _check_prj(path: Path, stem: Path) -> None:
    """A .prj GDAL can't parse makes the whole shapefile unreadable ("missing [") — which reads as corruption.
    Say it is the .prj, and what to do."""
    prj = _sibling(stem, ".prj")
    if prj is None:
        return
    text = prj.read_bytes().decode("utf-8", errors="replace").strip()
    if not text:  # read as a shapefile without a CRS: the no-CRS message (or detection) follows
        return
    try:
        CRS.from_user_input(text)
    except Exception:
        import pyogrio

        try:  # GDAL reads some .prj dialects pyproj does not: only refuse what GDAL refuses too
            pyogrio.read_info(path)
        except Exception as exc:
            raise CRSError(f"{path}: the .prj file is not a CRS GDAL can read ({_gdal_message(exc, path)}); fix it, "
                           f"or delete it and give the CRS with --crs EPSG:…") from None


def _check_shapefile_sizes(path: Path, stem: Path) -> None:
    """A cut-off copy of a shapefile reads as features with no geometry or no attributes:
    compare each part's size with the size its header declares."""
    problems = []
    for ext in (".shp", ".shx"):
        part = _sibling(stem, ext) if ext != ".shp" else path
        with part.open("rb") as fh:
            head = fh.read(100)
        size = part.stat().st_size
        if len(head) < 100 or int.from_bytes(head[0:4], "big") != 9994:
            problems.append(f"{part.name} is not a shapefile part (bad header)")
        elif int.from_bytes(head[24:28], "big") * 2 > size:
            problems.append(f"{part.name} is {size:,} bytes but its header says {int.from_bytes(head[24:28], 'big') * 2:,}")
    dbf = _sibling(stem, ".dbf")
    with dbf.open("rb") as fh:
        head = fh.read(32)
    if len(head) == 32:
        expected = int.from_bytes(head[8:10], "little") + int.from_bytes(head[4:8], "little") * int.from_bytes(head[10:12], "little")
        if dbf.stat().st_size < expected:
            problems.append(f"{dbf.name} is {dbf.stat().st_size:,} bytes but its header says {expected:,}")
    else:
        problems.append(f"{dbf.name} is not a dBASE file (too short)")
    if problems:
        raise LayerReadError(
            f"{path}: the shapefile is truncated or corrupt ({'; '.join(problems)}); copy or export it again"
        )


def _sibling(stem: Path, ext: str) -> Path | None:
    for cand in (stem.with_name(stem.name + ext), stem.with_name(stem.name + ext.upper())):
        if cand.exists():
            return cand
    return None


def list_layers(path: str | os.PathLike) -> list[str]:
    """Names of the layers in a data source (one for single-layer formats).

    Examples
    --------
    >>> list_layers("data/qianjiang/boundary.gpkg")  # doctest: +SKIP
    ['boundary']
    """
    import pyogrio

    if postgis.is_postgis(path):  # a URI names one table or query
        src = postgis.parse_uri(os.fspath(path))
        if not (src.table or src.sql):
            raise LayerReadError(f"{src.where}: say what to read: add ?table=schema.name or ?sql=SELECT …")
        return [src.table or "query"]
    path = Path(path)
    _check_source(path)
    if path.suffix.lower() in _PARQUET:
        return [path.stem]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL's warnings on a corrupt file: the error below says it
            return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:
        raise LayerReadError(
            f"{path}: not a readable spatial file ({_gdal_message(exc, path)}); give a complete GeoPackage, Shapefile, "
            f"GeoJSON, FlatGeobuf or GeoParquet layer — if it is one, it may be truncated: copy or export it again"
        ) from None


# GDAL's advice to programmers, which a planner can't act on
_GDAL_HINTS = re.compile(r"\s*(It might help to specify the correct driver[^;]*|To avoid this[^;]*|"
                         r"Use the [A-Z_]+ (?:open|config) option[^;]*)", re.IGNORECASE)


def _gdal_message(exc: Exception, path: Path | str | None = None) -> str:
    """GDAL's (or SQLite's, pyarrow's) reason for a failure, as a short clause: its first line, without the
    statement it was running, the programmer's hints, repetitions and the file name (the message names it)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # SQLite's own words, without the statement GDAL was running ("sqlite3_prepare_v2(SELECT …) failed: …")
    if "failed: " in text and "sqlite" in text.lower():
        text = text.rsplit("failed: ", 1)[1]
    text = _GDAL_HINTS.sub("", text)
    if path is not None:
        for name in {str(path), Path(path).name}:
            text = text.replace(f"'{name}' ", "").replace(f"{name}: ", "")
    text = text.replace("not recognized as being in a supported file format", "not a format GDAL recognises")
    parts = [part.strip().rstrip(".") for part in text.split(";")]
    text = "; ".join(dict.fromkeys(part for part in parts if part))  # GDAL often repeats itself
    if len(text) > 200:
        text = text[:197] + "…"
    return text.rstrip(".")


def _choose_layer(path: Path, layer: str | None) -> tuple[str | None, bool]:
    """The layer to read and whether the source holds several (so messages name the layer)."""
    if path.suffix.lower() in _PARQUET:
        return None, False
    names = list_layers(path)
    if layer is not None:
        if layer not in names:
            raise LayerNotFoundError(f"{path}: no layer {layer!r}; layers: {', '.join(names)}")
        return layer, len(names) > 1
    if len(names) > 1:
        raise LayerNotFoundError(
            f"{path}: holds {len(names)} layers ({', '.join(names)}); choose one as PATH:LAYER, e.g. "
            f"{path}:{names[0]}"
        )
    return (names[0] if names else None), False


def split_layer_spec(spec: str | os.PathLike) -> tuple[Path, str | None]:
    """Split ``file.gpkg:layer`` into the path and the layer name (Windows drive letters kept)."""
    text = os.fspath(spec)
    head, sep, tail = text.rpartition(":")
    if sep and head and len(head) > 1 and not tail.startswith(("\\", "/")) and not Path(text).exists():
        return Path(head), tail
    return Path(text), None
