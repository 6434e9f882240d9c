"""Areas against independent computations: pyproj Geod on the lon/lat rings, and the closed-form ellipsoid zone."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely import box

from redline.geometry.area import UNITS, area, convert, covered_area, dissolve, ellipsoidal_area, plane_area
from redline.geometry.clean import polygonal
from redline.errors import CRSError

from conftest import BOWTIE, MULTI, SQUARE, WITH_HOLE

GEOD = Geod(ellps="GRS80")


def geod_area(geom) -> float:
    """Reference: Geod's own polygon area on the lon/lat geometry (signed per ring, so take abs per polygon)."""
    if geom.geom_type == "MultiPolygon":
        return sum(geod_area(p) for p in geom.geoms)
    ext = abs(GEOD.polygon_area_perimeter(*geom.exterior.xy)[0])
    holes = sum(abs(GEOD.polygon_area_perimeter(*r.xy)[0]) for r in geom.interiors)
    return ext - holes


def zone_area(lat1, lat2, dlon_deg, a=6378137.0, f=1 / 298.257222101) -> float:
    """Closed-form area of the ellipsoidal quadrangle between two parallels and two meridians."""
    e2 = f * (2 - f)
    e = math.sqrt(e2)
    b2 = a * a * (1 - e2)

    def q(phi):
        s = math.sin(phi)
        return s / (1 - e2 * s * s) + math.log((1 + e * s) / (1 - e * s)) / (2 * e)

    return 0.5 * b2 * math.radians(dlon_deg) * (q(math.radians(lat2)) - q(math.radians(lat1)))


@pytest.mark.parametrize("geom", [SQUARE, WITH_HOLE, MULTI], ids=["square", "hole", "multi"])
@pytest.mark.parametrize(
    "crs",
    ["EPSG:4490", "EPSG:4326", "EPSG:4524", "EPSG:4545", "EPSG:4497", "EPSG:3857", "EPSG:32649"],
    ids=["cgcs2000", "wgs84", "gk3-zone36-prefixed", "gk3-cm108", "gk6-zone19-prefixed", "webmercator", "utm49"],
)
def test_ellipsoidal_area_any_crs_matches_geod(geom, crs):
    expected = geod_area(geom)
    projected = gpd.GeoSeries([geom], crs="EPSG:4490").to_crs(crs)
    got = ellipsoidal_area(projected)[0]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-3)


def test_hole_is_subtracted_and_multi_added():
    outer = shapely.Polygon(WITH_HOLE.exterior)
    hole = shapely.Polygon(WITH_HOLE.interiors[0])
    a_outer, a_hole, a_poly = ellipsoidal_area([outer, hole, WITH_HOLE], crs="EPSG:4490")
    assert a_poly == pytest.approx(a_outer - a_hole, rel=1e-12)
    parts = ellipsoidal_area(list(MULTI.geoms), crs="EPSG:4490")
    assert ellipsoidal_area([MULTI], crs="EPSG:4490")[0] == pytest.approx(parts.sum(), rel=1e-12)


def test_orientation_does_not_matter():
    cw = shapely.Polygon(list(SQUARE.exterior.coords)[::-1])
    assert ellipsoidal_area([cw], crs=4490)[0] == pytest.approx(ellipsoidal_area([SQUARE], crs=4490)[0], rel=1e-12)


@pytest.mark.parametrize("n_vertices", [5, 40, 400])
@pytest.mark.parametrize("radius_m", [8.0, 60.0, 500.0])
def test_small_many_vertex_parcels_match_geod(n_vertices, radius_m):
    # parcel-sized rings with short edges at 29°N, where summing spherical-excess terms loses precision unless
    # each ring is rotated to the equator first: checked against Geod to 1e-8 (Geod's own noise is ~1e-4 m²)
    ang = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    rng = np.random.default_rng(n_vertices)
    r = radius_m * rng.uniform(0.8, 1.2, n_vertices)
    centre = gpd.GeoSeries([shapely.Point(108.77, 29.53)], crs=4490).to_crs(4545).iloc[0]
    ring = shapely.Polygon(np.c_[centre.x + r * np.cos(ang), centre.y + r * np.sin(ang)])
    lonlat = gpd.GeoSeries([ring], crs=4545).to_crs(4490).iloc[0]
    # abs: Geod itself rounds at ~1e-4 m² on 400-vertex rings (checked against a 50-digit evaluation)
    assert ellipsoidal_area([ring], crs=4545)[0] == pytest.approx(geod_area(lonlat), rel=1e-8, abs=5e-4)


