"""Project siting screening (选址合规性分析): overlaps, distances, buffer rings and verdicts by rule.

For every project footprint and every layer kind given: the ellipsoidal area
it occupies (m², 公顷, 亩) and its share of the footprint, the zones hit, the
nearest distance when there is no overlap, what lies within buffer rings
around it, and what the catalog rule says for the project's category. The
verdict of a project is its most severe finding
(``prohibited`` > ``conditional`` > ``restricted`` > ``clear``).

Method: an STRtree query gives the (footprint, feature) candidate pairs, one
vectorised ``shapely.intersection`` cuts the pieces, pieces are unioned per
project × zone (overlapping features count once) and measured on the CGCS2000
ellipsoid. Distances: nearest feature and nearest points in a Gauss-Krüger
CRS near the data, then the geodesic distance between those points on GRS80.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Geod, Transformer

from .._resources import resource_dir
from ..geometry.area import UNITS, describe_repairs, dissolve, ellipsoidal_area, polygonal, repair, require_usable
from ..specs.catalog import SEVERITIES, SEVERITY_RANK, LayerKind, kind_problems, load_catalog
from ..geometry.crs import CGCS2000, describe_crs
from ..errors import CatalogError, CRSError, OutputError
from ..geometry.footprints import CATEGORY_FIELDS, ID_FIELDS, find_field, footprints, working_crs
from ..io import atomic_output, read_layer, read_toml, write_layers
from ..geometry.overlay import overlap_areas, union_groups as _union_groups
from ..io.partition import is_partitioned
from ..io.postgis import is_postgis, parse_uri, write_postgis
from ..specs.schema import Key, check, spec_error, suggest, unknown_name

__all__ = [
    "SafetyRule",
    "RuleSet",
    "ScreeningResult",
    "load_rules",
    "screen",
    "VERDICTS",
    "SEVERITY_LABELS",
]

Lang = Literal["zh", "en"]
#: Verdicts, most severe first.
VERDICTS: tuple[str, ...] = ("prohibited", "conditional", "restricted", "clear")
#: Labels of severities and verdicts.
SEVERITY_LABELS: dict[str, dict[str, str]] = {
    "zh": {"prohibited": "禁止", "conditional": "有条件准入", "restricted": "限制", "allowed": "允许", "clear": "无冲突"},
    "en": {"prohibited": "prohibited", "conditional": "conditional", "restricted": "restricted", "allowed": "allowed",
           "clear": "clear"},
}
_GEOD = Geod(ellps="GRS80")
_OUTSIDE_TOLERANCE_PCT = 0.01  # an inverted kind flags a footprint more than this share outside it
_OUTSIDE = {"zh": "界外", "en": "outside"}


# ---------------------------------------------------------------------------
# rule set


@dataclass(frozen=True)
class SafetyRule:
    """Projects of ``categories`` must stay at least ``min_distance_m`` from ``kind`` (zones: optional filter)."""

    categories: tuple[str, ...]
    kind: str
    min_distance_m: float
    severity: str = "prohibited"
    legal_basis: str = ""
    zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    """A screening rule set: project categories with labels, buffer rings, safety distances."""

    name: str
    categories: dict[str, tuple[str, str]]
    buffers_m: tuple[float, ...] = (500.0, 1000.0, 5000.0)
    safety: tuple[SafetyRule, ...] = ()
    source: str = ""

    def category_label(self, code: str | None, lang: Lang = "zh") -> str:
        """Label of a category code (the code itself when unknown).

        Examples
        --------
        >>> load_rules().category_label("heavy_metal")
        '涉重金属'
        """
        if code in self.categories:
            return self.categories[code][0 if lang == "zh" else 1]
        return str(code)

    def normalise_category(self, value) -> str | None:
        """The category code of a value given as a code or as a Chinese/English label.

        Examples
        --------
        >>> load_rules().normalise_category("工业")
        'industrial'
        """
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        text = str(value).strip()
        if text in self.categories:
            return text
        for code, (zh, en) in self.categories.items():
            if text == zh or text.lower() == en.lower() or text.lower() == code:
                return code
        return text or None


def _safety_label(i: int, rule) -> str:
    return f"[[safety_distance]] {i + 1}"


_SAFETY_SCHEMA = {
    "categories": Key("list", required=True, nonempty=True, items="string", what="a non-empty list of category codes"),
    "kind": Key("string", required=True, nonempty=True, what="a catalog kind (a string)"),
    "min_distance_m": Key("number", required=True, what="a positive number of metres"),
    "severity": Key("string", what="prohibited, conditional or restricted"),
    "legal_basis": Key("string"),
    "zones": Key("list", items="string", what="a list of zone names"),
}
#: The keys of a screening rule set (``analyses/screening-default.toml``, ``--rules``).
RULES_SCHEMA = {
    "name": Key("string"),
    "buffers_m": Key("list", items="number", what="a list of positive distances in metres"),
    "categories": Key("table", values=Key("list", what='["中文", "English"]'),
                      what='a table of code = ["中文", "English"]'),
    "safety_distance": Key("tables", label=_safety_label, what="an array of tables ([[safety_distance]])"),
}


def _validate_rules(data: dict, source: str, catalog: Mapping[str, LayerKind]) -> list[str]:
    """Every problem of a rule set (``source: problem`` for the catalog's, the rule set's own unprefixed)."""
    problems = check(data, RULES_SCHEMA)
    cats = data.get("categories")
    if cats is None or cats == {}:
        problems.append("[categories] must be a table of code = [\"中文\", \"English\"]")
    cats = cats if isinstance(cats, dict) else {}
    for code, labels in cats.items():
        if isinstance(labels, list) and not (len(labels) == 2 and all(isinstance(x, str) and x for x in labels)):
            problems.append(f"categories.{code} must be [\"中文\", \"English\"], not {labels!r}")
    buffers = data.get("buffers_m", [500, 1000, 5000])
    if isinstance(buffers, list) and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in buffers):
        if not all(b > 0 for b in buffers):
            problems.append(f"buffers_m must be a list of positive distances in metres, not {buffers}")
        elif list(buffers) != sorted(set(buffers)):
            problems.append(f"buffers_m must be increasing without repeats, got {buffers}")
    rules = data.get("safety_distance", [])
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue  # the schema said so
        where = _safety_label(i, rule) + ": "
        problems += check(rule, _SAFETY_SCHEMA, where)
        kind = rule.get("kind")
        if isinstance(kind, str) and kind and kind not in catalog:
            problems.append(f"{where}kind {kind!r} is not in the layer catalog: "
                            + unknown_name("kind", kind, catalog, "catalog kinds"))
        dist = rule.get("min_distance_m")
        if isinstance(dist, (int, float)) and not isinstance(dist, bool) and dist <= 0:
            problems.append(f"{where}min_distance_m must be a positive number of metres, got {dist!r}")
        sev = rule.get("severity", "prohibited")
        if isinstance(sev, str) and sev not in SEVERITIES[:3]:
            close = suggest(sev, SEVERITIES[:3])
            problems.append(f"{where}severity {sev!r} must be prohibited, conditional or restricted"
                            + (f" — did you mean {close}?" if close else ""))
        rc = rule.get("categories")
        unknown = [c for c in rc if isinstance(c, str) and c not in cats] if isinstance(rc, list) and cats else []
        if unknown:
            close = suggest(unknown[0], cats) if len(unknown) == 1 else None
            hint = f" — did you mean {close}?" if close else f" (the rule set's [categories]: {', '.join(cats)})"
            problems.append(f"{where}unknown categories {', '.join(map(repr, unknown))}{hint}")
        zones = rule.get("zones", [])
        entry = catalog.get(kind) if isinstance(kind, str) else None
        if entry is not None and entry.zones and isinstance(zones, list):
            problems += [f"{where}zones: " + unknown_name("zone", z, entry.zone_names(), "zones", of=f" of {kind}")
                         for z in zones if isinstance(z, str) and entry.find_zone(z) is None]
    # every category the catalog names must be known to the rule set
    for kind in catalog.values():
        rules_ = [("", kind.rule)] + [(f"zone {z.get('name_zh')}: ", kind.zone_rule(z)) for z in kind.zones]
        named = set(kind.applies_to)
        for _, r in rules_:
            named |= set(r.permitted_categories) | set(r.permitted_linear_categories) | set(r.prohibited_categories)
        unknown = sorted(c for c in named if c not in cats)
        if cats and unknown:
            problems.append(f"{kind.source}: categories not in the rule set's [categories]: {', '.join(unknown)}")
    return problems


def load_rules(path: str | os.PathLike | None = None, catalog: Mapping[str, LayerKind] | None = None) -> RuleSet:
    """Load and validate a screening rule set (default: the bundled ``analyses/screening-default.toml``).

    The categories named in the layer catalog (permitted, prohibited,
    ``applies_to``) are checked against the rule set's ``[categories]``.

    Raises
    ------
    CatalogError
        Listing every problem found.

    Examples
    --------
    >>> rules = load_rules()
    >>> rules.buffers_m
    (500.0, 1000.0, 5000.0)
    >>> rules.safety[0].categories, rules.safety[0].kind, rules.safety[0].min_distance_m
    (('heavy_metal',), 'urban_boundary', 500.0)
    """
    path = Path(path) if path is not None else resource_dir("analyses") / "screening-default.toml"
    catalog = load_catalog() if catalog is None else catalog
    data = read_toml(path, "screening rule set (TOML)")
    problems = _validate_rules(data, str(path), catalog)
    if problems:
        raise spec_error(path, "screening rule set", problems)

    def zone_names(kind: LayerKind, zones) -> tuple[str, ...]:  # as the screening labels features: by name_zh
        return tuple(kind.find_zone(z)["name_zh"] if kind.zones else z for z in zones)

    safety = tuple(
        SafetyRule(
            categories=tuple(r["categories"]),
            kind=r["kind"],
            min_distance_m=float(r["min_distance_m"]),
            severity=r.get("severity", "prohibited"),
            legal_basis=r.get("legal_basis", ""),
            zones=zone_names(catalog[r["kind"]], r.get("zones", ())),
        )
        for r in data.get("safety_distance", [])
    )
    return RuleSet(
        name=data.get("name", path.stem),
        categories={k: tuple(v) for k, v in data["categories"].items()},
        buffers_m=tuple(float(b) for b in data.get("buffers_m", (500, 1000, 5000))),
        safety=safety,
        source=str(path),
    )


# ---------------------------------------------------------------------------
# geometry helpers (vectorised; loops run over groups of pieces, never over layer features)


def _geodesic_nearest(fps: np.ndarray, feats: np.ndarray, crs, tree: shapely.STRtree | None = None) -> np.ndarray:
    """Geodesic distance (m) from each footprint to the nearest feature (0 when they meet); ``tree`` indexes ``feats``."""
    dist = np.full(len(fps), np.nan)
    if not len(feats) or not len(fps):
        return dist
    tree = tree if tree is not None else shapely.STRtree(feats)
    src, dst = tree.query_nearest(fps, all_matches=False)
    lines = shapely.shortest_line(fps[src], feats[dst])
    xy = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    tr = Transformer.from_crs(crs, CGCS2000, always_xy=True)
    lon, lat = tr.transform(xy[:, :, 0].ravel(), xy[:, :, 1].ravel())
    lon, lat = np.asarray(lon).reshape(-1, 2), np.asarray(lat).reshape(-1, 2)
    _, _, d = _GEOD.inv(lon[:, 0], lat[:, 0], lon[:, 1], lat[:, 1])
    d = np.asarray(d, dtype=float)
    d[shapely.intersects(fps[src], feats[dst])] = 0.0
    dist[src] = d
    return dist


_RING_QUAD_SEGS = 64  # a buffered disk's chords lie within 0.008 % of its radius (0.4 m at 5 km)
_RING_CHUNK = 500     # footprints per spatial-index query: bounds the candidate pairs held at once


def _count_within(tree: shapely.STRtree, areas: np.ndarray, n: int) -> np.ndarray:
    """Number of tree features intersecting each of ``areas`` (queried in chunks to bound memory)."""
    out = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, _RING_CHUNK):
        src, _ = tree.query(areas[lo:lo + _RING_CHUNK], predicate="intersects")
        out[lo:lo + _RING_CHUNK] = np.bincount(src, minlength=min(_RING_CHUNK, n - lo))
    return out


class _Tiles:
    """A layer dissolved within square tiles: each tile's piece and its ellipsoidal area.

    The area of the dissolved layer inside a polygon is then the sum of the areas of the tiles
    the polygon contains plus the intersections with the tiles on its edge — never an
    intersection with every feature nearby, so 5 km rings around thousands of projects over
    hundreds of thousands of parcels stay affordable. Pieces of different tiles don't overlap.
    """

    def __init__(self, feats: np.ndarray, crs, per_tile: int = 50):
        xmin, ymin, xmax, ymax = shapely.total_bounds(feats)
        width, height = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
        size = float(np.clip(np.sqrt(width * height * per_tile / max(len(feats), 1)), 100.0, 10_000.0))
        xs = xmin + size * np.arange(int(np.ceil(width / size)))
        ys = ymin + size * np.arange(int(np.ceil(height / size)))
        gx, gy = np.meshgrid(xs, ys)
        boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)
        ti, fi = shapely.STRtree(feats).query(boxes, predicate="intersects")
        pieces = feats[fi].copy()
        cut = ~shapely.contains_properly(boxes[ti], feats[fi])
        pieces[cut] = polygonal(shapely.intersection(boxes[ti[cut]], feats[fi[cut]]))
        ok = ~shapely.is_empty(pieces)
        codes, merged = _union_groups(pieces[ok], ti[ok])
        self.crs = crs
        self.boxes, self.pieces = boxes[codes], merged
        self.area = ellipsoidal_area(merged, crs=crs)
        self.tree = shapely.STRtree(self.boxes)

    def area_within(self, areas: np.ndarray) -> np.ndarray:
        """Ellipsoidal area (m²) of the dissolved layer inside each of ``areas``."""
        n = len(areas)
        out = np.zeros(n)
        for lo in range(0, n, _RING_CHUNK):
            chunk = areas[lo:lo + _RING_CHUNK]
            src, tile = self.tree.query(chunk, predicate="intersects")
            full = shapely.contains_properly(chunk[src], self.boxes[tile])
            part = ~full
            cut = polygonal(shapely.intersection(chunk[src[part]], self.pieces[tile[part]]))
            m = len(chunk)
            out[lo:lo + m] = (np.bincount(src[full], weights=self.area[tile[full]], minlength=m)
                              + np.bincount(src[part], weights=ellipsoidal_area(cut, crs=self.crs), minlength=m))
        return out


def _ring_stats(disks: list[np.ndarray], feats: np.ndarray, tree: shapely.STRtree, crs,
                touching: np.ndarray, overlap_m2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per footprint and ring: features whose nearest point lies in the ring, and the dissolved layer's area in it.

    ``disks`` are the footprints buffered by each ring distance, smallest first; ``touching`` and
    ``overlap_m2`` are the count of features meeting each footprint and the layer's area inside it.
    A ring holds what its outer disk holds minus what the inner one (the footprint itself for the
    first ring) holds. Returns two arrays of shape (footprints, rings).
    """
    n = len(touching)
    if not len(feats):
        return np.zeros((n, len(disks)), dtype=np.int64), np.zeros((n, len(disks)))
    within = np.stack([touching] + [_count_within(tree, disk, n) for disk in disks], axis=1)
    reachable = feats[tree.query(shapely.box(*shapely.total_bounds(disks[-1])))]  # what the largest rings reach
    if len(reachable):
        tiles = _Tiles(reachable, crs)
        covered = np.stack([overlap_m2] + [tiles.area_within(disk) for disk in disks], axis=1)
    else:
        covered = np.zeros((n, len(disks) + 1))
    return np.diff(within, axis=1), np.maximum(np.diff(covered, axis=1), 0.0)


