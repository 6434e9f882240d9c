"""国土TXT: the ministry's boundary-point exchange file (勘测定界, 建设用地报批), read and written.

A file has an ``[属性描述]`` section (``坐标系=2000国家大地坐标系``, ``几度分带=3``, ``带号=36``, ``精度=0.001``,
``转换参数=…``) and a ``[地块坐标]`` section: per 地块 an attribute line ending in ``@`` (界址点数, 地块面积 in 公顷,
地块编号, 地块名称, 记录图形属性 面/线/点, 图幅号, 地块用途, 地类编码, …), then its points ``点号,圈号,X,Y`` — **X the
northing, Y the easting**, as surveyors write them; 圈号 1 the outer ring, 2, 3 … holes (inside it) or further parts.

The CRS comes from the header, and the declared 带号 is trusted: the eastings are checked against it, never used
to re-detect it (a point near a zone edge may carry the neighbouring zone's prefix: it is moved into the declared
zone and reported). Each 地块's declared area is compared with its ellipsoidal area.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..errors import CRSError, LayerReadError, OutputError
from ..geometry.area import ellipsoidal_area
from ..geometry.crs import gk_crs
from ..specs.purposes import load_purposes
from ..specs.rules import load_rules
from .formats import FormatOptions, FormatRead
from .write import atomic_output

__all__ = ["read", "write", "txt_crs", "AREA_TOLERANCE"]

#: Declared 地块面积 and measured ellipsoidal area may differ by this much (relative) before a warning.
AREA_TOLERANCE = 1e-3

_DATUMS = {  # datum → (3° zone, 3° CM, 6° zone, 6° CM): the first EPSG code of each series
    "CGCS2000": (4513, 4534, 4491, 4502),
    "Xian 1980": (2349, 2370, 2327, 2338),
    "Beijing 1954": (2401, 2422, 21413, 21453),
}
_DATUM_WORDS = (("2000", "CGCS2000"), ("CGCS", "CGCS2000"), ("国家大地", "CGCS2000"), ("西安", "Xian 1980"),
                ("80", "Xian 1980"), ("北京", "Beijing 1954"), ("54", "Beijing 1954"))
_HEADER_NAMES = {"界址点数": "count", "地块面积": "area", "地块编号": "id", "地块名称": "name", "记录图形属性": "shape",
                 "图形属性": "shape", "图幅号": "sheet", "地块用途": "use", "地类编码": "class"}
_POSITIONS = ("count", "area", "id", "name", "shape", "sheet", "use", "class")
_SEP = re.compile(r"[,，]")


@dataclass
class _Parcel:
    line: int
    attrs: dict
    points: list = field(default_factory=list)  # (点号, 圈号, X, Y, line number)


def _decode(path: Path, encoding: str | None) -> tuple[str, str, str]:
    """The file's text, its encoding and how it was found (BOM, valid UTF-8, else GB18030, which covers GBK)."""
    raw = path.read_bytes()
    if encoding:
        try:
            return raw.decode(encoding), encoding, "given"
        except UnicodeDecodeError as exc:
            raise LayerReadError(f"{path}: the text is not {encoding} (byte {exc.start}); leave out --encoding "
                                 f"or give the right one (GBK, GB18030, UTF-8)") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8", "UTF-8 byte-order mark"
    try:
        return raw.decode("utf-8"), "utf-8", "valid UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gb18030", "not UTF-8: read as GB18030 (GBK)"
    except UnicodeDecodeError as exc:
        raise LayerReadError(f"{path}: the text is neither UTF-8 nor GBK/GB18030 (byte {exc.start}); save the file "
                             f"as GBK or UTF-8") from None


