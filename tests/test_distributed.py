"""The Dask engine: a 2-worker local cluster over loopback gives the single-machine screening, indicators and
conflicts, row for row.

Areas agree to 1e-7 relative or better, not bit for bit: a task dissolves only the features it reads, and unions
of another set of features round differently. Everything else (ids, verdicts, counts, piece numbers) is equal.
"""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import redline
from redline.engines.dask import close_client, dask_client, screen_dask
from redline.io.partition import partition_layer

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
            ga, gb = a.geometry.to_crs(4545), b.geometry.to_crs(4545)
            gap = ga.symmetric_difference(gb).area
            assert (gap <= 1e-6 + 1e-10 * ga.area).all(), gap.max()
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
    # directory, a file and a GeoDataFrame: the same areas as in memory, to ~1e-10 (the synthetic reserve's long
    # lon/lat edges carry points along their geodesics from the read, so wherever a cell or a union cuts them, the
    # area sees the same line; without them units differed by up to 1e-4)
    from redline.analyses.indicators import zone_column
    from redline.specs.catalog import load_catalog
    from redline.engines.dask import dask_measure

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
    np.testing.assert_allclose(many["area_m2"], one["area_m2"], rtol=1e-9)
    # outside = whole − inside: its error is the whole layer's, not its own
    whole = (one["area_m2"] + one["outside_m2"]).to_numpy()
    np.testing.assert_allclose(many["outside_m2"], one["outside_m2"], atol=1e-9 * whole.max())
    led_one = redline.ledger(towns, "name", layers, boundary=boundary, zone_fields={"nature_reserve": zone})
    led_many = redline.ledger(towns, "name", layers, boundary=boundary, zone_fields={"nature_reserve": zone},
                              measure=measure)
    np.testing.assert_allclose(led_many.rows["area_m2"], led_one.rows["area_m2"], rtol=1e-9, atol=1e-4)


def test_cli_indicators_engine_dask():
    # the sample workspace: every figure the same as one machine's (to 1e-9: the district is cut into cells)
    args = [sys.executable, "-m", "redline", "indicators", "--workspace", str(SAMPLE / "workspace.toml"), "--json"]
    local = subprocess.run(args, capture_output=True, text=True)
    dask = subprocess.run([*args, "--engine", "dask", "--workers", "2"], capture_output=True, text=True)
    assert local.returncode == 0 and dask.returncode == 0, dask.stderr
    a, b = json.loads(local.stdout), json.loads(dask.stdout)
    shares_a = {(r["kind"], r["zone"]): r["area_m2"] for r in a["layers"]}
    shares_b = {(r["kind"], r["zone"]): r["area_m2"] for r in b["layers"]}
    assert shares_a.keys() == shares_b.keys()
    for key, value in shares_a.items():
        assert shares_b[key] == pytest.approx(value, rel=1e-9, abs=1e-4), key

    def per_unit(d):
        return {(u["unit"], r["kind"], r["zone"]): r["area_m2"] for u in d["units"] for r in u["layers"]}

    units_a, units_b = per_unit(a), per_unit(b)
    assert units_a.keys() == units_b.keys()
    for key, value in units_a.items():
        assert units_b[key] == pytest.approx(value, rel=1e-9, abs=1e-4), key
    assert a["quotas"] == b["quotas"] and a["landuse"] == b["landuse"]
    refused = subprocess.run([*args, "--workers", "2"], capture_output=True, text=True)
    assert refused.returncode == 1 and "--engine dask" in refused.stderr


def _conflict_layers(tmp_path):
    """Control lines that overlap in pieces of every size: a long diagonal band (its box's corner far from any
    of its cells), a ring around a hole, a box whose corner sits on a cell edge, small boxes everywhere, and
    features overlapping within their own layer."""
    import geopandas as gpd
    from shapely import Polygon, box

    rng = np.random.default_rng(7)
    cell = 2.0 / 111.32  # the cells of cell_km=2 in degrees
    x, y = rng.uniform(108.30, 108.70, 300), rng.uniform(29.30, 29.70, 300)
    w = rng.uniform(0.0005, 0.01, 300)
    small = [box(a, b, a + d, b + d * 0.7) for a, b, d in zip(x, y, w)]
    diagonal = Polygon([(108.30, 29.70), (108.302, 29.70), (108.70, 29.302), (108.70, 29.30), (108.698, 29.30),
                        (108.30, 29.698)])
    ring = box(108.40, 29.40, 108.50, 29.50).difference(box(108.42, 29.42, 108.48, 29.48))
    # the cells start at the layers' south-west corner, (108.30, 29.30)
    on_edge = box(108.30 + np.ceil(0.25 / cell) * cell, 29.30 + np.ceil(0.25 / cell) * cell, 108.60, 29.60)
    red = gpd.GeoDataFrame({"name": [f"r{i}" for i in range(153)]},
                           geometry=[diagonal, ring, on_edge] + small[:150], crs=4490)
    farm = gpd.GeoDataFrame({"name": [f"f{i}" for i in range(153)]},
                            geometry=[box(108.30, 29.45, 108.70, 29.47), box(108.44, 29.30, 108.46, 29.70),
                                      box(108.56, 29.56, 108.65, 29.58)] + small[150:], crs=4490)
    paths = {}
    for kind, gdf in (("eco_redline", red), ("basic_farmland", farm)):
        paths[kind] = str(tmp_path / f"{kind}.gpkg")
        gdf.to_file(paths[kind])
    boundary = gpd.GeoDataFrame(geometry=[box(108.33, 29.33, 108.66, 29.66)], crs=4490)
    units = gpd.GeoDataFrame({"name": ["west", "east"]}, crs=4490,
                             geometry=[box(108.3, 29.3, 108.5, 29.7), box(108.5, 29.3, 108.7, 29.7)])
    return {"eco_redline": red, "basic_farmland": farm}, paths, boundary, units


