"""Coordinate tables: a project's boundary points in a CSV or an Excel workbook, as surveyors hand them over.

One row per boundary point: a point number (点号), the coordinates — X and Y in metres, or longitude and
latitude — and, when the table holds several parcels or rings, the parcel (地块) and the ring (圈号). The
columns are recognised from their headers (:data:`HEADERS`; a title may stand above the header row) or named
(:class:`~redline.io.formats.CoordColumns`). In Chinese surveying tables **X is the northing and Y the easting**;
a table whose X column holds eastings (math order) is recognised from the values and read as it stands.

Each parcel becomes one polygon, its rings in row order (the boundary's order): the largest ring is the outer
boundary, a ring inside it a hole, a ring outside it another part. Rings are closed when the last point is
not the first; a ring of fewer than 3 points is dropped and reported. Lon/lat tables are CGCS2000
(``EPSG:4490``); projected tables have no CRS here — :func:`redline.io.read_layer` recognises zone-prefixed
eastings or takes ``--crs``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import LayerNotFoundError, LayerReadError
from .formats import CoordColumns, FormatOptions, FormatRead

__all__ = ["read", "HEADERS"]

#: the headers recognised for each role (compared without spaces, brackets or case)
HEADERS: dict[str, tuple[str, ...]] = {
    "point": ("点号", "点名", "界址点号", "序号", "point", "id", "no"),
    "x": ("x", "x坐标", "纵坐标", "北坐标", "northing", "n"),
    "y": ("y", "y坐标", "横坐标", "东坐标", "easting", "e"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
    "parcel": ("地块", "地块编号", "地块号", "宗地号", "parcel", "project_id"),
    "ring": ("圈号", "环号", "ring", "part"),
}
_FIELD_OPTIONS = {"x": "--x-field", "y": "--y-field", "point": "--point-field", "parcel": "--parcel-field",
                  "ring": "--ring-field"}
_HEADER_ROWS = 10  # the header is looked for in the first rows (titles above it are common)

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_BRACKETS = re.compile(r"[(\[【].*?[)\]】]")


def _header(cell) -> str:
    """A header as compared: full-width forms folded (ＸＹ, （）), spaces, bracketed units and a colon removed,
    lower case (``X坐标（m）`` → ``x坐标``)."""
    text = unicodedata.normalize("NFKC", str(cell if cell is not None else ""))
    text = _BRACKETS.sub("", re.sub(r"\s+", "", text))
    return text.rstrip(":").lower()


def _show(cell) -> str:
    return str(cell).strip() if cell is not None else ""


def _decode(data: bytes, encoding: str | None, path: Path) -> tuple[str, str, str]:
    """The CSV's text, the encoding's label and where it came from (given; else UTF-8, then GB18030)."""
    if encoding:
        codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
        try:
            return data.decode(codec), encoding, "given"
        except UnicodeDecodeError as exc:
            raise LayerReadError(f"{path}: the text is not {encoding} (byte {exc.start:,} does not decode); give "
                                 f"the right --encoding, or leave it out to detect UTF-8 or GBK") from None
    for codec, label in (("utf-8-sig", "utf-8"), ("gb18030", "gb18030")):
        try:
            return data.decode(codec), label, "detected"
        except UnicodeDecodeError:
            continue
    raise LayerReadError(f"{path}: the text is neither UTF-8 nor GBK/GB18030; save it from Excel again (CSV UTF-8) "
                         f"or give its encoding with --encoding")


def _csv_rows(path: Path, layer: str | None, encoding: str | None) -> tuple[list[list], str, str]:
    """The rows of a CSV (comma- or tab-separated, as Excel saves them), its encoding and the encoding's source."""
    if layer is not None:
        raise LayerNotFoundError(f"{path}: a CSV file holds one table, there is no layer {layer!r} in it; leave "
                                 f"out the layer name")
    text, label, source = _decode(path.read_bytes(), encoding, path)
    sample = text[:8192]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)], label, source