def _parse(text: str, where: str) -> tuple[dict, list[_Parcel], list[str]]:
    """Header keys, the 地块 with their point lines, and what was odd (unreadable lines)."""
    header: dict[str, str] = {}
    parcels: list[_Parcel] = []
    names: list[str] | None = None
    section, odd = None, []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().replace("\u3000", " ")
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section == "属性描述":
            key, sep, value = line.replace("＝", "=").partition("=")
            if sep:
                header[key.strip()] = value.strip()
            continue
        if section != "地块坐标":
            continue
        fields = [f.strip() for f in _SEP.split(line)]
        if line.endswith("@"):  # "…,0601,@" or "…,0601@"
            fields = fields[:-1] if fields[-1] == "@" else [*fields[:-1], fields[-1][:-1].strip()]
            if fields and not re.fullmatch(r"\d+", fields[0]) and any(f in _HEADER_NAMES or f.split("(")[0] in
                                                                    _HEADER_NAMES for f in fields):
                names = [_HEADER_NAMES.get(f.split("(")[0].split("（")[0], f) for f in fields]
                continue
            parcels.append(_attrs(fields, names, no))
        elif parcels and len(fields) >= 4:
            parcels[-1].points.append((fields[0], fields[1], fields[2], fields[3], no))
        else:
            odd.append(f"line {no}")
    if not parcels:
        raise LayerReadError(f"{where}: no 地块 in the [地块坐标] section (each starts with an attribute line ending "
                             f"in @); check the file is a complete 国土TXT")
    return header, parcels, odd


def _attrs(fields: list[str], names: list[str] | None, no: int) -> _Parcel:
    keys = names or list(_POSITIONS)  # fields beyond the known ones (10th to 13th in the wild) are not kept
    return _Parcel(no, {k: v for k, v in zip(keys, fields) if k in _POSITIONS})


def _number(text: str, what: str, where: str, no: int) -> float:
    try:
        value = float(text.replace(" ", ""))
    except ValueError:
        raise LayerReadError(f"{where}: line {no}: {what} {text!r} is not a number; fix the point line "
                             f"(点号,圈号,X,Y)") from None
    if not np.isfinite(value):
        raise LayerReadError(f"{where}: line {no}: {what} {text!r} is not a finite number; fix the point line")
    return value


def _datum(header: dict, where: str) -> str:
    text = header.get("坐标系", "").strip()
    if not text:
        return "CGCS2000"
    for word, datum in _DATUM_WORDS:
        if word in text:
            return datum
    raise CRSError(f"{where}: 坐标系={text!r} is not a coordinate system redline knows (2000国家大地坐标系, "
                   f"1980西安坐标系, 1954北京坐标系); fix the header or give the CRS with --crs EPSG:…")


def _width(header: dict, where: str) -> int:
    raw = header.get("几度分带", "").strip()
    if not raw:
        return 3
    text = (re.match(r"\d+", raw) or [raw])[0]  # "3", "3度", "3°带"
    if text not in ("3", "6"):
        raise CRSError(f"{where}: 几度分带={text!r}: zones are 3 or 6 degrees wide; fix the header")
    return int(text)


def _zone(header: dict, width: int, where: str) -> tuple[int | None, str | None]:
    """The declared zone number, and a note when 带号 gave the central meridian instead of the zone."""
    text = header.get("带号", "").strip()
    if not text:
        return None, None
    text = (re.fullmatch(r"(?:第\s*)?(\d+)\s*带?", text) or [None, text])[1]  # "36", "36带", "第36带"
    if not re.fullmatch(r"\d+", text):
        raise CRSError(f"{where}: 带号={text!r} is not a zone number; fix the header")
    zone = int(text)
    lo, hi = (25, 45) if width == 3 else (13, 23)
    if lo <= zone <= hi:
        return zone, None
    if 75 <= zone <= 135 and (zone % 3 == 0 if width == 3 else (zone + 3) % 6 == 0):
        as_zone = zone // 3 if width == 3 else (zone + 3) // 6
        return as_zone, f"带号={zone} is a central meridian: read as {width}° zone {as_zone}"
    raise CRSError(f"{where}: 带号={zone} is not a {width}° Gauss-Krüger zone of China ({lo}–{hi}); fix 带号 or "
                   f"几度分带 in the header")


def txt_crs(datum: str, width: int, zone: int, prefixed: bool) -> CRS:
    """The EPSG CRS of a 国土TXT's datum, zone width, zone number and eastings with or without the prefix.

    Examples
    --------
    >>> txt_crs("CGCS2000", 3, 36, True).to_epsg(), txt_crs("CGCS2000", 3, 36, False).to_epsg()
    (4524, 4545)
    >>> txt_crs("Xian 1980", 3, 38, True).to_epsg(), txt_crs("Beijing 1954", 6, 19, False).to_epsg()
    (2362, 21459)
    """
    zone3, cm3, zone6, cm6 = _DATUMS[datum]
    if width == 3:
        return CRS.from_epsg(zone3 + zone - 25 if prefixed else cm3 + zone - 25)
    return CRS.from_epsg(zone6 + zone - 13 if prefixed else cm6 + zone - 13)


