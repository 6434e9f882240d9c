"""Buffer rings around project footprints: what of a layer lies within 500 m, 1 km, 5 km (the rule set's rings).

Per project, kind and ring: the features whose nearest point lies in the ring, and the ellipsoidal area of the
dissolved layer in it. Areas come from the layer dissolved within square tiles (:class:`_Tiles`), so rings of
kilometres around thousands of projects over hundreds of thousands of parcels stay affordable.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ...geometry.area import UNITS, ellipsoidal_area
from ...geometry.clean import polygonal
from ...geometry.overlay import union_groups

__all__ = ["Rings", "RING_COLUMNS"]

#: The columns of :attr:`ScreeningResult.rings`.
RING_COLUMNS = ["project_id", "kind", "inner_m", "outer_m", "count", "area_m2", "area_ha"]

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


class Rings:
    """The rings around a set of footprints: nested disks (the footprint, then buffered by each distance)."""

    def __init__(self, fpg: np.ndarray, rings_m: tuple[float, ...]):
        self.rings_m = rings_m
        self.disks = [fpg] + [shapely.buffer(fpg, d, quad_segs=_RING_QUAD_SEGS) for d in rings_m] if rings_m else []
        self.geoms = [shapely.difference(self.disks[r + 1], self.disks[r]) for r in range(len(rings_m))]

    @property
    def bands(self) -> list[tuple[float, float]]:
        """``(inner_m, outer_m)`` of each ring, nearest first."""
        return list(zip((0.0,) + self.rings_m[:-1], self.rings_m))

    def rows(self, ids: list[str], kind: str, feats: np.ndarray, tree: shapely.STRtree, crs,
             touching: np.ndarray, overlap_m2: np.ndarray) -> list[dict]:
        """The rows of :attr:`ScreeningResult.rings` for one kind: per ring, then project."""
        if not self.rings_m:
            return []
        counts, areas = _ring_stats(self.disks[1:], feats, tree, crs, touching, overlap_m2)
        return [{"project_id": ids[p], "kind": kind, "inner_m": inner, "outer_m": outer,
                 "count": int(counts[p, r]), "area_m2": areas[p, r], "area_ha": areas[p, r] / UNITS["ha"]}
                for r, (inner, outer) in enumerate(self.bands) for p in range(len(ids))]

    def layer(self, ids: list[str], kinds: list[str], rings: pd.DataFrame, crs, out_crs) -> gpd.GeoDataFrame:
        """:attr:`ScreeningResult.buffers`: one ring polygon per project × ring, with each kind's count and area."""
        n = len(ids)
        table = pd.DataFrame([{"project_id": ids[p], "inner_m": inner, "outer_m": outer}
                              for inner, outer in self.bands for p in range(n)],
                             columns=["project_id", "inner_m", "outer_m"])
        geoms = [self.geoms[r][p] for r in range(len(self.bands)) for p in range(n)]
        if len(rings):
            wide = rings.pivot_table(index=["project_id", "outer_m"], columns="kind", values=["count", "area_m2"],
                                     aggfunc="sum", sort=False)
            key = list(zip(table.project_id, table.outer_m))
            for kind in kinds:
                table[f"{kind}_n"] = wide[("count", kind)].reindex(key).to_numpy().astype(int)
                table[f"{kind}_m2"] = wide[("area_m2", kind)].reindex(key).to_numpy()
        geometry = (gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=crs).to_crs(out_crs).values
                    if geoms else [])
        return gpd.GeoDataFrame(table, geometry=geometry, crs=out_crs)