def _xlsx_rows(path: Path, layer: str | None) -> list[list]:
    """The rows of a workbook's first sheet (or the sheet named ``layer``), cell values as Excel saved them."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise LayerReadError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}); open it in "
                             f"Excel and save it again as .xlsx or .csv") from None
    try:
        names = book.sheetnames
        if layer is not None and layer not in names:
            raise LayerNotFoundError(f"{path}: no sheet {layer!r}; sheets: {', '.join(names)}")
        return [list(row) for row in book[layer if layer is not None else names[0]].iter_rows(values_only=True)]
    finally:
        book.close()


def _roles(heads: list[str], given: CoordColumns) -> dict[str, int]:
    """Which column plays which role in a header row: the named columns, the others recognised."""
    roles: dict[str, int] = {}
    for role in ("x", "y", "point", "parcel", "ring", "lon", "lat"):
        name = getattr(given, role, None)
        if name is not None:
            if _header(name) in heads:
                roles[role] = heads.index(_header(name))
            continue
        found = next((j for j, h in enumerate(heads) if h in HEADERS[role] and j not in roles.values()), None)
        if found is not None:
            roles[role] = found
    return roles


def _find_header(rows: list[list], given: CoordColumns, path: Path) -> tuple[int, dict[str, int]]:
    """The header row (the first of the first ten naming a pair of coordinates) and its roles."""
    for i, row in enumerate(rows[:_HEADER_ROWS]):
        roles = _roles([_header(c) for c in row], given)
        if ("x" in roles and "y" in roles) or ("lon" in roles and "lat" in roles):
            return i, roles
    widest = max(rows[:_HEADER_ROWS], key=lambda r: sum(bool(_show(c)) for c in r), default=[])
    columns = ", ".join(repr(_show(c)) for c in widest if _show(c)) or "none"
    missing = [f"{role} column {getattr(given, role)!r} ({_FIELD_OPTIONS[role]})" for role in _FIELD_OPTIONS
               if getattr(given, role) is not None]
    if missing:
        raise LayerReadError(f"{path}: no {' and no '.join(missing)} in the first {_HEADER_ROWS} rows (columns "
                             f"found: {columns}); give the header as it is written")
    raise LayerReadError(f"{path}: no coordinate columns recognised (columns found: {columns}); name them with "
                         f"--x-field and --y-field (and --point-field, --parcel-field, --ring-field when the table "
                         f"has point numbers, parcels or rings)")


def _number(cell, row: int, column: str, path: Path) -> float | None:
    """A coordinate cell as a number (None when empty): full-width digits folded, thousands separators removed
    when unambiguous; anything else is refused naming the cell."""
    if cell is None:
        return None
    if isinstance(cell, (int, float)) and not isinstance(cell, bool) and np.isfinite(cell):
        return float(cell)
    text = unicodedata.normalize("NFKC", str(cell)).strip().replace("\u2212", "-")
    if not text:
        return None
    if _THOUSANDS.match(text) and (text.count(",") > 1 or "." in text):
        text = text.replace(",", "")
    if _NUMBER.match(text):
        return float(text)
    hint = " (is the comma a decimal point or a thousands separator?)" if re.fullmatch(r"[+-]?\d+,\d+", text) else ""
    raise LayerReadError(f"{path}: row {row}, column {column}: {_show(cell)!r} is not a number{hint}; fix the cell")


def _key(cell) -> str | None:
    """A parcel's or ring's label (``1.0`` from Excel as ``1``), None when blank."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    text = _show(cell)
    return text or None


def _records(rows: list[list], start: int, roles: dict[str, int], pair: tuple[str, str], path: Path,
             notes: list[str]) -> pd.DataFrame:
    """The table's points below the header: spreadsheet row number, parcel, ring and the two coordinate
    values ``a``/``b`` (the columns of ``pair``). Blank parcel and ring cells (merged cells) take the value
    above; rows with neither coordinate are skipped, one of the two missing is refused."""
    heads = rows[start]
    names = {role: _show(heads[j]) or f"column {j + 1}" for role, j in roles.items()}

    def cell(row: list, role: str):
        j = roles.get(role)
        return row[j] if j is not None and j < len(row) else None

    out, skipped, filled = [], [], Counter()
    last = {"parcel": None, "ring": None}
    for n, row in enumerate(rows[start + 1:], start=start + 2):
        a = _number(cell(row, pair[0]), n, names[pair[0]], path)
        b = _number(cell(row, pair[1]), n, names[pair[1]], path)
        if a is None and b is None:
            if any(_show(c) for c in row):
                skipped.append(n)
            continue
        if a is None or b is None:
            role = pair[0] if a is None else pair[1]
            raise LayerReadError(f"{path}: row {n}, column {names[role]}: the cell is empty; fill it in, or "
                                 f"delete the row")
        keys = {}
        for role in ("parcel", "ring"):
            keys[role] = _key(cell(row, role))
            if keys[role] is None and role in roles and last[role] is not None:
                keys[role], filled[role] = last[role], filled[role] + 1
            last[role] = keys[role]
        out.append({"row": n, "parcel": keys["parcel"], "ring": keys["ring"], "a": a, "b": b})
    if skipped:
        notes.append(f"{len(skipped)} row{'s' if len(skipped) > 1 else ''} without coordinates skipped (row"
                     f"{'s' if len(skipped) > 1 else ''} {', '.join(map(str, skipped[:10]))}"
                     f"{' …' if len(skipped) > 10 else ''})")
    for role, count in filled.items():
        notes.append(f"{count} blank {names[role]} cells take the value above (merged cells)")
    return pd.DataFrame(out, columns=["row", "parcel", "ring", "a", "b"])