@dataclass
class _Points:
    """Every point of the file: northings, eastings (as written), 点号, 圈号, line numbers, the 地块 each is in."""

    north: np.ndarray
    east: np.ndarray
    names: list
    rings: list
    lines: np.ndarray
    parcel: np.ndarray


def _points(parcels: list[_Parcel], where: str) -> _Points:
    north, east, names, rings, lines, owner = [], [], [], [], [], []
    for i, p in enumerate(parcels):
        for name, ring, x, y, no in p.points:
            north.append(_number(x, "X", where, no))
            east.append(_number(y, "Y", where, no))
            names.append(name)
            rings.append(ring)
            lines.append(no)
            owner.append(i)
    return _Points(np.array(north, float), np.array(east, float), names, rings, np.array(lines, int),
                   np.array(owner, int))


def _swap_if_math_order(pts: _Points, notes: list[str], where: str) -> None:
    """X is the northing in a 国土TXT. A file whose X holds eastings (zone-prefixed, or 0–1 000 000 beside
    northings of millions in Y) was written in map order: read it so, and say so."""
    x, y = pts.north, pts.east
    if not len(x):
        return
    x_prefixed = (x >= 1e7).all()
    y_northing = ((y >= 3e5) & (y <= 6.1e6)).all()
    x_small = (x < 1e6).all() and (y > 1.5e6).all() and (y <= 6.1e6).all()
    if (x_prefixed and y_northing) or x_small:
        pts.north, pts.east = y.copy(), x.copy()
        notes.append("warning: X holds the eastings and Y the northings (map order), not the surveying order "
                     "(X = northing) a 国土TXT uses: read as map order; check the file's producer")


