"""Land-cover change monitoring: patch areas against the closed-form cell areas and pyproj Geod; grids; CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Geod, Transformer
from rasterio.transform import from_origin
from shapely import box

from redline.analyses.landcover import geographic_cell_area
from redline.analyses.monitor import load_transitions, monitor
from redline.errors import CatalogError
from redline.io import open_raster

GEOD = Geod(ellps="GRS80")
CELL = 0.01
X0, Y1 = 108.70, 29.60  # north-west corner of the 10 × 10 test rasters


def write(path, array, crs="EPSG:4490", transform=None, nodata=0):
    transform = transform or from_origin(X0, Y1, CELL, CELL)
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0], count=1,
                       dtype=array.dtype.name, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(array, 1)
    return path


def cells_m2(rows, cols) -> float:
    """Closed-form ellipsoidal area of the 0.01° cells at (row, col) of the test grid."""
    lat = Y1 - (np.asarray(rows) + 0.5) * CELL
    return float(geographic_cell_area(lat, CELL, CELL).sum() * 1.0) if len(np.atleast_1d(cols)) else 0.0


@pytest.fixture
def pair(tmp_path):
    before = np.full((10, 10), 10, dtype="uint8")   # all tree cover
    before[7:, 7:] = 40                              # a cropland corner
    after = before.copy()
    after[1:3, 1:4] = 50        # 6 cells of new built-up
    after[5, 5] = 60            # one isolated cell of bare ground
    after[6:8, 1:3] = 40        # 4 cells of forest cleared for cropland
    after[8, 8] = 10            # cropland reforested: a change, but not human activity
    return write(tmp_path / "2020.tif", before), write(tmp_path / "2024.tif", after), before, after


def whole(crs=4490):
    return gpd.GeoDataFrame({"name": ["红线"]}, geometry=[shapely.segmentize(box(X0, Y1 - 0.1, X0 + 0.1, Y1), CELL)],
                            crs=4490).to_crs(crs)


def test_geographic_patches_match_closed_form(pair):
    b, a, *_ = pair
    with open_raster(b) as rb, open_raster(a) as ra:
        r = monitor(rb, ra, whole())
    s = r.summary.set_index("rule")
    assert s.loc["built_up", "area_m2"] == pytest.approx(3 * cells_m2([1, 2], [0]), rel=1e-7)
    assert s.loc["bare_quarry", "area_m2"] == pytest.approx(cells_m2([5], [0]), rel=1e-7)
    assert s.loc["forest_to_cropland", "area_m2"] == pytest.approx(2 * cells_m2([6, 7], [0]), rel=1e-7)
    assert s["patches"].tolist() == [1, 1, 1]
    t = r.transitions.set_index(["from_code", "to_code"])
    assert t.loc[("40", "10"), "human"] == "" and t.loc[("10", "50"), "human"] == "built_up"
    assert t.loc[("40", "10"), "area_m2"] == pytest.approx(cells_m2([8], [0]), rel=1e-9)
    assert set(r.patches["to_name"]) == {"建设用地 (Built-up)", "裸地 (Bare / sparse vegetation)", "耕地 (Cropland)"}


def test_min_patch_drops_and_counts(pair):
    b, a, *_ = pair
    one = cells_m2([5], [0])
    with open_raster(b) as rb, open_raster(a) as ra:
        r = monitor(rb, ra, whole(), min_patch=one * 1.5)
    assert r.dropped == {"patches": 1, "area_m2": pytest.approx(one, rel=1e-7)}
    assert "bare_quarry" not in set(r.patches["rule"])
    assert r.summary.set_index("rule").loc["bare_quarry", "dropped"] == 1


def test_patches_are_clipped_to_the_layer_and_split_by_units(pair):
    b, a, *_ = pair
    # the layer covers half of the built-up site: columns 1–2.5 of rows 1–2
    clip = box(X0, Y1 - 0.1, X0 + 0.025, Y1)
    layer = gpd.GeoDataFrame(geometry=[shapely.segmentize(clip, 0.0005)], crs=4490).to_crs(4545)  # layer in GK
    towns = gpd.GeoDataFrame({"code": ["n"]}, geometry=[shapely.segmentize(box(X0, Y1 - 0.02, X0 + 0.1, Y1), 0.0005)],
                             crs=4490)
    with open_raster(b) as rb, open_raster(a) as ra:
        r = monitor(rb, ra, layer, units=towns, by="code")
    built = r.summary.set_index("rule").loc["built_up", "area_m2"]
    expected = abs(GEOD.geometry_area_perimeter(shapely.segmentize(box(X0 + 0.01, Y1 - 0.03, X0 + 0.025, Y1 - 0.01),
                                                                  0.0005))[0])
    assert built == pytest.approx(expected, rel=1e-5)
    u = r.by_unit.set_index(["unit", "rule"])["area_m2"]
    assert u["n", "built_up"] + u["(未归属单位)", "built_up"] == pytest.approx(built, rel=1e-9)
    assert u["n", "built_up"] == pytest.approx(expected / 2, rel=1e-4)


def test_projected_raster_uses_ellipsoidal_areas(tmp_path):
    x0, y1 = 640_000, 3_302_000  # GK CM 108E, 1.4° off the central meridian
    before = np.full((20, 20), 10, dtype="uint8")
    after = before.copy()
    after[2:6, 3:8] = 50
    t = from_origin(x0, y1, 100, 100)
    b, a = write(tmp_path / "b.tif", before, "EPSG:4545", t), write(tmp_path / "a.tif", after, "EPSG:4545", t)
    layer = gpd.GeoDataFrame(geometry=[box(x0, y1 - 2000, x0 + 2000, y1)], crs=4545)
    with open_raster(b) as rb, open_raster(a) as ra:
        r = monitor(rb, ra, layer)
    site = box(x0 + 300, y1 - 600, x0 + 800, y1 - 200)
    lonlat = shapely.transform(shapely.segmentize(site, 10),
                               lambda xy: np.column_stack(Transformer.from_crs(4545, 4490, always_xy=True)
                                                          .transform(xy[:, 0], xy[:, 1])))
    expected = abs(GEOD.geometry_area_perimeter(lonlat)[0])
    got = r.summary.set_index("rule").loc["built_up", "area_m2"]
    assert got == pytest.approx(expected, rel=1e-6)
    assert got < site.area  # the plane area is larger off the central meridian
    assert r.transitions["area_m2"].sum() == pytest.approx(expected, rel=1e-6)


def test_after_on_another_grid_is_resampled(pair, tmp_path):
    b, _, _, after = pair
    fine = np.repeat(np.repeat(after, 2, axis=0), 2, axis=1)  # same classes on 0.005° cells
    a = write(tmp_path / "fine.tif", fine, transform=from_origin(X0, Y1, CELL / 2, CELL / 2))
    with open_raster(b) as rb, open_raster(a) as ra:
        r = monitor(rb, ra, whole())
    assert any("resampled" in n and "nearest" in n for n in r.notes)
    assert r.summary.set_index("rule").loc["built_up", "area_m2"] == pytest.approx(3 * cells_m2([1, 2], [0]), rel=1e-7)


def test_transitions_are_configurable(pair, tmp_path):
    b, a, *_ = pair
    toml = tmp_path / "规则.toml"
    toml.write_text('[[transition]]\nid = "reforest"\nname_zh = "退耕还林"\nfrom = ["40"]\nto = ["10"]\n', encoding="utf-8")
    with open_raster(b) as rb, open_raster(a) as ra:
        r = monitor(rb, ra, whole(), transitions=load_transitions(toml))
    assert r.patches["rule"].tolist() == ["reforest"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[transition]]\nfrom = 5\nto = "*"\n', encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_transitions(bad)
    assert "'id'" in str(err.value) and "'from'" in str(err.value) and "'to'" in str(err.value)


def run(*args):
    return subprocess.run([sys.executable, "-m", "redline", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8")


def test_cli_end_to_end(pair, tmp_path):
    b, a, *_ = pair
    folder = tmp_path / "监测 结果"
    folder.mkdir()
    layer = folder / "红线.gpkg"
    whole().to_file(layer, engine="pyogrio")
    out = folder / "图斑.gpkg"
    proc = run("monitor", "--before", b, "--after", a, "--within", f"eco_redline={layer}", "--out", out, "--json",
               "--min-patch", 1.5 * cells_m2([5], [0]))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"patches", "summary", "transitions", "dropped", "notes", "within"} <= set(data)
    assert data["dropped"]["patches"] == 1 and len(data["patches"]) == 2
    assert len(gpd.read_file(out)) == 2
    text = run("monitor", "--before", b, "--after", a, "--within", f"eco_redline={layer}")
    assert text.returncode == 0 and "新增建设用地" in text.stdout and "毁林开垦" in text.stdout
    bad = run("monitor", "--before", folder / "无.tif", "--after", a, "--within", f"eco_redline={layer}")
    lines = [x for x in bad.stderr.splitlines() if x.strip()]
    assert bad.returncode == 1 and len(lines) == 1 and "无.tif" in lines[0] and "Traceback" not in bad.stderr
