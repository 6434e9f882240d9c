"""DXF drawings: a project's red line (用地红线) as a design institute draws it in CAD, read with ezdxf.

GDAL's DXF driver gives closed polylines as lines and skips hatches. Here closed LWPOLYLINE/POLYLINE (the closed
flag set, or the first point on the last within 1e-6 of the shape's extent), HATCH boundaries, CIRCLE, full ELLIPSE
and closed SPLINE become polygons, in model space and in blocks inserted there. On one drawing layer a ring inside
another is its hole (even-odd: a ring inside a hole is a shape of its own); a hatch's boundary paths nest the same
way among themselves. Arcs (polyline bulges, circles, hatch arc edges) become points on the arc with chords within
0.001 drawing units and 2.5e-7 of the radius of it, so the area the chords cut off is under 1e-6 of the arc's
sector. Coordinates are scaled to metres by ``$INSUNITS``. A DXF declares no CRS (``--crs`` or detection from zone-prefixed eastings
decide), and CAD's X is the easting, Y the northing: kept as they are.
"""

from __future__ import annotations

import codecs
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import ezdxf
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from ezdxf import recover
from ezdxf.entities import BoundaryPathType, EdgeType
from ezdxf.enums import TextEntityAlignment
from ezdxf.lldxf.const import DXF2007
from ezdxf.lldxf.encoding import decode_dxf_unicode
from ezdxf.math import Vec3, arc_segment_count, bulge_to_arc, fit_points_to_cad_cv
from ezdxf.units import conversion_factor, unit_name
from pyproj import CRS

from ..errors import LayerNotFoundError, LayerReadError
from .encoding import _fits, _writes_chinese
from .write import atomic_output
from .formats import FormatOptions, FormatRead

__all__ = ["read", "write"]

#: the largest gap between an arc and its chords: in drawing units, and as a share of the arc's radius (the
#: area a chord cuts off is then under 4/3 of that share of the arc's sector: 3.3e-7)
_SAGITTA, _SAGITTA_SHARE = 1e-3, 2.5e-7
#: a polyline whose first point lies on its last within this share of its extent is closed
_CLOSE_SHARE = 1e-6
#: two shapes on a layer whose symmetric difference is under this share of their area are the same shape
_SAME_SHARE = 1e-5
#: blocks inserted in blocks are read down to this depth
_MAX_DEPTH = 8
_OPEN_TYPES = frozenset({"LINE", "ARC", "LWPOLYLINE", "POLYLINE", "SPLINE", "ELLIPSE"})
_NOT_READ = frozenset({"SOLID", "TRACE", "3DFACE", "MPOLYGON", "REGION", "3DSOLID", "BODY", "MESH", "POLYLINE"})
_UNIT_NAMES = {1: "inches", 2: "feet", 3: "miles", 4: "millimetres", 5: "centimetres", 7: "kilometres",
               10: "yards", 14: "decimetres"}
_ADVICE = "close the boundary polylines in CAD (PEDIT → Close) or draw the red line as a closed polyline"
_DEFAULT_LAYER = "REDLINE"
_BAD_LAYER_CHARS = re.compile(r'[<>/\\":;?*|=`\x00-\x1f]')


@dataclass
class _Shape:
    """A closed shape of the drawing: its rings (closed ``(n, 2)`` arrays, world coordinates) and its source."""

    layer: str
    entity: str
    handle: str
    rings: list[np.ndarray]
    order: int


@dataclass
class _Scan:
    """What the drawing holds: closed shapes, open lines by layer, what was not read and why."""

    shapes: list[_Shape] = field(default_factory=list)
    open: Counter = field(default_factory=Counter)
    not_read: Counter = field(default_factory=Counter)
    dropped: list[tuple[str, dict]] = field(default_factory=list)  # (layer, {"id", "reason"})
    curved: int = 0
    from_blocks: int = 0
    too_deep: int = 0
    holes: int = 0