def test_one_degree_cell_matches_closed_form():
    # a 1°x1° cell bounded by parallels (densified, so geodesic edges follow them) at 29–30°N
    n = 2000
    lons = np.linspace(108.0, 109.0, n)
    lats = np.linspace(29.0, 30.0, n)
    ring = (
        [(x, 29.0) for x in lons]
        + [(109.0, y) for y in lats[1:]]
        + [(x, 30.0) for x in lons[::-1][1:]]
        + [(108.0, y) for y in lats[::-1][1:]]
    )
    got = ellipsoidal_area([shapely.Polygon(ring)], crs="EPSG:4490")[0]
    assert got == pytest.approx(zone_area(29.0, 30.0, 1.0), rel=1e-6)


def test_empty_null_and_non_polygonal_measure_zero():
    geoms = [None, shapely.Polygon(), shapely.Point(108, 29), shapely.LineString([(108, 29), (109, 30)]), SQUARE]
    got = ellipsoidal_area(geoms, crs="EPSG:4490")
    assert got[:4].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert got[4] == pytest.approx(geod_area(SQUARE), rel=1e-10)


def test_geometry_collection_counts_polygons_only():
    gc = shapely.GeometryCollection([SQUARE, shapely.Point(108, 29), shapely.LineString([(108, 29), (108.1, 29)])])
    assert ellipsoidal_area([gc], crs=4490)[0] == pytest.approx(geod_area(SQUARE), rel=1e-10)


def test_missing_crs_is_an_error():
    with pytest.raises(CRSError, match="without a CRS"):
        ellipsoidal_area([SQUARE])


def test_plane_area_in_gk_and_refusals():
    sq = box(500_000, 3_300_000, 501_000, 3_301_000)
    assert plane_area([sq], crs="EPSG:4545")[0] == 1_000_000.0
    with pytest.raises(CRSError, match="geographic"):
        plane_area([SQUARE], crs="EPSG:4490")
    with pytest.raises(CRSError, match="Web Mercator"):
        plane_area([sq], crs="EPSG:3857")


def test_plane_area_exceeds_ellipsoidal_at_zone_edge():
    # ~1.4° east of CM 108E: the GK scale factor makes the grid area larger, by up to ~0.05 % at a 3° zone edge
    cell = gpd.GeoSeries([box(109.4, 29.5, 109.45, 29.55)], crs=4490).to_crs("EPSG:4545")
    plane = plane_area(cell)[0]
    ell = ellipsoidal_area(cell)[0]
    assert 1.0002 < plane / ell < 1.0006


def test_units():
    assert UNITS["mu"] == pytest.approx(666.6666667)
    assert convert(1e6, "mu") == pytest.approx(1500)
    assert convert(1e4, "mu") == pytest.approx(15)
    assert convert(1e6, "km2") == 1
    assert convert(1e4, "ha") == 1
    assert convert(1e8 / 15, "wanmu") == pytest.approx(1)
    with pytest.raises(ValueError, match="unknown area unit"):
        convert(1, "acre")


def test_area_method_and_unit():
    sq = box(500_000, 3_300_000, 501_000, 3_301_000)
    assert area([sq], crs=4545, method="plane", unit="ha")[0] == pytest.approx(100)
    with pytest.raises(ValueError, match="method"):
        area([sq], crs=4545, method="flat")


def test_dissolve_counts_overlap_once():
    a, b = box(108.0, 29.0, 108.02, 29.02), box(108.01, 29.01, 108.03, 29.03)
    union = a.union(b)
    assert covered_area([a, b], crs=4490) == pytest.approx(geod_area(union), rel=1e-9)
    assert covered_area([a, b], crs=4490) < ellipsoidal_area([a, b], crs=4490).sum()


def test_covered_area_clipped():
    a = box(108.0, 29.0, 108.02, 29.02)
    clip = box(108.0, 29.0, 108.01, 29.02)
    assert covered_area([a], crs=4490, within=clip) == pytest.approx(geod_area(clip), rel=1e-9)


def test_dissolve_repairs_invalid_input():
    merged = dissolve([BOWTIE, SQUARE])
    assert merged.is_valid
    assert merged.geom_type in ("Polygon", "MultiPolygon")


def test_polygonal_keeps_types():
    out = polygonal([SQUARE, shapely.Point(0, 0), None])
    assert out[0] == SQUARE and out[1].is_empty and out[2] is None


def test_long_edges_are_measured_by_geographiclib():
    # a 1° box has 111 km edges: beyond the authalic-sphere path, measured by Geod itself — to the last digits,
    # in the same call as parcel-sized rings
    big = box(108.0, 29.0, 109.0, 30.0)
    got = ellipsoidal_area([big, SQUARE, shapely.MultiPolygon([big, box(110, 20, 110.01, 20.01)])], crs=4490)
    assert got[0] == pytest.approx(geod_area(big), rel=1e-13)
    assert got[1] == pytest.approx(geod_area(SQUARE), rel=1e-10)
    assert got[2] == pytest.approx(geod_area(big) + geod_area(box(110, 20, 110.01, 20.01)), rel=1e-12)


