"""PostGIS as a layer source and a sink, through a real server.

The server is the one named by ``REDLINE_TEST_POSTGIS`` (``.ci/run`` starts a throw-away cluster with
``.ci/postgis-up`` and sets it). On a laptop without one these tests skip; under ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

import redline
from redline.geometry.area import ellipsoidal_area
from redline.errors import LayerReadError, OutputError
from redline.io.postgis import parse_uri, read_postgis, source_info, write_postgis

from conftest import SAMPLE, in_ci

DSN_ENV = "REDLINE_TEST_POSTGIS"


@pytest.fixture(scope="module")
def dsn():
    value = os.environ.get(DSN_ENV)
    reason = f"no PostGIS server: set {DSN_ENV}=postgresql://user@host:port/db (.ci/postgis-up starts one)"
    if not value:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    import psycopg

    try:
        with psycopg.connect(parse_uri(value).conninfo, connect_timeout=5) as conn:
            conn.execute("SELECT postgis_version()")
    except psycopg.Error as exc:
        if in_ci():
            pytest.fail(f"{DSN_ENV} is set but the server does not answer: {exc}")
        pytest.skip(f"PostGIS at {DSN_ENV} does not answer: {exc}")
    return value


def _rows(dsn: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(parse_uri(dsn).conninfo) as conn:
        return conn.execute(sql).fetchall()


def _execute(dsn: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(parse_uri(dsn).conninfo) as conn:
        conn.execute(sql)


def test_round_trip_keeps_features_attributes_and_areas(dsn):
    gdf, _ = redline.read_layer(SAMPLE / "eco_redline.gpkg", geometry="polygon")
    assert write_postgis(gdf, f"{dsn}?table=public.t_eco") == ["public.t_eco"]
    back, report = redline.read_layer(f"{dsn}?table=public.t_eco", geometry="polygon")
    assert len(back) == len(gdf) and back.crs.equals(gdf.crs)
    assert list(back.columns) == list(gdf.columns)
    assert back["name"].tolist() == gdf["name"].tolist()
    assert ellipsoidal_area(back).sum() == pytest.approx(ellipsoidal_area(gdf).sum(), rel=1e-12)
    assert "(table public.t_eco)" in report.path


def test_sql_source_and_server_side_bbox(dsn):
    gdf, _ = redline.read_layer(SAMPLE / "eco_redline.gpkg", geometry="polygon")
    write_postgis(gdf, f"{dsn}?table=t_eco2")
    query = redline.read_layer(f"{dsn}?sql=SELECT name, geom FROM t_eco2 WHERE name IS NOT NULL")[0]
    assert len(query) == int(gdf["name"].notna().sum())
    # the box in another CRS (GK, metres): the rows whose geometry's box meets it, and only those
    x0, y0, x1, y1 = gdf.total_bounds
    box_lonlat = shapely.box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    box_gk = gpd.GeoSeries([box_lonlat], crs=gdf.crs).to_crs(4545).total_bounds
    near, report = redline.read_layer(f"{dsn}?table=t_eco2", bbox=tuple(box_gk), bbox_crs="EPSG:4545")
    expected = shapely.intersects(shapely.envelope(gdf.geometry.values), box_lonlat)
    # the box is reprojected with densified edges, so it may only grow (by centimetres) — never lose a row
    assert set(near["name"]) >= set(gdf.loc[expected, "name"]) and 0 < len(near) < len(gdf)
    assert any("filtered on the server" in n for n in report.notes)
    far = redline.read_layer(f"{dsn}?table=t_eco2", bbox=(0.0, 0.0, 1.0, 1.0))[0]
    assert len(far) == 0  # nothing there: an empty layer, not an error


def test_screen_from_postgis_matches_files_and_writes_back(dsn, tmp_path):
    for kind in ("eco_redline", "basic_farmland"):
        layer, _ = redline.read_layer(SAMPLE / f"{kind}.gpkg", geometry="polygon")
        write_postgis(layer, f"{dsn}?table=s_{kind}")
    files = {k: str(SAMPLE / f"{k}.gpkg") for k in ("eco_redline", "basic_farmland")}
    db = {k: f"{dsn}?table=s_{k}" for k in files}
    projects, _ = redline.read_layer(SAMPLE / "projects.geojson")
    a = redline.screen(projects, files).hits.set_index(["project_id", "kind"])
    b = redline.screen(projects, db).hits.set_index(["project_id", "kind"])
    np.testing.assert_allclose(b["overlap_m2"].to_numpy(), a.loc[b.index, "overlap_m2"].to_numpy(), rtol=1e-9, atol=1e-6)
    assert (b["severity"] == a.loc[b.index, "severity"]).all()
    near = a["distance_m"] <= 10_000
    np.testing.assert_allclose(b.loc[near[near].index, "distance_m"], a.loc[near, "distance_m"], rtol=1e-9)
    # the CLI: layers from PostGIS, results back to PostGIS (three tables, one transaction)
    proc = subprocess.run([sys.executable, "-m", "redline", "screen", str(SAMPLE / "projects.geojson"),
                           "--layer", f"eco_redline={db['eco_redline']}", "--out", f"{dsn}?table=scr", "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _rows(dsn, "SELECT count(*) FROM scr")[0][0] == len(projects)
    assert _rows(dsn, "SELECT count(*) FROM scr_encroachments")[0][0] > 0
    assert _rows(dsn, "SELECT Find_SRID('public', 'scr', 'geom')")[0][0] > 0


def test_failed_write_leaves_the_old_tables(dsn):
    good = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.box(108, 29, 108.1, 29.1)], crs=4490)
    write_postgis(good, f"{dsn}?table=keep")
    nocrs = gpd.GeoDataFrame({"v": [2, 3]}, geometry=[shapely.Point(0, 0)] * 2)
    with pytest.raises(OutputError, match="EPSG"):
        write_postgis({"": good.assign(v=9), "second": nocrs}, f"{dsn}?table=keep")
    assert _rows(dsn, "SELECT v FROM keep") == [(1,)]  # the first table's replacement was rolled back


def test_errors_name_the_source_and_mask_the_password(dsn):
    head, tail = dsn.split("://", 1)
    user, rest = tail.split("@", 1)
    with_password = f"{head}://{user}:hunter2secret@{rest}"
    with pytest.raises(LayerReadError) as err:
        read_postgis(f"{with_password}?table=no_such_table")
    assert "no_such_table" in str(err.value) and "hunter2secret" not in str(err.value) and "***" in str(err.value)
    with pytest.raises(LayerReadError, match="say what to read"):
        redline.read_layer(dsn)
    proc = subprocess.run([sys.executable, "-m", "redline", "layers", "check", f"{with_password}?table=no_such_table"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "hunter2secret" not in proc.stdout + proc.stderr


def test_source_info_without_reading_rows(dsn):
    gdf, _ = redline.read_layer(SAMPLE / "eco_redline.gpkg", geometry="polygon")
    write_postgis(gdf, f"{dsn}?table=t_info")
    crs, box, cols = source_info(f"{dsn}?table=t_info")
    assert crs.equals(gdf.crs) and cols == [c for c in gdf.columns if c != "geometry"]
    np.testing.assert_allclose(box, gdf.total_bounds, atol=1e-6)  # ST_Extent is float4-rounded outward


def test_conflicts_from_postgis_on_dask_equal_one_machine(dsn):
    from redline.engines.dask import close_client, conflicts_dask, dask_client

    db = {}
    for kind in ("eco_redline", "basic_farmland"):
        layer, _ = redline.read_layer(SAMPLE / f"{kind}.gpkg", geometry="polygon")
        write_postgis(layer.assign(gid=layer.index), f"{dsn}?table=c_{kind}")
        _execute(dsn, f"ALTER TABLE c_{kind} ADD PRIMARY KEY (gid)")
        db[kind] = f"{dsn}?table=c_{kind}"
    back = redline.read_layer(db["basic_farmland"])[0]
    assert back.index.name == "fid" and back.index.is_monotonic_increasing  # ids and order from the key
    one = redline.conflicts({k: redline.read_layer(v)[0] for k, v in db.items()})
    client = dask_client(workers=2)
    try:
        many = conflicts_dask(db, client=client, cell_km=5.0)
    finally:
        close_client(client)
    assert one.pairs["pieces"].iloc[0] > 0
    assert one.pieces[["piece", "a_ids", "b_ids", "sliver"]].equals(many.pieces[["piece", "a_ids", "b_ids", "sliver"]])
    np.testing.assert_allclose(one.pieces["area_m2"], many.pieces["area_m2"], rtol=1e-9)


def test_a_primary_key_named_fid_indexes_the_rows_and_stays_a_column(dsn, tmp_path):
    gdf, _ = redline.read_layer(SAMPLE / "water_source.gpkg", geometry="polygon")
    write_postgis(gdf.assign(fid=np.arange(len(gdf))[::-1] + 10), f"{dsn}?table=k_fid")
    _execute(dsn, "ALTER TABLE k_fid ADD PRIMARY KEY (fid)")
    back = redline.read_layer(f"{dsn}?table=k_fid")[0]
    assert back.index.tolist() == sorted(back["fid"]) == list(range(10, 10 + len(gdf)))  # ordered by the key
    back.to_file(tmp_path / "k.gpkg")  # the index does not make a second fid column
    assert len(gpd.read_file(tmp_path / "k.gpkg")) == len(gdf)
