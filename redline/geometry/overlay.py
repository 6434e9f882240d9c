"""The overlay engine: how much of a layer lies inside each of many polygons — dissolved, per zone — fast.

Used by screening (footprints × layers), indicators (district and townships × layers) and conflicts. The
levers, each measured on the city benchmark (``benchmarks/run.py``):

- wide polygons (roads, townships) are cut into 1 km cells before the spatial-index query, so each query box
  is tight; the cells tile the polygon exactly, so their pieces add up;
- a feature lying wholly inside a polygon is its own piece (``contains_properly``): no intersection;
- intersections run in chunks on all cores (GEOS releases the GIL);
- areas are ellipsoidal without a per-ring loop (:func:`redline.geometry.area.ellipsoidal_area`);
- nothing is unioned unless features overlap each other: pieces of features that overlap no other feature
  simply add up; only clusters of mutually overlapping features (red-line patches laid over each other) are
  unioned, per group.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ._parallel import query, threaded, workers
from .area import ellipsoidal_area, polygonal, repair

__all__ = ["Overlaps", "overlap_areas", "union_groups", "union_clusters", "Dissolved", "dissolve_parts",
           "overlap_pairs", "overlapping_features"]


def union_groups(geoms: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union the geometries of each group code; returns (unique codes, one geometry per code)."""
    if not len(geoms):
        return np.array([], dtype=codes.dtype), np.array([], dtype=object)
    order = np.argsort(codes, kind="stable")
    codes, geoms = codes[order], geoms[order]
    uniq, start, counts = np.unique(codes, return_index=True, return_counts=True)
    out = geoms[start].copy()
    for j in np.flatnonzero(counts > 1):
        out[j] = shapely.union_all(geoms[start[j]:start[j] + counts[j]])
    return uniq, polygonal(out)


_SPLIT_M = 1000.0  # polygons wider than this are cut into cells of this size before the index query
_SPLIT_DEG = 0.01  # the same in a geographic CRS (~1 km)


@dataclass
class Overlaps:
    """What the footprints overlap: per project × zone label (areas; geometries on first use) and per project."""

    touching: np.ndarray        # features meeting each footprint
    overlap_m2: np.ndarray      # dissolved overlap per footprint
    label_codes: np.ndarray     # the zone labels met
    group_project: np.ndarray   # per group (project × label): the project
    group_label: np.ndarray     # ... the index into label_codes
    group_m2: np.ndarray        # ... the dissolved area
    _pieces: tuple              # (pieces, their group, whether from overlapping features, unioned groups, geoms)
    _geoms: np.ndarray | None = None

    @property
    def group_geoms(self) -> np.ndarray:
        """The dissolved geometry of each group, built on first use: a coverage union of the pieces of
        features that overlap nothing, joined with the union of the others."""
        if self._geoms is None:
            self._geoms = _group_geometries(len(self.group_m2), *self._pieces)
        return self._geoms

    def project_geometries(self) -> tuple[np.ndarray, np.ndarray]:
        """(projects with an overlap, their dissolved overlap geometry)."""
        if not len(self.group_project):
            return np.array([], dtype=int), np.array([], dtype=object)
        return union_groups(self.group_geoms, self.group_project)


def _group_geometries(n_groups: int, cut, pos, multi, mcodes, mgeoms) -> np.ndarray:
    geoms = np.empty(n_groups, dtype=object)
    order = np.argsort(pos[~multi], kind="stable")
    simple_pos, simple = pos[~multi][order], cut[~multi][order]
    starts = np.searchsorted(simple_pos, np.arange(n_groups), side="left")
    ends = np.searchsorted(simple_pos, np.arange(n_groups), side="right")
    mgeom_of = dict(zip(mcodes.tolist(), mgeoms))
    for g in range(n_groups):
        parts = simple[starts[g]:ends[g]]
        geom = parts[0] if len(parts) == 1 else shapely.coverage_union_all(parts) if len(parts) else None
        extra = mgeom_of.get(g)
        if extra is not None:
            geom = extra if geom is None else shapely.union(geom, extra)
        geoms[g] = geom
    return repair(geoms).geoms  # pieces that don't match edge to edge: their union