def _resolve_zone(header: dict, pts: _Points, where: str, notes: list[str]) -> CRS | None:
    """The CRS the header declares, checked against the eastings; points carrying the neighbouring zone's prefix
    moved into the declared zone. None when nothing declares a zone and the eastings carry no prefix."""
    datum, width = _datum(header, where), _width(header, where)
    zone, how = _zone(header, width, where)
    if how:
        notes.append(how)
    east = pts.east
    prefixed = east >= 1e7
    if prefixed.any() and not prefixed.all():
        bad = np.flatnonzero(~prefixed)[:3]
        raise CRSError(f"{where}: some eastings carry a zone prefix and some don't (e.g. line "
                       f"{', '.join(str(pts.lines[i]) for i in bad)}); write every Y with the 带号 prefix or none")
    if not prefixed.any():
        if (east < 0).any() or (east > 1e6).any():
            raise CRSError(f"{where}: eastings (Y) {east.min():,.1f}–{east.max():,.1f} are neither zone-prefixed "
                           f"(8 digits) nor within 0–1 000 000 m; check X and Y")
        if zone is None:
            notes.append("no 带号 in the header and no zone prefix in the eastings: the central meridian is unknown")
            return None
        return txt_crs(datum, width, zone, prefixed=False)
    prefix = (east // 1e6).astype(int)
    if zone is None:
        found = np.unique(prefix)
        if len(found) > 1:
            raise CRSError(f"{where}: no 带号 in the header and the eastings carry zone prefixes "
                           f"{', '.join(map(str, found))}; add 带号= to [属性描述]")
        zone = int(found[0])
        lo, hi = (25, 45) if width == 3 else (13, 23)
        if not lo <= zone <= hi:
            raise CRSError(f"{where}: the eastings' prefix {zone} is not a {width}° zone of China ({lo}–{hi}); "
                           f"check 几度分带 and the Y values")
        notes.append(f"no 带号 in the header: zone {zone} from the eastings' prefix")
    crs = txt_crs(datum, width, zone, prefixed=True)
    _neighbours(pts, prefix, zone, datum, width, crs, where, notes)
    return crs


def _neighbours(pts: _Points, prefix: np.ndarray, zone: int, datum: str, width: int, crs: CRS, where: str,
                notes: list[str]) -> None:
    """Points whose prefix is not the declared zone: refused when none matches (the 带号 contradicts the file);
    the neighbouring zone's points (a boundary across a zone edge) reprojected into the declared zone."""
    other = prefix != zone
    if not other.any():
        return
    if other.all():
        raise CRSError(f"{where}: 带号={zone} but every easting carries the zone prefix "
                       f"{', '.join(map(str, np.unique(prefix)))} (e.g. line {pts.lines[0]}: Y {pts.east[0]:,.3f}); "
                       f"fix 带号 or the coordinates — redline does not guess the zone")
    far = other & (np.abs(prefix - zone) != 1)
    if far.any():
        i = int(np.flatnonzero(far)[0])
        raise CRSError(f"{where}: line {pts.lines[i]}: Y {pts.east[i]:,.3f} carries zone prefix {prefix[i]}, not "
                       f"the declared 带号={zone} or a neighbour; fix the point")
    for z in np.unique(prefix[other]):
        sel = prefix == z
        move = Transformer.from_crs(txt_crs(datum, width, int(z), True), crs, always_xy=True)
        pts.east[sel], pts.north[sel] = move.transform(pts.east[sel], pts.north[sel])
        lines = ", ".join(str(n) for n in pts.lines[sel][:5]) + (" …" if sel.sum() > 5 else "")
        notes.append(f"warning: {int(sel.sum())} points carry the neighbouring zone's prefix {z} (lines {lines}): "
                     f"reprojected from zone {z} into the declared zone {zone}")


def _rings(p: _Parcel, xy: np.ndarray, ring_ids: list, label: str, notes: list[str]) -> tuple[list, str | None]:
    """The 地块's rings in 圈号 order of appearance, each closed; ``(rings, why the 地块 is unusable or None)``."""
    order: dict[str, list[int]] = {}
    for i, ring in enumerate(ring_ids):
        order.setdefault(ring, []).append(i)
    numbers = [int(r) for r in order if re.fullmatch(r"\d+", r)]
    if numbers and sorted(numbers) != list(range(1, max(numbers) + 1)):
        notes.append(f"地块 {label}: 圈号 {', '.join(map(str, sorted(numbers)))} — a gap in the numbering "
                     f"(expected 1 to {max(numbers)}); check that no ring is missing")
    rings = []
    for ring, idx in order.items():
        pts = xy[idx]
        distinct = len(np.unique(pts, axis=0))
        if distinct < 3:
            if ring == next(iter(order)):
                return [], f"圈号 {ring} has {distinct} distinct point{'s' if distinct != 1 else ''}: fewer than 3"
            notes.append(f"地块 {label}: 圈号 {ring} has fewer than 3 distinct points: left out")
            continue
        if not np.array_equal(pts[0], pts[-1]):
            notes.append(f"地块 {label}: 圈号 {ring} does not close (its last point is not its first): closed")
            pts = np.vstack([pts, pts[:1]])
        rings.append(pts)
    return rings, None


def _polygon(rings: list) -> shapely.Geometry:
    """Rings to a (multi)polygon by nesting: a ring inside an outer one is its hole, others are further parts."""
    polys = [shapely.Polygon(r) for r in rings]
    parts: list[list] = []  # [shell, holes…]
    for poly in sorted(polys, key=lambda g: -abs(g.area)):
        host = next((part for part in parts if shapely.Polygon(part[0]).contains(poly.representative_point())
                     and not any(shapely.Polygon(h).contains(poly.representative_point()) for h in part[1:])), None)
        if host is None:
            parts.append([poly.exterior.coords])
        else:
            host.append(poly.exterior.coords)
    built = [shapely.Polygon(part[0], part[1:]) for part in parts]
    return built[0] if len(built) == 1 else shapely.MultiPolygon(built)


def _geometry(p: _Parcel, xy: np.ndarray, ring_ids: list, label: str, notes: list[str]):
    """The 地块 as its 记录图形属性 says (面 polygon, 线 line, 点 points); ``(geometry or None, reason)``."""
    shape = p.attrs.get("shape", "面") or "面"
    if "线" in shape:
        return (shapely.LineString(xy), None) if len(xy) >= 2 else (None, "a line with fewer than 2 points")
    if "点" in shape:
        return (shapely.MultiPoint(xy), None) if len(xy) else (None, "no points")
    rings, why = _rings(p, xy, ring_ids, label, notes)
    return (_polygon(rings), None) if rings else (None, why)


def _label(p: _Parcel, n: int) -> str:
    return p.attrs.get("id") or p.attrs.get("name") or f"地块{n}"


def _frame(parcels: list[_Parcel], pts: _Points, crs, notes: list[str], dropped: list[dict]) -> gpd.GeoDataFrame:
    """One feature per usable 地块, with its attributes; the unusable ones in ``dropped``."""
    rows, geoms = [], []
    xy = np.column_stack([pts.east, pts.north])
    purposes = load_purposes()
    for n, p in enumerate(parcels, start=1):
        label = _label(p, n)
        sel = pts.parcel == n - 1
        geom, why = _geometry(p, xy[sel], [r for r, s in zip(pts.rings, sel) if s], label, notes)
        if geom is None:
            dropped.append({"id": label, "reason": f"地块 {label} (line {p.line}): {why or 'no points'}"})
            continue
        _check_count(p, int(sel.sum()), label, notes)
        use = p.attrs.get("use", "")
        rows.append({"project_id": label, "name": p.attrs.get("name", ""), "category": purposes.category(use),
                     "land_use": use, "land_class": p.attrs.get("class", ""), "sheet": p.attrs.get("sheet", ""),
                     "declared_ha": _declared(p.attrs.get("area")), "points": int(sel.sum()), "source_line": p.line})
        geoms.append(geom)
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["project_id", "name", "category", "land_use", "land_class",
                                                         "sheet", "declared_ha", "points", "source_line"]),
                             geometry=geoms, crs=crs)
    frame.index = pd.RangeIndex(len(frame), name="fid")
    unmapped = sorted({u for u, c in zip(frame["land_use"], frame["category"]) if u and c is None})
    if unmapped:
        notes.append(f"地块用途 with no project category: {', '.join(unmapped)} — give the category "
                     f"(--category-field) or add the word to analyses/classes/project_purposes.toml")
    return frame


