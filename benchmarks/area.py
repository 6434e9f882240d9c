"""Time redline's ellipsoidal area on N synthetic parcels (default 1 000 000) and compare with pyproj's per-geometry call.

    python benchmarks/area.py [--n 1000000] [--json]

Parcels are 5–40-vertex polygons of 0.5–20 ha in EPSG:4545 (GK CM 108E) around 黔江区, seeded.
Prints the time, parcels per second, and the largest relative difference from
``Geod.geometry_area_perimeter`` on a sample of 20 000 parcels.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import shapely
from pyproj import Geod, Transformer

from redline.geometry.area import ellipsoidal_area


def make_parcels(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cx = rng.uniform(440_000, 560_000, n)
    cy = rng.uniform(3_230_000, 3_310_000, n)
    k = rng.integers(5, 41, n)
    radius = np.sqrt(rng.uniform(5_000, 200_000, n) / np.pi)
    total = k.sum()
    owner = np.repeat(np.arange(n), k)
    start = np.r_[0, np.cumsum(k)[:-1]]
    pos = np.arange(total) - np.repeat(start, k)
    ang = 2 * np.pi * pos / np.repeat(k, k)
    r = np.repeat(radius, k) * rng.uniform(0.8, 1.2, total)
    x = np.repeat(cx, k) + r * np.cos(ang)
    y = np.repeat(cy, k) + r * np.sin(ang)
    rings = shapely.linearrings(np.c_[x, y], indices=owner)
    return shapely.polygons(rings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    parcels = make_parcels(args.n)
    t_make = time.perf_counter() - t0
    t0 = time.perf_counter()
    areas = ellipsoidal_area(parcels, crs="EPSG:4545")
    t_area = time.perf_counter() - t0
    # reference on a sample: pyproj's own per-geometry call on lon/lat geometries
    sample = parcels[: min(20_000, args.n)]
    tr = Transformer.from_crs("EPSG:4545", "EPSG:4490", always_xy=True)
    lonlat = shapely.transform(sample, lambda xy: np.c_[tr.transform(xy[:, 0], xy[:, 1])])
    geod = Geod(ellps="GRS80")
    t0 = time.perf_counter()
    ref = np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in lonlat])
    t_ref = (time.perf_counter() - t0) * args.n / len(sample)
    result = {
        "parcels": args.n,
        "vertices": int(shapely.get_num_coordinates(parcels).sum()),
        "generate_s": round(t_make, 2),
        "redline_ellipsoidal_area_s": round(t_area, 2),
        "parcels_per_s": round(args.n / t_area),
        "geod_geometry_area_perimeter_s_extrapolated": round(t_ref, 2),
        "max_rel_diff_vs_geod": float(np.max(np.abs(areas[: len(ref)] - ref) / ref)),
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k:45s} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