def _zoned(v: np.ndarray) -> np.ndarray:
    """8-digit eastings with a Gauss-Krüger zone number in front (zones 13–45 cover China)."""
    return (v >= 13_000_000) & (v < 46_000_000)


def _degrees(a: np.ndarray, b: np.ndarray) -> bool:
    return bool((np.abs(a) <= 180).all() and (np.abs(b) <= 180).all() and
                ((np.abs(a) <= 90).all() or (np.abs(b) <= 90).all()))


def _china_lon(v: np.ndarray) -> bool:
    return bool(((v >= 73) & (v <= 136)).all())


def _place(t: pd.DataFrame, kind: str, notes: list[str]) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The points' x (east) and y (north), and the CRS (``EPSG:4490`` for degrees, None for metres)."""
    a, b = t["a"].to_numpy(), t["b"].to_numpy()
    if kind == "lonlat" or _degrees(a, b):
        if kind != "lonlat":
            notes.append("the X/Y columns hold degrees: read as longitude and latitude (CGCS2000)")
        if _china_lon(b) and not _china_lon(a):  # latitude first
            notes.append("the first coordinate column holds latitudes, the second longitudes: read so")
            a, b = b, a
        return a, b, "EPSG:4490"
    # 国土 convention: X the northing, Y the easting; a table in math order says so in its values
    x_east = (_zoned(a) | ((a > 0) & (a < 1_000_000))).all()
    y_north = ((b >= 1_000_000) & (b < 10_000_000)).all()
    if x_east and y_north:
        notes.append("the X column holds eastings and Y northings (math order, not the 国土 convention of X "
                     "north): used as they stand")
        return a, b, None
    notes.append("X read as the northing and Y as the easting (the 国土 surveying convention)")
    return b, a, None


def _split_closed(xy: np.ndarray, rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """A parcel's points without 圈号 cut into rings where the boundary returns to its first point and goes on
    (how a table lists an outer ring and its holes one after the other)."""
    out, start, i = [], 0, 1
    while i < len(xy):
        if i - start >= 3 and i + 1 < len(xy) and np.array_equal(xy[i], xy[start]):
            out.append((xy[start:i + 1], rows[start:i + 1]))
            start, i = i + 1, i + 2
            continue
        i += 1
    out.append((xy[start:], rows[start:]))
    return out


def _inside(shell: shapely.Polygon, xy: np.ndarray) -> bool:
    """Whether every point of ``xy`` is in or on ``shell`` (False when GEOS cannot tell, for a broken ring)."""
    try:
        return bool(shapely.covers(shell, shapely.points(xy)).all())
    except shapely.errors.GEOSException:
        return False


def _parcel(label: str, rings: list[tuple[str, np.ndarray, np.ndarray]], dropped: list[dict],
            counts: Counter):
    """One parcel's polygon from its rings (largest first: a ring inside a part is its hole, one inside a hole
    or outside every part is a part of its own); ``(geometry or None, points)``."""
    kept = []
    for name, xy, rows in rings:
        distinct = len(np.unique(xy, axis=0))
        if distinct < 3:
            where = f"ring {name}, " if len(rings) > 1 else ""
            dropped.append({"id": label, "reason": f"{where}rows {rows[0]}–{rows[-1]}: {distinct} distinct "
                                                   f"point{'s' if distinct != 1 else ''}, fewer than 3 points"})
            continue
        if not np.array_equal(xy[0], xy[-1]):
            xy = np.vstack([xy, xy[:1]])
            counts["closed"] += 1
        kept.append(xy)
    if not kept:
        return None, 0
    kept.sort(key=lambda xy: -abs(shapely.Polygon(xy).area))
    parts: list[tuple[shapely.Polygon, list[np.ndarray]]] = []
    for xy in kept:
        host = next((part for part in parts if _inside(part[0], xy)), None)
        if host is not None and not any(_inside(shapely.Polygon(hole), xy) for hole in host[1]):
            host[1].append(xy)
            counts["holes"] += 1
        else:
            parts.append((shapely.Polygon(xy), []))
    counts["parts"] += len(parts) - 1
    polygons = [shapely.Polygon(shell.exterior.coords, holes) for shell, holes in parts]
    return (polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)), sum(len(xy) - 1 for xy in kept)