def read(path: Path, layer: str | None, encoding: str | None, options: FormatOptions) -> FormatRead:
    """Read the closed shapes of a DXF drawing as polygons, one feature each.

    Parameters
    ----------
    path : Path
        The ``.dxf`` (ASCII or binary, any version).
    layer : str, optional
        A drawing layer (``file.dxf:红线``): only its shapes are read. None: all layers.
    encoding : str, optional
        The text encoding of a DXF R2004 or older drawing, over its ``$DWGCODEPAGE`` (R2007+ is UTF-8).
    options : FormatOptions
        Not used by DXF.

    Returns
    -------
    FormatRead
        Columns ``layer`` (the drawing layer), ``entity`` (LWPOLYLINE, HATCH, CIRCLE…) and ``handle``, indexed by
        ``fid``, in metres, CRS None; notes on units, arcs, holes, blocks and the open lines not used.

    Raises
    ------
    LayerReadError
        Not a readable DXF; no closed shape (naming the layers with open polylines).
    LayerNotFoundError
        ``layer`` is not a drawing layer of the drawing.
    """
    doc, notes = _open(path, encoding)
    names, codec, source, text_notes = _text_codec(doc, encoding)
    scan = _scan(doc.modelspace(), names)
    _choose_layer(scan, layer, path)
    features = _features(scan)
    dropped = [d for _, d in scan.dropped]
    if not features and (scan.open or not dropped):
        raise _no_polygons(path, layer, scan)
    geoms = np.array([poly for _, poly in features], dtype=object)
    factor, unit_notes = _units(doc, geoms)
    if factor != 1.0:
        geoms = shapely.transform(geoms, lambda xy: xy * factor)
    ids, id_notes = _labels(doc.modelspace(), names, geoms, factor, features)
    gdf = gpd.GeoDataFrame({"project_id": ids, "layer": [s.layer for s, _ in features],
                            "entity": [s.entity for s, _ in features], "handle": [s.handle for s, _ in features]},
                           geometry=gpd.GeoSeries(geoms, crs=None), crs=None)
    gdf, merged = _merge_labelled(gdf, labelled=[not i.endswith(f":{s.handle}") for i, (s, _) in zip(ids, features)])
    notes = notes + text_notes + unit_notes + _scan_notes(scan) + id_notes + merged
    return FormatRead(gdf=gdf, encoding=codec, encoding_source=source, notes=notes, dropped=dropped)


def _labels(msp, names: Callable[[str], str], geoms: np.ndarray, factor: float, features) -> tuple[list, list]:
    """Each shape's id: the one TEXT/MTEXT of the model space standing inside it (how drawings label a 地块, and
    how :func:`write` writes them), else ``LAYER:HANDLE``; and a note saying how many came from a label."""
    texts, points = [], []
    for entity in msp.query("TEXT MTEXT"):
        text = entity.plain_text() if entity.dxftype() == "MTEXT" else entity.dxf.text
        text = names(text or "").strip()
        if text:
            texts.append(text)
            points.append(np.asarray(entity.dxf.insert, dtype=float)[:2] * factor)
    ids, labelled = [], 0
    tree = shapely.STRtree(shapely.points(np.array(points))) if points else None
    for (shape, _), geom in zip(features, geoms):
        inside = sorted({texts[i] for i in tree.query(geom, predicate="contains")}) if tree is not None else []
        if len(inside) == 1:
            ids.append(inside[0])
            labelled += 1
        else:
            ids.append(f"{shape.layer}:{shape.handle}")
    if not len(geoms):
        return ids, []
    note = (f"project ids from the text label inside each shape: {labelled} of {len(geoms)}"
            + ("; the others are named LAYER:HANDLE (no label, or several, inside them)" if labelled < len(geoms) else ""))
    return ids, [note]


