"""The bundled sample county: real boundary area, exact partitions, and a reproducible generator."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from redline.io import read_layer

from conftest import REPO, SAMPLE

GEOD = Geod(ellps="GRS80")
FILES = ["boundary.gpkg", "townships.gpkg", "eco_redline.gpkg", "nature_reserve.gpkg", "basic_farmland.gpkg",
         "urban_boundary.gpkg", "water_source.gpkg", "land_use.gpkg", "projects.geojson",
         "townships_gk_gbk/townships_gk.shp", "eco_redline_v2.gpkg", "sites.gpkg"]
#: the two synthetic land-cover rasters (issue 6): same cells, CRS and grid on every run
RASTERS = ["landcover_2020.tif", "landcover_2024.tif"]


def geod_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def test_qianjiang_area_matches_official_figure():
    boundary = gpd.read_file(SAMPLE / "boundary.gpkg")
    assert boundary.crs.to_epsg() == 4490
    assert boundary["name"].iloc[0] == "黔江区" and str(boundary["code"].iloc[0]) == "500114"
    km2 = geod_km2(boundary.geometry.iloc[0])
    assert km2 == pytest.approx(2397, rel=1e-3)  # official area of 黔江区: 2397 km²


@pytest.mark.parametrize("name", ["townships.gpkg", "land_use.gpkg"])
def test_partitions_tile_the_boundary(name):
    boundary = gpd.read_file(SAMPLE / "boundary.gpkg").geometry.iloc[0]
    units = gpd.read_file(SAMPLE / name)
    total = sum(geod_km2(g) for g in units.geometry)
    assert total == pytest.approx(geod_km2(boundary), rel=1e-6)
    assert shapely.union_all(units.geometry.values).symmetric_difference(boundary).area < 1e-9


def test_townships_are_thirty():
    towns = gpd.read_file(SAMPLE / "townships.gpkg")
    assert len(towns) == 30 and towns["code"].is_unique


@pytest.mark.parametrize("name", FILES)
def test_every_sample_file_reads(name):
    gdf, report = read_layer(SAMPLE / name, detect_crs=True)
    assert len(gdf) == report.features_in_file


def test_projects_cover_the_cases():
    projects, report = read_layer(SAMPLE / "projects.geojson")
    types = set(projects.geom_type)
    assert {"Polygon", "LineString", "Point"} <= types
    assert projects.loc[projects.geom_type == "LineString", "width_m"].gt(0).all()
    assert projects.loc[projects.geom_type == "Point", "radius_m"].gt(0).all()
    assert len(report.repaired) == 1  # the deliberate bow-tie footprint


def test_data_is_small():
    size = sum(p.stat().st_size for p in (REPO / "data").rglob("*") if p.is_file())
    assert size < 20 * 1024 * 1024


def test_generator_reproduces_committed_files(tmp_path):
    if not (REPO / "data" / "make_sample.py").exists():
        pytest.skip("installed without the source tree")
    subprocess.run([sys.executable, str(REPO / "data" / "make_sample.py"), "--out", str(tmp_path), "--quiet"],
                   check=True)
    for name in FILES:
        old = gpd.read_file(SAMPLE / name)
        new = gpd.read_file(tmp_path / name)
        assert old.drop(columns="geometry").equals(new.drop(columns="geometry")), name
        assert shapely.equals_exact(old.geometry.values, new.geometry.values, tolerance=1e-9).all(), name
    import numpy as np
    import rasterio

    from redline.io import read_layer

    for name in ("sites.txt", "sites_cm.txt", "sites.dxf", "sites.kml"):  # the project sites in every format
        old, new = read_layer(SAMPLE / name)[0], read_layer(tmp_path / name)[0]
        assert list(old["project_id"]) == list(new["project_id"]), name
        assert shapely.equals_exact(old.geometry.values, new.geometry.values, tolerance=1e-9).all(), name

    for name in RASTERS:
        with rasterio.open(SAMPLE / name) as old, rasterio.open(tmp_path / name) as new:
            assert old.crs == new.crs and old.transform == new.transform, name
            assert np.array_equal(old.read(1), new.read(1)), name
