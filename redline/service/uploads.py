"""Uploaded files: the format told from the bytes (never from the name), size and zip limits, kept under an id.

A 国土TXT, DXF, KML, KMZ, zipped shapefile, GeoJSON or GeoPackage is accepted; anything else is refused with what
was found. A zip is refused when it holds more than ``_ZIP_MEMBERS`` entries, would unpack to more than
``_ZIP_TOTAL`` bytes or a member is compressed more than ``_ZIP_RATIO`` times (a zip bomb), or names a path outside
itself (``..``, an absolute path, a drive) or a link. The file is stored as ``uploads/ID/NAME.EXT``: the base of
the name it came with, cleaned to letters, digits and ``-_`` (:func:`safe_name`), and the suffix of the format found.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import stat
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import InputError
from ..io import atomic_output

__all__ = ["sniff_bytes", "check_zip", "save_upload", "safe_name", "display_name", "MAX_UPLOAD_ENV",
           "max_upload_bytes", "FORMAT_SUFFIX"]

MAX_UPLOAD_ENV = "REDLINE_MAX_UPLOAD"
_DEFAULT_MAX = 200 * 1024 * 1024  # a county's 三调 land use as a GeoPackage is ~100 MB
_ZIP_MEMBERS = 2000
_ZIP_TOTAL = 2 * 1024 ** 3
_ZIP_RATIO = 200
#: format → the suffix the readers know it by
FORMAT_SUFFIX = {"gtxt": ".txt", "dxf": ".dxf", "kml": ".kml", "kmz": ".kmz", "shapefile": ".zip",
                 "geojson": ".geojson", "gpkg": ".gpkg"}


def max_upload_bytes() -> int:
    """The largest upload accepted: ``REDLINE_MAX_UPLOAD`` (bytes, or with MB/GB), 200 MB by default."""
    raw = os.environ.get(MAX_UPLOAD_ENV, "").strip().lower()
    if not raw:
        return _DEFAULT_MAX
    scale = 1
    for unit, factor in (("gb", 1024 ** 3), ("mb", 1024 ** 2), ("kb", 1024)):
        if raw.endswith(unit):
            raw, scale = raw[:-len(unit)], factor
            break
    try:
        return int(float(raw) * scale)
    except ValueError:
        raise InputError(f"{MAX_UPLOAD_ENV}={os.environ[MAX_UPLOAD_ENV]!r}: expected a size such as 200MB") from None


def _text_head(head: bytes) -> str:
    for codec in ("utf-8-sig", "gb18030", "utf-16"):
        try:
            return head.decode(codec)
        except UnicodeDecodeError:
            continue
    return head.decode("latin-1")


def sniff_bytes(head: bytes, whole=None) -> str:
    """The format of a file from its first bytes (``whole``: the file, a path or a binary file object, for a zip's
    listing)."""
    if head.startswith(b"SQLite format 3\x00"):
        if head[68:72] in (b"GPKG", b"GP10", b"GP11"):
            return "gpkg"
        raise InputError("an SQLite database that is not a GeoPackage; export the layer as GeoPackage")
    if head.startswith(b"PK\x03\x04"):
        return check_zip(whole) if whole is not None else "zip"
    if head.startswith(b"AutoCAD Binary DXF"):
        return "dxf"
    if head.startswith((b"AC10", b"\x41\x43\x31")):
        raise InputError("a DWG drawing, which redline cannot read; save it as DXF in the CAD program (另存为 DXF)")
    text = _text_head(head[:65536]).lstrip("\ufeff \t\r\n")
    if "[属性描述]" in text or "[地块坐标]" in text:
        return "gtxt"
    if text.startswith("<") and "<kml" in text[:4096]:
        return "kml"
    if text.startswith("{") and '"type"' in text[:65536]:
        return "geojson"
    lines = [ln.strip() for ln in text.splitlines()[:4]]
    if len(lines) >= 2 and lines[0] == "0" and lines[1] in ("SECTION", "SECTION\x00"):
        return "dxf"
    raise InputError("not a format redline reads from an upload: give a 国土TXT, DXF, KML/KMZ, zipped shapefile, "
                     "GeoJSON or GeoPackage")


def check_zip(whole) -> str:
    """``kmz`` or ``shapefile`` for a safe zip (a path or a binary file object) holding one; refused otherwise (see
    the module's docstring)."""
    try:
        zf = zipfile.ZipFile(whole)
    except zipfile.BadZipFile:
        raise InputError("a damaged zip file; pack it again") from None
    with zf:
        members = zf.infolist()
        if len(members) > _ZIP_MEMBERS:
            raise InputError(f"a zip of {len(members)} files (at most {_ZIP_MEMBERS}); zip only the layer's files")
        if sum(m.file_size for m in members) > _ZIP_TOTAL:
            raise InputError(f"a zip that unpacks to more than {_ZIP_TOTAL // 1024 ** 3} GB; send the layer alone")
        names = []
        for m in members:
            name = PurePosixPath(m.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or ":" in m.filename:
                raise InputError(f"a zip naming a path outside itself ({m.filename!r}); pack the files again")
            if stat.S_ISLNK(m.external_attr >> 16):
                raise InputError(f"a zip holding a link ({m.filename!r}); pack the files themselves")
            if m.compress_size and m.file_size / m.compress_size > _ZIP_RATIO:
                raise InputError(f"a zip whose {m.filename!r} unpacks {m.file_size // m.compress_size} times its "
                                 f"size (a zip bomb?); refused")
            names.append(name.name.lower())
    if any(n.endswith(".kml") for n in names):
        return "kmz"
    shp = {n[:-4] for n in names if n.endswith(".shp")}
    if shp and any(f"{s}.dbf" in names and f"{s}.shx" in names for s in shp):
        return "shapefile"
    raise InputError("a zip with neither a KML (KMZ) nor a shapefile (.shp with its .shx and .dbf); zip the layer's "
                     "files")


def display_name(name: str | None, default: str = "upload") -> str:
    """The name a file came with, as shown and audited: its base only (``C:\\x\\y.txt`` → ``y.txt``), at most 255
    characters, ``default`` when it has none."""
    return Path((name or "").replace("\\", "/")).name[:255] or default


def safe_name(name: str | None, fmt: str) -> str:
    """The name an upload is kept under: the base of the name it came with, letters (Chinese too), digits and
    ``-_.`` only, and the suffix of its format (``../../x.TXT`` → ``x.txt``; ``<b>.dat`` of a GeoJSON →
    ``_b_.geojson``)."""
    base = Path((name or "").replace("\\", "/")).name
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem).strip("._")[:100] or "upload"
    return stem + FORMAT_SUFFIX[fmt]


def save_upload(chunks, folder: Path, limit: int, name: str | None = None) -> tuple[str, Path, str, int, str]:
    """Check the uploaded byte ``chunks`` (size, format, zip safety) and keep them under a new id in ``folder``,
    named after ``name`` (:func:`safe_name`: the reports cite it).

    Returns (id, path, format, bytes, SHA-256); nothing is written when the upload is refused."""
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputError(f"the file is larger than {limit // 1024 ** 2} MB ({MAX_UPLOAD_ENV}); send the project's "
                         f"layer alone")
    if not data:
        raise InputError("the file is empty; choose the file again")
    fmt = sniff_bytes(data[:65536], io.BytesIO(data))
    upload_id = secrets.token_hex(12)
    path = folder / upload_id / safe_name(name, fmt)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return upload_id, path, fmt, len(data), hashlib.sha256(data).hexdigest()
