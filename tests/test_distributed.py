"""The Dask engine: a 2-worker local cluster over loopback gives the single-machine screening, row for row.

Areas agree to 1e-7 relative, not bit for bit: a chunk dissolves only the features its projects reach, and
unions of another set of features round differently (~1e-8 of a ring's area). Everything else is equal.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import redline
from redline.distributed import close_client, dask_client, screen_dask
from redline.partition import partition_layer

from conftest import SAMPLE

pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client():
    c = dask_client(workers=2)
    yield c
    close_client(c)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for col in a.columns:
        if col == getattr(a, "_geometry_column_name", None):  # the same shape (pieces may be unioned in another order)
            gap = a.geometry.to_crs(4545).symmetric_difference(b.geometry.to_crs(4545)).area
            assert (gap <= 1e-6).all(), gap.max()
        elif pd.api.types.is_float_dtype(a[col]):
            np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-7, atol=1e-6,
                                       equal_nan=True, err_msg=col)
        else:
            assert a[col].astype(str).tolist() == b[col].astype(str).tolist(), col


def test_dask_screening_equals_one_machine(client, tmp_path):
    parts = tmp_path / "farm.parts"
    partition_layer(SAMPLE / "basic_farmland.gpkg", parts, grid_km=4.0)
    layers = {"eco_redline": str(SAMPLE / "eco_redline.gpkg"), "basic_farmland": str(parts),
              "urban_boundary": str(SAMPLE / "urban_boundary.gpkg")}
    projects, _ = redline.read_layer(SAMPLE / "projects.geojson")
    one = redline.screen(projects, layers)
    many = screen_dask(projects, layers, client=client, chunk_size=3)  # several chunks, spread over 2 workers
    for name in ("projects", "hits", "encroachments", "buffers", "rings"):
        _same(getattr(one, name), getattr(many, name))
    assert one.worst() == many.worst()


def test_dask_screening_ships_geodataframes_once(client):
    projects, _ = redline.read_layer(SAMPLE / "projects.geojson")
    red, _ = redline.read_layer(SAMPLE / "eco_redline.gpkg", geometry="polygon")
    one = redline.screen(projects, {"eco_redline": red}, buffers=[])
    many = screen_dask(projects, {"eco_redline": red}, client=client, chunk_size=4, buffers=[])
    _same(one.hits, many.hits)


def test_cli_engine_dask(tmp_path):
    args = [sys.executable, "-m", "redline", "screen", str(SAMPLE / "projects.geojson"),
            "--layer", f"eco_redline={SAMPLE / 'eco_redline.gpkg'}", "--buffers", "0", "--json"]
    local = subprocess.run(args, capture_output=True, text=True)
    dask = subprocess.run([*args, "--engine", "dask", "--workers", "2"], capture_output=True, text=True)
    assert local.returncode == 0 and dask.returncode == 0, dask.stderr
    assert json.loads(local.stdout)["projects"] == json.loads(dask.stdout)["projects"]
    bad = subprocess.run([*args, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"], capture_output=True, text=True)
    assert bad.returncode == 1 and "scheduler" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_dask_indicators_equal_one_machine(client, tmp_path):
    # shares (with zones) and the township ledger, the plane cut into 20 km cells, layers as a partitioned
    # directory, a file and a GeoDataFrame: the same areas as in memory, to ~1e-8 (a cell's edge cuts a long lon/lat
    # edge at a point of the straight line, which the geodesic between its ends does not pass through)
    from redline.analyses.indicators import zone_column
    from redline.catalog import load_catalog
    from redline.distributed import dask_measure

    parts = tmp_path / "farm.parts"
    partition_layer(SAMPLE / "basic_farmland.gpkg", parts, grid_km=4.0)
    reserve, _ = redline.read_layer(SAMPLE / "nature_reserve.gpkg", geometry="polygon")
    zone = zone_column(reserve, load_catalog()["nature_reserve"].zone_fields)
    assert zone is not None
    layers = {"basic_farmland": str(parts), "eco_redline": str(SAMPLE / "eco_redline.gpkg"), "nature_reserve": reserve}
    boundary, _ = redline.read_layer(SAMPLE / "boundary.gpkg")
    towns, _ = redline.read_layer(SAMPLE / "townships.gpkg")
    measure = dask_measure(client, cell_km=20.0)  # townships (≤ 19 km) whole, the district cut into cells
    one = redline.layer_shares(boundary, layers, {"nature_reserve": zone})
    many = redline.layer_shares(boundary, layers, {"nature_reserve": zone}, measure=measure)
    assert one["zone"].fillna("").tolist() == many["zone"].fillna("").tolist()
    np.testing.assert_allclose(many["area_m2"], one["area_m2"], rtol=5e-8)
    # outside = whole − inside: its error is the whole layer's (~1e-8 of it), not its own
    whole = (one["area_m2"] + one["outside_m2"]).to_numpy()
    np.testing.assert_allclose(many["outside_m2"], one["outside_m2"], atol=5e-8 * whole.max())
    led_one = redline.ledger(towns, "name", layers, boundary=boundary, zone_fields={"nature_reserve": zone})
    led_many = redline.ledger(towns, "name", layers, boundary=boundary, zone_fields={"nature_reserve": zone},
                              measure=measure)
    # per township: the parcels and the red line agree to 5e-8. The synthetic reserve's long lon/lat edges don't:
    # a union of a different set of overlapping features crosses them at other points of the straight line
    # (up to ~1e-4 of a township's reserve area; both answers are "right" for their cut points)
    short = led_one.rows["kind"] != "nature_reserve"
    np.testing.assert_allclose(led_many.rows["area_m2"][short], led_one.rows["area_m2"][short], rtol=5e-8, atol=1e-3)
    np.testing.assert_allclose(led_many.rows["area_m2"], led_one.rows["area_m2"], rtol=2e-4, atol=1e-3)


def test_cli_indicators_engine_dask():
    # the sample workspace: every figure the same as one machine's (shares to 1e-7: the district is cut into cells)
    args = [sys.executable, "-m", "redline", "indicators", "--workspace", str(SAMPLE / "workspace.toml"), "--json"]
    local = subprocess.run(args, capture_output=True, text=True)
    dask = subprocess.run([*args, "--engine", "dask", "--workers", "2"], capture_output=True, text=True)
    assert local.returncode == 0 and dask.returncode == 0, dask.stderr
    a, b = json.loads(local.stdout), json.loads(dask.stdout)
    shares_a = {(r["kind"], r["zone"]): r["area_m2"] for r in a["layers"]}
    shares_b = {(r["kind"], r["zone"]): r["area_m2"] for r in b["layers"]}
    assert shares_a.keys() == shares_b.keys()
    for key, value in shares_a.items():
        assert shares_b[key] == pytest.approx(value, rel=1e-7, abs=1e-3), key

    def per_unit(d):
        return {(u["unit"], r["kind"], r["zone"]): r["area_m2"] for u in d["units"] for r in u["layers"]}

    units_a, units_b = per_unit(a), per_unit(b)
    assert units_a.keys() == units_b.keys()
    for key, value in units_a.items():
        assert units_b[key] == pytest.approx(value, rel=1e-7, abs=1e-3), key
    assert a["quotas"] == b["quotas"] and a["landuse"] == b["landuse"]
    refused = subprocess.run([*args, "--workers", "2"], capture_output=True, text=True)
    assert refused.returncode == 1 and "--engine dask" in refused.stderr
