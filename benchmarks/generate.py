"""Seeded synthetic city-scale data for the benchmarks, in EPSG:4545 (CGCS2000 / GK CM 108E).

    python benchmarks/generate.py --size small|city [--out benchmarks/data]

``city``: a 50 × 50 km county; 500 000 farmland parcels of 5–40 vertices (one per cell of a jittered grid, so they
never overlap, like a real parcel layer); 5 000 overlapping red-line polygons of 30–150 vertices covering ~30 % of
the county; 10 000 project footprints — 70 % polygons of 1–50 ha, 20 % roads 1–10 km long as lines with
``width_m``, 10 % points with ``radius_m``; 30 townships; a 5000 × 5000 land-cover raster of 10 m cells.
``small`` is the same at ~1/100 of the size. Parcels are written as GeoPackage, FlatGeobuf and GeoParquet.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

CRS = "EPSG:4545"
CENTRE = (500_000.0, 3_300_000.0)
SIZES = {
    "small": {"side_m": 10_000, "parcels": 5_000, "redline": 100, "footprints": 200, "units": 30, "raster": 500},
    "city": {"side_m": 50_000, "parcels": 500_000, "redline": 5_000, "footprints": 10_000, "units": 30,
             "raster": 5000},
}


def _blobs(rng, cx, cy, radius, n_vertices) -> np.ndarray:
    """Star-shaped polygons (perturbed circles): one per centre, ``n_vertices`` each (array)."""
    owner = np.repeat(np.arange(len(cx)), n_vertices)
    start = np.r_[0, np.cumsum(n_vertices)[:-1]]
    pos = np.arange(owner.size) - np.repeat(start, n_vertices)
    ang = 2 * np.pi * pos / np.repeat(n_vertices, n_vertices)
    r = np.repeat(radius, n_vertices) * rng.uniform(0.75, 1.0, owner.size)
    xy = np.c_[np.repeat(cx, n_vertices) + r * np.cos(ang), np.repeat(cy, n_vertices) + r * np.sin(ang)]
    return shapely.polygons(shapely.linearrings(xy, indices=owner))


def parcels(rng, side: float, n: int) -> gpd.GeoDataFrame:
    """``n`` parcels, one inside each cell of a square grid over the county: none overlaps another."""
    k = int(np.ceil(np.sqrt(n)))
    cell = side / k
    ix, iy = np.divmod(rng.permutation(k * k)[:n], k)
    x0, y0 = CENTRE[0] - side / 2, CENTRE[1] - side / 2
    cx = x0 + (ix + 0.5) * cell + rng.uniform(-0.05, 0.05, n) * cell
    cy = y0 + (iy + 0.5) * cell + rng.uniform(-0.05, 0.05, n) * cell
    geoms = _blobs(rng, cx, cy, np.full(n, 0.44 * cell), rng.integers(5, 41, n))
    codes = rng.choice(["0101", "0102", "0103"], n, p=[0.5, 0.1, 0.4])
    return gpd.GeoDataFrame({"bsm": [f"JBNT{i:07d}" for i in range(n)], "dlbm": codes}, geometry=geoms, crs=CRS)


def redline(rng, side: float, n: int, coverage: float = 0.30) -> gpd.GeoDataFrame:
    """``n`` overlapping blobs whose union covers about ``coverage`` of the county."""
    area_each = -np.log(1 - coverage) * side * side / n
    radius = np.sqrt(area_each / np.pi) * rng.uniform(0.7, 1.3, n) * 1.08
    cx = CENTRE[0] + rng.uniform(-side / 2, side / 2, n)
    cy = CENTRE[1] + rng.uniform(-side / 2, side / 2, n)
    geoms = _blobs(rng, cx, cy, radius, rng.integers(30, 151, n))
    kinds = rng.choice(["水源涵养", "生物多样性维护", "水土保持"], n)
    return gpd.GeoDataFrame({"hx_id": [f"HX-{i:05d}" for i in range(n)], "type": kinds}, geometry=geoms, crs=CRS)


def footprints(rng, side: float, n: int) -> gpd.GeoDataFrame:
    """70 % polygons of 1–50 ha, 20 % roads (1–10 km lines with width_m), 10 % points with radius_m."""
    n_poly, n_road = int(n * 0.7), int(n * 0.2)
    n_point = n - n_poly - n_road
    half = side / 2 * 0.95
    cx = CENTRE[0] + rng.uniform(-half, half, n)
    cy = CENTRE[1] + rng.uniform(-half, half, n)
    ha = rng.uniform(1, 50, n_poly)
    polys = _blobs(rng, cx[:n_poly], cy[:n_poly], np.sqrt(ha * 10_000 / np.pi) * 1.05, rng.integers(8, 25, n_poly))
    roads = []
    for x, y in zip(cx[n_poly:n_poly + n_road], cy[n_poly:n_poly + n_road]):
        length = rng.uniform(1_000, 10_000)
        steps = rng.integers(2, 6)
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.3, steps))
        seg = length / steps
        xs = x + np.r_[0, np.cumsum(seg * np.cos(heading))]
        ys = y + np.r_[0, np.cumsum(seg * np.sin(heading))]
        roads.append(shapely.LineString(np.c_[xs, ys]))
    points = shapely.points(cx[n_poly + n_road:], cy[n_poly + n_road:])
    geoms = np.r_[polys, np.array(roads, dtype=object), points]
    width = np.r_[np.full(n_poly, np.nan), rng.uniform(10, 40, n_road), np.full(n_point, np.nan)]
    radius = np.r_[np.full(n_poly + n_road, np.nan), rng.uniform(50, 300, n_point)]
    cats = rng.choice(["industrial", "residential", "energy", "tourism", "mining"], n)
    cats[n_poly:n_poly + n_road] = "road"
    return gpd.GeoDataFrame({"project_id": [f"P{i:05d}" for i in range(n)], "category": cats, "width_m": width,
                             "radius_m": radius}, geometry=geoms, crs=CRS)


def townships(rng, side: float, n: int) -> gpd.GeoDataFrame:
    county = shapely.box(CENTRE[0] - side / 2, CENTRE[1] - side / 2, CENTRE[0] + side / 2, CENTRE[1] + side / 2)
    seeds = shapely.points(CENTRE[0] + rng.uniform(-side / 2, side / 2, n), CENTRE[1] + rng.uniform(-side / 2, side / 2, n))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=county))
    cells = shapely.intersection(cells, county)
    # densified like real boundaries (edges of 100 m at most)
    cells = shapely.segmentize(cells, 100.0)
    return gpd.GeoDataFrame({"name": [f"乡镇{i:02d}" for i in range(len(cells))]}, geometry=cells, crs=CRS)


def raster(rng, side: float, n: int, path: Path) -> None:
    """A classified land-cover raster (ESA WorldCover codes) of n × n cells, DEFLATE-compressed."""
    import rasterio
    from rasterio.transform import from_origin

    coarse = rng.choice(np.array([10, 20, 30, 40, 50, 60, 80, 90], dtype="uint8"), (n // 50 + 1, n // 50 + 1),
                        p=[0.5, 0.05, 0.1, 0.2, 0.07, 0.02, 0.04, 0.02])
    grid = np.kron(coarse, np.ones((50, 50), dtype="uint8"))[:n, :n]
    cell = side / n
    profile = dict(driver="GTiff", width=n, height=n, count=1, dtype="uint8", crs=CRS, compress="deflate",
                   tiled=True, transform=from_origin(CENTRE[0] - side / 2, CENTRE[1] + side / 2, cell, cell))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(grid, 1)


def generate(size: str, out: Path, seed: int = 20261123) -> Path:
    """Write every benchmark input for ``size`` into ``out/size`` and return that folder."""
    spec = SIZES[size]
    rng = np.random.default_rng(seed)
    folder = out / size
    folder.mkdir(parents=True, exist_ok=True)
    side = spec["side_m"]
    county = gpd.GeoDataFrame({"name": ["示例县"]}, geometry=[shapely.segmentize(shapely.box(
        CENTRE[0] - side / 2, CENTRE[1] - side / 2, CENTRE[0] + side / 2, CENTRE[1] + side / 2), 100.0)], crs=CRS)
    county.to_file(folder / "county.gpkg", engine="pyogrio")
    farm = parcels(rng, side, spec["parcels"])
    for suffix in ("gpkg", "fgb"):
        farm.to_file(folder / f"parcels.{suffix}", engine="pyogrio")
    farm.to_parquet(folder / "parcels.parquet")
    redline(rng, side, spec["redline"]).to_file(folder / "redline.gpkg", engine="pyogrio")
    footprints(rng, side, spec["footprints"]).to_parquet(folder / "footprints.parquet")
    townships(rng, side, spec["units"]).to_file(folder / "townships.gpkg", engine="pyogrio")
    raster(rng, side, spec["raster"], folder / "landcover.tif")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    args = ap.parse_args()
    t = time.perf_counter()
    folder = generate(args.size, args.out)
    print(f"{args.size} data written to {folder} in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