@pytest.mark.parametrize(
    "crs, x0",
    [("EPSG:4545", 660_000.0), ("EPSG:4545", 340_000.0), ("EPSG:4524", 36_650_000.0), ("EPSG:32649", 680_000.0)],
    ids=["gk3-east-edge", "gk3-west-edge", "gk3-prefixed", "utm49"],
)
def test_small_polygons_take_the_scale_shortcut_and_match_geod(crs, x0):
    # polygons up to 150 m across are measured as plane area ÷ areal scale at the centroid: checked against
    # GeographicLib on the lon/lat vertices, far off the central meridian where the shortcut is worst
    rng = np.random.default_rng(7)
    polys = []
    for _ in range(300):
        n = int(rng.integers(3, 12))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = rng.uniform(0.2, 0.5, n) * 150.0
        cx, cy = x0 + rng.uniform(-5000, 5000), 3_300_000.0 + rng.uniform(-5000, 5000)
        polys.append(shapely.Polygon(np.c_[cx + r * np.cos(ang), cy + r * np.sin(ang)]))
    lonlat = gpd.GeoSeries(polys, crs=crs).to_crs(4490)
    expected = np.array([geod_area(p) for p in lonlat])
    got = ellipsoidal_area(polys, crs=crs)
    assert np.abs(got - expected).max() < 0.02  # m²
    assert got.sum() == pytest.approx(expected.sum(), rel=1e-8)


def test_scale_shortcut_and_full_path_agree_across_the_threshold():
    # a 149 m square takes the shortcut, a 151 m one the full path: both match Geod, and mixing them in one
    # call keeps each in its place
    centre = gpd.GeoSeries([shapely.Point(109.4, 29.5)], crs=4490).to_crs(4545).iloc[0]
    squares = [box(centre.x, centre.y, centre.x + s, centre.y + s) for s in (149.0, 151.0, 5000.0)]
    lonlat = gpd.GeoSeries(squares, crs=4545).to_crs(4490)
    got = ellipsoidal_area(squares + [shapely.Point(0, 0)], crs=4545)
    for g, p in zip(got, lonlat):
        assert g == pytest.approx(geod_area(p), abs=0.02)
    assert got[3] == 0.0


def test_long_thin_lon_lat_parcels_read_as_every_command_reads_them_measure_as_geodesic_polygons(tmp_path):
    """Long thin lon/lat parcels (30 ha, edges of about 2 km, as a 三调 parcel along a valley), read as every command
    reads a layer (read_layer puts points every 100 m along long edges): their area is the geodesic polygon's
    (pyproj Geod, as QGIS measures). Measured raw, without those points, the authalic sphere's great circles part
    from the geodesics by up to 6e-7 on such parcels (README, Areas)."""
    import geopandas as gpd
    import numpy as np
    import shapely
    from pyproj import Geod

    from redline.geometry.area import ellipsoidal_area
    from redline.io import read_layer

    polys = [shapely.box(108.83, 29.65, 108.85, 29.6515),  # 1.9 km × 170 m
             shapely.Polygon([(108.9, 29.7), (108.918, 29.703), (108.9185, 29.7045), (108.9003, 29.7016)]),
             shapely.box(108.6, 29.3, 108.6015, 29.318)]  # north-south
    gpd.GeoDataFrame({"id": [1, 2, 3]}, geometry=polys, crs=4490).to_file(tmp_path / "p.gpkg")
    layer, _ = read_layer(tmp_path / "p.gpkg", geometry="polygon")
    geod = Geod(ellps="GRS80")
    expected = np.array([abs(geod.geometry_area_perimeter(p)[0]) for p in polys])
    got = ellipsoidal_area(layer.geometry.values, crs=layer.crs)
    assert np.abs(got / expected - 1).max() < 1e-9, got / expected - 1


def test_lonlat_polygons_with_long_edges_measured_as_geodesic_polygons():
    """Lon/lat polygons with edges of 0.2–3 km, handed straight to ``ellipsoidal_area`` (not read through
    read_layer, which densifies them), against pyproj's Geod: within 1e-8 (6e-7 to 1.5e-5 off before its edges
    were densified inside)."""
    geod = Geod(ellps="GRS80")
    rng = np.random.default_rng(0)
    polys = []
    while len(polys) < 200:
        lon0, lat0 = rng.uniform(75, 130), rng.uniform(18, 50)
        n = int(rng.integers(3, 8))
        ang, r = np.sort(rng.uniform(0, 2 * np.pi, n)), rng.uniform(0.002, 0.03, n)
        poly = shapely.Polygon(np.c_[lon0 + r * np.cos(ang), lat0 + r * np.sin(ang)])
        if poly.is_valid:
            polys.append(poly)
    want = np.array([abs(geod.geometry_area_perimeter(p)[0]) for p in polys])
    got = ellipsoidal_area(polys, crs="EPSG:4490")
    assert np.abs(got / want - 1).max() < 1e-8
