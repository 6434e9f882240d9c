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
from redline.distributed import dask_client, screen_dask
from redline.partition import partition_layer

from conftest import SAMPLE

pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client():
    c = dask_client(workers=2)
    yield c
    cluster = c.cluster
    c.close()
    cluster.close()


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
