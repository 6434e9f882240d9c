"""Partitioned layers: `redline partition`, reading a partition directory as one layer, bounding-box routing."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

import redline
from redline.geometry.area import ellipsoidal_area
from redline.errors import FieldError, OutputError
from redline.io.partition import INDEX, partition_layer, read_index

from conftest import SAMPLE

FARMLAND = SAMPLE / "basic_farmland.gpkg"


@pytest.fixture(scope="module")
def farmland():
    return redline.read_layer(FARMLAND, geometry="polygon")[0]


@pytest.mark.parametrize("how", [{"grid_km": 5.0}, {"by": "xzqdm"}], ids=["grid", "field"])
def test_partitions_hold_every_feature_once_within_their_boxes(tmp_path, farmland, how):
    out = tmp_path / "farm.parts"
    parts = partition_layer(FARMLAND, out, batch_size=1000, **how)  # several batches: streamed
    assert sum(p.rows for p in parts) == len(farmland) and len(parts) > 1
    for p in parts:
        gdf = gpd.read_parquet(out / p.path)
        assert len(gdf) == p.rows and gdf.crs.equals(farmland.crs)
        x0, y0, x1, y1 = gdf.total_bounds
        assert p.bbox[0] <= x0 and p.bbox[1] <= y0 and p.bbox[2] >= x1 and p.bbox[3] >= y1
        if "by" in how:
            assert set(gdf["xzqdm"].astype(str)) == {p.key}
    whole, report = redline.read_layer(out, geometry="polygon")
    assert len(whole) == len(farmland)
    assert ellipsoidal_area(whole).sum() == pytest.approx(ellipsoidal_area(farmland).sum(), rel=1e-12)
    assert sorted(whole.drop(columns="geometry").columns) == sorted(farmland.drop(columns="geometry").columns)


def test_batch_size_does_not_change_the_partitions(tmp_path):
    a = partition_layer(FARMLAND, tmp_path / "a", grid_km=5.0, batch_size=333)
    b = partition_layer(FARMLAND, tmp_path / "b", grid_km=5.0, batch_size=100_000)
    assert [(p.key, p.rows) for p in a] == [(p.key, p.rows) for p in b]
    np.testing.assert_allclose([p.bbox for p in a], [p.bbox for p in b])


def test_a_bounding_box_opens_only_the_partitions_it_meets(tmp_path, farmland):
    out = tmp_path / "farm.parts"
    partition_layer(FARMLAND, out, grid_km=5.0)
    x0, y0, x1, y1 = farmland.total_bounds
    w, h = x1 - x0, y1 - y0
    box = (x0 + 0.4 * w, y0 + 0.4 * h, x0 + 0.6 * w, y0 + 0.6 * h)
    near, report = redline.read_layer(out, bbox=box)
    # the features whose box meets it (as PostGIS's &&), not whole partitions
    hit = shapely.intersects(shapely.envelope(farmland.geometry.values), shapely.box(*box))
    assert sorted(near.index) == sorted(farmland.index[hit]) and 0 < len(near) < len(farmland)
    read = [n for n in report.notes if n.startswith("read ")]
    assert read and f"of {len(read_index(out)['partitions'])} partitions" in read[0]
    empty, _ = redline.read_layer(out, bbox=(0.0, 0.0, 1.0, 1.0), bbox_crs="EPSG:4545")
    assert len(empty) == 0


def test_screen_against_a_partitioned_layer_matches_the_file(tmp_path):
    out = tmp_path / "farm.parts"
    partition_layer(FARMLAND, out, grid_km=3.0)
    projects, _ = redline.read_layer(SAMPLE / "projects.geojson")
    a = redline.screen(projects, {"basic_farmland": str(FARMLAND)}).hits.set_index("project_id")
    b = redline.screen(projects, {"basic_farmland": str(out)}).hits.set_index("project_id")
    np.testing.assert_allclose(b["overlap_m2"], a.loc[b.index, "overlap_m2"], rtol=1e-9, atol=1e-6)
    assert (b["severity"] == a.loc[b.index, "severity"]).all()
    near = a["distance_m"] <= 10_000
    np.testing.assert_allclose(b.loc[near, "distance_m"], a.loc[near, "distance_m"], rtol=1e-9)


def _run(*args):
    return subprocess.run([sys.executable, "-m", "redline", *map(str, args)], capture_output=True, text=True)


def test_cli_partition_and_its_errors(tmp_path):
    out = tmp_path / "farm.parts"
    proc = _run("partition", FARMLAND, "--grid", "5", "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["rows"] == json.loads((out / INDEX).read_text(encoding="utf-8"))["rows"]
    # the directory exists now: refused, nothing touched
    again = _run("partition", FARMLAND, "--grid", "5", "--out", out)
    assert again.returncode == 1 and "not an empty directory" in again.stderr and len(again.stderr.splitlines()) == 1
    # a field that isn't there: named, with the fields there are, and no directory left behind
    bad = _run("partition", FARMLAND, "--by", "county_code", "--out", tmp_path / "bad.parts")
    assert bad.returncode == 1 and "county_code" in bad.stderr and "fields:" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad.parts").exists() and not list(tmp_path.glob(".bad.parts.partial-*"))
    neither = _run("partition", FARMLAND, "--out", tmp_path / "x.parts")
    assert neither.returncode == 1 and "--by FIELD or --grid KM" in neither.stderr


def test_partition_api_errors(tmp_path):
    with pytest.raises(FieldError):
        partition_layer(FARMLAND, tmp_path / "p", by="nope")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(OutputError):
        partition_layer(FARMLAND, tmp_path / "full", grid_km=1.0)
    with pytest.raises(ValueError):
        partition_layer(FARMLAND, tmp_path / "q")


def test_keys_that_read_alike_as_folder_names_stay_apart(tmp_path):
    boxes = [shapely.box(108.0 + i * 0.01, 29.0, 108.005 + i * 0.01, 29.005) for i in range(3)]
    src = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame({"code": ["a/b", "a_b", "a/b"]}, geometry=boxes, crs=4490).to_file(src)
    parts = partition_layer(src, tmp_path / "zones.parts", by="code")
    assert sorted((p.key, p.rows) for p in parts) == [("a/b", 2), ("a_b", 1)]
    assert len({p.path for p in parts}) == 2
    back, _ = redline.read_layer(tmp_path / "zones.parts")
    assert sorted(back["code"]) == ["a/b", "a/b", "a_b"]


def test_features_keep_their_source_ids_whichever_partitions_are_read(tmp_path, farmland):
    # the GeoPackage's fids travel into the partitions: a layer read whole or a box of it has the file's ids
    parts = tmp_path / "f.parts"
    partition_layer(SAMPLE / "basic_farmland.gpkg", parts, grid_km=4.0)
    whole = redline.read_layer(parts)[0]
    assert whole.index.name == "fid" and sorted(whole.index) == sorted(farmland.index)
    x0, y0, x1, y1 = farmland.total_bounds
    box = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    part = redline.read_layer(parts, bbox=box)[0]
    assert 0 < len(part) < len(whole)
    for fid in part.index[:50]:
        assert part.geometry[fid].equals_exact(farmland.geometry[fid], 0)
    assert "fid" not in part.columns


def test_a_field_named_fid_is_kept_and_the_ids_go_beside_it(tmp_path):
    src = tmp_path / "own.parquet"
    gpd.GeoDataFrame({"fid": ["x", "y"]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)],
                     crs=4545).to_parquet(src)
    partition_layer(src, tmp_path / "own.parts", grid_km=1.0)
    back = redline.read_layer(tmp_path / "own.parts")[0]
    assert back["fid"].tolist() == ["x", "y"] and back.index.tolist() == [0, 1]
    back.to_file(tmp_path / "again.fgb")  # no second column named fid from the index (a GeoPackage refuses text fids)
    assert sorted(gpd.read_file(tmp_path / "again.fgb")["fid"]) == ["x", "y"]