def _polygons(t: pd.DataFrame, by_ring: bool, stem: str, crs: str | None,
              notes: list[str]) -> tuple[gpd.GeoDataFrame, list[dict]]:
    """One polygon per parcel (in order of first appearance), ``project_id`` and ``points`` each."""
    dropped: list[dict] = []
    counts: Counter = Counter()
    ids, points, geoms = [], [], []
    for parcel, rows in t.groupby(t["parcel"].fillna(""), sort=False):
        label = parcel or stem
        if by_ring:
            rings = [(ring or "?", g[["x", "y"]].to_numpy(), g["row"].to_numpy())
                     for ring, g in rows.groupby(rows["ring"].fillna(""), sort=False)]
        else:
            pieces = _split_closed(rows[["x", "y"]].to_numpy(), rows["row"].to_numpy())
            counts["split"] += len(pieces) - 1
            rings = [(str(k), xy, r) for k, (xy, r) in enumerate(pieces, start=1)]
        geom, n = _parcel(label, rings, dropped, counts)
        if geom is not None:
            ids.append(label)
            points.append(n)
            geoms.append(geom)
    _count_notes(counts, notes)
    gdf = gpd.GeoDataFrame({"project_id": ids, "points": points}, geometry=geoms, crs=crs)
    gdf.index = pd.RangeIndex(len(gdf), name="fid")
    return gdf, dropped


def _count_notes(counts: Counter, notes: list[str]) -> None:
    said = {"split": "{n} ring{s} found where the boundary returns to its first point and goes on (no 圈号 column)",
            "closed": "{n} ring{s} closed (the last point was not the first)",
            "holes": "{n} ring{s} inside another taken as hole{s}",
            "parts": "{n} ring{s} outside the others taken as further part{s} of {their} parcel"}
    for key, text in said.items():
        if counts[key]:
            n = counts[key]
            notes.append(text.format(n=n, s="s" if n > 1 else "", their="their" if n > 1 else "its"))


def read(path: Path, layer: str | None, encoding: str | None, options: FormatOptions) -> FormatRead:
    """Read a coordinate table (``.csv``, ``.xlsx``) as polygons, one per parcel.

    Parameters
    ----------
    path : Path
        The table. A CSV may be UTF-8 (with or without BOM) or GBK/GB18030; an ``.xls`` is refused (save it
        as ``.xlsx`` or ``.csv``).
    layer : str, optional
        The sheet of a workbook (the first when None); a CSV has none.
    encoding : str, optional
        The CSV's encoding; detected (UTF-8, then GB18030) when None.
    options : FormatOptions
        ``columns`` names the columns (:class:`~redline.io.formats.CoordColumns`); unnamed ones are recognised
        from the headers (:data:`HEADERS`).

    Returns
    -------
    FormatRead
        ``project_id`` (the parcel, or the file's stem) and ``points``; CRS ``EPSG:4490`` for longitude/latitude,
        None for metres. Dropped rings and what was done are in ``dropped`` and ``notes``.

    Raises
    ------
    LayerReadError
        No recognisable header, a coordinate cell that is not a number (row and column named), an ``.xls``.
    LayerNotFoundError
        ``layer`` is not a sheet of the workbook (the message lists them).
    """
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise LayerReadError(f"{path}: an old-format Excel workbook (.xls), which redline does not read; save it as "
                             f".xlsx or .csv in Excel (文件 → 另存为) and give that")
    if suffix == ".xlsx":
        rows, label, source = _xlsx_rows(path, layer), "utf-8", "XLSX"
    else:
        rows, label, source = _csv_rows(path, layer, encoding)
    start, roles = _find_header(rows, options.columns, path)
    notes = [f"header in row {start + 1} (the rows above taken as a title)"] if start else []
    pair, kind = (("x", "y"), "xy") if "x" in roles and "y" in roles else (("lon", "lat"), "lonlat")
    if kind == "xy" and "lon" in roles and "lat" in roles:
        notes.append("the table has X/Y and longitude/latitude columns: X/Y used")
    t = _records(rows, start, roles, pair, path, notes)
    if not len(t):
        raise LayerReadError(f"{path}: no coordinates below the header (row {start + 1}); check the table")
    t["x"], t["y"], crs = _place(t, kind, notes)
    gdf, dropped = _polygons(t, "ring" in roles, path.stem, crs, notes)
    return FormatRead(gdf, encoding=label, encoding_source=source, notes=notes, dropped=dropped)
