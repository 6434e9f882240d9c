"""``redline convert`` end to end: formats by suffix, the GBK shapefile with its .cpg, refusals in one line,
nothing half-written."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest
import shapely

from redline.io import read_layer


def run(*args):
    return subprocess.run([sys.executable, "-m", "redline", "convert", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def layer(tmp_path):
    path = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame({"project_id": ["S-1", "S-2"], "name": ["示例厂区", "示例光伏"], "category": ["industrial", "energy"]},
                     geometry=[shapely.box(108.70, 29.50, 108.705, 29.505),
                               shapely.box(108.71, 29.50, 108.715, 29.505).difference(
                                   shapely.box(108.711, 29.501, 108.712, 29.502))],
                     crs="EPSG:4490").to_file(path)
    return path


def test_shapefile_is_gbk_with_cpg(tmp_path, layer):
    out = tmp_path / "sites.shp"
    done = run(layer, out)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "sites.cpg").read_text().strip() == "GBK"
    assert "示例厂区".encode("gbk") in (tmp_path / "sites.dbf").read_bytes()
    back = pyogrio.read_dataframe(out)
    assert list(back["name"]) == ["示例厂区", "示例光伏"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".redline-")]
    assert {p.name for p in tmp_path.iterdir()} == {"sites.gpkg", *(f"sites.{e}" for e in ("shp", "shx", "dbf", "prj", "cpg"))}


def test_txt_then_geojson(tmp_path, layer):
    txt, geojson = tmp_path / "sites.txt", tmp_path / "sites.geojson"
    assert run(layer, txt).returncode == 0
    done = run(txt, geojson)
    assert done.returncode == 0, done.stderr
    gdf, _ = read_layer(geojson)
    assert list(gdf["project_id"]) == ["S-1", "S-2"] and list(gdf["category"]) == ["industrial", "energy"]
    assert len(gdf.geometry.values[1].interiors) == 1


@pytest.mark.parametrize("out,match", [("x.xyz", "unknown output format '.xyz'"), ("sites.gpkg", "refusing to overwrite")])
def test_refusals_one_line(tmp_path, layer, out, match):
    target = tmp_path / out if out != "sites.gpkg" else layer
    done = run(layer, target)
    assert done.returncode == 1
    assert match in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_txt_unencodable_name_leaves_nothing(tmp_path):
    path = tmp_path / "emoji.gpkg"
    gpd.GeoDataFrame({"project_id": ["E-1"], "name": ["厂区🏭"]}, geometry=[shapely.box(108.7, 29.5, 108.705, 29.505)],
                     crs="EPSG:4490").to_file(path)
    out = tmp_path / "emoji.txt"
    done = run(path, out)
    assert done.returncode == 1 and "cannot be written in GBK" in done.stderr and "--out-encoding" in done.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".redline-")]
    assert run(path, out, "--out-encoding", "utf-8").returncode == 0
    assert "厂区🏭" in out.read_text(encoding="utf-8")
