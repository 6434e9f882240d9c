"""Buffer rings around project footprints: what of a layer lies within 500 m, 1 km, 5 km (the rule set's rings).

Per project, kind and ring: the features whose nearest point lies in the ring, and the ellipsoidal area of the
dissolved layer in it.

- **Counts are exact**: a feature is counted in the ring holding its distance to the footprint. The features are
  held in a pyramid of cells (:class:`_Cells`), descended once per footprint for all its distances; bounds on
  the distance (the parent cell's, and the footprint's support lines, :class:`_Support`), or the distance
  itself where they cannot, settle a whole cell; only the cells on a ring's edge are opened, and of their
  features only those straddling a ring's edge are measured whole (``shapely.dwithin``).
- **Areas** are exact (the layer dissolved within square tiles, :class:`_Tiles`, then intersected with the ring)
  while the footprints × features within the widest rings stay under ``_GRID_PAIRS``. Beyond that — thousands of
  projects with 5 km rings over hundreds of thousands of parcels, where the exact overlay took over 15 minutes —
  they come from a 10 m grid of the layer's area (rasterised in a worker process while the counts run) summed
  along scan lines (:class:`_AreaGrid`), within 0.1 % of
  the exact area (at most 1.1e-4 from pyproj's Geod in ``tests/test_rings.py``, 8.3e-4 on the city benchmark).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ...geometry._parallel import InProcesses, release_memory, threaded, workers
from ...geometry.area import UNITS, areal_scale, ellipsoidal_area
from ...geometry.burn import cell_counts
from ...geometry.clean import polygonal
from ...geometry.crs import reproject_polygons
from ...geometry.overlay import union_groups

__all__ = ["Rings", "RING_COLUMNS"]

#: The columns of :attr:`ScreeningResult.rings`.
RING_COLUMNS = ["project_id", "kind", "inner_m", "outer_m", "count", "area_m2", "area_ha"]

_RING_QUAD_SEGS = 64  # a buffered disk's chords lie within 0.008 % of its radius (0.4 m at 5 km)
_RING_CHUNK = 500     # footprints per spatial-index query: bounds the candidate pairs held at once
_COUNT_CHUNK = 100    # footprints counted at once by a thread (250 held 0.1 GB more at the city's peak, no faster)
_DIRECTIONS = 32  # the support lines bounding a footprint's distances (:class:`_Support`)
_UNIT = np.column_stack([np.cos(np.arange(_DIRECTIONS) * 2 * np.pi / _DIRECTIONS),
                         np.sin(np.arange(_DIRECTIONS) * 2 * np.pi / _DIRECTIONS)])
_SIMPLE_VERTICES = 256  # footprints of at most this many vertices measure distances, larger ones test dwithin


_GRID_PAIRS = 200_000   # beyond this many footprint × feature pairs within the widest rings, areas come from a grid
_GRID_CELL_M = 10.0     # the finest grid: the layer's area per 10 m cell, rasterised at 1.25 m (city benchmark,
_GRID_SUB = 8           # 300 rings: at most 8.3e-4 from exact; 1.4e-3 at 2.5 m)
_SCAN_PER_RING = 200    # scan lines about 1/200 of a ring's distance apart (at most 10 m, at least 1.25 m)
_GRID_STRIP = 64  # rows of 10 m cells rasterised at once (a multiple of 16; 160 held 0.1 GB more at once)
_GRID_MAX_CELLS = 64_000_000  # cells of the finest grid held at once (256 MB, 80 × 80 km): wider windows are split


class _Cells:
    """A layer's features in a pyramid of square cells, for exact distance counts.

    Each feature has a point on its surface ``p`` and a radius ``r`` within which the whole feature lies around
    it. Each cell, at every level (the finest of about two features, each level up twice as wide), knows its
    features (a range of them, sorted cell within cell), and a radius ``rho`` within which all of them lie
    around the cell's centre. A footprint at distance ``D`` from a centre then has every feature of the cell
    within ``D + rho`` and none nearer than ``D - rho``. From the top down, a cell settled by that is counted (or
    not) whole, and only the cells on a ring's edge are opened, down to their features: a feature is within
    ``d`` when its point is (the point is on the feature), beyond it when its point is beyond ``d + r``, and only
    the features between are measured themselves.
    """

    def __init__(self, feats: np.ndarray):
        self.feats = feats
        # each feature's point as coordinates (points made for the few tested: 500 000 Point objects held
        # fragmented the heap by 0.1 GB)
        self.xy = xy = shapely.get_coordinates(threaded(shapely.point_on_surface, feats))
        self.reach = np.zeros(len(feats))
        self.extreme = np.zeros((len(feats), 4, 2))  # each feature's westmost, eastmost, southmost, northmost vertex
        with ThreadPoolExecutor(workers()) as pool:  # in slices (12 M vertices at once took 0.4 GB), on all cores
            list(pool.map(self._vertices, range(0, len(feats), 50_000)))
        x0, y0 = xy.min(axis=0) - 1.0
        w, h = np.ptp(xy, axis=0) + 2.0
        size = float(np.clip(np.sqrt(w * h * 2 / len(feats)), 25.0, 5_000.0))  # about two features per cell
        ix, iy = ((xy[:, 0] - x0) // size).astype(np.int64), ((xy[:, 1] - y0) // size).astype(np.int64)
        top = max(0, int(np.ceil(np.log2(max(w, h) / size))) - 4)  # the top level: about 16 × 16 cells
        shifts = range(top + 1)
        self.order = np.lexsort([(iy >> k) * (1 << 32) + (ix >> k) for k in shifts])  # the top level first
        oxy, oreach = xy[self.order], self.reach[self.order]
        self.levels, self.size = [], size
        for k in shifts:
            cx, cy = (ix[self.order] >> k), (iy[self.order] >> k)
            start = np.flatnonzero(np.r_[True, (cx[1:] != cx[:-1]) | (cy[1:] != cy[:-1])])
            centre = np.column_stack([x0 + (cx[start] + 0.5) * size * 2 ** k, y0 + (cy[start] + 0.5) * size * 2 ** k])
            spread = np.hypot(oxy[:, 0] - np.repeat(centre[:, 0], np.diff(np.r_[start, len(cx)])),
                              oxy[:, 1] - np.repeat(centre[:, 1], np.diff(np.r_[start, len(cx)])))
            self.levels.append((start, np.r_[start[1:], len(cx)], np.maximum.reduceat(spread + oreach, start),
                                shapely.points(centre), centre))
            if k == 0:
                self.spread = spread  # each feature's point from its finest cell's centre, in ``order``
        self.tree = shapely.STRtree(self.levels[-1][3])

    def _vertices(self, lo: int) -> None:
        """Of features ``lo`` to ``lo + 50 000``: each one's farthest vertex from its point (``reach``) and its
        extreme vertices."""
        coords, owner = shapely.get_coordinates(self.feats[lo:lo + 50_000], return_index=True)
        if not len(owner):
            return
        owner += lo
        xy = self.xy
        gap = np.hypot(coords[:, 0] - xy[owner, 0], coords[:, 1] - xy[owner, 1])
        starts = np.r_[True, owner[1:] != owner[:-1]]  # a feature's first vertex
        first, group = np.flatnonzero(starts), np.cumsum(starts) - 1  # group: each vertex's, from 0
        self.reach[owner[first]] = np.maximum.reduceat(gap, first)
        for e, key in enumerate((-coords[:, 0], coords[:, 0], -coords[:, 1], coords[:, 1])):
            top = np.flatnonzero(key == np.maximum.reduceat(key, first)[group])
            top = top[np.r_[True, owner[top][1:] != owner[top][:-1]]]  # the first such vertex of each
            self.extreme[owner[top], e] = coords[top]

    def within(self, fpg: np.ndarray, dists: tuple[float, ...]) -> np.ndarray:
        """Per footprint and distance: how many features lie within that distance (shape footprints × dists).

        A footprint of at most ``_SIMPLE_VERTICES`` vertices descends the cells once for all distances, each
        cell's distance bounded cheaply (:class:`_Support`) and measured (``shapely.distance``, 0.7 µs for 30
        vertices) only where the bounds leave the cell open and the distance could settle it; a larger one (a 10 km
        road's 1 200 vertices) once per distance, with ``dwithin`` tests against its prepared copy (GEOS then walks an
        index of its edges: ~1 µs, where ``distance`` took 10). Chunks of footprints run on all cores, each with its
        own prepared copies (a prepared geometry never serves two threads)."""
        out = np.zeros((len(fpg), len(dists)), dtype=np.int64)
        dists = tuple(float(d) for d in dists)
        step = _COUNT_CHUNK
        simple = shapely.get_num_coordinates(fpg) <= _SIMPLE_VERTICES

        def chunk_counts(lo: int) -> None:
            rows = np.arange(lo, min(lo + step, len(fpg)))
            few, many = rows[simple[rows]], rows[~simple[rows]]
            if len(few):
                out[few] = self._count_all(fpg[few], *self._top_pairs(fpg[few], max(dists)), np.asarray(dists))
            if len(many):
                chunk = shapely.from_wkb(shapely.to_wkb(fpg[many]))  # copies: the caller's stay unprepared
                shapely.prepare(chunk)
                for j, d in enumerate(dists):
                    out[many, j] = self._count(chunk, *self._top_pairs(chunk, d), d)

        with ThreadPoolExecutor(workers()) as pool:
            list(pool.map(chunk_counts, range(0, len(fpg), step)))
        return out

    def _top_pairs(self, chunk: np.ndarray, d: float) -> tuple[np.ndarray, np.ndarray]:
        """(footprint, top-level cell) pairs whose cell may hold a feature within ``d`` of the footprint."""
        b = shapely.bounds(chunk)
        grow = d + float(self.levels[-1][2].max())
        return self.tree.query(shapely.box(b[:, 0] - grow, b[:, 1] - grow, b[:, 2] + grow, b[:, 3] + grow))

    def _count(self, chunk: np.ndarray, src: np.ndarray, cell: np.ndarray, d: float) -> np.ndarray:
        """Per footprint of ``chunk``: the features within ``d``, from (footprint, top-level cell) pairs."""
        count = np.zeros(len(chunk), dtype=np.int64)
        for k in range(len(self.levels) - 1, -1, -1):
            start, end, rho, centres, _ = self.levels[k]
            r = rho[cell]
            inside = r <= d
            inside[inside] = shapely.dwithin(chunk[src[inside]], centres[cell[inside]], d - r[inside])
            count += np.bincount(src[inside], weights=end[cell[inside]] - start[cell[inside]],
                                 minlength=len(chunk)).astype(np.int64)
            edge = ~inside
            edge[edge] = shapely.dwithin(chunk[src[edge]], centres[cell[edge]], d + r[edge])
            src, cell = src[edge], cell[edge]
            if k:  # open the edge cells: their cells one level down
                finer = self.levels[k - 1][0]
                src, cell = _expand(src, np.searchsorted(finer, start[cell]), np.searchsorted(finer, end[cell]))
        fsrc, member = _expand(src, start[cell], end[cell])
        fidx = self.order[member]
        pts = shapely.points(self.xy[fidx])
        near = shapely.dwithin(chunk[fsrc], pts, d)  # its point is within d
        maybe = ~near
        maybe[maybe] = shapely.dwithin(chunk[fsrc[maybe]], pts[maybe], d + self.reach[fidx[maybe]])
        near[maybe] = shapely.dwithin(chunk[fsrc[maybe]], self.feats[fidx[maybe]], d)
        return count + np.bincount(fsrc[near], minlength=len(chunk))

    def _count_all(self, chunk: np.ndarray, src: np.ndarray, cell: np.ndarray, dists: np.ndarray) -> np.ndarray:
        """Per footprint of ``chunk`` and distance of ``dists``: the features within it, in one descent from
        (footprint, top-level cell) pairs. ``open`` says for which distances a pair is still unsettled (a cell
        wholly within one distance is within every larger one). A pair's distance is known within bounds, from
        its parent's (a distance changes by at most the step from the parent's centre to the cell's); only
        the pairs those bounds leave open are measured (``shapely.distance``)."""
        count = np.zeros((len(chunk), len(dists)), dtype=np.int64)
        open_ = np.ones((len(src), len(dists)), dtype=bool)
        low = high = np.full(len(src), np.nan)  # nothing known at the top
        hull = _Support(chunk)
        for k in range(len(self.levels) - 1, -1, -1):
            start, end, rho, centres, cxy = self.levels[k]
            r = rho[cell]
            low, high = self._measure(chunk, hull, src, centres, cxy, cell, r, low, high, open_, dists)
            inside = open_ & ((high + r)[:, None] <= dists)
            for j in np.flatnonzero(inside.any(axis=0)):
                hit = cell[inside[:, j]]
                count[:, j] += np.bincount(src[inside[:, j]], weights=end[hit] - start[hit],
                                           minlength=len(chunk)).astype(np.int64)
            open_ &= ~inside & ((low - r)[:, None] <= dists)
            keep = open_.any(axis=1)
            src, cell, open_, low, high = src[keep], cell[keep], open_[keep], low[keep], high[keep]
            if k:  # open the edge cells: their cells one level down, each centre a quarter-diagonal away
                finer = self.levels[k - 1][0]
                rows, cell = _expand(np.arange(len(src)), np.searchsorted(finer, start[cell]),
                                     np.searchsorted(finer, end[cell]))
                step = self.size * 2 ** (k - 1) * np.sqrt(0.5) + 1e-6
                src, open_, low, high = src[rows], open_[rows], low[rows] - step, high[rows] + step
        rows, member = _expand(np.arange(len(src)), start[cell], end[cell])
        fsrc, open_, fidx = src[rows], open_[rows], self.order[member]
        step = self.spread[member] + 1e-6
        near = self._settle(chunk, hull, fsrc, fidx, open_, dists, low[rows] - step, high[rows] + step)
        for j in range(len(dists)):
            count[:, j] += np.bincount(fsrc[near[:, j]], minlength=len(chunk))
        return count

    @staticmethod
    def _measure(chunk: np.ndarray, hull: _Support, src: np.ndarray, centres: np.ndarray, cxy: np.ndarray,
                 cell: np.ndarray, r: np.ndarray, low: np.ndarray, high: np.ndarray, open_: np.ndarray,
                 dists: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds on each pair's distance (footprint ``src``, the centre of ``cell``): the given ones (NaN:
        unknown), narrowed by the footprint's support (:class:`_Support`) for the pairs they leave unsettled at an
        open distance, and the distance itself for those still unsettled that it might settle."""
        unsettled = np.isnan(low) | (open_ & ((high + r)[:, None] > dists) & ((low - r)[:, None] <= dists)).any(axis=1)
        idx = np.flatnonzero(unsettled)
        low, high = low.copy(), high.copy()
        lo, hi = hull.bounds(src[idx], cxy[cell[idx]])
        low[idx], high[idx] = np.fmax(low[idx], lo), np.fmin(high[idx], hi)
        # measured: the pairs the bounds leave open but the distance itself might settle (a cell within reach of
        # both sides of a ring's edge whatever its distance is opened anyway)
        ri, lo, hi = r[idx], low[idx], high[idx]
        could = open_[idx] & (((lo + ri)[:, None] <= dists) | ((hi - ri)[:, None] > dists))
        idx = idx[(could & ((hi + ri)[:, None] > dists) & ((lo - ri)[:, None] <= dists)).any(axis=1)]
        low[idx] = high[idx] = shapely.distance(chunk[src[idx]], centres[cell[idx]])
        return low, high

    def _settle(self, chunk: np.ndarray, hull: _Support, fsrc: np.ndarray, fidx: np.ndarray, open_: np.ndarray,
                dists: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Which (footprint, feature) pairs lie within each distance they are open at (pairs × distances).

        A feature is within when its point is, beyond when its point is farther than the distance plus its reach.
        Bounds on the point's distance (``low``, ``high``, from its cell's) settle some; the rest are measured. Of
        those straddling a ring's edge, a vertex within the distance settles most (the extreme vertex facing the
        footprint, measured as a point: 0.6 µs), and only the rest are measured whole (``dwithin``, 5 µs)."""
        reach = self.reach[fidx]
        unsettled = (open_ & (high[:, None] > dists) & ((low - reach)[:, None] <= dists)).any(axis=1)
        idx = np.flatnonzero(unsettled)
        lo, hi = hull.bounds(fsrc[idx], self.xy[fidx[idx]])
        low[idx], high[idx] = np.maximum(low[idx], lo), np.minimum(high[idx], hi)
        # measured: the pairs whose point the bounds leave on both sides of a distance, or of it plus the reach
        lo, hi, ri = low[idx][:, None], high[idx][:, None], reach[idx][:, None]
        still = open_[idx] & (((lo <= dists) & (hi > dists)) | ((lo - ri <= dists) & (hi - ri > dists)))
        idx = idx[still.any(axis=1)]
        low[idx] = high[idx] = shapely.distance(chunk[fsrc[idx]], shapely.points(self.xy[fidx[idx]]))
        near = open_ & (high[:, None] <= dists)  # its point is within d
        maybe = open_ & ~near & ((low - reach)[:, None] <= dists)
        for j in np.flatnonzero(maybe.any(axis=0)):  # rarely for two distances
            m = np.flatnonzero(maybe[:, j])
            vertex = self._facing_vertex(hull.centre[fsrc[m]], fidx[m])
            lo, hi = hull.bounds(fsrc[m], vertex)
            hit = hi <= dists[j]
            open_vertex = np.flatnonzero(~hit & (lo <= dists[j]))
            hit[open_vertex] = shapely.dwithin(chunk[fsrc[m[open_vertex]]], shapely.points(vertex[open_vertex]),
                                               dists[j])
            near[m[hit], j] = True
            rest = m[~hit]
            rest = rest[hull.box_gap(fsrc[rest], self.extreme[fidx[rest]]) <= dists[j]]  # the rest are beyond
            near[rest, j] = shapely.dwithin(chunk[fsrc[rest]], self.feats[fidx[rest]], dists[j])
        return near

    def _facing_vertex(self, centres: np.ndarray, fidx: np.ndarray) -> np.ndarray:
        """Per pair: of the four extreme vertices of feature ``fidx`` (west, east, south, north), the one farthest
        towards the footprint's centre ``centres`` (coordinates), as coordinates."""
        toward = centres - self.xy[fidx]
        ext = self.extreme[fidx]
        best = np.argmax(np.einsum("nek,nk->ne", ext, toward), axis=1)
        return ext[np.arange(len(fidx)), best]