def _check_count(p: _Parcel, found: int, label: str, notes: list[str]) -> None:
    """The 界址点数 of the attribute line against the point lines that follow it."""
    declared = p.attrs.get("count", "")
    if re.fullmatch(r"\d+", declared or "") and int(declared) != found:
        notes.append(f"地块 {label} (line {p.line}): 界址点数 says {declared} points, {found} point lines follow; "
                     f"check that no point is missing")


def _declared(text) -> float:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        return float("nan")
    return value if np.isfinite(value) and value > 0 else float("nan")


def _check_areas(frame: gpd.GeoDataFrame, notes: list[str]) -> None:
    """Each 地块's declared 地块面积 (公顷) against its ellipsoidal area: a warning beyond :data:`AREA_TOLERANCE`,
    saying when the declared figure is the plane (Gauss) area or in m² instead."""
    if frame.crs is None or not len(frame):
        return
    polys = np.isin(shapely.get_type_id(frame.geometry.values), (3, 6))
    measured = np.where(polys, ellipsoidal_area(frame.geometry.values, crs=frame.crs), np.nan) / 1e4
    planar = shapely.area(frame.geometry.values) / 1e4
    for pid, declared, m, flat in zip(frame["project_id"], frame["declared_ha"], measured, planar):
        if not (np.isfinite(declared) and np.isfinite(m)) or abs(declared - m) <= AREA_TOLERANCE * m:
            continue
        if abs(declared / 1e4 - m) <= AREA_TOLERANCE * m:
            why = " — it looks like square metres, not 公顷"
        elif abs(declared - flat) <= 1e-4 * flat:
            why = " — it is the plane (Gauss projection) area"
        else:
            why = ""
        notes.append(f"warning: 地块 {pid}: declared 地块面积 {declared:,.4f} ha, measured {m:,.4f} ha on the "
                     f"ellipsoid ({(declared - m) / m:+.2%}){why}; check the file")