def _split_large(fpg: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut footprints wider than ``size`` into grid cells: tight boxes for the index query (a 10 km road's
    box holds thousands of parcels it never touches). Returns the pieces and their footprint index; the
    pieces of a footprint tile it exactly, so their overlaps add up."""
    xmin, ymin, xmax, ymax = shapely.bounds(fpg).T
    big = np.flatnonzero(np.maximum(xmax - xmin, ymax - ymin) > size)
    if not len(big):
        return fpg, np.arange(len(fpg))
    owners, boxes = [], []
    for i in big:
        xs = np.arange(np.floor(xmin[i] / size) * size, xmax[i], size)
        ys = np.arange(np.floor(ymin[i] / size) * size, ymax[i], size)
        gx, gy = np.meshgrid(xs, ys)
        # cell edges densified: a cut point then lies within size/20 of its neighbours, so the pieces' areas
        # (geodesic edges) add up to the whole to ~1e-10 even in lon/lat
        boxes.append(shapely.segmentize(shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size),
                                        size / 20))
        owners.append(np.full(gx.size, i))
    owner = np.concatenate(owners)
    cells = polygonal(threaded(shapely.intersection, fpg[owner], np.concatenate(boxes), chunk=2_000))
    keep = ~shapely.is_empty(cells)
    small = np.setdiff1d(np.arange(len(fpg)), big)
    return np.concatenate([fpg[small], cells[keep]]), np.concatenate([small, owner[keep]])


def _present(values: np.ndarray, size: int) -> np.ndarray:
    """The distinct values of non-negative ints below ``size``, sorted (a mask, not a sort: linear time)."""
    seen = np.zeros(size, bool)
    seen[values] = True
    return np.flatnonzero(seen)


def _distinct_per_group(group: np.ndarray, item: np.ndarray, n_items: int, split: np.ndarray) -> np.ndarray:
    """How many distinct items each group meets. Pairs repeat only for ``split`` groups (a footprint cut into
    cells meeting one feature from several cells): only their pairs are de-duplicated."""
    counts = np.bincount(group[~split[group]], minlength=len(split))
    rep = split[group]
    if rep.any():
        key = np.unique(group[rep].astype(np.int64) * n_items + item[rep])
        counts += np.bincount(key // n_items, minlength=len(split))
    return counts


def overlap_areas(fpg: np.ndarray, feats: np.ndarray, labels: np.ndarray, tree: shapely.STRtree, crs) -> Overlaps:
    """Overlap of each polygon of ``fpg`` (footprints, townships …) with a layer, dissolved, per zone label and
    in all — without unions where nothing overlaps. ``fpg`` and ``feats`` share a metric CRS (cells of 1 km);
    ``tree`` indexes ``feats``. Geometries are built only when asked for (``Overlaps.group_geoms``).

    The pieces (footprint ∩ feature) of features that overlap no other feature cannot overlap each other:
    their areas simply add up, and a feature lying wholly inside a footprint is its own piece (no
    intersection computed). Only pieces of mutually overlapping features (e.g. red-line patches laid over
    each other) are unioned, per group. Group geometries of non-overlapping pieces are joined with a
    coverage union (linear time).
    """
    n = len(fpg)
    sub, parent = _split_large(fpg, _SPLIT_DEG if CRS.from_user_input(crs).is_geographic else _SPLIT_M)
    shapely.prepare(sub)
    si, fi = query(tree, sub, "intersects")
    pi = parent[si]
    inside = threaded(shapely.contains_properly, sub[si], feats[fi], align=si)  # sub is prepared
    cut = feats[fi].copy()
    cut[~inside] = polygonal(threaded(shapely.intersection, sub[si[~inside]], feats[fi[~inside]]))
    ok = ~shapely.is_empty(cut)
    pi, fi, cut = pi[ok], fi[ok], cut[ok]
    touching = _distinct_per_group(pi, fi, len(feats), split=np.bincount(parent, minlength=n) > 1)
    area = ellipsoidal_area(cut, crs=crs)
    # features (among those met) overlapping another one: only their pieces need a union
    multi = overlapping_features(feats, _present(fi, len(feats)))[fi]
    if len(fi):
        # hashed, not sorted: np.unique sorts (half a second on 500 000 strings)
        label_idx, label_codes = pd.factorize(pd.Series(labels[fi], dtype=object).astype(str), sort=True)
        label_codes = np.asarray(label_codes, dtype=str)
    else:
        label_codes, label_idx = np.array([], dtype=str), np.array([], dtype=int)
    nl = max(len(label_codes), 1)
    group = pi * nl + label_idx
    seen = np.zeros(n * nl, bool)
    seen[group] = True
    codes = np.flatnonzero(seen)
    pos = (np.cumsum(seen) - 1)[group]
    group_m2 = np.bincount(pos[~multi], weights=area[~multi], minlength=len(codes)).astype(float)
    mcodes, mgeoms = union_groups(cut[multi], pos[multi])
    m_area = ellipsoidal_area(mgeoms, crs=crs)
    group_m2[mcodes] += m_area
    gp, gl = codes // nl, codes % nl
    # per project: simple pieces add up; the overlapping ones (possibly across zones) are unioned
    overlap = np.bincount(pi[~multi], weights=area[~multi], minlength=n).astype(float)
    if nl == 1:  # one label: the groups are the projects, already unioned
        overlap[codes[mcodes]] += m_area
    else:
        pcodes_m, pgeoms_m = union_groups(cut[multi], pi[multi])
        overlap[pcodes_m] += ellipsoidal_area(pgeoms_m, crs=crs)
    return Overlaps(touching, overlap, label_codes, gp, gl, group_m2, (cut, pos, multi, mcodes, mgeoms))


@dataclass
class Dissolved:
    """A layer dissolved without one big union: mutually non-overlapping ``parts`` whose union is the layer
    (features that overlap nothing as they are, each cluster of overlapping ones unioned), with their
    ellipsoidal areas ``m2`` (m²), in ``crs``. Overlaps count once in every area taken from it."""

    parts: np.ndarray
    m2: np.ndarray
    crs: object
    _tree: shapely.STRtree | None = None

    @property
    def total_m2(self) -> float:
        """Ellipsoidal area of the dissolved layer."""
        return float(self.m2.sum())

    def inside(self, polys) -> np.ndarray:
        """Ellipsoidal area (m²) of the dissolved layer inside each of ``polys`` (in ``crs``).

        A part lying wholly inside a polygon counts with its own area (no intersection); only the parts
        crossing a polygon's boundary are intersected, in chunks on all cores.
        """
        polys = np.asarray(polys, dtype=object)
        out = np.zeros(len(polys))
        if not len(polys) or not len(self.parts):
            return out
        if self._tree is None:
            self._tree = shapely.STRtree(self.parts)
        shapely.prepare(polys)
        pi, fi = self._tree.query(polys)
        inside = shapely.contains_properly(polys[pi], self.parts[fi])
        out += np.bincount(pi[inside], weights=self.m2[fi[inside]], minlength=len(polys))
        pi, fi = pi[~inside], fi[~inside]
        meet = shapely.intersects(polys[pi], self.parts[fi])
        pi, fi = pi[meet], fi[meet]
        pieces = polygonal(threaded(shapely.intersection, polys[pi], self.parts[fi], chunk=2_000))
        out += np.bincount(pi, weights=ellipsoidal_area(pieces, crs=self.crs), minlength=len(polys))
        return out


def dissolve_parts(feats: np.ndarray, crs, m2: np.ndarray | None = None,
                   pairs: tuple[np.ndarray, np.ndarray] | None = None) -> Dissolved:
    """Dissolve ``feats`` (polygonal, in ``crs``) into mutually non-overlapping parts: only clusters of
    features that overlap each other are unioned, each cluster on its own (the connected components of
    the overlap graph), on all cores — the area of a layer's union is the sum of its clusters' areas.

    ``m2`` (the features' ellipsoidal areas) and ``pairs`` (the overlapping pairs, :func:`overlap_pairs`)
    save recomputing them when they are known.
    """
    feats = np.asarray(feats, dtype=object)
    m2 = ellipsoidal_area(feats, crs=crs) if m2 is None else np.asarray(m2, dtype=float)
    a, b = overlap_pairs(feats) if pairs is None else pairs
    if not len(a):
        return Dissolved(feats, m2, crs)
    alone, merged = union_clusters(feats, a, b)
    return Dissolved(np.concatenate([feats[alone], merged]),
                     np.concatenate([m2[alone], ellipsoidal_area(merged, crs=crs)]), crs)


def union_clusters(geoms: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union each cluster of ``geoms`` linked by the pairs ``(a[k], b[k])`` (the connected components of that
    graph), each cluster apart, on all cores. Returns a mask of the geometries in no pair (left as they are) and
    one geometry per cluster."""
    alone = np.ones(len(geoms), bool)
    if not len(a):
        return alone, np.array([], dtype=object)
    idx = np.unique(np.r_[a, b])
    la, lb = np.searchsorted(idx, a), np.searchsorted(idx, b)
    _, comp = connected_components(coo_matrix((np.ones(len(la)), (la, lb)), shape=(len(idx), len(idx))),
                                   directed=False)
    order = np.argsort(comp, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(comp[order]) != 0])
    clusters = sorted(np.split(idx[order], starts[1:]), key=len, reverse=True)  # big ones first: balanced
    with ThreadPoolExecutor(workers()) as pool:  # GEOS releases the GIL
        merged = polygonal(list(pool.map(lambda c: shapely.union_all(geoms[c]), clusters)))
    alone[idx] = False
    return alone, merged


def overlap_pairs(feats: np.ndarray, subset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of features whose interiors overlap (among ``subset`` when given)."""
    idx = np.arange(len(feats)) if subset is None else np.asarray(subset)
    if len(idx) < 2:
        return np.zeros(0, int), np.zeros(0, int)
    a, b = shapely.STRtree(feats[idx]).query(feats[idx], predicate="intersects")
    pair = a < b
    a, b = a[pair], b[pair]
    if not len(a):
        return idx[a], idx[b]
    real = threaded(lambda x, y: shapely.relate_pattern(x, y, "T********"), feats[idx][a], feats[idx][b])
    return idx[a[real]], idx[b[real]]


def overlapping_features(feats: np.ndarray, subset: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask: which features' interiors overlap another feature's (among ``subset`` when given)."""
    out = np.zeros(len(feats), bool)
    a, b = overlap_pairs(feats, subset)
    out[a] = True
    out[b] = True
    return out