# ---------------------------------------------------------------------------
# result


_HIT_KEYS = ("kind", "overlap_m2", "overlap_pct", "distance_m", "zones", "severity", "message")


@dataclass
class ScreeningResult:
    """The result of :func:`screen`.

    Attributes
    ----------
    projects : GeoDataFrame
        One row per project: footprint (in the projects' CRS), ``project_id``, ``category``,
        ``footprint_m2``/``_ha``/``_mu``, ``repaired``, ``verdict``, ``findings`` (the messages of
        what was flagged) and per kind ``<kind>_m2``, ``<kind>_pct``, ``<kind>_distance_m``, ``<kind>_severity``.
    hits : DataFrame
        One row per project × kind: ``project_id, kind, kind_label, overlap_m2, overlap_ha, overlap_mu,
        overlap_pct, outside_m2, distance_m, zones, severity, message``.
    encroachments : GeoDataFrame
        The overlap pieces, one row per project × kind × zone: ``project_id, kind, kind_label, zone,
        severity, area_m2, area_ha, area_mu, pct``. For an inverted kind (urban boundary) the piece
        is the part *outside* it, zone ``界外``, when the project's category is flagged there.
    buffers : GeoDataFrame
        The rings, one row per project × ring: ``project_id, inner_m, outer_m`` and per kind
        ``<kind>_n`` (features whose nearest point lies in the ring) and ``<kind>_m2`` (area of the
        dissolved layer in the ring).
    rings : DataFrame
        The same counts and areas in long form: ``project_id, kind, inner_m, outer_m, count, area_m2, area_ha``.
    """

    projects: gpd.GeoDataFrame
    hits: pd.DataFrame
    _encroachments: object  # the GeoDataFrame, or a function that builds it on first use
    buffers: gpd.GeoDataFrame
    rings: pd.DataFrame
    kinds: list[str]
    crs: str
    lang: str = "zh"
    notes: list[str] = field(default_factory=list)

    @property
    def encroachments(self) -> gpd.GeoDataFrame:
        """The overlap pieces (built on first use: screening's numbers don't need their geometry)."""
        if callable(self._encroachments):
            self._encroachments = self._encroachments()
        return self._encroachments

    @property
    def verdicts(self) -> pd.Series:
        """Verdict per project id."""
        return self.projects.set_index("project_id")["verdict"]

    def worst(self) -> str:
        """The most severe verdict over all projects (``clear`` when there are none)."""
        ranks = [SEVERITY_RANK[v] for v in self.projects["verdict"]]
        return VERDICTS[3 - max(ranks)] if ranks else "clear"

    def to_json(self) -> dict:
        """The ``--json`` object: ``projects`` (the command-line contract), ``rings``, ``notes``."""
        hits = {pid: grp for pid, grp in self.hits.groupby("project_id", sort=False)}
        projects = []
        for row in self.projects.itertuples(index=False):
            grp = hits.get(row.project_id)
            items = []
            if grp is not None:
                for h in grp.itertuples(index=False):
                    items.append({
                        "kind": h.kind,
                        "overlap_m2": round(float(h.overlap_m2), 3),
                        "overlap_pct": round(float(h.overlap_pct), 4),
                        "distance_m": None if pd.isna(h.distance_m) else round(float(h.distance_m), 2),
                        "zones": list(h.zones),
                        "severity": h.severity,
                        "message": h.message,
                    })
            projects.append({
                "id": _plain(row.project_id),
                "category": row.category,
                "footprint_m2": round(float(row.footprint_m2), 3),
                "verdict": row.verdict,
                "repaired": bool(row.repaired),
                "hits": items,
            })
        rings = self.rings.round({"area_m2": 3, "area_ha": 6}).to_dict(orient="records")
        return {"projects": projects, "rings": [{k: _plain(v) for k, v in r.items()} for r in rings],
                "notes": list(self.notes)}

    def table(self) -> pd.DataFrame:
        """One row per project × kind with the project's verdict: the ``--table`` output."""
        cols = ["project_id", "category", "footprint_m2", "repaired", "verdict"]
        extra = [c for c in ("name",) if c in self.projects.columns]
        base = pd.DataFrame(self.projects[cols + extra])
        hits = self.hits.copy()
        hits["zones"] = hits["zones"].map(lambda z: "、".join(z))
        return base.merge(hits, on="project_id", how="left")

    def to_file(self, path: str | os.PathLike) -> Path:
        """Write the layers ``projects``, ``encroachments`` and ``buffers`` to one GeoPackage, atomically —
        or to PostGIS tables ``NAME``, ``NAME_encroachments`` and ``NAME_buffers`` in one transaction when
        ``path`` is ``postgresql://…?table=NAME``.

        Examples
        --------
        >>> result.to_file("screening.gpkg")  # doctest: +SKIP
        """
        layers = {
            "projects": _for_file(self.projects),
            "encroachments": _for_file(self.encroachments),
            "buffers": _for_file(self.buffers),
        }
        if is_postgis(path):  # postgresql://…?table=NAME: tables NAME (projects), NAME_encroachments, NAME_buffers
            write_postgis({"": layers["projects"], "encroachments": layers["encroachments"],
                           "buffers": layers["buffers"]}, str(path))
            return parse_uri(str(path)).where
        return write_layers(layers, path, "screening output")

    def to_table(self, path: str | os.PathLike) -> Path:
        """Write the project × kind table as CSV (UTF-8 with BOM, for Excel) or ``.xlsx`` (two sheets).

        Examples
        --------
        >>> result.to_table("screening.csv")  # doctest: +SKIP
        """

        path = Path(path)
        suffix = path.suffix.lower()
        table = self.table()
        if suffix not in (".csv", ".xlsx"):
            raise OutputError(f"{path}: unknown table format {suffix!r}; use .csv or .xlsx")
        with atomic_output(path) as tmp:
            if suffix == ".csv":
                table.to_csv(tmp, index=False, encoding="utf-8-sig", float_format="%.6f")
            else:
                try:
                    import openpyxl  # noqa: F401
                except ImportError:
                    raise OutputError(f"{path}: writing .xlsx needs openpyxl (pip install openpyxl)") from None
                import io

                projects = pd.DataFrame(self.projects.drop(columns="geometry"))
                buf = io.BytesIO()  # in memory, written in one go (see redline.io._write_xlsx)
                with pd.ExcelWriter(buf, engine="openpyxl") as xl:
                    projects.to_excel(xl, sheet_name="projects", index=False)
                    table.to_excel(xl, sheet_name="hits", index=False)
                tmp.write_bytes(buf.getvalue())
        return path

    def explore(self, **kwargs):
        """An interactive folium map of the footprints (by verdict) and the encroachment pieces.

        Needs ``folium`` and ``mapclassify`` (geopandas' ``explore``).
        """
        colours = {"prohibited": "#c62828", "conditional": "#ef6c00", "restricted": "#f9a825", "clear": "#2e7d32"}
        proj = _for_file(self.projects).to_crs(CGCS2000)
        present = sorted(proj["verdict"].unique())
        m = proj.explore(column="verdict", cmap=[colours[v] for v in present],
                         tooltip=["project_id", "category", "verdict", "findings"], **kwargs)
        if len(self.encroachments):
            _for_file(self.encroachments).to_crs(CGCS2000).explore(m=m, color="#000000",
                                                                   tooltip=["project_id", "kind", "zone", "area_ha"])
        return m


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _for_file(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lists become text so GDAL can store them."""
    out = gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and out[col].map(lambda v: isinstance(v, (list, tuple))).any():
            out[col] = out[col].map(lambda v: "、".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
    return out


# ---------------------------------------------------------------------------
# messages


def _fmt_list(items: Iterable[str], lang: Lang) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def _message(lang: Lang, pid, kind: LayerKind, rules: RuleSet, category, linear: bool, overlap_m2, pct, dist,
             zones, severity, basis, permitted, exception: bool, outside_m2=0.0, outside_pct=0.0,
             applies=False) -> str:
    sev = SEVERITY_LABELS[lang][severity]
    name = kind.label(lang)
    cat = rules.category_label(category, lang)
    zone_txt = f" ({_fmt_list(zones, lang)})" if zones else ""
    perm = _fmt_list([rules.category_label(c, lang) for c in permitted], lang)
    if kind.inverted:
        if outside_m2 <= 0 or outside_pct <= _OUTSIDE_TOLERANCE_PCT:
            return f"{pid} 位于{name}内" if lang == "zh" else f"{pid} lies inside the {name}"
        if not applies:
            part = ("部分" if lang == "zh" else "partly ") if overlap_m2 > 0 else ""
            return (f"{pid} {part}位于{name}外 ({outside_m2 / 1e4:.2f} 公顷)，{cat}类项目不受此限"
                    if lang == "zh" else f"{pid} lies {part}outside the {name} ({outside_m2 / 1e4:.2f} ha); "
                    f"{cat} projects are not restricted by it")
        where = (f"距边界 {dist:,.0f} 米" if lang == "zh" else f"{dist:,.0f} m from it") if overlap_m2 <= 0 else ""
        if lang == "zh":
            text = (f"{pid} 位于{name}外 {outside_m2 / 1e4:.2f} 公顷 (占项目用地 {outside_pct:.1f}%)"
                    f"{'，' + where if where else ''}: {sev} — {basis}")
        else:
            text = (f"{pid} lies outside the {name}: {outside_m2 / 1e4:.2f} ha ({outside_pct:.1f} % of the footprint)"
                    f"{', ' + where if where else ''}: {sev} — {basis}")
        return text
    if overlap_m2 <= 0:
        if lang == "zh":
            return f"{pid} 未占用{name}" + (f"，最近距离 {dist:,.0f} 米" if np.isfinite(dist) else "")
        return f"{pid} does not occupy the {name}" + (f"; nearest {dist:,.0f} m" if np.isfinite(dist) else "")
    if lang == "zh":
        text = f"{pid} 占用{name}{zone_txt} {overlap_m2 / 1e4:.2f} 公顷 (占项目用地 {pct:.1f}%): {sev}"
        if exception:
            text += f" ({cat}属允许类别{'的线性工程' if linear else ''}，须依法审批)"
        if basis:
            text += f" — {basis}"
        if severity == "prohibited" and perm:
            text += f"; 允许类别: {perm}"
    else:
        text = f"{pid} occupies {overlap_m2 / 1e4:.2f} ha of the {name}{zone_txt} ({pct:.1f} % of the footprint): {sev}"
        if exception:
            text += f" ({cat}{' (linear)' if linear else ''} is a permitted category; approval required)"
        if basis:
            text += f" — {basis}"
        if severity == "prohibited" and perm:
            text += f"; permitted categories: {perm}"
    return text


def _safety_message(lang: Lang, pid, kind: LayerKind, rules: RuleSet, category, dist, rule: SafetyRule) -> str:
    sev = SEVERITY_LABELS[lang][rule.severity]
    cat = rules.category_label(category, lang)
    if lang == "zh":
        return (f"安全防护距离不足: {cat}项目距{kind.label('zh')} {dist:,.0f} 米 < {rule.min_distance_m:,.0f} 米: "
                f"{sev} — {rule.legal_basis}")
    return (f"safety distance not kept: {cat} project {dist:,.0f} m from the {kind.label('en')} < "
            f"{rule.min_distance_m:,.0f} m: {sev} — {rule.legal_basis}")


# ---------------------------------------------------------------------------
# the screen


_POSTGIS_REACH_M = 10_000.0  # PostGIS / partitioned layers: rows within this of the projects are read


def _as_layer(src, kind: str, notes: list[str], **read_options) -> gpd.GeoDataFrame:
    if isinstance(src, gpd.GeoDataFrame):
        gdf = src
        if gdf.crs is None:
            raise CRSError(f"layer {kind}: no CRS; set one on the GeoDataFrame")
        geoms = gdf.geometry.values
        bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if bad.any():
            notes.append(f"{kind}: {int(bad.sum())} features without geometry ignored")
            gdf = gdf.loc[~bad]
        fixed = repair(np.asarray(gdf.geometry.values, dtype=object), crs=gdf.crs, where=f"layer {kind}",
                       ids=gdf.index)
        if fixed.repaired.any():
            gdf = gdf.set_geometry(gpd.GeoSeries(fixed.geoms, index=gdf.index, crs=gdf.crs))
            notes.append(f"{kind}: {describe_repairs(fixed.fixes[fixed.repaired])}")
        return gdf

    gdf, report = read_layer(src, geometry="polygon", **read_options)
    for note in report.notes:
        notes.append(f"{kind}: {note}")
    return gdf


def _zone_labels(gdf: gpd.GeoDataFrame, kind: LayerKind, notes: list[str]) -> tuple[np.ndarray, dict]:
    """Zone label per feature, and the catalog zone (or None) per label."""
    fieldname = kind.zone_field(gdf.columns)
    if fieldname is None:
        if kind.zones:
            notes.append(f"{kind.kind}: no zone field ({', '.join(kind.zone_fields)}); the kind's rule applies to all")
        return np.full(len(gdf), "", dtype=object), {"": None}
    raw = gdf[fieldname].astype("string").fillna("").str.strip()
    zones = {}
    for value in raw.unique():
        zones[value] = kind.match_zone(value) if kind.zones else None
    labels = raw.map(lambda v: zones[v]["name_zh"] if zones[v] is not None else v).to_numpy(dtype=object)
    by_label = {}
    for value, zone in zones.items():
        by_label[zone["name_zh"] if zone else value] = zone
    if kind.zones:
        unknown = sorted(v for v, z in zones.items() if z is None and v)
        if unknown:
            notes.append(f"{kind.kind}: zone values not in the catalog ({', '.join(unknown)}): the kind's rule applies")
    return labels, by_label


def screen(
    projects,
    layers: Mapping[str, object],
    *,
    boundary=None,
    id_field: str | None = None,
    category_field: str | None = None,
    buffers: Iterable[float] | None = None,
    line_width: float | None = None,
    point_radius: float | None = None,
    rules: RuleSet | str | os.PathLike | None = None,
    catalog: Mapping[str, LayerKind] | None = None,
    lang: Lang = "zh",
    repaired: Iterable | None = None,
    crs=None,
) -> ScreeningResult:
    """Screen project footprints against control-line layers.

    Parameters
    ----------
    projects : GeoDataFrame or path
        Polygons, lines (with ``width_m``) and points (with ``radius_m``), in any CRS.
        A path is read with :func:`redline.read_layer` (invalid geometries repaired and flagged).
    layers : mapping of kind -> GeoDataFrame or path
        Catalog kinds (``eco_redline``, ``basic_farmland``, ``urban_boundary`` …), each in any CRS.
    boundary : GeoDataFrame or path, optional
        The district: the part of each footprint outside it is reported (``outside_boundary_m2``).
    id_field, category_field : str, optional
        Default: first of ``project_id, id, name, 编号, 名称`` / ``category, 类别, 项目类别, type``.
    buffers : iterable of float, optional
        Ring distances in metres (default: the rule set's, 500, 1000, 5000); empty for none.
    line_width, point_radius : float, optional
        Width (m) of lines and radius (m) of points without a ``width_m`` / ``radius_m``.
    rules : RuleSet or path, optional
        Screening rule set (categories, rings, safety distances); default the bundled one.
    catalog : mapping, optional
        The layer catalog; default :func:`redline.load_catalog`.
    lang : {"zh", "en"}
        Language of the messages.
    repaired : iterable or mapping, optional
        Index values of projects already repaired upstream, to flag them; a mapping gives what was done to
        each (the ``repair`` of :attr:`redline.io.ReadReport.repaired`).
    crs : optional
        The metric CRS the work is done in (default: the CGCS2000 Gauss-Krüger zone of the projects).
        The Dask engine passes the whole set's to each chunk, so chunks measure exactly as one run.

    Returns
    -------
    ScreeningResult

    Raises
    ------
    CatalogError
        Unknown layer kind or invalid rule set.
    GeometryError, CRSError, LayerReadError
        Unusable project or layer data.

    Examples
    --------
    >>> from shapely import box
    >>> p = gpd.GeoDataFrame({"project_id": ["A"], "category": ["mining"]},
    ...                      geometry=[box(108.70, 29.50, 108.71, 29.51)], crs="EPSG:4490")
    >>> red = gpd.GeoDataFrame(geometry=[box(108.705, 29.49, 108.72, 29.52)], crs="EPSG:4490")
    >>> r = screen(p, {"eco_redline": red}, buffers=[])
    >>> r.projects.verdict.tolist(), round(float(r.hits.overlap_pct.iloc[0]), 1)
    (['prohibited'], 50.0)
    """
    catalog = load_catalog() if catalog is None else catalog
    if not isinstance(rules, RuleSet):
        rules = load_rules(rules, catalog)
    unknown = kind_problems(layers, catalog)
    if unknown:
        raise CatalogError("; ".join(unknown))
    if not layers:
        raise CatalogError("no layers to screen against; give at least one (e.g. eco_redline=PATH)")
    rings_m = tuple(float(b) for b in (rules.buffers_m if buffers is None else buffers))
    if any(b <= 0 for b in rings_m) or list(rings_m) != sorted(set(rings_m)):
        raise ValueError(f"buffers must be increasing positive distances in metres, got {list(rings_m)}")
    notes: list[str] = []
    repaired = dict(repaired) if isinstance(repaired, Mapping) else dict.fromkeys(repaired or (), "")
    if not isinstance(projects, gpd.GeoDataFrame):

        projects, report = read_layer(projects, geometry="any")
        repaired.update({r["id"]: r.get("repair", "") for r in report.repaired})
        notes += [f"projects: {n}" for n in report.notes]
    if not len(projects):
        raise ValueError("no projects to screen")
    idf = find_field(projects.columns, id_field, ID_FIELDS, "id")
    if idf is None:
        ids = [str(i) for i in projects.index]
        notes.append(f"projects: no id field ({', '.join(ID_FIELDS)}); the feature ids are used")
    else:
        ids = [str(v) for v in projects[idf]]
    dup = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dup:
        notes.append(f"projects: duplicate ids {', '.join(dup)}")
    cf = find_field(projects.columns, category_field, CATEGORY_FIELDS, "category")
    if cf is None:
        notes.append(f"projects: no category field ({', '.join(CATEGORY_FIELDS)}); no category is permitted anywhere")
        cats = [None] * len(projects)
    else:
        cats = [rules.normalise_category(v) for v in projects[cf]]
    strange = sorted({c for c in cats if c is not None and c not in rules.categories})
    if strange:
        notes.append(f"projects: categories not in the rule set ({', '.join(strange)}): treated as not permitted")
    if projects.crs is None:
        raise CRSError("the projects have no CRS: set one on the layer")
    # before the working CRS is chosen from their extent (a 1e300 would choose it) and GEOS meets them
    require_usable(projects.geometry.values, projects.crs, where="projects", ids=ids)
    crs = working_crs(projects) if crs is None else str(crs)
    fp = footprints(projects, crs=crs, ids=ids, line_width=line_width, point_radius=point_radius, repaired=repaired)
    fpg = fp.geometry.values
    fp_m2 = fp["footprint_m2"].to_numpy()
    linear = fp["linear"].to_numpy()
    n = len(fp)
    for i, fix in zip(np.flatnonzero(fp["repaired"].to_numpy()), fp["repair"].to_numpy()[fp["repaired"].to_numpy()]):
        notes.append(f"projects: {ids[i]}: invalid footprint repaired ({fix or 'when read'})")

    hit_rows, pieces_rows, ring_rows = [], [], []
    disks, ring_geoms = [], []
    if rings_m:  # nested disks: the footprint, then the footprint buffered by each distance
        disks = [fpg] + [shapely.buffer(fpg, d, quad_segs=_RING_QUAD_SEGS) for d in rings_m]
        ring_geoms = [shapely.difference(disks[r + 1], disks[r]) for r in range(len(rings_m))]
    per_kind_cols: dict[str, dict[str, np.ndarray]] = {}
    for kind_name, src in layers.items():
        kind = catalog[kind_name]
        reach = None
        if not isinstance(src, gpd.GeoDataFrame) and (is_postgis(src) or is_partitioned(src)):
            # only the rows (partitions) near the projects are read: within the rings, safety distances, 10 km
            reach = max([_POSTGIS_REACH_M, *(rings_m or []),
                         *(r.min_distance_m for r in rules.safety if r.kind == kind_name)])
            x0, y0, x1, y1 = shapely.total_bounds(fpg)
            box = (x0 - reach, y0 - reach, x1 + reach, y1 + reach)
            lyr = _as_layer(src, kind_name, notes, bbox=tuple(box), bbox_crs=crs)
            notes.append(f"{kind_name}: read within {reach / 1000:,.0f} km of the projects "
                         f"({'PostGIS' if is_postgis(src) else 'partitions'}); nearer distances are exact, larger "
                         f"ones are not reported")
        else:
            lyr = _as_layer(src, kind_name, notes)
        if not CRS.from_user_input(lyr.crs).equals(CRS.from_user_input(crs)):
            notes.append(f"{kind_name}: reprojected from {describe_crs(lyr.crs)} to {describe_crs(crs)}")
            lyr = lyr.to_crs(crs)
        labels, zone_of = _zone_labels(lyr, kind, notes)
        feats = polygonal(lyr.geometry.values)
        keep = ~shapely.is_empty(feats)
        feats, labels = feats[keep], labels[keep]
        tree = shapely.STRtree(feats)
        ov = overlap_areas(fpg, feats, labels, tree, crs)
        touching = ov.touching
        label_codes, gp, gl, garea = ov.label_codes, ov.group_project, ov.group_label, ov.group_m2
        overlap = np.minimum(ov.overlap_m2, fp_m2)
        pct = 100.0 * overlap / fp_m2
        dist = np.zeros(n)
        apart = overlap <= 0
        dist[apart] = _geodesic_nearest(fpg[apart], feats, crs, tree)  # 0 where they overlap
        if reach is not None:  # a nearer feature beyond the box read cannot be ruled out
            dist[dist > reach] = np.nan
        severity = np.array(["clear"] * n, dtype=object)
        basis = [""] * n
        permitted: list[tuple] = [()] * n
        exception = np.zeros(n, bool)
        zones_hit: list[list[str]] = [[] for _ in range(n)]
        zone_order = {z["name_zh"]: i for i, z in enumerate(kind.zones)}
        outside = np.zeros(n)
        applies = np.array([c in kind.applies_to for c in cats]) if kind.inverted else np.zeros(n, bool)
        if kind.inverted:
            covered = np.full(n, None, dtype=object)
            covered[:] = [shapely.Polygon()] * n
            pcodes, ppieces = ov.project_geometries()
            covered[pcodes] = ppieces
            out_geoms = polygonal(shapely.difference(fpg, covered))
            outside = np.maximum(fp_m2 - overlap, 0.0)
            outside_pct = 100.0 * outside / fp_m2
            for p in range(n):
                zones_hit[p] = sorted({str(label_codes[l]) for l in gl[gp == p] if label_codes[l]})
                if applies[p] and outside_pct[p] > _OUTSIDE_TOLERANCE_PCT:
                    severity[p], basis[p] = kind.rule.severity, kind.rule.legal_basis
                    pieces_rows.append((p, kind_name, _OUTSIDE[lang], kind.rule.severity, out_geoms[p], outside[p]))
                elif overlap[p] > 0 or outside_pct[p] > _OUTSIDE_TOLERANCE_PCT:
                    severity[p] = "allowed"
        else:
            outside_pct = np.zeros(n)
            for g in range(len(gp)):
                p, label = int(gp[g]), str(label_codes[gl[g]])
                rule = kind.zone_rule(zone_of.get(label))
                sev, exc = rule.assess(cats[p], bool(linear[p]))
                pieces_rows.append((p, kind_name, label, sev, (ov, g), garea[g]))
                if label:
                    zones_hit[p].append(label)
                if severity[p] == "clear" or SEVERITY_RANK[sev] > SEVERITY_RANK[severity[p]]:
                    severity[p], basis[p], permitted[p], exception[p] = (
                        sev, rule.legal_basis, rule.permitted(bool(linear[p])), exc)
            for p in range(n):
                zones_hit[p] = sorted(set(zones_hit[p]), key=lambda z: (zone_order.get(z, 99), z))
        messages = [
            _message(lang, ids[p], kind, rules, cats[p], bool(linear[p]), overlap[p], pct[p], dist[p], zones_hit[p],
                     severity[p] if severity[p] != "clear" else "allowed", basis[p], permitted[p], bool(exception[p]),
                     outside[p], outside_pct[p], bool(applies[p]))
            for p in range(n)
        ]
        # safety distances
        for rule in rules.safety:
            if rule.kind != kind_name:
                continue
            sel = np.array([c in rule.categories for c in cats])
            if not sel.any():
                continue
            if rule.zones:
                mask = np.isin(labels.astype(str), list(rule.zones))
                d = _geodesic_nearest(fpg, feats[mask], crs) if mask.any() else np.full(n, np.nan)
            else:
                d = dist
            for p in np.flatnonzero(sel & (d < rule.min_distance_m)):
                msg = _safety_message(lang, ids[p], kind, rules, cats[p], d[p], rule)
                messages[p] = f"{messages[p]}; {msg}"
                if SEVERITY_RANK[rule.severity] >= SEVERITY_RANK[severity[p]]:
                    severity[p] = rule.severity
        for p in range(n):
            hit_rows.append({
                "project_id": ids[p], "kind": kind_name, "kind_label": kind.label(lang),
                "overlap_m2": overlap[p], "overlap_ha": overlap[p] / UNITS["ha"], "overlap_mu": overlap[p] / UNITS["mu"],
                "overlap_pct": pct[p], "outside_m2": outside[p], "distance_m": dist[p], "zones": zones_hit[p],
                "severity": severity[p], "message": messages[p],
            })
        per_kind_cols[kind_name] = {"m2": overlap, "pct": pct, "distance_m": dist, "severity": severity}
        # buffer rings: features counted in the ring holding their nearest point; area of the dissolved layer
        if rings_m:
            counts, areas = _ring_stats(disks[1:], feats, tree, crs, touching, overlap)
            for r, (inner, outer) in enumerate(zip((0.0,) + rings_m[:-1], rings_m)):
                for p in range(n):
                    ring_rows.append({"project_id": ids[p], "kind": kind_name, "inner_m": inner, "outer_m": outer,
                                      "count": int(counts[p, r]), "area_m2": areas[p, r],
                                      "area_ha": areas[p, r] / UNITS["ha"]})

    hits = pd.DataFrame(hit_rows, columns=["project_id", "kind", "kind_label", "overlap_m2", "overlap_ha",
                                           "overlap_mu", "overlap_pct", "outside_m2", "distance_m", "zones",
                                           "severity", "message"])
    # verdicts and the projects layer
    rank = hits["severity"].map(SEVERITY_RANK).to_numpy().reshape(len(layers), n).max(axis=0) if n else []
    verdict = [VERDICTS[3 - r] for r in rank]
    # the messages of what was flagged, per project (hits are kind-major: row k * n + p)
    flagged = (hits["severity"].map(SEVERITY_RANK).to_numpy() > 0).reshape(len(layers), n) if n else np.zeros((0, 0))
    messages = hits["message"].to_numpy().reshape(len(layers), n) if n else np.zeros((0, 0))
    findings = [" | ".join(messages[flagged[:, p], p]) for p in range(n)]
    keep_cols = [c for c in projects.columns if c != projects.geometry.name]
    reserved = {"project_id", "category", "verdict", "findings", "repaired", "buffer_m"}
    reserved |= {c for c in keep_cols if c.startswith("footprint_") or c.startswith(tuple(layers))}
    out = pd.DataFrame(projects[[c for c in keep_cols if c not in reserved]]).reset_index(drop=True)
    out.insert(0, "project_id", ids)
    out["category"] = cats
    out["category_label"] = [rules.category_label(c, lang) if c is not None else "" for c in cats]
    out["footprint_m2"] = fp_m2
    out["footprint_ha"] = fp_m2 / UNITS["ha"]
    out["footprint_mu"] = fp_m2 / UNITS["mu"]
    out["buffer_m"] = fp["buffer_m"].to_numpy()
    out["repaired"] = fp["repaired"].to_numpy()
    out["verdict"] = verdict
    out["findings"] = findings
    for kind_name, cols in per_kind_cols.items():
        for key, values in cols.items():
            out[f"{kind_name}_{key}"] = values
    if boundary is not None:
        bnd = _as_layer(boundary, "boundary", notes).to_crs(crs)
        district = dissolve(bnd.geometry.values)
        outside_b = ellipsoidal_area(polygonal(shapely.difference(fpg, district)), crs=crs)
        out["outside_boundary_m2"] = outside_b
        out["outside_boundary_pct"] = 100.0 * outside_b / fp_m2
        for p in np.flatnonzero(outside_b > 0.5):
            notes.append(f"{ids[p]}: {100.0 * outside_b[p] / fp_m2[p]:.1f} % of the footprint lies outside the boundary "
                         "(layers may not cover it)")
    out_crs = projects.crs
    proj_gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(fpg, crs=crs).to_crs(out_crs).values, crs=out_crs)

    enc = pd.DataFrame(pieces_rows, columns=["p", "kind", "zone", "severity", "geometry", "area_m2"])
    enc.insert(0, "project_id", [ids[p] for p in enc["p"]])
    enc["kind_label"] = [catalog[k].label(lang) for k in enc["kind"]]
    enc["area_ha"] = enc["area_m2"] / UNITS["ha"]
    enc["area_mu"] = enc["area_m2"] / UNITS["mu"]
    enc["pct"] = 100.0 * enc["area_m2"] / fp_m2[enc["p"].to_numpy(int)] if len(enc) else []
    enc = enc.drop(columns="p")[["project_id", "kind", "kind_label", "zone", "severity", "area_m2", "area_ha", "area_mu",
                                 "pct", "geometry"]]

    def encroachment_layer() -> gpd.GeoDataFrame:
        # piece geometries are dissolved only now, when asked for (the numbers never need them)
        geoms = [g[0].group_geoms[g[1]] if isinstance(g, tuple) else g for g in enc["geometry"]]
        table = enc.drop(columns="geometry")
        return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs=crs).to_crs(out_crs).values, crs=out_crs)

    rings = pd.DataFrame(ring_rows, columns=["project_id", "kind", "inner_m", "outer_m", "count", "area_m2", "area_ha"])
    buf_rows, buf_geoms = [], []
    for r, (inner, outer) in enumerate(zip((0.0,) + rings_m[:-1], rings_m)):
        for p in range(n):
            row = {"project_id": ids[p], "inner_m": inner, "outer_m": outer}
            buf_rows.append(row)
            buf_geoms.append(ring_geoms[r][p])
    buffers_df = pd.DataFrame(buf_rows, columns=["project_id", "inner_m", "outer_m"])
    if len(rings):
        wide = rings.pivot_table(index=["project_id", "outer_m"], columns="kind", values=["count", "area_m2"],
                                 aggfunc="sum", sort=False)
        for kind_name in layers:
            key = list(zip(buffers_df.project_id, buffers_df.outer_m))
            buffers_df[f"{kind_name}_n"] = wide[("count", kind_name)].reindex(key).to_numpy().astype(int)
            buffers_df[f"{kind_name}_m2"] = wide[("area_m2", kind_name)].reindex(key).to_numpy()
    buf_gdf = gpd.GeoDataFrame(buffers_df, geometry=gpd.GeoSeries(np.asarray(buf_geoms, dtype=object), crs=crs)
                               .to_crs(out_crs).values if buf_geoms else [], crs=out_crs)
    return ScreeningResult(proj_gdf, hits, encroachment_layer, buf_gdf, rings, list(layers), str(crs), lang, notes)