class _Support:
    """Cheap bounds on the distance from points to each footprint of a chunk, to spare GEOS calls: along each
    of ``_DIRECTIONS`` unit directions ``u``, the footprint's support ``h(u)`` (its largest ``u · v``) and a vertex
    attaining it. A point ``p`` is at least ``u · p - h(u)`` from the footprint (all of it lies on the near side
    of that line) and at most as far as any of its vertices."""

    def __init__(self, chunk: np.ndarray):
        xy, owner = shapely.get_coordinates(chunk, return_index=True)
        proj = xy @ _UNIT.T
        starts = np.r_[True, owner[1:] != owner[:-1]]
        first = np.flatnonzero(starts)
        # a footprint with no vertices (none should come) is bounded by nothing: from 0 to infinity
        self.h = np.full((len(chunk), _DIRECTIONS), np.inf)
        self.vertex = np.full((len(chunk), _DIRECTIONS, 2), np.inf)
        self.box = b = shapely.bounds(chunk)
        self.centre = np.column_stack([b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]]) / 2.0  # its bounds' centre
        if len(xy):
            self.h[owner[first]] = np.maximum.reduceat(proj, first, axis=0)
            for k in range(_DIRECTIONS):
                top = np.flatnonzero(proj[:, k] == self.h[owner, k])
                top = top[np.r_[True, owner[top][1:] != owner[top][:-1]]]  # the first such vertex of each
                self.vertex[owner[top], k] = xy[top]

    def bounds(self, src: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds on the distance from each point ``xy`` to footprint ``src``, from the direction
        nearest to the point's from the footprint's centre: how far the point lies beyond the support line, and
        how far from the vertex attaining it."""
        rel = xy - self.centre[src]
        k = np.rint(np.arctan2(rel[:, 1], rel[:, 0]) * (_DIRECTIONS / (2 * np.pi))).astype(np.int64) % _DIRECTIONS
        at = src * _DIRECTIONS + k
        low = np.maximum(_UNIT[k, 0] * xy[:, 0] + _UNIT[k, 1] * xy[:, 1] - self.h.ravel()[at], 0.0)
        v = self.vertex.reshape(-1, 2)[at]
        return low, np.hypot(v[:, 0] - xy[:, 0], v[:, 1] - xy[:, 1])

    def box_gap(self, src: np.ndarray, extreme: np.ndarray) -> np.ndarray:
        """A lower bound on the distance from footprint ``src`` to a feature within the box of its extreme vertices
        ``extreme`` (pairs × west, east, south, north × xy): how far the box's nearest corner lies beyond the
        footprint's support line facing the box's centre, or the gap between their boxes if that is more."""
        x0, x1, y0, y1 = extreme[:, 0, 0], extreme[:, 1, 0], extreme[:, 2, 1], extreme[:, 3, 1]
        rel = np.column_stack([(x0 + x1) / 2, (y0 + y1) / 2]) - self.centre[src]
        k = np.rint(np.arctan2(rel[:, 1], rel[:, 0]) * (_DIRECTIONS / (2 * np.pi))).astype(np.int64) % _DIRECTIONS
        ux, uy = _UNIT[k, 0], _UNIT[k, 1]
        nearest = np.minimum(ux * x0, ux * x1) + np.minimum(uy * y0, uy * y1)  # the corner least far along u
        b = self.box[src]
        dx = np.maximum(np.maximum(b[:, 0] - x1, x0 - b[:, 2]), 0.0)
        dy = np.maximum(np.maximum(b[:, 1] - y1, y0 - b[:, 3]), 0.0)
        return np.maximum(nearest - self.h.ravel()[src * _DIRECTIONS + k], np.hypot(dx, dy))


def _expand(src: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each ``src[i]`` paired with every index of ``range(lo[i], hi[i])``, in order."""
    reps = hi - lo
    step = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    return np.repeat(src, reps), np.repeat(lo, reps) + step


class _AreaGrid:
    """A layer's ellipsoidal area in each cell of a 10 m grid over a window, and its sums over polygons.

    The layer is rasterised at 1.25 m (so overlapping features count once), summed into 10 m cells and divided
    by the projection's areal scale. The area inside a polygon is then summed along horizontal scan lines (a few
    per row of cells for the nearer rings): each line's stretches inside the polygon, from the polygon's edges,
    times the row's running sums, taken at the stretch's ends (a cell cut by an end counts in proportion). The
    cost is the polygon's rows, not its cells: 5 km rings around 10 000 footprints cover 500 million cells, which
    exactextract's cell-by-cell coverage took a minute to sum. Only cells crossed both by the polygon's edge and
    the layer's edge are approximate, and their errors cancel: 0.1 % is the tolerance (``tests/test_rings.py``).
    """

    def __init__(self, feats: np.ndarray, tree: shapely.STRtree, crs, window: tuple[float, float, float, float],
                 processes: int = 0):
        c = _GRID_CELL_M
        # the window within the layer's bounds: beyond them the layer has no area (a city's 5 km disks reach 10 km
        # past its parcels, which took the grid from 50 × 50 km to 73 × 73 km, twice the pixels to rasterise)
        lx0, ly0, lx1, ly1 = shapely.total_bounds(feats)
        window = (max(window[0], lx0), max(window[1], ly0), min(window[2], lx1), min(window[3], ly1))
        xmin, ymin = np.floor(np.asarray(window[:2]) / 160.0) * 160.0  # aligned to the areal scale's 160 m blocks
        nx = max(int(np.ceil((window[2] - xmin) / 160.0)), 1) * 16
        ny = max(int(np.ceil((window[3] - ymin) / 160.0)), 1) * 16
        self.xmin, self.nx, self.ny, self.crs = xmin, nx, ny, crs
        self.top = ymin + ny * c
        self._feats, self._tree = feats, tree
        # strips rasterised in worker processes (rasterio holds the GIL), their pixels per cell kept (uint16, a
        # quarter of the running sums' size) until the sums are needed
        self._cells: dict[int, np.ndarray] = {}
        self._strips = InProcesses(cell_counts, self._strip, self._cells.__setitem__, range(0, ny, _GRID_STRIP),
                                   processes=processes)
        self._run = None

    @property
    def run(self) -> np.ndarray:
        """Running sums along each row (a column of zeros first): the area of row r left of cell i is run[r, i]
        (the pixels' area divided by the areal scale, summed in float64, kept to 7 digits)."""
        if self._run is None:
            self._strips.wait()
            c = _GRID_CELL_M
            self._run = np.zeros((self.ny, self.nx + 1), dtype=np.float32)
            for r0 in sorted(self._cells):
                cells = self._cells.pop(r0)
                if cells is not None:
                    top, rows = self.top - r0 * c, len(cells)
                    self._run[r0:r0 + rows, 1:] = np.cumsum(cells * ((c / _GRID_SUB) ** 2 / self._scale(top, rows)),
                                                            axis=1, dtype=np.float64)
        return self._run

    def _strip(self, r0: int) -> tuple:
        """What a worker needs to rasterise rows ``r0`` to ``r0 + _GRID_STRIP``: the features there (as WKB), the
        rows, the columns and the strip's top-left corner."""
        c, rows = _GRID_CELL_M, min(_GRID_STRIP, self.ny - r0)
        top = self.top - r0 * c
        part = self._feats[self._tree.query(shapely.box(self.xmin, top - rows * c, self.xmin + self.nx * c, top))]
        return shapely.to_wkb(part), rows, self.nx, self.xmin, top, _GRID_CELL_M, _GRID_SUB

    def _scale(self, top: float, rows: int) -> np.ndarray:
        """The areal scale at the centre of each 160 m block of ``rows`` rows of cells below ``top``, cell by cell."""
        c = _GRID_CELL_M
        x = self.xmin + (np.arange(self.nx // 16) + 0.5) * 16 * c
        y = top - (np.arange(rows // 16) + 0.5) * 16 * c
        gx, gy = np.meshgrid(x, y)
        k = areal_scale(self.crs, gx.ravel(), gy.ravel()).reshape(gy.shape).astype(np.float32)
        return np.repeat(np.repeat(k, 16, axis=0), 16, axis=1)

    def _left_of(self, run: np.ndarray, row: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The layer's area in ``row`` left of ``x`` (a cell cut at ``x`` counts in proportion), from ``run``."""
        at = np.clip((x - self.xmin) / _GRID_CELL_M, 0.0, self.nx)
        i = np.minimum(at.astype(np.int64), self.nx - 1)
        left = run[row, i].astype(np.float64)
        return left + (at - i) * (run[row, i + 1] - left)

    def area_within(self, polys: np.ndarray, distance: float) -> np.ndarray:
        """The layer's area (m²) inside each of ``polys`` (valid polygons), on scan lines about ``distance`` / 200
        apart (4 per row of 10 m cells for 500 m rings, 1 from 2 km).

        Along a line a polygon is inside between where it enters and where it leaves, so its area is the sum over
        its crossings of the area left of each, added where the line leaves and taken where it enters: no sort of
        the crossings. Which it does follows from the edge's direction and its ring's (a ring with the polygon's
        interior on its left is left going up)."""
        k = int(np.clip(np.ceil(_SCAN_PER_RING * _GRID_CELL_M / distance), 1, 8))  # scan lines per row of cells
        run = self.run

        def sums(chunk: np.ndarray) -> np.ndarray:
            poly, x, line, sign = self._crossings(chunk, k)
            return np.bincount(poly, weights=sign * self._left_of(run, line // k, x), minlength=len(chunk))

        # chunks (a 10 km road's 500 m ring crosses 8 000 lines) on all cores: numpy releases the GIL
        return threaded(sums, polys, chunk=_RING_CHUNK // 5) / k

    def _crossings(self, polys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where each polygon's edges cross the scan lines ``y = top - (L + 0.5) · 10 m / k``: polygon, x, line L,
        and +1 where the line leaves the polygon there, -1 where it enters.

        An edge holds the lines from its lower end (included) to its upper end (excluded), so a vertex on a line
        counts once and each polygon crosses each line an even number of times (holes included)."""
        step = _GRID_CELL_M / k
        parts, whole = shapely.get_parts(polys, return_index=True)
        rings_, part = shapely.get_rings(parts, return_index=True)
        exterior = np.r_[True, part[1:] != part[:-1]]  # each part's first ring is its exterior
        left = np.where(shapely.is_ccw(rings_) == exterior, 1.0, -1.0)  # +1: the interior lies left of the ring
        owner = whole[part]
        xy, ring = shapely.get_coordinates(rings_, return_index=True)
        same = ring[1:] == ring[:-1]
        x1, y1, x2, y2 = xy[:-1, 0][same], xy[:-1, 1][same], xy[1:, 0][same], xy[1:, 1][same]
        edge_ring = ring[:-1][same]
        poly = owner[edge_ring]
        lo = np.floor((self.top - np.maximum(y1, y2)) / step - 0.5).astype(np.int64) + 1  # first line on the edge
        hi = np.floor((self.top - np.minimum(y1, y2)) / step - 0.5).astype(np.int64)  # the last, maybe at its end
        e, line = _expand(np.arange(len(lo)), lo, np.maximum(hi + 1, lo))  # none for a horizontal edge
        y = self.top - (line + 0.5) * step
        x = x1[e] + (y - y1[e]) * (x2[e] - x1[e]) / (y2[e] - y1[e])
        sign = (np.where(y2 > y1, 1.0, -1.0) * left[edge_ring])[e]  # going up with the interior left: leaving
        keep = (line >= 0) & (line < self.ny * k)
        return poly[e][keep], x[keep], line[keep], sign[keep]


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
        codes, merged = union_groups(pieces[ok], ti[ok])
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


def _ring_stats(fpg: np.ndarray, disk, rings_m: tuple[float, ...], feats: np.ndarray, tree: shapely.STRtree, crs,
                touching: np.ndarray, overlap_m2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per footprint and ring: features whose nearest point lies in the ring, and the dissolved layer's area in it.

    ``disk(j, idx)`` gives the footprints ``fpg`` (those of ``idx``, or all for None) buffered by ring distance
    ``rings_m[j]`` (smallest first), made when needed: of the three sets only the widest is held throughout (the
    30 000 disks of 10 000 footprints are 0.15 GB). ``touching`` and ``overlap_m2`` are the count of features
    meeting each footprint and the layer's area inside it. A ring holds what its outer disk holds minus what the
    inner one (the footprint itself for the first ring) holds. Returns two arrays of shape (footprints, rings).
    """
    n, last = len(touching), len(rings_m) - 1
    if not len(feats):
        return np.zeros((n, len(rings_m)), dtype=np.int64), np.zeros((n, len(rings_m)))
    release_memory()  # the overlay's many small pieces, freed: their pages back before the cells and the grid
    covered = np.zeros((n, len(rings_m) + 1))
    covered[:, 0] = overlap_m2
    # a disk's bounds are its footprint's grown by the distance (or within them): windows before the disks
    grown = shapely.bounds(fpg) + np.array([-1.0, -1.0, 1.0, 1.0]) * rings_m[last]
    exact, gridded = _split_by_work(grown, feats, tree)
    # the first grid is rasterised by one worker process while the counts run here (two would hold more memory
    # than the 2 GB a city's screening keeps within)
    first = _AreaGrid(feats, tree, crs, _window(grown[gridded[0]]), processes=1) if gridded else None
    within = np.column_stack([touching, _Cells(feats).within(fpg, rings_m)])
    release_memory()  # the cells' many small objects, before the grid's large arrays
    widest = disk(last, None)
    for g, idx in enumerate(gridded):
        grid = first if g == 0 else _AreaGrid(feats, tree, crs, _window(grown[idx]))
        first = None
        for j in range(len(rings_m)):
            covered[idx, j + 1] = grid.area_within(widest[idx] if j == last else disk(j, idx), rings_m[j])
        del grid
    if len(exact):
        reachable = feats[tree.query(shapely.box(*shapely.total_bounds(widest[exact])))]
        if len(reachable):
            tiles = _Tiles(reachable, crs)
            for j in range(len(rings_m)):
                covered[exact, j + 1] = tiles.area_within(widest[exact] if j == last else disk(j, exact))
    return np.diff(within, axis=1), np.maximum(np.diff(covered, axis=1), 0.0)


def _split_by_work(b: np.ndarray, feats: np.ndarray, tree: shapely.STRtree) -> tuple[np.ndarray, list]:
    """Which footprints get exact ring areas (few footprint × feature pairs within the widest rings), and the
    groups of the others whose grids of 10 m cells each fit in memory (split at the median, along the wider side).
    ``b``: the bounds of each footprint's widest disk (shape footprints × 4)."""
    idx = np.arange(len(b))
    xmin, ymin, xmax, ymax = _window(b)
    reach = tree.query(shapely.box(xmin, ymin, xmax, ymax))
    density = len(reach) / max((xmax - xmin) * (ymax - ymin), 1.0)
    pairs = density * float(((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).sum())
    if pairs <= _GRID_PAIRS:
        return idx, []
    exact, groups, todo = [], [], [idx]
    while todo:
        g = todo.pop()
        gb = _window(b[g])
        w, h = gb[2] - gb[0], gb[3] - gb[1]
        if w * h / _GRID_CELL_M ** 2 <= _GRID_MAX_CELLS:
            groups.append(g)
        elif len(g) == 1:
            exact.append(g)
        else:
            centre = (b[g, 0] + b[g, 2]) if w >= h else (b[g, 1] + b[g, 3])
            order = g[np.argsort(centre, kind="stable")]
            todo += [order[:len(g) // 2], order[len(g) // 2:]]
    return (np.concatenate(exact) if exact else np.array([], dtype=np.int64)), groups


def _window(b: np.ndarray) -> tuple[float, float, float, float]:
    """The box around bounds ``b`` (shape n × 4)."""
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


class Rings:
    """The rings around a set of footprints: nested disks (the footprint, then buffered by each distance)."""

    def __init__(self, fpg: np.ndarray, rings_m: tuple[float, ...]):
        self.fpg, self.rings_m = fpg, rings_m

    def disk(self, j: int, idx: np.ndarray | None = None) -> np.ndarray:
        """The footprints (those of ``idx``, or all) buffered by ring ``j``'s outer distance; ``j = -1``: the
        footprints themselves. Made on each call, not held."""
        fpg = self.fpg if idx is None else self.fpg[idx]
        if j < 0:
            return fpg
        return threaded(partial(shapely.buffer, distance=self.rings_m[j], quad_segs=_RING_QUAD_SEGS), fpg, chunk=1_000)

    @property
    def bands(self) -> list[tuple[float, float]]:
        """``(inner_m, outer_m)`` of each ring, nearest first."""
        return list(zip((0.0,) + self.rings_m[:-1], self.rings_m))

    def rows(self, ids: list[str], kind: str, feats: np.ndarray, tree: shapely.STRtree, crs,
             touching: np.ndarray, overlap_m2: np.ndarray) -> list[dict]:
        """The rows of :attr:`ScreeningResult.rings` for one kind: per ring, then project."""
        if not self.rings_m:
            return []
        counts, areas = _ring_stats(self.fpg, self.disk, self.rings_m, feats, tree, crs, touching, overlap_m2)
        return [{"project_id": ids[p], "kind": kind, "inner_m": inner, "outer_m": outer,
                 "count": int(counts[p, r]), "area_m2": areas[p, r], "area_ha": areas[p, r] / UNITS["ha"]}
                for r, (inner, outer) in enumerate(self.bands) for p in range(len(ids))]

    def layer(self, ids: list[str], kinds: list[str], rings: pd.DataFrame, crs, out_crs) -> gpd.GeoDataFrame:
        """:attr:`ScreeningResult.buffers`: one ring polygon per project × ring, with each kind's count and area."""
        n = len(ids)
        table = pd.DataFrame([{"project_id": ids[p], "inner_m": inner, "outer_m": outer}
                              for inner, outer in self.bands for p in range(n)],
                             columns=["project_id", "inner_m", "outer_m"])
        # the ring polygons are made only here, one ring at a time, and reprojected only when the CRS differs:
        # 30 000 ring polygons made and reprojected at once took 1.6 GB
        geoms = [g for r in range(len(self.bands))
                 for g in reproject_polygons(shapely.difference(self.disk(r), self.disk(r - 1)), crs, out_crs)]
        if len(rings):
            wide = rings.pivot_table(index=["project_id", "outer_m"], columns="kind", values=["count", "area_m2"],
                                     aggfunc="sum", sort=False)
            key = list(zip(table.project_id, table.outer_m))
            for kind in kinds:
                table[f"{kind}_n"] = wide[("count", kind)].reindex(key).to_numpy().astype(int)
                table[f"{kind}_m2"] = wide[("area_m2", kind)].reindex(key).to_numpy()
        geometry = np.asarray(geoms, dtype=object) if geoms else []
        return gpd.GeoDataFrame(table, geometry=geometry, crs=out_crs)