def test_dask_conflicts_equal_one_machine(client, tmp_path):
    from redline.engines.dask import conflicts_dask

    layers, paths, boundary, units = _conflict_layers(tmp_path)
    for bnd in (None, boundary):
        one = redline.conflicts({k: redline.read_layer(p)[0] for k, p in paths.items()}, boundary=bnd,
                                units=units, by="name")
        assert one.pairs["pieces"].iloc[0] > 20 and one.pieces["area_m2"].max() > 5e6  # big pieces and small
        # small cells: the band, the ring and the boxes cross many cells and are found whole in grown boxes
        tasks = []
        many = conflicts_dask(paths, boundary=bnd, units=units, by="name", client=client, cell_km=2.0,
                              progress=lambda done, total: tasks.append(total))
        assert tasks[-1] > tasks[0]  # pieces cut by their cell's box were found again in grown boxes
        _same(one.pieces, many.pieces)
        _same(one.pairs, many.pairs)
        _same(one.by_unit, many.by_unit)
        assert one.notes == many.notes
    # GeoDataFrames are shipped to the workers; the ids are then their index
    one = redline.conflicts(layers)
    _same(one.pieces, conflicts_dask(layers, client=client, cell_km=5.0).pieces)


def test_cli_conflicts_engine_dask(tmp_path):
    # farmland as a partitioned layer: the local engine reads it whole, the Dask tasks a few partitions each;
    # the features keep their source ids (GeoPackage fids) either way
    parts = tmp_path / "farm.parts"
    partition_layer(SAMPLE / "basic_farmland.gpkg", parts, grid_km=4.0)
    args = [sys.executable, "-m", "redline", "conflicts", "--layer", f"eco_redline={SAMPLE / 'eco_redline.gpkg'}",
            "--layer", f"basic_farmland={parts}", "--layer", f"urban_boundary={SAMPLE / 'urban_boundary.gpkg'}",
            "--units", str(SAMPLE / "townships.gpkg"), "--by", "name", "--json"]
    local = subprocess.run(args, capture_output=True, text=True)
    dask = subprocess.run([*args, "--engine", "dask", "--workers", "2", "--cell-km", "3",
                           "--out", str(tmp_path / "c.gpkg")], capture_output=True, text=True)
    assert local.returncode == 0 and dask.returncode == 0, dask.stderr
    one, many = json.loads(local.stdout), json.loads(dask.stdout)
    assert one["pairs"][0]["pieces"] > 0
    for a, b in zip(one["pairs"] + one["units"], many["pairs"] + many["units"]):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-9) if isinstance(a[k], float) else a[k] == b[k]
    files = redline.read_layer(SAMPLE / "basic_farmland.gpkg")[0]
    got = gpd.read_file(tmp_path / "c.gpkg", layer="conflicts")
    ids = {i for v in got.loc[got["b"] == "basic_farmland", "b_ids"] for i in v.split("、")}
    assert ids and ids <= {str(i) for i in files.index}  # GeoPackage fids, not row numbers of a partition


def test_engines_entry_points_dispatch_to_dask(client, tmp_path):
    # redline.engines: the same screening and conflicts on either engine, paths or GeoDataFrames
    from redline import engines
    from redline.errors import InputError

    layers = {"eco_redline": str(SAMPLE / "eco_redline.gpkg"), "urban_boundary": str(SAMPLE / "urban_boundary.gpkg")}
    one = engines.screen(SAMPLE / "projects.geojson", layers, boundary=SAMPLE / "boundary.gpkg")
    many = engines.screen(SAMPLE / "projects.geojson", layers, boundary=SAMPLE / "boundary.gpkg", engine="dask",
                          client=client)
    for name in ("projects", "hits", "encroachments", "buffers", "rings"):
        _same(getattr(one, name), getattr(many, name))
    assert one.notes == many.notes
    _, paths, boundary, _ = _conflict_layers(tmp_path)
    _same(engines.conflicts(paths, boundary=boundary).pieces,
          engines.conflicts(paths, boundary=boundary, engine="dask", client=client, cell_km=5.0).pieces)
    with engines.measure_for("local") as measure:
        assert measure is None
    for wrong in ({"workers": 2}, {"scheduler": "tcp://127.0.0.1:9"}):
        with pytest.raises(InputError, match="--workers and --scheduler go with --engine dask"):
            engines.screen(SAMPLE / "projects.geojson", layers, **wrong)


def test_dask_screening_with_landuse_equals_one_machine(client):
    """With --landuse on a cluster: the 占用地类 is made once on this machine, the same as the local engine's."""
    layers = {"eco_redline": str(SAMPLE / "eco_redline.gpkg")}
    one = redline.screen(SAMPLE / "projects.geojson", layers, buffers=[], landuse=SAMPLE / "land_use.gpkg")
    many = redline.screen(SAMPLE / "projects.geojson", layers, buffers=[], landuse=SAMPLE / "land_use.gpkg",
                          engine="dask", client=client)
    _same(one.landuse.table(), many.landuse.table())