def _towgs84(header: dict, datum: str, notes: list[str]) -> str | None:
    """The header's 转换参数 when they are seven numbers, not all zero, for a Xi'an 1980 / Beijing 1954 file."""
    parts = [p.strip() for p in _SEP.split(header.get("转换参数", "")) if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        notes.append(f"转换参数={header.get('转换参数')!r} is not seven numbers: not used")
        return None
    if datum == "CGCS2000" or len(values) != 7 or not any(values):
        return None
    notes.append(f"转换参数 of the header used for the datum shift to CGCS2000: {','.join(parts)}")
    return ",".join(parts)


def read(path: Path, layer: str | None, encoding: str | None, options: FormatOptions) -> FormatRead:
    """Read a 国土TXT: one feature per 地块 (``project_id`` = 地块编号, ``name``, ``category`` from 地块用途, …)."""
    where = str(path)
    text, used, how = _decode(path, encoding)
    header, parcels, odd = _parse(text, where)
    notes: list[str] = []
    if odd:
        notes.append(f"{len(odd)} lines of [地块坐标] are neither an attribute line (…,@) nor a point line "
                     f"(点号,圈号,X,Y): {', '.join(odd[:5])}{' …' if len(odd) > 5 else ''} — ignored")
    unit = header.get("计量单位", "米").strip()
    if unit not in ("米", "m", "M", "metre", "meter", ""):
        raise LayerReadError(f"{where}: 计量单位={unit!r}: only coordinates in metres (米) are supported; convert them")
    pts = _points(parcels, where)
    if not len(pts.north):
        raise LayerReadError(f"{where}: no point lines (点号,圈号,X,Y) after the 地块 attribute lines")
    _swap_if_math_order(pts, notes, where)
    crs = _resolve_zone(header, pts, where, notes)
    dropped: list[dict] = []
    frame = _frame(parcels, pts, crs, notes, dropped)
    _check_areas(frame, notes)
    if layer is not None:
        frame = frame[frame["project_id"].astype(str) == layer]
        if not len(frame):
            raise LayerReadError(f"{where}: no 地块 {layer!r}; 地块编号 in the file: "
                                 f"{', '.join(_label(p, i) for i, p in enumerate(parcels, start=1))}")
    precision = _declared(header.get("精度", ""))
    if np.isfinite(precision):
        frame["precision"] = precision  # written back to the same 精度
    datum = _datum(header, where)
    return FormatRead(frame, encoding=used, encoding_source=how, notes=notes, dropped=dropped,
                      towgs84=_towgs84(header, datum, notes))


#: 精度 of a written file unless the features carry a finer one (``precision``, from a 国土TXT read).
DEFAULT_PRECISION = 0.0001


def _zone_of(crs: CRS) -> tuple[str, int, int, bool] | None:
    """(datum, zone width, zone, prefixed) of an EPSG Gauss-Krüger CRS of the three Chinese datums, or None."""
    code = crs.to_epsg() or 0
    for datum, (zone3, cm3, zone6, cm6) in _DATUMS.items():
        for first, width, prefixed, count, zone0 in ((zone3, 3, True, 21, 25), (cm3, 3, False, 21, 25),
                                                     (zone6, 6, True, 11, 13), (cm6, 6, False, 11, 13)):
            if first <= code < first + count:
                return datum, width, zone0 + code - first, prefixed
    return None


_DATUM_NAMES = {"CGCS2000": "2000国家大地坐标系", "Xian 1980": "1980西安坐标系", "Beijing 1954": "1954北京坐标系"}


def target_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """The CRS a 国土TXT of ``gdf`` is written in, always with the 带号 prefix on the eastings (Y), as 报盘 files
    carry it: its own when it is a Chinese Gauss-Krüger zone with prefixed eastings, the same zone with the prefix
    when its eastings have none (only the false easting differs), else the CGCS2000 3° zone whose central
    meridian is nearest the data."""
    crs = CRS.from_user_input(gdf.crs)
    zone = _zone_of(crs)
    if zone is not None:
        datum, width, number, prefixed = zone
        return crs if prefixed else txt_crs(datum, width, number, prefixed=True)
    lon = float(np.mean(gdf.to_crs(4490).total_bounds[[0, 2]]))
    return CRS.from_user_input(gk_crs(int(round(lon / 3)), 3, prefixed=True))


def _crs_name(crs) -> str:
    crs = CRS.from_user_input(crs)
    return f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.name


def _lines_of(geom, first: int, fmt) -> tuple[list[str], str]:
    """The point lines of one feature (界址点 J1, J2 … numbered per 地块, each ring closed on its first point's
    号) and its 记录图形属性."""
    kind = shapely.get_type_id(geom)
    if kind in (3, 6):
        rings = [r for part in getattr(geom, "geoms", [geom]) for r in (part.exterior, *part.interiors)]
        shape = "面"
    elif kind in (1, 5):
        rings, shape = list(getattr(geom, "geoms", [geom])), "线"
    else:
        rings, shape = [shapely.MultiPoint(shapely.get_coordinates(geom))], "点"
    out, n = [], first
    for ring_no, ring in enumerate(rings, start=1):
        coords = shapely.get_coordinates(ring)
        closed = shape == "面" and len(coords) > 1 and np.array_equal(coords[0], coords[-1])
        body = coords[:-1] if closed else coords
        start = n
        for x, y in body:
            out.append(f"J{n},{ring_no},{fmt(y)},{fmt(x)}")
            n += 1
        if closed:
            out.append(f"J{start},{ring_no},{fmt(body[0][1])},{fmt(body[0][0])}")
    return out, shape


def _unique_ids(ids: list[str]) -> list[str]:
    """地块编号 made unique: the pieces of one project (an encroachment per zone) become ``P-1-1``, ``P-1-2`` ….

    Examples
    --------
    >>> _unique_ids(["A", "B", "A"])
    ['A-1', 'B', 'A-2']
    """
    counts = pd.Series(ids).value_counts()
    seen: dict[str, int] = {}
    out = []
    for pid in ids:
        if counts[pid] > 1:
            seen[pid] = seen.get(pid, 0) + 1
            out.append(f"{pid}-{seen[pid]}")
        else:
            out.append(pid)
    return out


def write(gdf: gpd.GeoDataFrame, path: Path, *, encoding: str | None = None) -> list[str]:
    """Write ``gdf`` as a 国土TXT (GBK and CRLF unless ``encoding`` says otherwise; X = northing, Y = easting).

    地块编号 from ``project_id`` (else the index), 地块名称 from ``name``, 地块用途 from ``land_use`` or
    ``category``; 地块面积 is the ellipsoidal area in 公顷. The coordinates are written in :func:`target_crs`;
    the notes say so when that is not the layer's own CRS."""
    if not len(gdf):
        raise OutputError(f"{path}: nothing to write: the layer has no features")
    crs = target_crs(gdf)
    reprojected = not CRS.from_user_input(gdf.crs).equals(crs)
    data = gdf.to_crs(crs) if reprojected else gdf
    datum, width, zone, _prefixed = _zone_of(crs)
    precision = DEFAULT_PRECISION
    if "precision" in data.columns and pd.to_numeric(data["precision"], errors="coerce").notna().any():
        precision = float(pd.to_numeric(data["precision"], errors="coerce").min())  # the file's own 精度
    decimals = max(0, int(round(-np.log10(precision))))
    area = ellipsoidal_area(data.geometry.values, crs=crs) / 1e4
    labels = {code: zh for code, (zh, _en) in load_rules().categories.items()}  # 地块用途 in words

    def fmt(v: float) -> str:
        return f"{v:.{decimals}f}"

    def text(column: str, i: int, default: str = "") -> str:
        value = data[column].iloc[i] if column in data.columns else None
        return default if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).replace(",", "，")

    lines = ["[属性描述]", "格式版本号=1.01版本", "数据产生单位=redline", f"数据产生日期={pd.Timestamp.now():%Y-%m-%d}",
             f"坐标系={_DATUM_NAMES[datum]}", f"几度分带={width}", "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}",
             f"精度={precision:g}", "转换参数=,,,,,,", "[地块坐标]"]
    given = [text("project_id", i, str(data.index[i])) for i in range(len(data))]
    ids = _unique_ids(given)
    for i, geom in enumerate(data.geometry.values):
        points, shape = _lines_of(geom, 1, fmt)
        use = text("land_use", i) or labels.get(text("category", i), text("category", i))
        name = text("name", i) or " ".join(filter(None, [text("kind_label", i), text("zone", i)]))  # pieces
        lines.append(f"{len(points)},{area[i]:.4f},{ids[i]},{name},{shape},{text('sheet', i)},{use},"
                     f"{text('land_class', i)},@")
        lines.extend(points)
    try:
        body = ("\r\n".join(lines) + "\r\n").encode(encoding or "gbk", errors="strict")
    except UnicodeEncodeError as exc:
        raise OutputError(f"{path}: {exc.object[exc.start:exc.end]!r} cannot be written in {encoding or 'GBK'}; "
                          f"write the file as UTF-8 (--out-encoding utf-8) or change the name") from None
    with atomic_output(path) as tmp:  # atomic when called directly too (write_as gives it a staging path)
        tmp.write_bytes(body)
    notes = []
    if reprojected:
        notes.append(f"coordinates written in {crs.name} (EPSG:{crs.to_epsg()}, 带号={zone}, eastings with the "
                     f"zone prefix), from the layer's {_crs_name(gdf.crs)}")
    renamed = sum(a != b for a, b in zip(ids, given))
    if renamed:
        notes.append(f"{renamed} features share a project id: numbered -1, -2 … so that each 地块编号 is unique")
    return notes
