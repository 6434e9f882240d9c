"""Reading, validating, repairing and writing layers: the only module that opens files.

:func:`read_layer` reads GeoPackage, Shapefile (also zipped), GeoJSON,
FlatGeobuf and GeoParquet with pyogrio (Arrow) or fiona, decides the attribute
encoding of shapefiles from the ``.dbf`` bytes (field names and records, with
the ``.cpg`` when they agree), takes the CRS from the file or from the caller
(and recognises Chinese CRSs from the coordinates when asked), repairs invalid
geometries and reports everything it did in a :class:`ReadReport`. :func:`write_layer` and :func:`atomic_output`
never leave a half-written file behind.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import json
import os
import re
import tempfile
import time
import tomllib
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..geometry.area import (GEODESIC_STEP_M, NON_FINITE, densify_geodesic, describe_repairs, non_finite, out_of_range,
                   repair)
from ..geometry.crs import crs_code, describe_crs, guess_crs, looks_swapped, to_crs, transform_bbox
from ..errors import (
    CRSError,
    GeometryError,
    LayerNotFoundError,
    LayerReadError,
    LayerTooLargeError,
    OutputError,
    RedlineError,
)

__all__ = [
    "ReadReport",
    "LayerRead",
    "read_layer",
    "list_layers",
    "detect_encoding",
    "reproject",
    "write_layer",
    "atomic_output",
    "atomic_folder",
    "check_output",
    "output_error",
    "clean_stale_temporaries",
    "read_table",
    "read_toml",
    "open_raster",
    "write_tables",
    "format_number",
    "write_styled_gpkg",
    "write_layers",
    "file_sha256",
    "LayerCache",
    "protect_inputs",
    "register_input",
    "check_project_ids",
    "dropped_note",
    "prepare_projects",
    "MAX_FEATURES_ENV",
    "MAX_MEMORY_ENV",
    "estimate_memory",
]

Engine = Literal["pyogrio", "fiona"]
GeometryKind = Literal["polygon", "any"]

_PARQUET = (".parquet", ".geoparquet")
# dBASE language-driver ids of CJK code pages (the few GIS software writes)
_LDID = {0x4D: "cp936", 0x7A: "cp936", 0x4E: "cp949", 0x4F: "cp950", 0x78: "cp950", 0x4C: "cp874"}
_SAMPLE_BYTES = 4 * 1024 * 1024


@dataclass
class ReadReport:
    """What :func:`read_layer` found and did, for ``layers check``, logs and reports.

    Feature ids are the file's FIDs (pyogrio) or positions (fiona). ``repaired``: ``{"id", "reason"}`` (GEOS's
    reason for the invalidity) and ``"repair"`` (what :func:`redline.geometry.area.repair` did, in a planner's terms);
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

    def note(self, message: str) -> None:
        self.notes.append(message)


class LayerRead(NamedTuple):
    """A layer and the report of how it was read; unpacks as ``gdf, report``."""

    gdf: gpd.GeoDataFrame
    report: ReadReport


# ---------------------------------------------------------------------------
# sources


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

    from . import postgis

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


# ---------------------------------------------------------------------------
# encoding


#: Chinese text in GBK/GB18030 has nearly all its characters in GB2312 (both bytes >= 0xA1): at least this share
#: of its non-ASCII characters. UTF-8 or Latin text read as GBK gives 0.2-0.4, and often does not decode at all.
_CHINESE_SHARE = 0.7
#: At most this share of the non-ASCII characters may be stray bytes that don't decode (cut characters aside);
#: an encoding given by the caller is only refused past the larger share.
_STRAY, _STRAY_GIVEN = 0.005, 0.05
#: one undecodable character at the end of a value, after decoded text: a character cut at the field's width
_CUT = re.compile("(?<=[^\ufffd\n])\ufffd(?= *(?:\n|$))")
_GB = ("gb18030", "gbk", "gb2312", "cp936")
_ZIPPED = (".zip", ".shz")
_TEXT_FORMATS = (".geojson", ".json", ".geojsonl", ".geojsons")
#: A zipped .dbf up to this size is sampled through the file (each seek in a deflated member decompresses).
_SPREAD_ZIPPED = 256 * 1024 * 1024


@dataclass
class _Encoding:
    """How a shapefile's text decodes: ``values`` for the records and ``names`` for the field names (``None``:
    plain ASCII, or not a shapefile), where that was decided, and what the report should say."""

    values: str | None
    source: str
    names: str | None = None
    broken: bool = False  # some bytes do not decode (characters cut at a field's width): dropped
    notes: list[str] = field(default_factory=list)
    unseen: str | None = None  # for GDAL when the sample is ASCII: how to read text beyond it

    @property
    def in_python(self) -> bool:
        """Whether GDAL can't decode it: field names and values in two encodings, or UTF-8 with broken bytes (GDAL
        passes UTF-8 on as it is, and pyogrio fails on it, fiona gives nulls). Then the text is read byte for byte
        (as ISO-8859-1) and decoded here (:func:`_redecode`)."""
        both = self.names is not None and self.values is not None and self.names != self.values
        return both or (self.broken and "utf-8" in (self.names, self.values))

    @property
    def gdal(self) -> str | None:
        """The encoding to give GDAL (``None``: its own choice, for other formats and plain ASCII)."""
        return "ISO-8859-1" if self.in_python else (self.values or self.names or self.unseen)


def _label(encoding: str) -> str:
    return encoding.upper()


def _normalise_codepage(text: str) -> str | None:
    """The codec a ``.cpg`` names: ``UTF-8``, ``936``, ``GBK``, ``ANSI 1252``, ``88591``, ``ISO88591``…"""
    text = text.replace("\ufeff", "").strip().upper().replace("ANSI", "").strip()
    if not text:
        return None
    if re.fullmatch(r"(ISO[-_ ]?)?8859[-_]?\d{1,2}", text):  # ESRI writes 88591 for ISO-8859-1
        text = "ISO-8859-" + re.sub(r"^(ISO[-_ ]?)?8859[-_]?", "", text)
    elif re.fullmatch(r"2859\d{1,2}", text):  # the Windows numbers of the ISO-8859 pages
        text = "ISO-8859-" + text[4:]
    elif text.isdigit():
        text = {"65001": "UTF-8", "936": "CP936", "54936": "GB18030", "20936": "GB2312"}.get(text, f"CP{text}")
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None


def _dbf_bytes(fh, size: int) -> bytes:
    """The header and a sample of the records of a ``.dbf`` (``size`` bytes; 0: unknown): all of a small file;
    of a large one the first records and 16 runs of records spread through it (a layer sorted by a field can
    start with megabytes of ASCII)."""
    head = fh.read(32)
    header_len, reclen = int.from_bytes(head[8:10], "little"), int.from_bytes(head[10:12], "little")
    if len(head) < 32 or size <= _SAMPLE_BYTES or header_len < 32 or reclen < 1:
        return head + fh.read(_SAMPLE_BYTES)
    header = head + fh.read(header_len - 32)
    count, runs = (size - header_len) // reclen, 16
    parts = [fh.read(max(1, _SAMPLE_BYTES // 2 // reclen) * reclen)]
    per = max(1, _SAMPLE_BYTES // 2 // runs // reclen)
    for k in range(1, runs + 1):  # the last run ends with the last record
        fh.seek(header_len + max(0, (count - per) * k // runs) * reclen)
        parts.append(fh.read(per * reclen))
    return header + b"".join(part[: len(part) // reclen * reclen] for part in parts)


def _dbf_sample(data: bytes) -> tuple[int, bytes, bytes]:
    """The language-driver byte, the field names and the text of the character fields of a ``.dbf`` sample
    (names, and values, one a line)."""
    if len(data) < 32:
        return 0, b"", b""
    header_len, reclen = int.from_bytes(data[8:10], "little"), int.from_bytes(data[10:12], "little")
    names, spans, pos = [], [], 1  # a record starts with its deletion flag
    for off in range(32, min(header_len, len(data)) - 31, 32):
        desc = data[off:off + 32]
        if desc[0] == 0x0D:
            break
        names.append(desc[:11].split(b"\0", 1)[0].strip())
        kind = desc[11:12]
        width = desc[16] + (0 if kind in b"NF" else desc[17] << 8)  # as GDAL reads it: long text fields
        if kind == b"C":
            spans.append((pos, pos + width))
        pos += width
    records = data[header_len:]
    if reclen and pos == reclen:
        n = len(records) // reclen
        rows = np.frombuffer(records, np.uint8, n * reclen).reshape(n, reclen)
        rows = np.concatenate([rows, np.full((n, 1), 0x0A, np.uint8)], axis=1)  # a line end after each value
        cols = np.concatenate([np.r_[start:end, reclen] for start, end in spans]) if spans else np.zeros(0, int)
        values = rows[:, cols].tobytes()
    else:  # a header that does not add up: all the record bytes (numbers and dates are ASCII anyway)
        values = records
    return data[29], b"\n".join(names), values


def _shapefile_text(path: Path, layer: str | None) -> tuple[str | None, bytes] | None:
    """The ``.cpg`` text (``None`` without one) and a sample of the ``.dbf`` of a shapefile — plain, zipped
    (``.zip``, ``.shz``) or in a directory of shapefiles; ``None`` for other formats."""
    suffix = path.suffix.lower()
    if suffix == ".shp" or (layer and path.is_dir()):
        stem = path.with_suffix("") if suffix == ".shp" else path / layer
        cpg, dbf = _sibling(stem, ".cpg"), _sibling(stem, ".dbf")
        if dbf is None:
            return None
        with dbf.open("rb") as fh:
            data = _dbf_bytes(fh, dbf.stat().st_size)
        return (cpg.read_bytes().decode(errors="replace") if cpg else None), data
    if suffix in _ZIPPED and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            infos = [info for info in zf.infolist() if not info.is_dir()]
            dbfs = [info for info in infos if info.filename.lower().endswith(".dbf")]
            if layer:
                dbfs = [info for info in dbfs if Path(info.filename).stem == layer] or dbfs
            if not dbfs:
                return None
            dbf = dbfs[0]
            cpgs = [info for info in infos if info.filename.lower().endswith(".cpg")]
            cpgs = [info for info in cpgs if info.filename[:-4].lower() == dbf.filename[:-4].lower()] or (
                cpgs if len(dbfs) == 1 else [])
            size = dbf.file_size if dbf.compress_type == zipfile.ZIP_STORED or dbf.file_size <= _SPREAD_ZIPPED else 0
            with zf.open(dbf) as fh:
                data = _dbf_bytes(fh, size)
            return (zf.read(cpgs[0]).decode(errors="replace") if cpgs else None), data
    return None


def _decode(data: bytes, encoding: str, limit: float) -> tuple[str, int, int]:
    """``data`` decoded with the bytes that don't decode dropped, the number of characters cut at the end of a
    value (a field's width: before the line end of the sample, or the value's padding) and of other undecodable
    bytes — or, when there are clearly more than ``limit`` of those, ``("", 0, a lower bound)``."""
    text = data.decode(encoding, errors="replace")
    undecoded = text.count("\ufffd")
    if not undecoded:
        return text, 0, 0
    if undecoded - 2 * (text.count("\n") + 1) > limit:  # no more than one cut character a value
        return "", 0, undecoded - 2 * (text.count("\n") + 1)
    cut = len(_CUT.findall(text))
    return text.replace("\ufffd", ""), cut, undecoded - cut


def _fits(data: bytes, encoding: str, chinese: bool = True, stray: float = _STRAY) -> tuple[bool, int]:
    """Whether ``data`` reads as ``encoding``, and how many byte sequences don't: characters cut at a field's
    width are tolerated (at most one a value), other undecodable bytes up to the share ``stray``. With
    ``chinese``, text read as GBK/GB18030 must also look like Chinese: a single-byte code page decodes anything,
    and UTF-8 or Latin text often decodes as GBK."""
    if data.isascii():
        return True, 0
    try:
        text, cut, bad = _decode(data, encoding, stray * len(data))
    except LookupError:
        return False, 0
    chars = len(text) - len(text.encode("ascii", errors="ignore"))  # the non-ASCII characters decoded
    if bad > stray * (chars + cut + bad) or cut * 2 > chars:
        return False, cut + bad
    if chinese and codecs.lookup(encoding).name in _GB:
        common = np.count_nonzero(np.frombuffer(text.encode("gb2312", errors="replace"), np.uint8) >= 0x80) // 2
        if common < _CHINESE_SHARE * chars:
            return False, cut + bad
    return True, cut + bad


def _writes_chinese(encoding: str) -> bool:
    """Whether a code page has Chinese characters (``False`` for the single-byte ones: Latin-1, 1252…)."""
    try:
        return bool("中".encode(encoding, errors="ignore"))
    except LookupError:
        return False


def _one_encoding(data: bytes, ldid: int) -> tuple[str, str | None] | None:
    """The encoding the bytes themselves show — UTF-8, the code page of the language-driver byte, GB18030 —
    and the source when it is the driver byte; ``None`` when none of them reads them."""
    for encoding, source in (("utf-8", None), (_LDID.get(ldid), f".dbf language driver 0x{ldid:02X}"),
                             ("gb18030", None)):
        if encoding and _fits(data, encoding)[0]:
            return encoding, source
    return None


def _dropped(count: int, encoding: str) -> str:
    return (f"{count} undecodable {'character' if count == 1 else 'characters'} in the .dbf text read as "
            f"{_label(encoding)} (cut at a field's width?): dropped")


def _decided(encoding: str, source: str, text: bytes, names: str | None = None, note: bool = False) -> _Encoding:
    """The decision, with ``note``: the bytes contradict the .cpg, or the names and the values differ."""
    bad = _fits(text, encoding, chinese=False)[1] if names is None else 0
    result = _Encoding(encoding, source, names=names or encoding, broken=bad > 0)
    if note:
        result.notes.append(f"attribute encoding {encoding}: {source}")
    if bad:
        result.notes.append(_dropped(bad, encoding))
    return result


def _decide(names: bytes, values: bytes, ldid: int, cpg: str | None, where: str) -> _Encoding:
    """Decide the encoding from the field names and the records together, the ``.cpg`` when the bytes agree."""
    declared = _normalise_codepage(cpg) if cpg is not None else None
    says = f"the .cpg says {cpg.replace(chr(0xFEFF), '').strip()}" if cpg is not None else None
    text = names + b"\n" + values
    if text.isascii():  # beyond the sample, UTF-8 unless said otherwise: text that isn't fails loudly (pyogrio)
        return _Encoding(declared, ".cpg") if declared else _Encoding(None, "ascii", unseen=_LDID.get(ldid, "utf-8"))
    # the field names and the values in two encodings (a table converted to UTF-8 but not its header, …)
    in_names = None if names.isascii() else _one_encoding(names, ldid)
    in_values = None if values.isascii() else _one_encoding(values, ldid)
    split = bool(in_names and in_values) and in_names[0] != in_values[0]
    if declared and _fits(text, declared, chinese=False)[0]:
        contradicted = (
            (declared != "utf-8" and _fits(text, "utf-8")[0])  # UTF-8 bytes under GBK
            or (not _writes_chinese(declared) and _fits(text, "gb18030")[0])  # GBK under ISO-8859-1, 1252…
            or (declared in _GB and split and not _fits(text, declared)[0])  # UTF-8 values under GBK
        )
        if not contradicted:
            return _decided(declared, ".cpg", text)
    found = _one_encoding(text, ldid)
    if found:
        encoding, source = found
        if says and declared is None:
            why = f"{says}, not a code page"
        elif says and declared == encoding:
            why = None
        elif says and encoding == "utf-8":
            why = f"{says}, but the text is UTF-8"
        elif says and declared and not _writes_chinese(declared) and encoding in _GB:
            why = f"{says}, but the text is Chinese in GBK/{_label(encoding)}"
        elif says:
            why = f"{says}, but the text does not decode as {_label(declared)}"
        else:
            why = None
        return _decided(encoding, (source or "detected from .dbf bytes") + (f" ({why})" if why else ""), text,
                        note=why is not None)
    if split:
        why = f"{says + '; ' if says else ''}the field names are {_label(in_names[0])}, the values {_label(in_values[0])}"
        return _decided(in_values[0], f"detected from .dbf bytes ({why})", text, names=in_names[0], note=True)
    part = "field names" if not (in_names or names.isascii()) else "values"
    raise LayerReadError(
        f"{where}: cannot tell the encoding of the attribute text: the .dbf {part} are neither UTF-8 nor Chinese "
        f"GBK/GB18030{f' ({says})' if says else ''}; give the encoding with --encoding (e.g. --encoding GBK) "
        f"or fix the .cpg"
    )


def _given(names: bytes, values: bytes, ldid: int, encoding: str, where: str) -> _Encoding:
    """An encoding given by the caller wins; the bytes are only checked to decode (fiona would give nulls)."""
    ok, bad = _fits(values, encoding, chinese=False, stray=_STRAY_GIVEN)
    if not ok:
        found = _one_encoding(values, ldid)
        advice = (f"they read as {_label(found[0])}: give --encoding {_label(found[0])}" if found
                  else "give the right encoding with --encoding")
        raise LayerReadError(f"{where}: the attribute values are not {_label(encoding)} (the encoding given); "
                             f"{advice}, or leave it out to detect it")
    result = _Encoding(encoding, "given", names=encoding, broken=bad > 0)
    if not _fits(names, encoding, chinese=False, stray=_STRAY_GIVEN)[0]:
        found = _one_encoding(names, ldid)
        if found is None:
            raise LayerReadError(f"{where}: the .dbf field names are not {_label(encoding)} (the encoding given), "
                                 f"nor UTF-8 or GBK/GB18030; give their encoding with --encoding or fix the .cpg")
        result.names = found[0]
        result.notes.append(f"field names read as {_label(found[0])}: they are not {_label(encoding)} (the encoding "
                            f"given for the values)")
    if bad:
        result.notes.append(_dropped(bad, encoding))
    return result


def _plan(path: Path, layer: str | None, encoding: str | None, where: str) -> _Encoding:
    """How to decode a layer's text: ``encoding`` if given (checked against a shapefile's bytes), else decided
    for a shapefile by :func:`_decide`; other formats carry their own."""
    sample = _shapefile_text(path, layer)
    if sample is None and encoding is None and path.suffix.lower() in _TEXT_FORMATS and path.is_file():
        return _text_encoding(path, where)
    if sample is None:
        return _Encoding(encoding, "given" if encoding else "format")
    cpg, data = sample
    ldid, names, values = _dbf_sample(data)
    if encoding is not None:
        return _given(names, values, ldid, encoding, where)
    return _decide(names, values, ldid, cpg, where)


def _text_encoding(path: Path, where: str) -> _Encoding:
    """A GeoJSON file must be UTF-8, but Chinese software also writes GBK: the bytes decide."""
    with path.open("rb") as fh:
        data = fh.read(_SAMPLE_BYTES)
    if _fits(data, "utf-8")[0]:
        return _Encoding(None, "format")
    if _fits(data, "gb18030")[0]:
        source = "detected from the file's bytes (not UTF-8, as GeoJSON should be)"
        return _Encoding("gb18030", source, notes=[f"attribute encoding gb18030: {source}"])
    raise LayerReadError(f"{where}: cannot tell the encoding of the text: it is neither UTF-8 (as GeoJSON should "
                         f"be) nor Chinese GBK/GB18030; give the encoding with --encoding (e.g. --encoding GBK) or "
                         f"save the file as UTF-8")


def detect_encoding(path: str | os.PathLike, layer: str | None = None) -> tuple[str | None, str]:
    """Decide the attribute encoding of a shapefile (plain, zipped or in a directory of shapefiles).

    The ``.dbf`` header's field names and its records decide together: valid UTF-8 means UTF-8; text that
    decodes as GB18030 (the superset of GBK that Chinese GIS software writes) and reads as Chinese means
    GB18030; the language-driver byte counts when it names a code page. The ``.cpg`` is used when the bytes
    agree with it; when they contradict it — UTF-8 bytes under ``GBK``, GBK bytes under a single-byte code page
    such as ``ISO-8859-1`` or ``1252`` (which "decodes" any bytes) — the bytes win and the source says so. Field
    names and values in two different encodings are each decoded in theirs (the source says so). Returns
    ``(encoding, source)``: the encoding of the values; ``None`` for formats that carry their own (GeoPackage,
    GeoJSON, …) or when the text is plain ASCII.

    Raises
    ------
    LayerReadError
        When the text is neither UTF-8 nor GBK/GB18030 and the ``.cpg`` does not decode it either.

    Examples
    --------
    >>> detect_encoding("data/qianjiang/townships_gk_gbk/townships_gk.shp")  # doctest: +SKIP
    ('gb18030', 'detected from .dbf bytes')
    """
    path = Path(path)
    plan = _plan(path, layer, None, _where(path, layer))
    return plan.values or plan.names, plan.source


def _redecode(gdf: gpd.GeoDataFrame, plan: _Encoding) -> gpd.GeoDataFrame:
    """Text read byte for byte (as ISO-8859-1) decoded as it is written: field names in ``plan.names``, values
    in ``plan.values``; bytes that don't decode (cut characters) are dropped."""
    geometry = gdf.geometry.name
    names, values = plan.names or plan.values or "utf-8", plan.values or plan.names or "utf-8"
    gdf = gdf.copy()
    for col in gdf.columns:
        column = gdf[col]
        if col != geometry and pd.api.types.infer_dtype(column, skipna=True) == "string":
            text = column.str.encode("latin-1").str.decode(values, errors="ignore")
            gdf[col] = text.astype(object).where(column.notna(), None)

    return gdf.rename(columns={col: _decode_name(col, names) for col in gdf.columns if col != geometry})


def _decode_name(name, encoding: str):
    """A field name read byte for byte (as ISO-8859-1), decoded as it is written."""
    try:
        return name.encode("latin-1").decode(encoding, errors="ignore") if isinstance(name, str) else name
    except UnicodeEncodeError:
        return name


def _layer_info(path: str | os.PathLike, layer: str | None = None, plan: _Encoding | None = None, **kwargs) -> dict:
    """``pyogrio.read_info`` with the text decoded as :func:`read_layer` decodes it: field names in GBK under a
    ``.cpg`` saying UTF-8 would fail, or come out as mojibake. ``plan``: the encoding, when already decided."""
    import pyogrio

    path = Path(path)
    plan = plan or _plan(path, layer, None, _where(path, layer))
    info = pyogrio.read_info(path, layer=layer, encoding=plan.gdal, **kwargs)
    if plan.in_python:
        names = plan.names or plan.values or "utf-8"
        info["fields"] = np.array([_decode_name(name, names) for name in info["fields"]], dtype=object)
    return info


# ---------------------------------------------------------------------------
# reading


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
    where = _where(path, layer)
    if path.suffix.lower() in _PARQUET:
        try:
            gdf = gpd.read_parquet(path)
        except Exception as exc:
            raise LayerReadError(f"{where}: not a readable GeoParquet file ({_gdal_message(exc, path)})") from None
        gdf.index.name = "fid"
        return gdf
    if engine == "pyogrio":
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
            if "not supported for Arrow" in str(exc):  # a given encoding for a format GDAL doesn't recode
                pass
            elif report is not None and _encoding_trouble(exc):
                report.note(f"the attribute text is not valid UTF-8 ({_gdal_message(exc, path)}): read without Arrow; "
                            f"check the names and values, or give the encoding (--encoding)")
            elif report is not None and "1-dimensional" not in str(exc):
                report.note(f"malformed geometries fixed while reading ({_gdal_message(exc, path)})")
        if not isinstance(data, gpd.GeoDataFrame):
            raise LayerReadError(f"{where}: has no geometry column — not a spatial layer; give a GeoPackage, Shapefile, "
                                 f"GeoJSON, FlatGeobuf or GeoParquet layer (a table of coordinates must be made into "
                                 f"one first)")
        _check_utf8(data, path, where, encoding)
        return _keep_non_finite(data, path, layer)
    if engine == "fiona":
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
    raise ValueError(f"engine must be 'pyogrio' or 'fiona', got {engine!r}")


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
    coordinates, so that they are dropped as :data:`~redline.geometry.area.NON_FINITE` rather than as "null or empty
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


def _check_utf8(gdf: gpd.GeoDataFrame, path: Path, where: str, encoding: str | None) -> None:
    """Arrow text columns holding bytes that aren't UTF-8 (GDAL passes a file's bytes on as they are) fail
    later, wherever they are used: fail here, saying it is the encoding."""
    import pyarrow as pa

    for col in gdf.columns:
        array = gdf[col].array
        if isinstance(array, pd.arrays.ArrowStringArray):
            try:
                array.__arrow_array__().validate(full=True)
            except pa.ArrowInvalid as exc:
                raise _encoding_error(path, where, encoding, exc) from None


def _encoding_trouble(exc: Exception) -> bool:
    """Whether a failed read failed on the text's encoding (not on the file's structure)."""
    text = str(exc)
    return isinstance(exc, UnicodeError) or "not encoded in UTF-8" in text or "invalid utf8" in text.lower() or (
        text.startswith("Unknown error: Wrapping") and "\ufffd" in text)  # Arrow refusing bytes that aren't UTF-8


def _encoding_error(path: Path, where: str, encoding: str | None, exc: Exception) -> LayerReadError:
    shapefile = path.suffix.lower() in (".shp", *_ZIPPED) or path.is_dir()
    return LayerReadError(
        f"{where}: cannot read the attribute text{f' as {_label(encoding)}' if encoding else ''} "
        f"({_gdal_message(exc)}): it is in another encoding; give the encoding with --encoding (e.g. --encoding GBK) "
        f"or {'fix the .cpg' if shapefile else 'save the file as UTF-8'}"
    )


#: Environment variables that bound what :func:`read_layer` will load into memory.
MAX_FEATURES_ENV = "REDLINE_MAX_FEATURES"
MAX_MEMORY_ENV = "REDLINE_MAX_MEMORY"
#: In-memory bytes per byte of file (WKB/Arrow buffers, shapely geometries, the repaired and reprojected copies)
#: and per feature (attributes, index, GEOS objects): measured on the sample layers and a 1 M-vertex polygon.
_BYTES_PER_FILE_BYTE = 6
_BYTES_PER_FEATURE = 1500
_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12}


def _parse_bytes(text: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise LayerReadError(f"{MAX_MEMORY_ENV}={text!r}: expected a size such as 2GB or 500MB")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def _available_memory() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def _source_size(path: Path) -> tuple[int, int | None]:
    """Bytes of the data (all parts of a shapefile, uncompressed size of a zip) and the feature count if cheap."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            return sum(i.file_size for i in zf.infolist()), None
    if suffix == ".shp":
        stem = path.with_suffix("")
        return sum(p.stat().st_size for p in (_sibling(stem, e) for e in (".shp", ".dbf")) if p), None
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()), None
    return path.stat().st_size, None


def _feature_count(path: Path, layer: str | None) -> int | None:
    try:
        if path.suffix.lower() in _PARQUET:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        import pyogrio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # read byte for byte: field names that aren't UTF-8 can't fail a count
            count = pyogrio.read_info(path, layer=layer, encoding="ISO-8859-1")["features"]
        return int(count) if count is not None and count >= 0 else None
    except Exception:
        return None


def estimate_memory(path: str | os.PathLike, layer: str | None = None) -> tuple[int | None, float]:
    """``(features, bytes)``: the feature count and a rough estimate of the memory a read of the layer takes."""
    path = Path(path)
    size, _ = _source_size(path)
    features = _feature_count(path, layer)
    return features, _BYTES_PER_FILE_BYTE * size + _BYTES_PER_FEATURE * (features or 0)


def _check_size(path: Path, layer: str | None, where: str) -> None:
    """Refuse a layer too large for the in-memory engine before reading it, naming the way out."""
    max_features = os.environ.get(MAX_FEATURES_ENV)
    max_memory = os.environ.get(MAX_MEMORY_ENV)
    limit_bytes = _parse_bytes(max_memory) if max_memory else _available_memory()
    size, _ = _source_size(path)
    if not max_features and (not limit_bytes or _BYTES_PER_FILE_BYTE * size < 0.1 * limit_bytes):
        return  # far from any limit: don't open the file twice
    features, need = estimate_memory(path, layer)
    scale_out = "split the layer by county (or tile) and use partitioned inputs"
    if max_features:
        try:
            limit = int(max_features)
        except ValueError:
            raise LayerReadError(f"{MAX_FEATURES_ENV}={max_features!r}: expected a whole number") from None
        if features is not None and features > limit:
            raise LayerTooLargeError(
                f"{where}: {features:,} features, more than the limit of {limit:,} ({MAX_FEATURES_ENV}); "
                f"{scale_out}, or raise the limit"
            )
    if limit_bytes and need > limit_bytes:
        source = MAX_MEMORY_ENV if max_memory else "available memory"
        raise LayerTooLargeError(
            f"{where}: too large for the in-memory engine — about {need / 1e9:,.2f} GB needed "
            f"({features if features is not None else 'unknown number of'} features), "
            f"{limit_bytes / 1e9:,.2f} GB allowed ({source}); {scale_out}"
            + (f", or raise {MAX_MEMORY_ENV}" if max_memory else "")
        )


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
            f"{path}: holds {len(names)} layers ({', '.join(names)}); choose one with PATH:LAYER or --layer"
        )
    return (names[0] if names else None), False


def split_layer_spec(spec: str | os.PathLike) -> tuple[Path, str | None]:
    """Split ``file.gpkg:layer`` into the path and the layer name (Windows drive letters kept)."""
    text = os.fspath(spec)
    head, sep, tail = text.rpartition(":")
    if sep and head and len(head) > 1 and not tail.startswith(("\\", "/")) and not Path(text).exists():
        return Path(head), tail
    return Path(text), None


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
                else f"; {guess.reason}" if guess else ""
            )
            raise CRSError(f"{where}: no CRS in the file (.prj missing?){hint or '; give one with --crs EPSG:XXXX'}")
    if bounds is not None:
        gdf = _check_axes(gdf, bounds, report, swap_xy, where)
    report.crs = crs_code(gdf.crs)
    report.crs_name = CRS.from_user_input(gdf.crs).name
    return gdf


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
    """Features with a NaN or infinite coordinate dropped and reported (:func:`redline.geometry.area.non_finite`): before
    anything looks at the layer's extent, its CRS or its validity, which they would derail."""
    bad = non_finite(gdf.geometry.values)
    if not bad.any():
        return gdf
    for fid in np.asarray(gdf.index)[bad]:
        report.dropped.append({"id": _jsonable(fid), "reason": NON_FINITE})
    return gdf.loc[~bad]


def _drop_out_of_range(gdf: gpd.GeoDataFrame, report: ReadReport, where: str):
    """Features lying outside the range of the layer's CRS (:func:`redline.geometry.area.out_of_range`: longitude beyond
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
    from . import postgis

    if postgis.is_postgis(path):
        gdf = postgis.read_postgis(os.fspath(path), bbox=bbox, bbox_crs=bbox_crs)
        report = ReadReport(path=postgis.parse_uri(os.fspath(path)).where, layer=None, encoding="utf-8",
                            encoding_source="database")
        if bbox is not None:
            report.note(f"read the rows meeting the box {', '.join(f'{v:.6g}' for v in bbox)} (filtered on the server)")
            if not len(gdf):  # nothing near: an empty layer, not an error
                report.features_in_file = 0
                return LayerRead(gdf, report)
        return _finish_read(gdf, report, crs, detect_crs, swap_xy, geometry, report.path)
    from . import partition

    if partition.is_partitioned(path):
        gdf, parts = partition.read_partitioned(path, bbox=bbox, bbox_crs=bbox_crs)
        report = ReadReport(path=str(path), layer=None, encoding="utf-8", encoding_source="GeoParquet")
        total = len(partition.read_index(path)["partitions"])
        if bbox is not None:
            report.note(f"read {len(parts)} of {total} partitions (those meeting the box "
                        f"{', '.join(f'{v:.6g}' for v in bbox)})")
            if not len(gdf):
                report.features_in_file = 0
                return LayerRead(gdf, report)
        return _finish_read(gdf, report, crs, detect_crs, swap_xy, geometry, str(path))
    if _DB_URI.match(os.fspath(path)):
        _check_source(Path(path))
    if layer is None:
        path, layer = split_layer_spec(path)
    path = Path(path)
    _check_source(path)
    layer, several = _choose_layer(path, layer)
    where = _where(path, layer if several else None)
    report = ReadReport(path=str(path), layer=layer)
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise LayerReadError(f"{where}: unknown encoding {encoding!r}; use GBK, GB18030 or UTF-8") from None
    plan = _plan(path, layer, encoding, where)
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
        report.note(f"read the {len(gdf):,} features meeting the box {', '.join(f'{v:.6g}' for v in file_box)}")
        if not len(gdf):  # nothing near: an empty layer, not an error
            report.features_in_file = 0
            return LayerRead(gdf, report)
    return _finish_read(gdf, report, crs, detect_crs, swap_xy, geometry, where)


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
                 geometry: GeometryKind, where: str) -> LayerRead:
    """CRS resolved, geometries validated and repaired, every change in the report."""
    report.features_in_file = len(gdf)
    if not len(gdf):
        raise LayerReadError(f"{where}: the layer has no features")
    gdf = _drop_non_finite(gdf, report)
    if len(gdf):
        gdf = _resolve_crs(gdf, report, crs, detect_crs, swap_xy, where)
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


def check_project_ids(gdf: gpd.GeoDataFrame, id_field: str | None = None, where: str = "projects") -> str | None:
    """Check that every project has an id and no two share one; returns the id field used.

    The id names a project in every output (tables, the map, ``maps/<id>.png``), so a blank or
    repeated id would merge or lose projects. Raises :class:`~redline.errors.FieldError` listing
    the blank ids by feature id and the repeated values.
    """
    from ..specs.catalog import find_field
    from ..errors import FieldError
    from ..geometry.footprints import ID_FIELDS

    field_name = find_field(gdf.columns, id_field, ID_FIELDS, "id", where)
    if field_name is None:
        return None
    values = gdf[field_name]
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    problems = []
    blank = [str(_jsonable(i)) for i in np.asarray(gdf.index)[(text == "").to_numpy()]]
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


def prepare_projects(gdf: gpd.GeoDataFrame, report: ReadReport, id_field: str | None = None) -> gpd.GeoDataFrame:
    """Project footprints as read, made ready to screen: ids checked (:func:`check_project_ids`) and
    geometry collections reduced to what a footprint can be, with a note for each.

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
        report.note(f"feature {_jsonable(ids[i])}: a GeometryCollection footprint; its {keep}s are screened"
                    + (f", {' and '.join(dropped)} beside them dropped" if dropped else ""))
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))


def reproject(gdf: gpd.GeoDataFrame, crs, report: ReadReport | None = None, name: str | None = None) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to ``crs`` when it differs, noting it in ``report``.

    Layers in different CRSs are normal in Chinese data: redline reprojects
    them automatically and says so.
    """
    target = CRS.from_user_input(crs)
    if gdf.crs is not None and CRS.from_user_input(gdf.crs).equals(target):
        return gdf
    out = gdf.to_crs(target)
    if report is not None:
        report.note(f"{name or report.path}: reprojected from {describe_crs(gdf.crs)} to {describe_crs(target)}")
    return out


# ---------------------------------------------------------------------------
# writing


# Inputs read while :func:`protect_inputs` is active (the CLI turns it on for every command):
# :func:`atomic_output` refuses to write over any of them.
_PROTECTED: list[set[Path]] = []


@contextlib.contextmanager
def protect_inputs() -> Iterator[set[Path]]:
    """Within this block, every file redline reads is registered and no output may overwrite it."""
    _PROTECTED.append(set())
    try:
        yield _PROTECTED[-1]
    finally:
        _PROTECTED.pop()


def _parts(path: Path) -> list[Path]:
    if path.suffix.lower() == ".shp":
        stem = path.with_suffix("")
        return [p for p in (_sibling(stem, e) for e in (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn"))
                if p]
    return [path]


def register_input(path: str | os.PathLike) -> None:
    """Register a file that was read (all parts of a shapefile), so outputs can't overwrite it."""
    if _PROTECTED:
        try:
            _PROTECTED[-1].update(p.resolve() for p in _parts(Path(path)) if p.exists())
        except OSError:
            pass


def _is_input(path: Path, inputs) -> bool:
    if not path.exists():
        return False
    target = path.resolve()
    given = {p.resolve() for src in inputs if src is not None for p in _parts(Path(src)) if p.exists()}
    return target in given or any(target in registered for registered in _PROTECTED)


# ---------------------------------------------------------------------------
# one path for every write: temporary files where they do no harm, OS errors as one line
#
# A write goes to a hidden folder ``.redline-<pid>-<random>.tmp`` beside the output (marked with the
# writing process), is renamed into place when complete, and the folder is removed. SQLite's -journal/-wal
# files of a temporary GeoPackage stay inside it. A run killed outright leaves only that hidden folder; the
# next write to the same folder removes every such folder whose process is gone.

_TMP_PREFIX = ".redline-"
_TMP_SUFFIX = ".tmp"
_OWNER = ".redline-owner"
_TMP_NAME = re.compile(r"^\.redline-(?P<pid>\d+)-[^/\\]*\.tmp$")
# temporary files of earlier redline versions: ".NAME.<8 random>.part.EXT" (and SQLite's companions)
_OLD_TMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.part(\.[^.]+)?(-journal|-wal|-shm)?$")
_OLD_TMP_AGE_S = 3600.0
_FOREIGN_TMP_AGE_S = 7 * 24 * 3600.0
_PROBE_BYTES = 1 << 20
_MINE: set[Path] = set()  # temporary folders of this process, in use
_STAGES: dict[Path, Path] = {}  # staging folder -> the output folder it becomes (atomic_folder)


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux: clock ticks since boot), to tell a reused pid from the writer."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # access denied: it exists
        code = ctypes.c_ulong()
        try:
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's live process
        return True
    return True


def _host() -> str:
    import socket

    try:
        return socket.gethostname()
    except OSError:  # pragma: no cover
        return ""


def _is_stale(folder: Path) -> bool:
    """Whether a temporary folder was left by a process that is gone (killed, crashed, power cut)."""
    if folder in _MINE:
        return False
    match = _TMP_NAME.match(folder.name)
    if not match:
        return False
    try:
        owner = json.loads((folder / _OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        owner = {}  # killed before it wrote its marker (or being made right now: its pid is alive then)
    pid = int(owner.get("pid", match["pid"]))
    if owner.get("host", _host()) != _host():  # another computer writing to a shared folder: by age only
        try:
            return time.time() - folder.stat().st_mtime > _FOREIGN_TMP_AGE_S
        except OSError:
            return False
    if pid == os.getpid():  # a previous process with our pid (containers): ours are in _MINE
        return True
    if not _pid_alive(pid):
        return True
    start = owner.get("start")
    return start is not None and _process_start(pid) not in (None, start)  # the pid was reused


def clean_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of redline runs that were killed while writing into ``folder``.

    Each write of a live run is left alone (its folder names the process). Called by every write;
    returns what was removed.
    """
    import shutil

    folder, removed = Path(folder), []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.name.startswith(_TMP_PREFIX) and entry.is_dir(follow_symlinks=False):
                if _is_stale(path):
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
            elif _OLD_TMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False):
                if now - entry.stat().st_mtime > _OLD_TMP_AGE_S:
                    path.unlink()
                    removed.append(path)
        except OSError:
            continue
    return removed


def _hide(path: Path) -> None:
    if os.name == "nt":  # a leading dot hides nothing in Windows Explorer
        import ctypes

        ctypes.windll.kernel32.SetFileAttributesW(str(path), 0x2)  # FILE_ATTRIBUTE_HIDDEN


def _temp_dir(folder: Path) -> Path:
    """A new hidden temporary folder in ``folder``, marked with this process (stale ones removed first)."""
    clean_stale_temporaries(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", suffix=_TMP_SUFFIX, dir=folder))
    _MINE.add(tmp)
    try:
        (tmp / _OWNER).write_text(json.dumps({"pid": os.getpid(), "host": _host(), "start": _process_start(os.getpid())}),
                                  encoding="utf-8")
        _hide(tmp)
    except BaseException:
        _drop_temp_dir(tmp)
        raise
    return tmp


def _drop_temp_dir(tmp: Path) -> None:
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    _MINE.discard(tmp)


def _make_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created (deepest last)."""
    missing = []
    for p in (folder, *folder.parents):
        if p.exists():
            break
        missing.append(p)
    created = []
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            if not p.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(p)) from None
            continue
        created.append(p)
    return created


def _remove_dirs(created: list[Path]) -> None:
    """Remove the folders a failed write created, deepest first (only if still empty)."""
    for p in reversed(created):
        try:
            p.rmdir()
        except OSError:
            break


def _file_ancestor(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` (or itself) when it is a file, not a folder."""
    for p in (path, *path.parents):
        try:
            if p.exists():
                return None if p.is_dir() else p
        except OSError:
            return None
    return None


def _final(path: Path) -> Path:
    """Where ``path`` ends up: a file written into a staging folder (:func:`atomic_folder`) lands in its output folder."""
    for stage, out in list(_STAGES.items()):
        if path == stage or stage in path.parents:
            return _final(out / path.relative_to(stage))
    return path


def _staged(path: Path) -> bool:
    return _final(path) != path


_ERRNO_PROBLEMS = {
    errno.ENOSPC: "no space left on the device; free space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free space or write elsewhere",
    errno.EROFS: "the device is read-only; choose a folder you can write to",
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "permission denied; choose a folder you can write to",
    errno.EFBIG: "the file is too large for this device or size limit (FAT32 takes at most 4 GB); write elsewhere",
    errno.ENAMETOOLONG: "the file name is too long; choose a shorter name or a shorter folder path",
    errno.EISDIR: "is a directory; give a file name for this output",
    errno.EIO: "input/output error on the device; check the disk (or network drive) and try again, or write elsewhere",
    errno.EINVAL: "not a valid file name here; avoid the characters : * ? \" < > | and try again",
    errno.ENOENT: "a folder on the way was removed while writing; run again",
    errno.EXDEV: "cannot move the file into place across devices; write to a folder on one disk",
}
_TEXT_ERRNOS = [
    (re.compile(r"no space left|disk is full|not enough space", re.I), errno.ENOSPC),
    (re.compile(r"quota exceeded", re.I), errno.EDQUOT),
    (re.compile(r"read-only file system", re.I), errno.EROFS),
    (re.compile(r"permission denied|access is denied", re.I), errno.EACCES),
    (re.compile(r"file too large", re.I), errno.EFBIG),
]


def _problem(exc: BaseException, path: Path) -> str | None:
    """The problem (and what to do) behind an operating-system error while writing ``path``, or None."""
    code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
    if code is None:
        for pattern, number in _TEXT_ERRNOS:
            if pattern.search(str(exc)):
                code = number
                break
    if code in (errno.ENOTDIR, errno.EEXIST):
        ancestor = _file_ancestor(path.parent)
        if ancestor is not None:
            return f"{ancestor} is a file, not a folder; give an output path in a folder"
        if code == errno.EEXIST:
            return "exists and cannot be replaced; choose another output path"
    if getattr(exc, "winerror", None) in (32, 33):  # ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION
        return "the file is open in another program (Excel, Word, QGIS?); close it and run again"
    if code in (errno.EACCES, errno.EPERM) and os.name == "nt" and path.exists():  # Windows can't replace an open file
        return ("permission denied (is the file open in another program, or read-only?); close it, "
                "or choose a folder you can write to")
    if code in _ERRNO_PROBLEMS:
        return _ERRNO_PROBLEMS[code]
    return None


def _probe(folder: Path) -> OSError | None:
    """Whether ``folder`` still takes a write (after a writer failed without saying why): the OS error if not."""
    probe = folder / ".redline-probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            block, left = memoryview(bytes(_PROBE_BYTES)), _PROBE_BYTES
            while left:  # a full disk may take part of a write before it refuses the rest
                left -= os.write(fd, block[_PROBE_BYTES - left:])
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return exc
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return None


def output_error(path: str | os.PathLike, exc: BaseException, folder: str | os.PathLike | None = None) -> OutputError | None:
    """The one-line :class:`~redline.errors.OutputError` for a failed write of ``path``, or None for a bug.

    Operating-system errors (full disk, no permission, read-only device, a file where a folder should be…)
    become ``PATH: problem; what to do``. A writer that failed with its own words (GDAL: "Failed to commit
    transaction") is checked against ``folder``: when the folder no longer takes a write, the OS error is the cause.
    Other errors give None (the caller re-raises them).
    """
    path = Path(path)
    problem = _problem(exc, path)
    if problem is None and folder is not None and (not isinstance(exc, RedlineError) or isinstance(exc, OutputError)):
        probed = _probe(Path(folder))
        problem = _problem(probed, path) if probed is not None else None
    if problem is not None:
        err = OutputError(f"{path}: {problem}")
        err.diagnosed = True  # an enclosing write (a folder output) passes it on as it is
        return err
    if isinstance(exc, RedlineError):
        return None
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return OutputError(f"{path}: cannot write ({reason}); choose another output path")
    return None


def check_output(path: str | os.PathLike, folder: bool = False) -> None:
    """Refuse, before any work, an output path that cannot be written: a folder where a file goes (or a file
    where a folder goes), or a path inside a file. Database URIs are not checked."""
    if _DB_URI.match(str(path)):
        return
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file, not a folder; give a new folder name")
    if not folder and path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name for this output")
    ancestor = _file_ancestor(path.parent)
    if ancestor is not None:
        raise OutputError(f"{path}: {ancestor} is a file, not a folder; give an output path in a folder")


@contextlib.contextmanager
def _translated(final: Path, folder: Path | None, stage: Path | None = None):
    """Turn a failure inside the block into the one-line OutputError when the OS is the cause (a message
    naming the staging folder ``stage`` names ``final`` instead)."""
    try:
        yield
    except Exception as original:
        exc = original
        if stage is not None and isinstance(exc, RedlineError) and str(stage) in str(exc):
            exc = type(exc)(str(exc).replace(str(stage), str(final)))
            exc.diagnosed = getattr(original, "diagnosed", False)
        if not (getattr(exc, "diagnosed", False) or isinstance(exc, RedlineError) and not isinstance(exc, OutputError)):
            exc = output_error(final, exc, folder if folder is not None and folder.exists() else None) or exc
        if exc is original:
            raise
        raise exc from None


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, inputs: tuple = ()) -> Iterator[Path]:
    """Yield a temporary path for ``path``; on success rename it over ``path``.

    The temporary file is in a hidden folder beside ``path`` (``.redline-<pid>-….tmp``, with whatever
    the writer adds, e.g. SQLite's journal). On any error (or an interrupt) that folder — and any folder
    created for ``path`` — is removed and an existing ``path`` is left untouched; an operating-system error
    (full disk, no permission, read-only device, a file where a folder should be) becomes one
    :class:`~redline.errors.OutputError` line ``PATH: problem; what to do``. Refuses to overwrite one of
    ``inputs`` or any file read within :func:`protect_inputs`. Temporary folders of killed runs are
    removed at the next write to the same folder.
    """
    path = Path(path)
    final = _final(path)
    if _is_input(final, inputs):
        raise OutputError(f"{final}: refusing to overwrite an input file; choose another output path")
    check_output(final)
    with _temp_beside(path.parent, final) as tmpdir:
        tmp_path = tmpdir / path.name
        with _translated(final, tmpdir):
            yield tmp_path
            os.replace(tmp_path, path)


@contextlib.contextmanager
def _temp_beside(base: Path, final: Path) -> Iterator[Path]:
    """A new hidden temporary folder in ``base`` (made first, with its parents, if missing), removed afterwards;
    when the block fails, the folders made for it are removed too. OS errors name ``final``."""
    created: list[Path] = []
    tmpdir = None
    ok = False
    try:
        with _translated(final, None):
            created = _make_dirs(base)
            tmpdir = _temp_dir(base)
        yield tmpdir
        ok = True
    finally:
        if tmpdir is not None:
            _drop_temp_dir(tmpdir)
        if not ok:
            _remove_dirs(created)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, inputs: tuple = ()) -> Iterator[Path]:
    """Yield a staging folder for the folder output ``path`` (``report --out``, ``demo --out``, partitions);
    on success its files become ``path``'s, all together.

    A new ``path`` is the staging folder renamed into place. Into an existing folder the files are moved
    in and the files they replace are put back if a move fails. On any error nothing of this run is left:
    no partial file, no temporary file, no folder it created. Files written with :func:`atomic_output`
    inside the staging folder are checked against ``path`` (no input is overwritten). Nested calls for the
    same staging folder use it as it is.
    """
    path = Path(path)
    if _staged(path):
        yield path
        return
    check_output(path, folder=True)
    existing = path.is_dir()
    base = path if existing else path.parent
    with _temp_beside(base, path) as tmpdir:
        stage = tmpdir / path.name
        with _translated(path, None):
            stage.mkdir()
        _STAGES[stage] = path
        try:
            with _translated(path, tmpdir, stage):
                yield stage
                if existing:
                    _merge(stage, path, tmpdir / ".replaced")
                else:
                    os.replace(stage, path)
        finally:
            _STAGES.pop(stage, None)


def _merge(stage: Path, dest: Path, backups: Path) -> None:
    """Move the files of ``stage`` into the existing folder ``dest``; on failure put everything back."""
    moved: list[tuple[Path, Path | None]] = []
    made: list[Path] = []
    try:
        for src in sorted(stage.rglob("*")):
            if src.is_dir():
                continue
            rel = src.relative_to(stage)
            target = dest / rel
            made += _make_dirs(target.parent)
            backup = None
            if target.exists() or target.is_symlink():
                if target.is_dir():
                    raise IsADirectoryError(errno.EISDIR, "Is a directory", str(target))
                backup = backups / rel
                backup.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, backup)
            moved.append((target, backup))
            os.replace(src, target)
    except BaseException:
        for target, backup in reversed(moved):
            with contextlib.suppress(OSError):
                if backup is not None and backup.exists():
                    os.replace(backup, target)
                elif backup is None:
                    target.unlink(missing_ok=True)
        _remove_dirs(made)
        raise


_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".fgb": "FlatGeobuf", ".shp": "ESRI Shapefile"}


def write_layer(gdf: gpd.GeoDataFrame, path: str | os.PathLike, layer: str | None = None) -> Path:
    """Write one layer atomically (GeoPackage, GeoJSON, FlatGeobuf, GeoParquet).

    Examples
    --------
    >>> write_layer(gdf, "out/encroachments.gpkg", layer="encroachments")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".shp":
        raise OutputError(f"{path}: shapefiles are several files and can't be written atomically; use .gpkg")
    if suffix not in _DRIVERS and suffix not in _PARQUET:
        raise OutputError(f"{path}: unknown output format {suffix!r}; use .gpkg, .geojson, .fgb or .parquet")
    layer = layer or path.stem  # not the temporary file's name
    with atomic_output(path) as tmp:
        try:
            if suffix in _PARQUET:
                gdf.to_parquet(tmp)
            else:
                gdf.to_file(tmp, layer=layer, driver=_DRIVERS[suffix], engine="pyogrio")
        except Exception as exc:
            raise OutputError(f"{path}: cannot write ({_gdal_message(exc, path)})") from None
    return path


# ---------------------------------------------------------------------------
# tables and specs


def read_toml(path: str | os.PathLike, what: str = "TOML file") -> dict:
    """Read a spec file (catalog entry, recipe, rule set, class map, workspace) as a dict.

    Raises :class:`~redline.errors.CatalogError` naming the file and ``what`` it should be.
    """
    from ..errors import CatalogError

    path = Path(path)
    register_input(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{path}: {what} not found") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not a valid {what} ({exc})") from None


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV table (UTF-8, with or without BOM, or GBK/GB18030 as Excel on Chinese Windows saves it)."""
    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"{path}: file not found")
    if path.is_dir():
        raise LayerReadError(f"{path}: is a directory; give the path of a CSV table")
    register_input(path)
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise LayerReadError(f"{path}: neither UTF-8 nor GB18030 text")
    import io as _io

    try:
        return pd.read_csv(_io.StringIO(text), dtype=str).apply(lambda c: c.str.strip())
    except Exception as exc:
        raise LayerReadError(f"{path}: not a readable CSV table ({_gdal_message(exc, path)})") from None


def format_number(value, digits: int = 2) -> str:
    """A number as every table shows it: thousands separators, ``digits`` decimals, and never ``-0.00``.

    A value that rounds to zero shows as zero, whatever its sign (``-0.0``, or a float's noise like ``-1e-9``).

    Examples
    --------
    >>> format_number(-1091.904441), format_number(-0.0), format_number(-1.2e-7), format_number(0.004, 1)
    ('-1,091.90', '0.00', '0.00', '0.0')
    """
    text = f"{float(value):,.{digits}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        return text[1:]
    return text


def _unsigned_zeros(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its negative zeros (``-0.0``, as rounding a small negative value gives) made 0.0."""
    cols = [c for c in df.columns if df[c].dtype.kind == "f"]
    if not cols:
        return df
    out = df.copy()
    for c in cols:
        v = out[c].to_numpy()
        out[c] = np.where((v == 0) & np.signbit(v), 0.0, v)
    return out


def _markdown(df: pd.DataFrame) -> str:
    def cell(v) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, float):
            return format_number(v)
        return str(v).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(map(cell, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def write_tables(tables: dict[str, pd.DataFrame], path: str | os.PathLike) -> Path:
    """Write named tables atomically: ``.xlsx`` (one sheet each, bold headers, widths set), ``.md``
    (one section each), or ``.csv`` (UTF-8 with BOM so Excel shows Chinese; one table only)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv" and len(tables) != 1:
        raise OutputError(f"{path}: a CSV holds one table; {len(tables)} given — use .xlsx or .md")
    with atomic_output(path) as tmp:
        if suffix == ".csv":  # full precision; only a negative zero loses its sign
            _unsigned_zeros(next(iter(tables.values()))).to_csv(tmp, index=False, encoding="utf-8-sig")
        elif suffix == ".md":
            parts = [f"## {name}\n\n{_markdown(df)}\n" for name, df in tables.items()]
            tmp.write_text("\n".join(parts), encoding="utf-8")
        elif suffix == ".xlsx":
            _write_xlsx(tables, tmp)
        else:
            raise OutputError(f"{path}: unknown table format {suffix!r}; use .csv, .xlsx or .md")
    return path


def _write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> None:
    import io as _io

    from openpyxl.styles import Alignment, Font, PatternFill

    # built in memory, written in one go: a full disk fails in that one write (a workbook half-written by
    # openpyxl leaves a ZipFile that complains when it is collected)
    buf = _io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, df in tables.items():
            sheet = name[:31]
            df.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            for cell in ws[1]:
                cell.font = Font(bold=True)
                cell.fill = PatternFill("solid", fgColor="DDEBF7")
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            for col in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col)
                ws.column_dimensions[col[0].column_letter].width = min(max(10, width * 1.6), 48)
                for c in col[1:]:
                    if isinstance(c.value, float):
                        c.number_format = "#,##0.00"
                        if c.value < 0 and format_number(c.value) == "0.00" or c.value == 0:
                            c.value = 0.0  # shown as 0.00, never -0.00
            ws.freeze_panes = "A2"
    path.write_bytes(buf.getvalue())


# ---------------------------------------------------------------------------
# rasters


def open_raster(path: str | os.PathLike):
    """Open a classified raster with rasterio (caller closes it, or use it as a context manager)."""
    import rasterio

    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"{path}: file not found")
    register_input(path)
    try:
        raster = rasterio.open(path)
    except Exception as exc:
        raise LayerReadError(f"{path}: not a readable raster ({_gdal_message(exc, path)}); give a classified "
                             f"GeoTIFF (or another raster GDAL reads) — if it is one, copy or export it again") from None
    if raster.crs is None:
        raster.close()
        raise CRSError(f"{path}: the raster has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:4490)")
    return raster


# ---------------------------------------------------------------------------
# styled GeoPackages (QGIS)


def _write_gpkg_layers(tmp: Path, layers, path: Path) -> None:
    try:
        for name, gdf in layers:
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", append=tmp.exists())
    except Exception as exc:
        raise OutputError(f"{path}: cannot write ({_gdal_message(exc, path)})") from None


def write_layers(layers: dict[str, gpd.GeoDataFrame], path: str | os.PathLike, what: str = "output") -> Path:
    """Write several named layers into one GeoPackage, atomically (all of them or nothing) — or, when ``path``
    is ``postgresql://…?table=NAME``, to PostGIS in one transaction: the first layer to table ``NAME``, each
    other to ``NAME_<layer>`` (:func:`redline.io.postgis.write_postgis`).

    Examples
    --------
    >>> write_layers({"added": added, "removed": removed}, "change.gpkg")  # doctest: +SKIP
    """
    from . import postgis

    if postgis.is_postgis(path):
        tables = {"" if i == 0 else name: gdf for i, (name, gdf) in enumerate(layers.items())}
        postgis.write_postgis(tables, os.fspath(path))
        return postgis.parse_uri(os.fspath(path)).where
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise OutputError(f"{path}: the {what} is a GeoPackage with {len(layers)} layers; use .gpkg")
    with atomic_output(path) as tmp:
        _write_gpkg_layers(tmp, layers.items(), path)
    return path


def write_styled_gpkg(layers: list[tuple[str, gpd.GeoDataFrame, str, str]], path: str | os.PathLike) -> Path:
    """Write several layers into one GeoPackage, atomically, each with its QGIS style.

    ``layers`` holds ``(table name, layer, title, QML)``: the title goes to the GeoPackage's
    ``identifier`` (the human name, Chinese by default) and the QML to the ``layer_styles``
    table that QGIS applies when the layer is opened.
    """
    import sqlite3

    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise OutputError(f"{path}: styled layers are written to a GeoPackage (.gpkg)")
    with atomic_output(path) as tmp:
        _write_gpkg_layers(tmp, [(name, gdf) for name, gdf, _, _ in layers], path)
        con = sqlite3.connect(tmp)
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),"
                " f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30),"
                " styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),"
                " update_time DATETIME DEFAULT CURRENT_TIMESTAMP)"
            )
            con.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
                "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles')"
            )
            for name, _gdf, title, qml in layers:
                (geom_col,) = con.execute(
                    "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (name,)).fetchone()
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                    "styleName, styleQML, useAsDefault, description) VALUES ('', '', ?, ?, ?, ?, 1, ?)",
                    (name, geom_col, name, qml, f"redline: {title}"),
                )
                con.execute("UPDATE gpkg_contents SET identifier = ? WHERE table_name = ?", (title, name))
            con.commit()
        finally:
            con.close()
    return path


# ---------------------------------------------------------------------------
# provenance


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a data source: the file, or for a shapefile its .shp, .shx, .dbf, .prj and .cpg in that order."""
    import hashlib

    path = Path(path)
    parts = [path]
    if path.suffix.lower() == ".shp":
        stem = path.with_suffix("")
        parts = [p for p in (_sibling(stem, e) for e in (".shp", ".shx", ".dbf", ".prj", ".cpg")) if p]
    digest = hashlib.sha256()
    for part in parts:
        with part.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


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
