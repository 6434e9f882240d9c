"""Land-cover class areas: partial pixels and true cell areas, against pyproj Geod on densified polygons."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Geod
from rasterio.transform import from_origin

from redline.analyses.landcover import geographic_cell_area, group_shares, landcover_areas, load_raster_classes
from redline.errors import CRSError, LayerReadError
from redline.io import open_raster

GEOD = Geod(ellps="GRS80")


def geod(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.segmentize(geom, 0.01))[0])


def write_raster(path, array, crs, transform, nodata=None):
    profile = dict(driver="GTiff", width=array.shape[1], height=array.shape[0], count=1, dtype=array.dtype.name,
                   crs=crs, transform=transform, nodata=nodata)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


@pytest.fixture
def tall_raster(tmp_path):
    """1° cells from 54°N down to 18°N over 108–110°E: west column tree cover (10), east column cropland (40)."""
    arr = np.tile(np.array([[10, 40]], dtype="uint8"), (36, 1))
    return write_raster(tmp_path / "tall.tif", arr, "EPSG:4490", from_origin(108, 54, 1, 1))


def test_cell_areas_follow_latitude(tall_raster):
    south, north = shapely.box(108, 18, 109, 19), shapely.box(108, 52, 109, 53)
    half = shapely.box(108.5, 30, 109.5, 31)        # half a tree cell, half a cropland cell
    # densified like real boundaries, so the unit's own (geodesic-edged) area matches the parallel-bounded cells
    units = gpd.GeoDataFrame({"id": ["s", "n", "h"]}, geometry=shapely.segmentize([south, north, half], 0.01), crs=4490)
    with open_raster(tall_raster) as r:
        t = landcover_areas(r, units, "id")
    got = t.set_index(["unit", "code"])["area_m2"]
    assert got["s", "10"] == pytest.approx(geod(south), rel=1e-6)
    assert got["n", "10"] == pytest.approx(geod(north), rel=1e-6)
    assert got["n", "10"] / got["s", "10"] == pytest.approx(0.637, abs=0.01)  # not the same area at 18°N and 53°N
    assert got["h", "10"] == pytest.approx(geod(shapely.box(108.5, 30, 109, 31)), rel=1e-6)
    assert got["h", "40"] == pytest.approx(geod(shapely.box(109, 30, 109.5, 31)), rel=1e-6)
    shares = t.groupby("unit")["share_pct"].sum()
    assert shares["h"] == pytest.approx(100, rel=1e-6)
    assert set(t["name"]) == {"林地 (Tree cover)", "耕地 (Cropland)"}


def test_projected_raster_uses_ellipsoidal_cell_area(tmp_path):
    # 100 m cells in GK CM 108E, 1.4° east of the central meridian where the grid scale is largest
    x0, y0 = 640_000, 3_300_000
    arr = np.full((20, 20), 10, dtype="uint8")
    arr[:, 10:] = 80
    path = write_raster(tmp_path / "gk.tif", arr, "EPSG:4545", from_origin(x0, y0 + 2000, 100, 100))
    unit = shapely.box(x0 + 50, y0 + 50, x0 + 1550, y0 + 1950)
    units = gpd.GeoDataFrame({"id": ["u"]}, geometry=[unit], crs=4545)
    with open_raster(path) as r:
        t = landcover_areas(r, units, "id").set_index("code")
    lonlat = gpd.GeoSeries([shapely.segmentize(unit, 10)], crs=4545).to_crs(4490).iloc[0]
    expected_total = abs(GEOD.geometry_area_perimeter(lonlat)[0])
    assert t["area_m2"].sum() == pytest.approx(expected_total, rel=1e-6)
    assert t["area_m2"].sum() < unit.area  # plane area is larger off the central meridian
    assert t.loc["10", "area_m2"] / t.loc["80", "area_m2"] == pytest.approx(950 / 550, rel=1e-3)


def test_nodata_is_not_counted(tmp_path):
    arr = np.array([[10, 255]], dtype="uint8")
    path = write_raster(tmp_path / "nd.tif", arr, "EPSG:4490", from_origin(108, 30, 0.1, 0.1), nodata=255)
    units = gpd.GeoDataFrame({"id": ["u"]}, geometry=[shapely.box(108, 29.9, 108.2, 30)], crs=4490)
    with open_raster(path) as r:
        t = landcover_areas(r, units, "id")
    assert t["code"].tolist() == ["10"] and t["share_pct"].iloc[0] == pytest.approx(50, rel=1e-3)


def test_group_shares(tall_raster):
    units = gpd.GeoDataFrame({"id": ["h"]}, geometry=[shapely.box(108.5, 30, 109.5, 31)], crs=4490)
    with open_raster(tall_raster) as r:
        g = group_shares(landcover_areas(r, units, "id"), load_raster_classes())
    row = g.iloc[0]
    assert row["forest_pct"] == pytest.approx(row["farmland_pct"], rel=1e-3) and row["wetland_pct"] == 0


def test_closed_form_against_geod():
    lat = np.array([18.5, 36.5, 52.5])
    expected = [geod(shapely.box(108, y - 0.5, 109, y + 0.5)) for y in lat]
    assert geographic_cell_area(lat, 1, 1) == pytest.approx(expected, rel=1e-6)


def test_bad_rasters(tmp_path):
    with pytest.raises(LayerReadError, match="nope.tif: file not found"):
        open_raster(tmp_path / "nope.tif")
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster")
    with pytest.raises(LayerReadError, match="bad.tif: not a readable raster"):
        open_raster(bad)
    arr = np.ones((2, 2), dtype="uint8")
    with rasterio.open(tmp_path / "nocrs.tif", "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8",
                       transform=from_origin(0, 2, 1, 1)) as dst:
        dst.write(arr, 1)
    with pytest.raises(CRSError, match="no CRS"):
        open_raster(tmp_path / "nocrs.tif")


def test_indicators_cli_with_landcover(tmp_path):
    import json
    import subprocess
    import sys

    arr = np.tile(np.array([[10, 10, 40, 40]], dtype="uint8"), (4, 1))
    raster = write_raster(tmp_path / "覆盖.tif", arr, "EPSG:4490", from_origin(108, 30, 0.05, 0.05))
    boundary = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.segmentize(shapely.box(108, 29.8, 108.2, 30), 0.01)],
                     crs=4490).to_file(boundary, engine="pyogrio")
    urban = tmp_path / "u.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.segmentize(shapely.box(108.0, 29.9, 108.1, 30), 0.01)], crs=4490).to_file(
        urban, engine="pyogrio")
    recipe = tmp_path / "r.toml"
    recipe.write_text('[[indicator]]\nid = "forest"\nname_zh = "森林覆盖率"\nmetric = "landcover:forest_coverage"\n'
                      'unit = "%"\ncomparator = ">="\ntarget = 45\n'
                      '[[indicator]]\nid = "green"\nname_zh = "建成区绿化覆盖率"\nmetric = "landcover:green_coverage"\n'
                      'unit = "%"\ncomparator = ">="\ntarget = 45\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "redline", "indicators", "--boundary", str(boundary), "--layer",
                           f"urban_boundary={urban}", "--landcover", str(raster), "--recipe", str(recipe), "--json"],
                          capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    groups = {g["unit"]: g for g in data["landcover_groups"]}
    assert groups["(全区)"]["forest_pct"] == pytest.approx(50, abs=1e-3)
    assert groups["(建成区)"]["vegetation_pct"] == pytest.approx(100, abs=1e-3)  # built-up box lies on tree cover
    card = {r["id"]: r for r in data["scorecard"]}
    assert card["forest"]["value"] == pytest.approx(50, abs=0.01) and card["forest"]["met"] is True
    assert card["green"]["met"] is True
