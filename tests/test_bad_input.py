"""The bad-input corpus (issue 8), each case through the CLI.

Every case is made in code into ``tmp_path`` (see ``tests/data/bad/README.md`` for the list). Each must give
either a clear one-line error naming the file, the problem and what to do (exit code 1, no traceback) or a
documented repair that the command reports. Cases already covered elsewhere are not repeated here:
missing .shx/.dbf, a missing file, an empty layer, a named layer that isn't there (test_cli.py), points where
polygons are needed (test_cli.py, test_io.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import BOWTIE, NAMES, SQUARE, sample_gdf, write_shapefile
from shapely import box

LAYER = box(108.705, 29.505, 108.8, 29.6)  # a control line overlapping SQUARE by a quarter


def run(*args, env=None):
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "redline", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env=full_env)


def one_line_error(proc, *expected):
    """Exit 1, no traceback, exactly one line on stderr, starting 'redline: error: ' and containing ``expected``."""
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("redline: error: ")
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def check_json(path, *more):
    proc = run("layers", "check", path, *more, "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    (result,) = json.loads(proc.stdout)
    return result


@pytest.fixture
def red(tmp_path):
    path = tmp_path / "red.gpkg"
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[LAYER], crs=4490).to_file(path, engine="pyogrio")
    return path


def projects(tmp_path, geoms, ids=None, name="projects.geojson", **cols):
    ids = ids if ids is not None else [f"P{i}" for i in range(len(geoms))]
    path = tmp_path / name
    gpd.GeoDataFrame({"project_id": ids, "category": ["industrial"] * len(geoms), **cols},
                     geometry=geoms, crs=4490).to_file(path, engine="pyogrio")
    return path


# --- CRS ----------------------------------------------------------------------------------------------------


def test_no_prj_detected_in_check_and_suggested_elsewhere(tmp_path, red):
    shp = write_shapefile(sample_gdf("EPSG:4524"), tmp_path / "noprj.shp", prj=False, encoding="UTF-8")
    result = check_json(shp)  # layers check: the documented repair, reported
    assert result["crs"] == "EPSG:4524" and result["crs_source"] == "detected"
    proc = run("indicators", "--boundary", shp, "--layer", f"eco_redline={red}")
    one_line_error(proc, "noprj.shp", "no CRS in the file", "--crs EPSG:4524")


def test_wrong_prj(tmp_path):
    path = tmp_path / "wrongprj.shp"
    write_shapefile(sample_gdf("EPSG:4524").set_crs(4490, allow_override=True), path, encoding="UTF-8")
    one_line_error(run("layers", "check", path), "wrongprj.shp", "wrong .prj?", "EPSG:4524", "--crs")


def test_lonlat_swapped(tmp_path):
    g = sample_gdf()
    path = tmp_path / "swapped.geojson"
    g.set_geometry(shapely.transform(g.geometry.values, lambda xy: xy[:, ::-1])).to_file(path, engine="pyogrio")
    one_line_error(run("layers", "check", path), "swapped.geojson", "wrong order", "--swap-xy")
    assert check_json(path, "--swap-xy")["bounds_lonlat"][0] == pytest.approx(108.6)


# --- encodings ----------------------------------------------------------------------------------------------


def test_gbk_without_cpg(tmp_path):
    shp = write_shapefile(sample_gdf(), tmp_path / "gbk.shp", encoding="GBK", cpg=False)
    result = check_json(shp)
    assert result["encoding"] == "gb18030" and result["sample"]["名称"] == NAMES[0]


@pytest.mark.parametrize("declared,actual", [("GBK", "UTF-8"), ("936", "UTF-8"), ("UTF-8", "GBK")])
def test_cpg_contradicting_the_bytes(tmp_path, declared, actual):
    """A .cpg copied from another export: the bytes win, and the report says so (no mojibake)."""
    shp = write_shapefile(sample_gdf(), tmp_path / "wrongcpg.shp", encoding=actual, cpg=False)
    (tmp_path / "wrongcpg.cpg").write_text(declared)
    result = check_json(shp)
    assert result["sample"]["名称"] == NAMES[0] and result["fields"][0] == "名称"
    assert f"the .cpg says {declared}" in result["encoding_source"]
    assert any("the .cpg says" in n for n in result["notes"])


# --- geometry -----------------------------------------------------------------------------------------------


def test_bowtie_and_self_touching_rings_repaired(tmp_path):
    touching = shapely.Polygon([(108.7, 29.5), (108.72, 29.5), (108.72, 29.52), (108.71, 29.5), (108.7, 29.52),
                                (108.7, 29.5)])
    assert not touching.is_valid
    path = tmp_path / "rings.gpkg"
    gpd.GeoDataFrame({"id": [1, 2]}, geometry=[BOWTIE, touching], crs=4490).to_file(path, engine="pyogrio")
    result = check_json(path)
    reasons = {r["id"]: r["reason"] for r in result["repaired"]}
    assert reasons[1].startswith("Self-intersection") and reasons[2].startswith("Ring Self-intersection")
    assert result["area_km2"] > 0 and result["dropped"] == []


def _geojson(path, geometry, properties=None):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": properties or {"name": "x"}, "geometry": geometry}]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("props", [{"name": "x"}, {"id": 7}])
def test_unclosed_ring_in_geojson(tmp_path, props):
    ring = [[108.7, 29.5], [108.72, 29.5], [108.72, 29.52], [108.7, 29.52]]  # last point != first
    path = _geojson(tmp_path / "unclosed.geojson", {"type": "Polygon", "coordinates": [ring]}, props)
    result = check_json(path)
    assert result["features"] == 1 and result["area_km2"] == pytest.approx(4.3, rel=0.01)
    assert any("unclosed" in n for n in result["notes"])


def test_geojson_with_an_id_property_reads(tmp_path):
    """pyogrio's Arrow path fails when a GeoJSON property is called 'id' (it collides with the FID)."""
    ring = [[108.7, 29.5], [108.72, 29.5], [108.72, 29.52], [108.7, 29.52], [108.7, 29.5]]
    path = _geojson(tmp_path / "withid.geojson", {"type": "Polygon", "coordinates": [ring]}, {"id": 7, "名称": "甲"})
    result = check_json(path)
    assert result["features"] == 1 and result["sample"]["名称"] == "甲"


