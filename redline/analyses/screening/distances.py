"""Distances from project footprints to a layer: nearest points in the working CRS, then geodesic on GRS80.

The nearest feature and the nearest points come from an STRtree in the Gauss-Krüger CRS the screening works
in; the distance between those two points is measured on the ellipsoid, so it does not depend on the
projection's scale error.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod, Transformer

from ...geometry.crs import CGCS2000

__all__ = ["geodesic_nearest"]

_GEOD = Geod(ellps="GRS80")


def geodesic_nearest(fps: np.ndarray, feats: np.ndarray, crs, tree: shapely.STRtree | None = None) -> np.ndarray:
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
