"""What land each project occupies (占用地类): its footprint cut by the 三调 land-use layer, per class, grouped into
农用地 / 建设用地 / 未利用地 and 耕地 (水田, 水浇地, 旱地), optionally by 权属性质 (国有 / 集体) — the tables of a
建设项目用地预审 and 规划选址.

Every square metre of a footprint is counted once: land-use polygons that overlap each other (bad data) give the
overlap to the first in file order (and a note says how much), and the part no land-use polygon covers is its own
piece, ``uncovered`` — never dropped. Classes and uncovered add up to the footprint; the uncovered piece is
measured from its own geometry, not taken as the remainder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..geometry._parallel import query, threaded
from ..geometry.area import UNITS, ellipsoidal_area
from ..geometry.clean import polygonal, reproject
from ..geometry.footprints import find_field
from ..geometry.overlay import overlap_pairs
from ..errors import FieldError
from ..specs.landclasses import GROUPS, UNCLASSIFIED, LandClasses, load_land_classes

__all__ = ["LandTake", "land_take", "UNCOVERED", "SUMMARY_KEYS"]

#: The class code of the part of a footprint no land-use polygon covers.
UNCOVERED = "uncovered"
#: The per-project figures (m²) of :meth:`LandTake.summary`, in the order of the JSON.
SUMMARY_KEYS = ("agricultural_m2", "construction_m2", "unused_m2", "farmland_m2", "paddy_m2", "irrigated_m2",
                "dry_m2", "uncovered_m2")


@dataclass
class LandTake:
    """The land each project occupies.

    ``pieces``: one row per project × class (× ownership): ``project_id, code, name, group, ownership, area_m2,
    area_ha, area_mu`` and the geometry (in the footprints' CRS); the uncovered part is ``code`` ``uncovered``.
    ``footprint_m2``: each project's footprint, by id. ``notes``: what was found (overlapping or unknown classes).
    """

    pieces: gpd.GeoDataFrame
    footprint_m2: pd.Series
    classes: LandClasses
    by_ownership: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per project: :data:`SUMMARY_KEYS` (and ``unclassified_m2``), in m²."""
        p = self.pieces
        out = pd.DataFrame(index=self.footprint_m2.index)
        for group in GROUPS:
            out[f"{group}_m2"] = p[p["group"] == group].groupby("project_id")["area_m2"].sum()
        farm = self.classes.farmland
        out["farmland_m2"] = p[p["code"].isin(farm.values())].groupby("project_id")["area_m2"].sum()
        for key in ("paddy", "irrigated", "dry"):
            out[f"{key}_m2"] = p[p["code"] == farm[key]].groupby("project_id")["area_m2"].sum()
        out["uncovered_m2"] = p[p["code"] == UNCOVERED].groupby("project_id")["area_m2"].sum()
        out["unclassified_m2"] = p[p["group"] == UNCLASSIFIED].groupby("project_id")["area_m2"].sum()
        return out.fillna(0.0)

    def to_json(self) -> dict:
        """Per project id: ``{"classes": [{"code", "name", "group", "area_m2"}], <SUMMARY_KEYS>…}`` (and
        ``"by_ownership": {"state": {...}, "collective": {...}, "unknown": {...}}`` when split by 权属性质).
        Built column by column: thousands of projects in a fraction of a second."""
        summary = self.summary()
        p = self.pieces
        cls = (p[p["code"] != UNCOVERED].groupby(["project_id", "code", "name", "group"], sort=True)["area_m2"]
               .sum().reset_index())
        classes: dict = {}
        for pid, code, name, group, m2 in zip(*(cls[c].tolist() for c in ("project_id", "code", "name", "group",
                                                                          "area_m2"))):
            classes.setdefault(pid, []).append({"code": code, "name": name, "group": group, "area_m2": round(m2, 3)})
        keys = (*SUMMARY_KEYS, "unclassified_m2")
        figures = {k: summary[k].astype(float).tolist() for k in keys}
        owned = self._by_ownership() if self.by_ownership else None
        present = set(p["project_id"].tolist())
        out = {}
        for i, pid in enumerate(summary.index.tolist()):
            if pid not in present:  # as before: the projects that have pieces
                continue
            entry = {"classes": classes.get(pid, []), **{k: round(figures[k][i], 3) for k in keys}}
            if owned is not None:
                entry["by_ownership"] = {who: {f"{g}_m2": round(owned.get((pid, who, g), 0.0), 3) for g in GROUPS}
                                         for who in ("state", "collective", "unknown")}
            out[pid] = entry
        return out

    def _by_ownership(self) -> dict:
        p = self.pieces
        sums = p.groupby(["project_id", "ownership", "group"], dropna=False)["area_m2"].sum()
        return {key: float(v) for key, v in sums.items()}

    def table(self) -> pd.DataFrame:
        """The pieces without geometry, in m², 公顷 (4 decimals) and 亩 (2 decimals), as approvals use them."""
        t = pd.DataFrame(self.pieces.drop(columns=self.pieces.geometry.name))
        return t.round({"area_m2": 2, "area_ha": 4, "area_mu": 2})


def _prepare(landuse: gpd.GeoDataFrame, crs, code_field, ownership_field, classes: LandClasses, notes: list[str]):
    """The land-use polygons in ``crs`` with their codes (and ownership) as strings."""
    code = find_field(landuse.columns, code_field, classes.code_fields, "class code", where="land use")
    if code is None:
        raise FieldError(f"land use: no class-code field ({', '.join(classes.code_fields)}); name it with "
                         f"--landuse-field")
    owner = None
    if ownership_field is not None:
        owner = find_field(landuse.columns, ownership_field, classes.ownership_fields, "ownership", where="land use")
    lu = reproject(landuse, crs, notes.append, "land use")
    geoms = polygonal(lu.geometry.values)
    keep = ~shapely.is_empty(geoms)
    codes = lu[code].astype(str).str.strip().to_numpy()[keep]
    owners = lu[owner].to_numpy()[keep] if owner else np.full(keep.sum(), None, dtype=object)
    return geoms[keep], codes, owners


def _pieces(fp: np.ndarray, feats: np.ndarray, notes: list[str], crs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(project, feature, piece) for every footprint × land-use feature meeting it, overlaps between land-use
    features given to the first in file order."""
    tree = shapely.STRtree(feats)
    pi, fi = query(tree, fp, "intersects")
    order = np.lexsort((fi, pi))
    pi, fi = pi[order], fi[order]
    cut = polygonal(threaded(shapely.intersection, fp[pi], feats[fi]))
    a, b = overlap_pairs(feats, np.unique(fi)) if len(fi) else (np.array([], int), np.array([], int))
    if len(a):
        earlier = {}
        for x, y in zip(a, b):
            first, later = (x, y) if x < y else (y, x)
            earlier.setdefault(int(later), []).append(int(first))
        lost = 0.0
        for k in np.flatnonzero(np.isin(fi, list(earlier))):
            mine = (pi == pi[k]) & np.isin(fi, earlier[int(fi[k])])
            if mine.any():
                before = cut[k]
                cut[k] = polygonal(np.array([shapely.difference(before, shapely.union_all(cut[mine]))]))[0]
                lost += float(ellipsoidal_area(np.array([before]), crs=crs)[0] - ellipsoidal_area(np.array([cut[k]]), crs=crs)[0])
        if lost >= 0.01:  # below a hundredth of a m², the rounding of a tessellation
            notes.append(f"land use: {len(earlier)} polygons overlap others inside the footprints "
                         f"({lost:,.1f} m²): the overlap is counted once, for the first in file order; fix the layer")
    ok = ~shapely.is_empty(cut)
    return pi[ok], fi[ok], cut[ok]


def land_take(footprints: np.ndarray, ids, crs, landuse: gpd.GeoDataFrame, *, code_field: str | None = None,
              ownership_field: str | None = None, classes: LandClasses | None = None) -> LandTake:
    """The land the footprints (polygons in the metric ``crs``, one per id) occupy, by 三调 class.

    Parameters
    ----------
    footprints, ids, crs
        The footprints (as screening makes them) and their project ids.
    landuse : GeoDataFrame
        The 三调 land-use layer (any CRS), with a class-code field (``--landuse-field``, else ``DLBM`` …).
    ownership_field : str, optional
        The 权属性质 field (``QSXZ``): pieces split by 国有 / 集体.
    classes : LandClasses, optional
        Codes → 三大类 (default :func:`redline.specs.landclasses.load_land_classes`).

    Examples
    --------
    >>> from shapely import box
    >>> lu = gpd.GeoDataFrame({"DLBM": ["0101", "0601"]}, geometry=[box(0, 0, 50, 100), box(50, 0, 80, 100)],
    ...                       crs="EPSG:4545")
    >>> take = land_take(np.array([box(480000, 0, 480100, 100)]), ["A"], "EPSG:4545",
    ...                  lu.set_geometry(lu.translate(480000)))
    >>> s = take.summary().loc["A"]
    >>> round(float(s.paddy_m2 / s.construction_m2), 2), round(float(s.uncovered_m2 / (s.paddy_m2 + s.construction_m2)), 2)
    (1.67, 0.25)
    """
    classes = classes or load_land_classes()
    notes: list[str] = []
    ids = list(ids)
    feats, codes, owners = _prepare(landuse, crs, code_field, ownership_field, classes, notes)
    pi, fi, cut = _pieces(footprints, feats, notes, crs)
    rows = pd.DataFrame({"project": pi, "code": codes[fi] if len(fi) else np.array([], str),
                         "ownership": [_owner(classes, o) if ownership_field else None for o in owners[fi]]})
    keys = rows.groupby(["project", "code", "ownership"], sort=False, dropna=False).ngroup().to_numpy()
    geoms = _union_by(cut, keys)
    first = rows.drop_duplicates(keep="first").reset_index(drop=True) if len(rows) else rows
    covered = _union_by(cut, pi)
    uncovered = _uncovered(footprints, np.unique(pi), covered)
    pieces = _table(ids, first, geoms, uncovered, classes, crs)
    unknown = sorted(set(pieces.loc[pieces["group"] == UNCLASSIFIED, "code"]))
    if unknown:
        notes.append(f"land use: class codes not in the class map ({', '.join(unknown)}): shown as unclassified")
    fp_m2 = pd.Series(ellipsoidal_area(footprints, crs=crs), index=pd.Index(ids, name="project_id"))
    return LandTake(pieces, fp_m2, classes, ownership_field is not None, notes)


def _owner(classes: LandClasses, value) -> str:
    return classes.owner(value) or "unknown"


def _union_by(geoms: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """One geometry per key, in key order of first appearance (the pieces don't overlap: a coverage union)."""
    if not len(geoms):
        return np.array([], dtype=object)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    out = np.empty(len(first), dtype=object)
    for j in range(len(first)):
        members = geoms[inverse == j]
        out[j] = members[0] if len(members) == 1 else shapely.union_all(members)
    order = np.argsort(first)  # first appearance
    return polygonal(out[order])


def _uncovered(footprints: np.ndarray, touched: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The part of each footprint no land-use polygon covers (the whole footprint where none meets it)."""
    out = footprints.copy()
    if len(touched):
        out[touched] = polygonal(threaded(shapely.difference, footprints[touched], covered))
    return out


def _table(ids: list, first: pd.DataFrame, geoms: np.ndarray, uncovered: np.ndarray, classes: LandClasses,
           crs) -> gpd.GeoDataFrame:
    """The pieces (classes, then each project's uncovered part), with names, groups and areas."""
    left = ~shapely.is_empty(uncovered)
    codes = [*first["code"], *[UNCOVERED] * int(left.sum())]
    frame = pd.DataFrame({
        "project_id": [ids[p] for p in first["project"]] + [ids[i] for i in np.flatnonzero(left)],
        "code": codes,
        "name": [classes.class_name(c) if c != UNCOVERED else "" for c in codes],
        "group": [classes.group(c) if c != UNCOVERED else UNCOVERED for c in codes],
        "ownership": [*first["ownership"], *[None] * int(left.sum())],
    })
    all_geoms = np.concatenate([geoms, uncovered[left]]) if len(geoms) else uncovered[left]
    area = ellipsoidal_area(all_geoms, crs=crs) if len(all_geoms) else np.zeros(0)
    frame["area_m2"], frame["area_ha"], frame["area_mu"] = area, area / UNITS["ha"], area / UNITS["mu"]
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(all_geoms, crs=crs), crs=crs)
    order = {pid: i for i, pid in enumerate(ids)}
    return gdf.iloc[np.lexsort((gdf["code"] == UNCOVERED, gdf["project_id"].map(order)))].reset_index(drop=True)