def test_null_and_empty_geometries_dropped_and_reported(tmp_path):
    path = tmp_path / "nulls.gpkg"
    gpd.GeoDataFrame({"id": [1, 2, 3]}, geometry=[SQUARE, None, shapely.Polygon()], crs=4490).to_file(
        path, engine="pyogrio")
    result = check_json(path)
    assert result["geometry_types"] == {"Polygon": 1}
    assert [d["reason"] for d in result["dropped"]] == ["null or empty geometry"] * 2


def test_only_null_geometries(tmp_path, red):
    path = tmp_path / "allnull.gpkg"
    gpd.GeoDataFrame({"id": [1, 2]}, geometry=[None, shapely.Polygon()], crs=4490).to_file(path, engine="pyogrio")
    one_line_error(run("indicators", "--boundary", path, "--layer", f"eco_redline={red}"),
                   "allnull.gpkg", "no usable geometry left", "null or empty geometry ×2")


def test_mixed_geometry_types(tmp_path, red):
    line = shapely.LineString([(108.7, 29.5), (108.8, 29.6)])
    path = projects(tmp_path, [SQUARE, line, shapely.Point(108.71, 29.51)], width_m=[0, 20, 0], radius_m=[0, 0, 50])
    result = check_json(path)
    assert result["geometry_types"] == {"LineString": 1, "Point": 1, "Polygon": 1}
    proc = run("screen", path, "--layer", f"eco_redline={red}", "--buffers", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    fp = {p["id"]: p["footprint_m2"] for p in json.loads(proc.stdout)["projects"]}
    assert fp["P2"] == pytest.approx(np.pi * 50 ** 2, rel=1e-3)
    # as a control line, the polygon layer keeps the polygon and reports the rest
    proc = run("indicators", "--boundary", path, "--layer", f"eco_redline={red}", "--json")
    assert proc.returncode == 0, proc.stderr


def test_z_and_m_coordinates_dropped(tmp_path):
    from pyogrio.raw import write

    for dims, wkt in [("m", "POLYGON M ((108.7 29.5 2, 108.72 29.5 2, 108.72 29.52 2, 108.7 29.5 2))"),
                      ("zm", "POLYGON ZM ((108.7 29.5 1 2, 108.72 29.5 1 2, 108.72 29.52 1 2, 108.7 29.5 1 2))")]:
        path = tmp_path / f"{dims}.gpkg"
        wkb = np.array([shapely.to_wkb(shapely.from_wkt(wkt), flavor="iso")], dtype=object)
        write(path, wkb, [np.array([1])], fields=["id"], geometry_type="Unknown", crs="EPSG:4490", driver="GPKG")
        result = check_json(path)
        assert "Z/M coordinates dropped: areas are measured in 2D" in result["notes"], dims


def test_geometry_collection_footprint(tmp_path, red):
    gc = shapely.GeometryCollection([box(108.7, 29.5, 108.71, 29.51), shapely.Point(108.8, 29.6),
                                     shapely.LineString([(108.7, 29.5), (108.75, 29.55)])])
    lines_only = shapely.GeometryCollection([shapely.LineString([(108.7, 29.5), (108.75, 29.55)])])
    path = projects(tmp_path, [gc, lines_only], width_m=[0, 10])
    proc = run("screen", path, "--layer", f"eco_redline={red}", "--buffers", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert any("GeometryCollection" in n and "1 line and 1 point beside them dropped" in n for n in data["notes"])
    fp = {p["id"]: p["footprint_m2"] for p in data["projects"]}
    assert fp["P0"] == pytest.approx(1.0748e6, rel=1e-3)
    assert fp["P1"] == pytest.approx(10 * 7200, rel=0.05)  # the line, buffered to its 10 m width


def test_zero_area_boundary(tmp_path, red):
    # all vertices on one line (numerically: GEOS calls it valid, its geodesic "area" is not 0)
    flat = shapely.Polygon([(108.6, 29.4), (108.7, 29.5), (108.8, 29.6), (108.6, 29.4)])
    path = tmp_path / "flat.gpkg"
    gpd.GeoDataFrame({"name": ["z"]}, geometry=[flat], crs=4490).to_file(path, engine="pyogrio")
    one_line_error(run("indicators", "--boundary", path, "--layer", f"eco_redline={red}"),
                   "flat.gpkg", "no usable geometry left", "zero area")


def test_layer_entirely_outside_the_boundary(tmp_path):
    boundary, far = tmp_path / "boundary.gpkg", tmp_path / "far.gpkg"
    gpd.GeoDataFrame({"name": ["b"]}, geometry=[box(108.6, 29.4, 108.9, 29.7)], crs=4490).to_file(boundary)
    gpd.GeoDataFrame({"name": ["f"]}, geometry=[box(110, 31, 110.1, 31.1)], crs=4490).to_file(far)
    proc = run("indicators", "--boundary", boundary, "--layer", f"eco_redline={far}", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["layers"][0]["share_pct"] == 0 and data["layers"][0]["outside_km2"] > 100
    assert any("entirely outside the boundary" in n for n in data["notes"])


# --- files that are not what they claim -----------------------------------------------------------------


def test_truncated_geopackage(tmp_path):
    full = tmp_path / "full.gpkg"
    sample_gdf().to_file(full, engine="pyogrio")
    cut = tmp_path / "cut.gpkg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    line = one_line_error(run("layers", "check", cut), "cut.gpkg", "not a readable spatial file", "truncated")
    assert "sqlite3_prepare" not in line and "SELECT" not in line


def test_truncated_geojson(tmp_path):
    full = tmp_path / "full.geojson"
    sample_gdf().to_file(full, engine="pyogrio")
    cut = tmp_path / "cut.geojson"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    one_line_error(run("layers", "check", cut), "cut.geojson", "not a readable spatial file")


@pytest.mark.parametrize("part", [".shp", ".dbf", ".shx"])
def test_truncated_shapefile(tmp_path, part):
    """A cut-off .shp used to read as features with null geometry, silently losing them."""
    shp = write_shapefile(sample_gdf(), tmp_path / "cut.shp", encoding="UTF-8")
    target = tmp_path / f"cut{part}"
    data = target.read_bytes()
    target.write_bytes(data[: max(len(data) // 2, 110 if part != ".dbf" else 40)])
    one_line_error(run("layers", "check", shp), "cut.shp", "truncated or corrupt", f"cut{part}", "export it again")


def test_corrupt_geopackage_header(tmp_path):
    path = tmp_path / "garbage.gpkg"
    path.write_bytes(b"SQLite format 3\0" + b"\xff" * 500)
    one_line_error(run("layers", "check", path), "garbage.gpkg", "not a readable spatial file")


def test_csv_as_a_layer(tmp_path, red):
    path = tmp_path / "table.csv"
    path.write_text("名称,面积\n甲,1\n", encoding="utf-8")
    one_line_error(run("screen", path, "--layer", f"eco_redline={red}"), "table.csv", "no coordinate columns recognised", "--x-field")


def test_image_as_a_layer(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    one_line_error(run("indicators", "--boundary", path), "photo.png", "not a readable spatial file")


def test_geopackage_with_several_layers_none_named(tmp_path, red):
    path = tmp_path / "several.gpkg"
    sample_gdf().to_file(path, layer="a", engine="pyogrio")
    sample_gdf().to_file(path, layer="b", engine="pyogrio")
    one_line_error(run("indicators", "--boundary", red, "--layer", f"eco_redline={path}"),
                   "several.gpkg", "holds 2 layers (a, b)", "PATH:LAYER")
    assert run("indicators", "--boundary", red, "--layer", f"eco_redline={path}:a").returncode == 0


def test_directory_as_a_quota_table(tmp_path):
    from conftest import SAMPLE

    proc = run("indicators", "--workspace", SAMPLE / "workspace.toml", "--quotas", tmp_path)
    one_line_error(proc, "is a directory")


# --- project ids --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ids,expected", [
    (["A", "A", "B"], "1 repeated (A ×2)"),
    (["A", "", "B"], "1 blank (features 1)"),
    (["A", None, "A"], "1 blank (features 1); 1 repeated (A ×2)"),
])
def test_project_ids_duplicate_or_blank(tmp_path, red, ids, expected):
    path = projects(tmp_path, [SQUARE] * 3, ids=ids)
    one_line_error(run("screen", path, "--layer", f"eco_redline={red}", "--buffers", "0"),
                   "projects.geojson", "project ids in field 'project_id'", expected, "--id-field")


# --- size ---------------------------------------------------------------------------------------------------


def test_million_vertex_polygon(tmp_path, red):
    """A polygon of 1 000 000 vertices is read, repaired-checked and measured in reasonable time."""
    n = 1_000_000
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.c_[108.75 + 0.05 * np.cos(t), 29.55 + 0.05 * np.sin(t) * (1 + 0.01 * np.sin(40 * t))]
    path = tmp_path / "big.gpkg"
    gpd.GeoDataFrame({"name": ["big"]}, geometry=[shapely.Polygon(ring)], crs=4490).to_file(path, engine="pyogrio")
    start = time.perf_counter()
    proc = run("indicators", "--boundary", path, "--layer", f"eco_redline={red}", "--json")
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert 0 < data["layers"][0]["share_pct"] <= 100
    assert elapsed < 20, f"{elapsed:.1f} s"


def test_layer_too_large_for_the_engine(tmp_path, red):
    boundary = tmp_path / "b.gpkg"
    sample_gdf().to_file(boundary, engine="pyogrio")
    proc = run("indicators", "--boundary", boundary, "--layer", f"eco_redline={red}",
               env={"REDLINE_MAX_FEATURES": "2"})
    one_line_error(proc, "b.gpkg", "3 features", "REDLINE_MAX_FEATURES", "split the layer by county",
                   "partitioned inputs")
    proc = run("layers", "check", boundary, env={"REDLINE_MAX_MEMORY": "10kB"})
    one_line_error(proc, "b.gpkg", "too large for the in-memory engine", "REDLINE_MAX_MEMORY",
                   "split the layer by county")
    one_line_error(run("layers", "check", boundary, env={"REDLINE_MAX_MEMORY": "lots"}), "expected a size")
