"""Buffer rings at scale: counts exact against a brute-force distance count, areas from the grid within the stated
tolerance of an independent computation (the ring polygon ∩ the dissolved layer, measured with pyproj's Geod)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from redline.analyses.screening import rings
from redline.geometry.burn import block_sums
from redline.engines import screen

GK = "EPSG:4545"  # CGCS2000 3° zone 36 (CM 108°E), eastings without the zone prefix
TOLERANCE = 1e-3  # the ring areas' stated tolerance on the grid, 0.1 % (README, Buffer rings)


def _layer(seed: int = 7) -> np.ndarray:
    """About 2 000 Voronoi parcels over 6 × 6 km with every third left out, and three large overlapping discs."""
    rng = np.random.default_rng(seed)
    x0, y0 = 500_000.0, 3_300_000.0
    pts = shapely.points(rng.uniform(x0, x0 + 6000, 3000), rng.uniform(y0, y0 + 6000, 3000))
    frame = shapely.box(x0, y0, x0 + 6000, y0 + 6000)
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts))), frame)
    keep = cells[np.arange(len(cells)) % 3 != 0]
    discs = shapely.buffer(shapely.points([x0 + 2500, x0 + 3200, x0 + 4000], [y0 + 1500, y0 + 1900, y0 + 4500]), 700)
    return np.concatenate([keep, discs])


def _footprints() -> gpd.GeoDataFrame:
    x0, y0 = 500_000.0, 3_300_000.0
    geoms = [shapely.box(x0 + 2800, y0 + 2800, x0 + 3300, y0 + 3100),
             shapely.Polygon([(x0 + 1500, y0 + 4200), (x0 + 2200, y0 + 4300), (x0 + 1800, y0 + 4900)]),
             shapely.box(x0 + 4300, y0 + 1000, x0 + 4320, y0 + 2600)]  # a narrow strip, like a road
    return gpd.GeoDataFrame({"project_id": ["A", "B", "C"], "category": ["industrial"] * 3}, geometry=geoms, crs=GK)


def _geod_m2(geom) -> float:
    """Ellipsoidal area by pyproj's Geod: the plane polygon densified to 20 m, then taken to CGCS2000 lon/lat."""
    to_ll = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
    ll = shapely.transform(shapely.segmentize(geom, 20.0),
                           lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
    return abs(Geod(ellps="GRS80").geometry_area_perimeter(ll)[0])


def test_counts_are_exact_distances():
    feats = _layer()
    fps = np.asarray(_footprints().geometry.array)
    dists = (250.0, 500.0, 1000.0, 2000.0)
    got = rings._Cells(feats).within(fps, dists)
    want = np.array([[int((shapely.distance(feats, f) <= d).sum()) for d in dists] for f in fps])
    assert (got == want).all()


def test_counts_with_one_huge_feature_among_small_ones():
    """A feature far wider than the cells widens its cell's radius; its count is still exact."""
    feats = np.concatenate([_layer()[:300], [shapely.box(495_000, 3_295_000, 499_000, 3_310_000)]])
    fps = np.asarray(_footprints().geometry.array)
    got = rings._Cells(feats).within(fps, (500.0, 1500.0))
    want = np.array([[int((shapely.distance(feats, f) <= d).sum()) for d in (500.0, 1500.0)] for f in fps])
    assert (got == want).all()


@pytest.mark.parametrize("gridded", [False, True], ids=["exact", "grid"])
def test_ring_areas_against_geod(monkeypatch, gridded):
    """Each ring's area against the ring polygon ∩ the dissolved layer measured by Geod: to 1e-6 on the exact path,
    within the stated tolerance on the grid (forced here by lowering the pair budget to nothing)."""
    if gridded:
        monkeypatch.setattr(rings, "_GRID_PAIRS", 0)
    feats = _layer()
    layer = gpd.GeoDataFrame(geometry=feats, crs=GK)
    r = screen(_footprints(), {"eco_redline": layer}, buffers=[500, 1000, 2000])
    dissolved = shapely.union_all(feats)
    polys = r.buffers.to_crs(GK)
    for (pid, outer), ring in zip(zip(polys.project_id, polys.outer_m), polys.geometry):
        want = _geod_m2(shapely.intersection(ring, dissolved))
        got = r.rings.set_index(["project_id", "outer_m"]).loc[(pid, outer), "area_m2"]
        assert got == pytest.approx(want, rel=TOLERANCE if gridded else 1e-6), (pid, outer)


def test_grid_is_split_when_footprints_are_far_apart(monkeypatch):
    """Footprints 200 km apart get a grid each instead of one over the whole span."""
    monkeypatch.setattr(rings, "_GRID_PAIRS", 0)
    monkeypatch.setattr(rings, "_GRID_MAX_CELLS", 2_000_000)
    widest = shapely.buffer(shapely.points([500_000, 700_000], [3_300_000, 3_300_000]), 5000)
    feats = np.asarray(shapely.buffer(shapely.points([500_000, 700_000], [3_301_000, 3_301_000]), 300))
    exact, groups = rings._split_by_work(shapely.bounds(widest), feats, shapely.STRtree(feats))
    assert len(exact) == 0 and sorted(len(g) for g in groups) == [1, 1]


def test_block_sums_count_the_pixels():
    """The 64-bit word trick adds 8 × 8 blocks of 0/1 pixels as numpy's plain sum does."""
    rng = np.random.default_rng(5)
    fine = (rng.random((16 * 8, 41 * 8)) < 0.37).astype(np.uint8)
    fine[:8, :8] = 1  # a full block: 64
    got = block_sums(fine, 16, 41, 8)
    assert (got == fine.reshape(16, 8, 41, 8).sum(axis=(1, 3))).all() and got[0, 0] == 64


def test_grid_sums_polygons_with_holes_parts_and_either_orientation():
    """The scan-line sums take each crossing as an entry or an exit from the ring's orientation: a polygon with a
    hole, the same with its rings reversed (clockwise exterior) and a two-part MultiPolygon each sum the layer's
    area inside them, against the intersection measured with Geod."""
    feats = _layer()
    tree = shapely.STRtree(feats)
    x0, y0 = 500_000.0, 3_300_000.0
    holed = shapely.Polygon(shapely.buffer(shapely.Point(x0 + 3000, y0 + 3000), 2000, quad_segs=32).exterior.coords,
                            [shapely.buffer(shapely.Point(x0 + 3300, y0 + 2900), 700).exterior.coords[::-1]])
    triangle = shapely.Polygon([(x0 + 4000, y0 + 4000), (x0 + 5800, y0 + 4300), (x0 + 4500, y0 + 5900)])
    two = shapely.MultiPolygon([shapely.box(x0 + 200, y0 + 300, x0 + 1900, y0 + 1400), triangle])
    polys = np.array([holed, shapely.reverse(holed), two])
    assert shapely.is_ccw(holed.exterior) != shapely.is_ccw(shapely.reverse(holed).exterior)
    grid = rings._AreaGrid(feats, tree, GK, (x0 - 100, y0 - 100, x0 + 6100, y0 + 6100))
    got = grid.area_within(polys, 1000.0)
    dissolved = shapely.union_all(feats)
    for g, value in zip(polys, got):
        assert value == pytest.approx(_geod_m2(shapely.intersection(g, dissolved)), rel=TOLERANCE)


def test_counts_exact_for_long_footprints_and_footprints_over_features():
    """A winding road of 1 000+ vertices (counted once per distance against a prepared copy) beside small
    footprints (one descent for all distances), one of them lying over features (distance 0): all exact."""
    feats = _layer()
    x0, y0 = 500_000.0, 3_300_000.0
    t = np.linspace(0, 1, 600)
    road = shapely.buffer(shapely.LineString(np.column_stack([x0 + 500 + 5000 * t, y0 + 3000 + 800 * np.sin(9 * t)])),
                          15, cap_style="flat")
    over = shapely.box(x0 + 2000, y0 + 2000, x0 + 2600, y0 + 2500)
    fps = np.array([road, over, shapely.Point(x0 + 5500, y0 + 800).buffer(40)])
    assert shapely.get_num_coordinates(road) > rings._SIMPLE_VERTICES >= shapely.get_num_coordinates(over)
    dists = (100.0, 500.0, 1200.0)
    got = rings._Cells(feats).within(fps, dists)
    want = np.array([[int((shapely.distance(feats, f) <= d).sum()) for d in dists] for f in fps])
    assert (got == want).all()


def _odd_footprints(n: int, seed: int = 11) -> np.ndarray:
    """Footprints of every shape over the layer of ``_layer``: stars (concave), squares with holes, two-part
    multipolygons, slivers 2 m wide, of 10 m to 900 m across."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cx, cy = 500_000.0 + rng.uniform(-500, 6500), 3_300_000.0 + rng.uniform(-500, 6500)
        size = rng.uniform(5, 450)
        shape = i % 4
        if shape == 0:
            t = np.linspace(0, 2 * np.pi, 2 * int(rng.integers(3, 9)), endpoint=False)
            radius = np.where(np.arange(len(t)) % 2, size, size * rng.uniform(0.1, 0.6))
            out.append(shapely.Polygon(np.column_stack([cx + radius * np.cos(t), cy + radius * np.sin(t)])))
        elif shape == 1:
            out.append(shapely.box(cx - size, cy - size, cx + size, cy + size).difference(
                shapely.box(cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)))
        elif shape == 2:
            out.append(shapely.MultiPolygon([shapely.box(cx, cy, cx + size / 3, cy + size / 3),
                                             shapely.box(cx + size, cy - size, cx + size * 1.2, cy - size / 2)]))
        else:
            angle = rng.uniform(0, np.pi)
            out.append(shapely.buffer(shapely.LineString([(cx, cy), (cx + 2 * size * np.cos(angle),
                                                                     cy + 2 * size * np.sin(angle))]), 1.0))
    return np.array(out)


def test_support_bounds_hold_the_distance():
    """The cheap bounds that spare GEOS calls (``_Support``) hold the true distance, for points near and far,
    inside and outside footprints of every shape."""
    fps = _odd_footprints(200)
    rng = np.random.default_rng(5)
    src = rng.integers(0, len(fps), 20_000)
    centre = shapely.get_coordinates(shapely.centroid(fps))[src]
    xy = centre + rng.normal(0, 1, (len(src), 2)) * rng.choice([20.0, 300.0, 3000.0], (len(src), 1))
    low, high = rings._Support(fps).bounds(src, xy)
    dist = shapely.distance(fps[src], shapely.points(xy))
    assert (low <= dist + 1e-9).all() and (dist <= high + 1e-9).all()
    assert np.median(high - low) < 0.2 * np.median(dist)  # and are close enough to spare most calls
    # and the bound on a feature's distance from the box of its extreme vertices
    feats = shapely.buffer(shapely.points(xy[:2000]), rng.uniform(1, 200, 2000), quad_segs=3)
    cells = rings._Cells(feats)
    gap = rings._Support(fps).box_gap(src[:2000], cells.extreme)
    whole = shapely.distance(fps[src[:2000]], feats)
    assert (gap <= whole + 1e-9).all() and (gap > 0).mean() > 0.5


def test_counts_exact_for_footprints_of_every_shape():
    """Counts from the bounds and the cells against a brute-force count (STRtree ``dwithin``), for footprints of
    every shape and distances from below a footprint's size to far beyond it."""
    feats = _layer(3)
    fps = _odd_footprints(160)
    dists = (30.0, 180.0, 700.0, 2500.0)
    got = rings._Cells(feats).within(fps, dists)
    tree = shapely.STRtree(feats)
    want = np.array([[len(tree.query(f, predicate="dwithin", distance=d)) for d in dists] for f in fps])
    assert (got == want).all()
