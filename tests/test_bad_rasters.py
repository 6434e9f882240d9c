"""Rasters that don't fit the job: values that are not class codes, rasters that miss the area, unknown classes
(issue 15: no silent wrong answer). Each raster is made in code from the sample's land cover."""

from __future__ import annotations

import json

import numpy as np
import rasterio
from conftest import SAMPLE
from rasterio.transform import from_origin
from test_bad_input import one_line_error, run

LC2020, LC2024 = SAMPLE / "landcover_2020.tif", SAMPLE / "landcover_2024.tif"


def variant(tmp_path, name, change, dtype=None):
    """The sample's 2020 land cover with ``change(array)`` applied, written as ``name``."""
    with rasterio.open(LC2020) as src:
        profile, data = src.profile, src.read(1)
    data = change(data.astype(dtype or data.dtype))
    profile.update(dtype=str(data.dtype))
    path = tmp_path / name
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def notes_of(proc):
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["notes"]


def test_continuous_raster_refused(tmp_path):
    """NDVI-like fractions used to be truncated into class 0 and 1, and measured."""
    path = tmp_path / "ndvi.tif"
    with rasterio.open(path, "w", driver="GTiff", width=50, height=50, count=1, dtype="float32", crs="EPSG:4490",
                       transform=from_origin(108.6, 29.6, 0.005, 0.005)) as dst:
        dst.write(np.random.default_rng(1).random((50, 50), dtype=np.float32), 1)
    expected = ("ndvi.tif", "float32", "not class codes", "classified raster")
    one_line_error(run("indicators", "--boundary", SAMPLE / "boundary.gpkg", "--landcover", path), *expected)
    one_line_error(run("monitor", "--before", path, "--after", LC2024, "--within",
                       f"eco_redline={SAMPLE / 'eco_redline.gpkg'}"), *expected)


def test_class_codes_stored_as_floats_are_fine(tmp_path):
    path = variant(tmp_path, "float_codes.tif", lambda a: a, dtype="float32")
    base = notes_of(run("indicators", "--workspace", SAMPLE / "workspace.toml", "--json"))
    proc = run("indicators", "--workspace", SAMPLE / "workspace.toml", "--landcover", path, "--json")
    assert notes_of(proc) == base


def test_raster_that_misses_the_district(tmp_path):
    """A raster of somewhere else gave an empty land-cover table and no word."""
    path = tmp_path / "elsewhere.tif"
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="uint8", crs="EPSG:4490",
                       transform=from_origin(100.0, 40.0, 0.01, 0.01)) as dst:
        dst.write(np.full((10, 10), 10, np.uint8), 1)
    one_line_error(run("indicators", "--boundary", SAMPLE / "boundary.gpkg", "--landcover", path),
                   "elsewhere.tif", "does not cover", "CRS and extent")


def test_raster_covering_half_the_district_is_flagged(tmp_path):
    """Forest coverage measured on half the district was reported as the district's, without a word."""
    def west_half_gone(a):
        a[:, : a.shape[1] // 2] = 0  # the sample's nodata
        return a
    path = variant(tmp_path, "half.tif", west_half_gone)
    notes = notes_of(run("indicators", "--workspace", SAMPLE / "workspace.toml", "--landcover", path, "--json"))
    partial = [n for n in notes if "half.tif" in n and "cover only part" in n]
    assert partial and "(全区)" in partial[0], notes
    full = notes_of(run("indicators", "--workspace", SAMPLE / "workspace.toml", "--json"))
    assert not any("cover only part" in n for n in full), full


def test_unknown_class_codes_are_flagged(tmp_path):
    def code_77(a):
        a[: a.shape[0] // 3] = 77
        return a
    path = variant(tmp_path, "odd.tif", code_77)
    notes = notes_of(run("indicators", "--workspace", SAMPLE / "workspace.toml", "--landcover", path, "--json"))
    assert any("odd.tif" in n and "class map does not name (77)" in n for n in notes), notes


def test_monitor_raster_covering_part_of_the_layer(tmp_path):
    """Change outside the before raster was simply not seen: '0 patches' there read as 'no human activity'."""
    def west_half_gone(a):
        a[:, : a.shape[1] // 2] = 0
        return a
    path = variant(tmp_path, "half.tif", west_half_gone)
    within = f"eco_redline={SAMPLE / 'eco_redline.gpkg'}"
    notes = notes_of(run("monitor", "--before", path, "--after", LC2024, "--within", within, "--json"))
    gap = [n for n in notes if "half.tif" in n and "of the protected layer" in n]
    assert gap, notes
    share = float(gap[0].split("only ")[1].split(" %")[0])
    assert 30 < share < 70, gap
