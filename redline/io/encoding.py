"""The encoding of attribute text: ``.dbf`` bytes, ``.cpg`` files, GeoJSON written in GBK.

:func:`detect_encoding` decides a shapefile's encoding from the field names and records of the ``.dbf``
together, with the ``.cpg`` when the bytes agree (a plan, :class:`_Encoding`, says how GDAL is to read the
text and whether it is decoded here instead); text that is in another encoding than the one given fails
in one line naming ``--encoding``.
"""

from __future__ import annotations

import codecs
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import LayerReadError
from .sources import _gdal_message, _sibling, _where

# dBASE language-driver ids of CJK code pages (the few GIS software writes)
_LDID = {0x4D: "cp936", 0x7A: "cp936", 0x4E: "cp949", 0x4F: "cp950", 0x78: "cp950", 0x4C: "cp874"}
_SAMPLE_BYTES = 4 * 1024 * 1024


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


def read_info(path: str | os.PathLike, layer: str | None = None, plan: _Encoding | None = None, **kwargs) -> dict:
    """``pyogrio.read_info`` with the text decoded as :func:`redline.io.read_layer` decodes it: field names in GBK under a
    ``.cpg`` saying UTF-8 would fail, or come out as mojibake. ``plan``: the encoding, when already decided."""
    import pyogrio

    path = Path(path)
    plan = plan or _plan(path, layer, None, _where(path, layer))
    info = pyogrio.read_info(path, layer=layer, encoding=plan.gdal, **kwargs)
    if plan.in_python:
        names = plan.names or plan.values or "utf-8"
        info["fields"] = np.array([_decode_name(name, names) for name in info["fields"]], dtype=object)
    return info


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
