"""GCJ-02 (the published algorithm, against PRCoords' values), --gcj02 on a read, and Xi'an 1980 / Beijing 1954
layers: the ballpark warning, and --towgs84 moving them by seven parameters."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from redline.errors import CRSError
from redline.geometry.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from redline.io import read_layer
from redline.io.formats import FormatOptions

# (WGS84 lat, lon) → GCJ-02 (lat, lon) as PRCoords 1.0.2 (github.com/Artoria2e5/PRCoords, public domain, an
# independent implementation) gives them: Beijing, Qianjiang, Shanghai, Shenzhen, Harbin, Urumqi
PAIRS = [
    ((39.909, 116.397), (39.91040339728811, 116.40324350604497)),
    ((29.5, 108.7), (29.497250049531832, 108.7042976393989)),
    ((31.23, 121.47), (31.22806748194233, 121.47453490044272)),
    ((22.54, 114.06), (22.537286218915426, 114.06511615519426)),
    ((45.75, 126.63), (45.751935204908385, 126.6359423904876)),
    ((43.82, 87.61), (43.821204050069326, 87.61284389781082)),
]


def test_forward_matches_prcoords():
    wgs = np.array([p[0] for p in PAIRS])
    gcj = np.array([p[1] for p in PAIRS])
    lon, lat = wgs84_to_gcj02(wgs[:, 1], wgs[:, 0])
    assert np.allclose(lon, gcj[:, 1], atol=1e-12) and np.allclose(lat, gcj[:, 0], atol=1e-12)


def test_inverse_recovers_wgs84():
    gcj = np.array([p[1] for p in PAIRS])
    lon, lat = gcj02_to_wgs84(gcj[:, 1], gcj[:, 0])
    wgs = np.array([p[0] for p in PAIRS])
    assert np.allclose(lon, wgs[:, 1], atol=2e-9) and np.allclose(lat, wgs[:, 0], atol=2e-9)


def test_shift_size_and_outside_china():
    lon, lat = wgs84_to_gcj02(108.7, 29.5)
    geod_m = shapely.Point(0, 0).distance(shapely.Point((lon - 108.7) * 96_900, (lat - 29.5) * 110_800))
    assert 300 < geod_m < 700
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)  # Paris: no shift


def test_read_with_gcj02(tmp_path):
    """A GeoJSON digitised on a GCJ-02 web map, read with --gcj02: its corners land on the WGS84 positions."""
    wgs = shapely.box(108.70, 29.50, 108.71, 29.51)
    gcj = shapely.transform(wgs, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    path = tmp_path / "gaode.geojson"
    gpd.GeoDataFrame({"project_id": ["G1"]}, geometry=[gcj], crs="EPSG:4326").to_file(path)
    plain, _ = read_layer(path)
    assert shapely.hausdorff_distance(plain.geometry.values[0], wgs) > 0.002  # 300–600 m off
    gdf, report = read_layer(path, options=FormatOptions(gcj02=True))
    got = shapely.get_coordinates(gdf.geometry.values[0])
    for corner in shapely.get_coordinates(wgs):  # every corner back where it was (points added along the edges)
        assert np.abs(got - corner).max(axis=1).min() < 2e-9
    assert report.crs == "EPSG:4490" and any("GCJ-02" in n for n in report.notes)


def test_gcj02_refused_on_projected(tmp_path):
    path = tmp_path / "gk.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.box(480000, 3266000, 480100, 3266100)], crs="EPSG:4545").to_file(path)
    with pytest.raises(CRSError, match="leave out --gcj02"):
        read_layer(path, options=FormatOptions(gcj02=True))


def _xian80(tmp_path):
    path = tmp_path / "xian80.gpkg"
    gpd.GeoDataFrame({"project_id": ["X1"]}, geometry=[shapely.box(480000, 3266000, 480100, 3266100)],
                     crs="EPSG:2381").to_file(path)  # Xian 1980 / 3-degree Gauss-Kruger CM 108E
    return path


def test_xian80_ballpark_warned(tmp_path):
    _, report = read_layer(_xian80(tmp_path))
    assert any(n.startswith("warning") and "Xi'an 1980" in n and "ballpark" in n for n in report.notes)


def test_towgs84_moves_to_cgcs2000(tmp_path):
    params = "24,-123,-94,0.02,-0.25,-0.13,1.1"
    gdf, report = read_layer(_xian80(tmp_path), options=FormatOptions(towgs84=params))
    assert report.crs == "EPSG:4545" and report.towgs84 == params
    src = CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=108 +k=1 +x_0=500000 +y_0=0 +a=6378140 +rf=298.257 "
                         f"+towgs84={params} +units=m +no_defs")
    lon, lat = Transformer.from_crs(src, "EPSG:4326", always_xy=True).transform(480000, 3266000)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:4545", always_xy=True).transform(lon, lat)
    x0, y0 = gdf.geometry.values[0].bounds[:2]
    assert (x0, y0) == pytest.approx((x, y), abs=1e-3)
    assert 10 < np.hypot(x0 - 480000, y0 - 3266000) < 300


@pytest.mark.parametrize("bad", ["1,2", "a,b,c", "1,2,3,4,5,6,nan"])
def test_towgs84_bad_values(tmp_path, bad):
    with pytest.raises(CRSError, match="not 3 or 7 numbers") as err:
        read_layer(_xian80(tmp_path), options=FormatOptions(towgs84=bad))
    assert "\n" not in str(err.value)