def _merge_labelled(gdf: gpd.GeoDataFrame, labelled: list[bool]) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Shapes on one layer carrying the same label are the parts of one 地块: one MultiPolygon feature (the
    first shape's entity and handle), indexed by fid 0..n-1; and a note naming the labels so joined."""
    key = np.where(labelled, gdf["layer"].astype(str) + "\x00" + gdf["project_id"].astype(str),
                   np.arange(len(gdf)).astype(str))
    groups = pd.Series(range(len(gdf))).groupby(key, sort=False).agg(list)
    joined = [str(gdf["project_id"].iloc[g[0]]) for g in groups if len(g) > 1]
    if joined:
        keep = [g[0] for g in groups]
        geoms = [shapely.MultiPolygon(list(gdf.geometry.values[g])) if len(g) > 1 else gdf.geometry.values[g[0]]
                 for g in groups]
        gdf = gdf.iloc[keep].set_geometry(gpd.GeoSeries(geoms, index=gdf.index[keep], crs=gdf.crs))
    gdf.index = pd.RangeIndex(len(gdf), name="fid")
    if not joined:
        return gdf, []
    return gdf, [f"shapes carrying the same label on one layer joined into multi-part features: "
                 f"{', '.join(joined[:10])}{' …' if len(joined) > 10 else ''}"]


def _reason(exc: Exception) -> str:
    """ezdxf's complaint about a file, on one short line."""
    text = str(exc).strip()
    if isinstance(exc, (StopIteration, EOFError)):
        return "it ends early: cut off?"
    if text.endswith("is not a DXF file."):
        return "no DXF section at its start"
    line = "".join(c if c.isprintable() else "?" for c in (text.splitlines() or [type(exc).__name__])[0])
    return line.rstrip(".")[:120]


def _unreadable(path: Path, exc: Exception) -> LayerReadError:
    return LayerReadError(f"{path}: not a readable DXF drawing ({_reason(exc)}); save it again from CAD as DXF")


def _open(path: Path, encoding: str | None):
    """The drawing, read as it is or, when its structure is broken, by ezdxf's recover mode (with a note)."""
    try:
        return ezdxf.readfile(path, encoding=encoding), []
    except ezdxf.DXFStructureError as exc:
        first = exc
    except Exception as exc:  # whatever ezdxf raises on a file that is not DXF at all
        raise _unreadable(path, exc) from None
    try:
        doc, _ = recover.readfile(path)
    except Exception:  # noqa: BLE001 - recover mode failing too: the first complaint says more
        raise _unreadable(path, first) from None
    if not len(doc.modelspace()):
        raise _unreadable(path, first)
    return doc, [f"the drawing's structure is broken ({_reason(first)}): read by ezdxf's recover mode; check it "
                 f"with AUDIT in CAD"]


def _text_codec(doc, given: str | None) -> tuple[Callable[[str], str], str, str, list[str]]:
    """How the drawing's names decode (``\\U+xxxx`` escapes too), the encoding, where it was decided, notes.

    A DXF R2004 or older drawing whose ``$DWGCODEPAGE`` names a code page without Chinese (ANSI_1252, or none)
    while its layer names read as Chinese GBK is read as GBK, with a note."""
    if doc.dxfversion >= DXF2007:
        notes = [f"encoding {given} not used: a DXF R2007 or later drawing is UTF-8"] if given else []
        return decode_dxf_unicode, "utf-8", "DXF R2007+ (UTF-8)", notes
    codec = codecs.lookup(doc.encoding).name
    page = doc.header.get("$DWGCODEPAGE", "")
    source = f"$DWGCODEPAGE {page}" if page else "no $DWGCODEPAGE (ANSI_1252 assumed)"
    if given:
        return decode_dxf_unicode, codec, "given", []
    if _writes_chinese(codec):
        return decode_dxf_unicode, codec, source, []
    layers = {layer.dxf.name for layer in doc.layers} | {e.dxf.get("layer", "0") for e in doc.modelspace()}
    raw = "\n".join(sorted(layers)).encode(doc.encoding, errors="surrogateescape")
    if raw.isascii() or not _fits(raw, "gb18030")[0]:
        return decode_dxf_unicode, codec, source, []
    chinese = "gbk" if _fits(raw, "gbk")[0] else "gb18030"

    def names(text: str) -> str:
        return decode_dxf_unicode(text.encode(doc.encoding, errors="surrogateescape").decode(chinese, "replace"))

    note = (f"layer names read as {chinese.upper()}: the drawing says {source} but its names are Chinese; give "
            f"--encoding to read them otherwise")
    return names, chinese, f"layer names (Chinese), not {source}", [note]


def _walk(entities, scan: _Scan, layer: str | None = None, handle: str | None = None, depth: int = 0):
    """``(entity, layer, handle, depth)`` of model space with the entities of inserted blocks in place: those on
    layer 0 take the INSERT's layer, and all the INSERT's handle."""
    for entity in entities:
        own = entity.dxf.get("layer", "0")
        here = layer if depth and own == "0" else own
        if entity.dxftype() != "INSERT":
            yield entity, here, handle or entity.dxf.handle or "", depth
        elif depth >= _MAX_DEPTH:
            scan.too_deep += 1
        else:
            yield from _walk(_exploded(entity, scan), scan, here, handle or entity.dxf.handle, depth + 1)


def _exploded(insert, scan: _Scan) -> list:
    """The entities of an inserted block (each cell of a MINSERT), moved, turned and scaled into place."""

    def skipped(entity, reason: str) -> None:
        scan.not_read[entity.dxftype()] += 1

    try:
        return [e for one in insert.multi_insert() for e in one.virtual_entities(skipped_entity_callback=skipped)]
    except Exception:  # noqa: BLE001 - a block ezdxf cannot transform (e.g. scaled unevenly): counted, not read
        scan.not_read["INSERT"] += 1
        return []


def _scan(msp, names: Callable[[str], str]) -> _Scan:
    """The closed shapes of model space (blocks included), and what else it holds."""
    scan = _Scan()
    for order, (entity, layer, handle, depth) in enumerate(_walk(msp, scan)):
        _take(entity, names(layer), handle, depth, order, scan)
    return scan


def _take(entity, layer: str, handle: str, depth: int, order: int, scan: _Scan) -> None:
    """One entity into the scan: a closed shape, an open line, or something not read."""
    kind = entity.dxftype()
    if kind not in _RINGS or (kind == "POLYLINE" and not (entity.is_2d_polyline or entity.is_3d_polyline)):
        if kind in _NOT_READ:
            scan.not_read[kind] += 1
        return
    try:
        rings, curved = _RINGS[kind](entity)
    except (ValueError, ZeroDivisionError, ArithmeticError, ezdxf.DXFError) as exc:
        scan.dropped.append((layer, {"id": handle, "reason": f"{kind} on layer {layer}: its geometry does not "
                                                               f"compute ({_reason(exc)})"}))
        return
    if rings is None:
        scan.open[layer] += kind in _OPEN_TYPES
        return
    scan.shapes.append(_Shape(layer, kind, handle, rings, order))
    scan.curved += curved
    scan.from_blocks += depth > 0


def _sagitta(radius: float) -> float:
    """The largest gap allowed between an arc of ``radius`` and its chords (drawing units)."""
    return min(_SAGITTA, _SAGITTA_SHARE * abs(radius)) or _SAGITTA


def _ends_meet(xy: np.ndarray) -> bool:
    """Whether the first point lies on the last, within 1e-6 of the points' extent."""
    if len(xy) < 3:
        return False
    return bool(np.all(np.abs(xy[0] - xy[-1]) <= _CLOSE_SHARE * np.ptp(xy, axis=0).max()))


def _xy(points) -> np.ndarray:
    return np.array([(p[0], p[1]) for p in points], dtype=float).reshape(-1, 2)


def _arc(p0, p1, bulge: float) -> list:
    """The points strictly between ``p0`` and ``p1`` on the arc of a polyline's bulge."""
    center, start, end, radius = bulge_to_arc(p0, p1, bulge)
    points = _arc_xy(center, radius, math.degrees(start), math.degrees(end))
    if bulge < 0:  # bulge_to_arc gives the arc counter-clockwise: from p1 to p0
        points = points[::-1]
    return points[1:-1].tolist()


def _arc_xy(center, radius: float, start: float, end: float) -> np.ndarray:
    """The points of a counter-clockwise arc from ``start`` to ``end`` (degrees; 0 to 360 a full circle), ends
    included: ezdxf's segment count for the sagitta, the points by numpy (ezdxf makes a Python vector of each,
    too slow for the thousands a circle takes)."""
    if radius <= 0 or math.isclose(start, end):
        return np.zeros((0, 2))
    span = (end - start) % 360 or 360.0
    count = arc_segment_count(radius, math.radians(span), _sagitta(radius))
    angles = np.radians(np.linspace(start, start + span, count + 1))
    return np.column_stack([center[0] + radius * np.cos(angles), center[1] + radius * np.sin(angles)])


def _bulged_ring(xyb: np.ndarray, closed: bool) -> np.ndarray | None:
    """The ring of a polyline's ``(x, y, bulge)`` vertices, arcs flattened; None when the polyline is open."""
    meets = _ends_meet(xyb[:, :2])
    if not (closed or meets):
        return None
    if closed and not meets and len(xyb):
        xyb = np.vstack([xyb, xyb[:1]])
    points = [tuple(xyb[0, :2])] if len(xyb) else []
    for (x0, y0, bulge), (x1, y1, _) in zip(xyb[:-1], xyb[1:]):
        if bulge and (x0, y0) != (x1, y1):
            points.extend(_arc((x0, y0), (x1, y1), bulge))
        points.append((x1, y1))
    ring = _xy(points)
    if len(ring):
        ring[-1] = ring[0]  # closed exactly (the last point was within the tolerance of the first)
    return ring


def _wcs(ocs, ring: np.ndarray, elevation: float) -> np.ndarray:
    """Points of an entity's own coordinate system (OCS: a mirrored or turned entity) in world coordinates."""
    if not ocs.transform:
        return ring
    return _xy(ocs.points_to_wcs(Vec3(x, y, elevation) for x, y in ring))


def _lwpolyline(entity) -> tuple[list | None, bool]:
    xyb = np.array(entity.get_points("xyb"), dtype=float).reshape(-1, 3)
    ring = _bulged_ring(xyb, entity.closed)
    if ring is None:
        return None, False
    return [_wcs(entity.ocs(), ring, entity.dxf.elevation)], bool(np.any(xyb[:, 2]))


def _polyline(entity) -> tuple[list | None, bool]:
    flat = entity.is_2d_polyline
    vertices = [v for v in entity.vertices if not v.dxf.flags & 16]  # not a spline-fit frame point
    xyb = np.array([(v.dxf.location.x, v.dxf.location.y, v.dxf.bulge if flat else 0.0) for v in vertices],
                   dtype=float).reshape(-1, 3)
    ring = _bulged_ring(xyb, entity.is_closed)
    if ring is None:
        return None, False
    if flat:
        ring = _wcs(entity.ocs(), ring, entity.dxf.elevation.z)
    return [ring], bool(np.any(xyb[:, 2]))


def _closed(points) -> np.ndarray:
    ring = _xy(points)
    if len(ring) and not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    return ring


def _circle(entity) -> tuple[list, bool]:
    center = entity.dxf.center
    ring = _arc_xy(center, entity.dxf.radius, 0.0, 360.0)
    if len(ring):
        ring[-1] = ring[0]
    return [_wcs(entity.ocs(), ring, center.z)], True


def _ellipse(entity) -> tuple[list | None, bool]:
    tool = entity.construction_tool()
    if not (math.isclose(tool.param_span, math.tau) or math.isclose(tool.param_span, 0.0, abs_tol=1e-12)):
        return None, False
    tightest = tool.major_axis.magnitude * tool.ratio**2  # the smallest radius of curvature (major axis ends)
    return [_closed(entity.flattening(_sagitta(tightest)))], True


def _spline(entity) -> tuple[list | None, bool]:
    frame = _xy(entity.control_points or entity.fit_points)
    size = float(np.ptp(frame, axis=0).max()) if len(frame) else 0.0
    points = _xy(entity.flattening(_sagitta(size), segments=8))
    if not (entity.closed or _ends_meet(points)):
        return None, False
    return [_closed(points)], True


def _edge_points(edge) -> np.ndarray:
    """The points of one edge of a hatch's edge path, in its direction (hatch coordinates)."""
    if edge.type == EdgeType.LINE:
        return _xy([edge.start, edge.end])
    if edge.type == EdgeType.ARC:
        points = _arc_xy(edge.center, edge.radius, edge.start_angle, edge.end_angle)
    elif edge.type == EdgeType.ELLIPSE:
        tool = edge.construction_tool()
        points = _xy(tool.flattening(_sagitta(tool.major_axis.magnitude * tool.ratio**2)))
    else:
        tangents = (edge.start_tangent, edge.end_tangent) if edge.start_tangent and edge.end_tangent else None
        tool = edge.construction_tool() if edge.control_points else fit_points_to_cad_cv(edge.fit_points, tangents)
        frame = _xy(edge.control_points or edge.fit_points)
        points = _xy(tool.flattening(_sagitta(float(np.ptp(frame, axis=0).max())), segments=8))
    return points if getattr(edge, "ccw", True) else points[::-1]  # ezdxf keeps arcs counter-clockwise


def _chained(pieces: list[np.ndarray]) -> np.ndarray:
    """The edges of a path joined end to start into a closed ring (an edge drawn the other way round turned)."""
    tolerance = _CLOSE_SHARE * np.ptp(np.vstack(pieces), axis=0).max()

    def gap(point, piece) -> float:
        return min(np.hypot(*(piece[0] - point)), np.hypot(*(piece[-1] - point)))

    if len(pieces) > 1 and gap(pieces[0][0], pieces[1]) < gap(pieces[0][-1], pieces[1]):
        pieces[0] = pieces[0][::-1]
    out = [pieces[0]]
    for piece in pieces[1:]:
        end = out[-1][-1]
        if np.hypot(*(piece[-1] - end)) < np.hypot(*(piece[0] - end)):
            piece = piece[::-1]
        out.append(piece[1:] if np.all(np.abs(piece[0] - end) <= tolerance) else piece)
    ring = np.vstack(out)
    if np.all(np.abs(ring[0] - ring[-1]) <= tolerance):
        ring[-1] = ring[0]
        return ring
    return np.vstack([ring, ring[:1]])


def _hatch(entity) -> tuple[list, bool]:
    """The rings of a hatch's boundary paths (polyline paths and edge paths), in world coordinates."""
    ocs, elevation = entity.ocs(), entity.dxf.elevation.z
    rings, curved = [], False
    for path in entity.paths:
        if path.type == BoundaryPathType.POLYLINE:
            xyb = np.array([tuple(v)[:3] for v in path.vertices], dtype=float).reshape(-1, 3)
            ring = _bulged_ring(xyb, True)
            curved |= bool(np.any(xyb[:, 2]))
        else:
            pieces = [p for p in (_edge_points(edge) for edge in path.edges) if len(p)]
            ring = _chained(pieces) if pieces else None
            curved |= any(edge.type != EdgeType.LINE for edge in path.edges)
        if ring is not None and len(ring):
            rings.append(_wcs(ocs, ring, elevation))
    return rings, curved


_RINGS = {"LWPOLYLINE": _lwpolyline, "POLYLINE": _polyline, "CIRCLE": _circle, "ELLIPSE": _ellipse,
          "SPLINE": _spline, "HATCH": _hatch, "LINE": lambda e: (None, False), "ARC": lambda e: (None, False)}


def _choose_layer(scan: _Scan, layer: str | None, path: Path) -> None:
    """Keep the shapes and lines of the drawing layer ``layer`` (CAD's layer names ignore case)."""
    if layer is None:
        return
    names = {s.layer for s in scan.shapes} | {name for name, n in scan.open.items() if n}
    match = layer if layer in names else next((n for n in sorted(names) if n.casefold() == layer.casefold()), None)
    if match is None:
        closed = sorted({s.layer for s in scan.shapes})
        have = f"the layers with closed shapes: {', '.join(closed)}" if closed else "the drawing has no closed shapes"
        raise LayerNotFoundError(f"{path}: no drawing layer {layer!r} with lines or shapes; {have}")
    scan.shapes = [s for s in scan.shapes if s.layer == match]
    scan.open = Counter({match: scan.open[match]}) if scan.open[match] else Counter()
    scan.dropped = [(name, d) for name, d in scan.dropped if name == match]


def _no_polygons(path: Path, layer: str | None, scan: _Scan) -> LayerReadError:
    where = f"{path}" + (f" (layer {layer!r})" if layer else "")
    if scan.open:
        counts = ", ".join(f"{n} on layer {name}" for name, n in scan.open.most_common())
        return LayerReadError(f"{where}: no closed shape, only open polylines or lines ({counts}); {_ADVICE}")
    return LayerReadError(f"{where}: no closed polylines, hatches or circles in the drawing's model space; draw the "
                          f"red line as a closed polyline")


def _features(scan: _Scan) -> list[tuple[_Shape, shapely.Polygon]]:
    """The polygons, in drawing order: each layer's polylines, circles… nested together, each hatch by itself,
    a hatch that only fills a polyline's shape on its layer left out (dropped, with the reason)."""
    features, by_layer = [], defaultdict(list)
    for shape in scan.shapes:
        if shape.entity == "HATCH":
            features += _nested([(ring, shape) for ring in shape.rings], scan)
        else:
            by_layer[shape.layer] += [(ring, shape) for ring in shape.rings]
    for rings in by_layer.values():
        features += _nested(rings, scan)
    features = _without_fills(features, scan)
    return sorted(features, key=lambda f: f[0].order)


def _nested(rings: list[tuple[np.ndarray, _Shape]], scan: _Scan) -> list[tuple[_Shape, shapely.Polygon]]:
    """Even-odd nesting: a ring inside another (the smallest around it) is its hole, unless that one is a hole
    itself; a ring drawn twice is used once (the other dropped)."""
    usable = []
    for ring, shape in rings:
        if len(ring[np.r_[True, np.any(np.diff(ring, axis=0) != 0, axis=1)]]) < 4:  # 3 points, closed
            scan.dropped.append((shape.layer, {"id": shape.handle, "reason": f"{shape.entity} on layer "
                                                                             f"{shape.layer}: fewer than 3 points"}))
        else:
            usable.append((ring, shape))
    if not usable:
        return []
    shells = np.array([shapely.Polygon(ring) for ring, _ in usable], dtype=object)
    test = np.array([p if p.is_valid else shapely.make_valid(p) for p in shells], dtype=object)
    area = shapely.area(test)
    pairs = _inside(test)
    twice = {i: o for o, i in pairs if o < i and (i, o) in pairs}
    for i, o in twice.items():
        kept = usable[o][1]
        scan.dropped.append((usable[i][1].layer, {"id": usable[i][1].handle, "reason": (
            f"{usable[i][1].entity} on layer {usable[i][1].layer}: the same ring as {kept.entity} {kept.handle}")}))
    around = defaultdict(list)
    for o, i in pairs:
        if o not in twice and i not in twice:
            around[i].append(o)
    hole, holes = {}, defaultdict(list)
    for i in sorted(set(range(len(usable))) - set(twice), key=lambda k: (-area[k], k)):
        parent = min(around[i], key=lambda k: area[k]) if around[i] else None
        hole[i] = parent is not None and not hole.get(parent, False)
        if hole[i]:
            holes[parent].append(shells[i].exterior)
    scan.holes += sum(hole.values())
    return [(usable[i][1], shapely.Polygon(shells[i].exterior, holes[i])) for i in hole if not hole[i]]


def _inside(polygons: np.ndarray) -> set[tuple[int, int]]:
    """``(outer, inner)`` index pairs of the polygons lying inside others (the boxes tried first: a ring against
    itself or a box it is not in costs nothing)."""
    outer, inner = shapely.STRtree(polygons).query(polygons)
    box = shapely.bounds(polygons)
    maybe = (outer != inner) & np.all(box[outer, :2] <= box[inner, :2], axis=1) & np.all(
        box[outer, 2:] >= box[inner, 2:], axis=1)
    outer, inner = outer[maybe], inner[maybe]
    within = shapely.contains(polygons[outer], polygons[inner])
    return set(zip(outer[within].tolist(), inner[within].tolist()))


def _same(a, b) -> bool:
    try:
        return shapely.area(shapely.symmetric_difference(a, b)) <= _SAME_SHARE * max(a.area, b.area)
    except shapely.errors.GEOSException:
        return False


def _without_fills(features: list, scan: _Scan) -> list:
    """Without the hatches whose polygon is that of a polyline, circle… on the same layer (a fill of its
    boundary: one red line, not two)."""
    drawn = [(s, p) for s, p in features if s.entity != "HATCH"]
    if not drawn or len(drawn) == len(features):
        return features
    tree = shapely.STRtree([p for _, p in drawn])
    kept = []
    for shape, poly in features:
        twin = None
        if shape.entity == "HATCH":
            twin = next((drawn[k][0] for k in tree.query(poly) if drawn[k][0].layer == shape.layer
                         and _same(poly, drawn[k][1])), None)
        if twin is None:
            kept.append((shape, poly))
        else:
            scan.dropped.append((shape.layer, {"id": shape.handle, "reason": (
                f"HATCH on layer {shape.layer}: fills the shape of {twin.entity} {twin.handle} (read once)")}))
    return kept


def _units(doc, geoms: np.ndarray) -> tuple[float, list[str]]:
    """The factor from drawing units to metres (``$INSUNITS``), and a note on it."""
    code = int(doc.header.get("$INSUNITS", 0) or 0)
    if code == 6:
        return 1.0, []
    if code:
        try:
            factor = conversion_factor(code, 6)
        except (TypeError, ValueError, IndexError):
            return 1.0, [f"drawing units {unit_name(code)} ($INSUNITS {code}) not known: coordinates taken as metres"]
        name = _UNIT_NAMES.get(code, unit_name(code).lower())
        how = f"divided by {1 / factor:g}" if factor < 1 else f"multiplied by {factor:g}"
        return factor, [f"drawing units {name} ($INSUNITS {code}): coordinates {how} to metres"]
    largest = float(np.abs(shapely.total_bounds(geoms)).max()) if len(geoms) else 0.0
    if largest > 1e8:
        return 1.0, [f"drawing units not set ($INSUNITS 0): coordinates taken as metres, but they reach {largest:.3g}, "
                     f"too large for metres (a drawing in millimetres?); set the units in CAD (UNITS) and save again"]
    return 1.0, []


def _scan_notes(scan: _Scan) -> list[str]:
    """What the read did with the drawing, in plain sentences."""
    notes = []
    if scan.curved:
        notes.append(f"{scan.curved} shapes with arcs or curves (polyline bulges, circles, hatch arc edges, "
                     f"ellipses, splines): drawn as points on the curve, chords within 0.001 drawing units and "
                     f"2.5e-7 of the radius of it (the area cut off under 1e-6 of the arc's sector)")
    if scan.holes:
        notes.append(f"{scan.holes} closed rings lying inside others on their layer made into holes (even-odd: a ring "
                     f"inside a hole is a shape of its own)")
    if scan.from_blocks:
        notes.append(f"{scan.from_blocks} shapes read from blocks inserted in the drawing (INSERT; the INSERT's "
                     f"handle given)")
    if scan.too_deep:
        notes.append(f"{scan.too_deep} blocks nested deeper than {_MAX_DEPTH} levels not read")
    if scan.not_read:
        notes.append("not read (no shape redline reads): " + ", ".join(f"{n} {k}" for k, n in scan.not_read.items()))
    if scan.open:
        counts = ", ".join(f"{n} on layer {name}" for name, n in scan.open.most_common())
        notes.append(f"{sum(scan.open.values())} open polylines or lines not used (not closed): {counts}")
    return notes


def _layer_name(value) -> str:
    """A valid DXF layer name for a ``layer`` value (characters CAD refuses replaced by ``_``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _DEFAULT_LAYER
    return _BAD_LAYER_CHARS.sub("_", str(value)).strip() or _DEFAULT_LAYER


def write(gdf: gpd.GeoDataFrame, path: Path, *, encoding: str | None = None) -> None:
    """Write a layer as a DXF R2010 drawing (UTF-8, ``$INSUNITS`` 6 = metres) at exactly ``path``.

    Each polygon ring is a closed LWPOLYLINE (holes as closed polylines of their own on the same layer, which
    :func:`read` nests back), with the polygon's id (``project_id``, else the index) as a TEXT at a point inside
    it; lines are open LWPOLYLINEs, points POINTs. The drawing layer is the ``layer`` column, else ``REDLINE``.
    Coordinates are written as they are (z dropped).

    Parameters
    ----------
    gdf : GeoDataFrame
        In a metric CRS (or none).
    path : Path
        The file to write.
    encoding : str, optional
        Not used: DXF R2010 is UTF-8.

    Raises
    ------
    ValueError
        ``gdf`` is in a geographic CRS (reproject it to a metric one first).
    """
    if gdf.crs is not None and CRS.from_user_input(gdf.crs).is_geographic:
        raise ValueError("DXF output needs metric coordinates")
    doc = ezdxf.new("R2010", units=6)
    msp = doc.modelspace()
    layers = gdf["layer"] if "layer" in gdf.columns else [_DEFAULT_LAYER] * len(gdf)
    ids = gdf["project_id"] if "project_id" in gdf.columns else gdf.index
    for geom, layer, fid in zip(gdf.geometry, layers, ids):
        name = _layer_name(layer)
        if not doc.layers.has_entry(name):
            doc.layers.add(name)
        if geom is not None and not geom.is_empty:
            for part in shapely.get_parts(geom):
                _write_part(msp, part, name, fid)
    with atomic_output(path) as staged:  # nothing half-written, whoever calls
        doc.saveas(staged)


def _write_part(msp, part, layer: str, fid) -> None:
    """One single-part geometry into model space (a collection's parts each)."""
    attribs = {"layer": layer}
    if hasattr(part, "geoms"):  # a collection inside a collection
        for each in shapely.get_parts(part):
            _write_part(msp, each, layer, fid)
    elif isinstance(part, shapely.Polygon):
        for ring in [part.exterior, *part.interiors]:
            msp.add_lwpolyline(np.asarray(ring.coords)[:-1, :2].tolist(), format="xy", close=True, dxfattribs=attribs)
        x0, y0, x1, y1 = part.bounds
        height = max(min(x1 - x0, y1 - y0) / 20, 0.5)
        at = part.representative_point()
        msp.add_text(str(fid), height=height, dxfattribs=attribs).set_placement(
            (at.x, at.y), align=TextEntityAlignment.MIDDLE_CENTER)
    elif isinstance(part, shapely.LineString):
        msp.add_lwpolyline(np.asarray(part.coords)[:, :2].tolist(), format="xy", close=False, dxfattribs=attribs)
    elif isinstance(part, shapely.Point):
        msp.add_point((part.x, part.y), dxfattribs=attribs)
