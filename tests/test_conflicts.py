"""Three-line conflicts: overlap areas against pyproj Geod on densified lon/lat polygons, slivers, units, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod
from shapely import box

from redline.analyses.conflicts import conflicts, split_by_units
from redline.errors import FieldError

GEOD = Geod(ellps="GRS80")
SEG = 0.0005  # densify like real boundaries: geodesic pieces then add up


def d(geom):
    return shapely.segmentize(geom, SEG)


def geod(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(d(geom))[0])


RED = box(108.70, 29.50, 108.72, 29.52)
FARM1 = box(108.71, 29.49, 108.73, 29.51)
FARM2 = box(108.715, 29.495, 108.735, 29.515)  # overlaps FARM1: the overlap within the layer counts once
M_DEG = 1 / 96_900  # about one metre of longitude at 29.5°N
STRIP = box(108.70 - 0.001, 29.5050, 108.70 + M_DEG, 29.5070)  # 1 m wide inside the red line: a sliver by width
SPECK = box(108.7195, 29.5195, 108.7195 + 0.4 * M_DEG, 29.5195 + 0.4 / 110_900)  # 0.16 m²: a sliver by area


def layers(farm_crs="EPSG:4545"):
    red = gpd.GeoDataFrame({"hx_id": ["R1"]}, geometry=[d(RED)], crs=4490)
    farm = gpd.GeoDataFrame({"bsm": ["F1", "F2", "F3", "F4"]}, geometry=[d(g) for g in (FARM1, FARM2, STRIP, SPECK)],
                            crs=4490).to_crs(farm_crs)
    urban = gpd.GeoDataFrame({"name": ["U"]}, geometry=[d(box(108.80, 29.60, 108.81, 29.61))], crs=4490)
    return {"eco_redline": red, "basic_farmland": farm, "urban_boundary": urban}


def test_overlap_area_matches_geod_and_counts_within_layer_overlaps_once():
    r = conflicts(layers())
    row = r.pairs.set_index(["a", "b"]).loc[("eco_redline", "basic_farmland")]
    expected = geod(shapely.union(FARM1, FARM2).intersection(RED))
    assert row["overlap_m2"] == pytest.approx(expected, rel=1e-5)
    assert row["pieces"] == 1 and row["slivers"] == 2
    assert row["overlap_m2"] + row["sliver_m2"] == pytest.approx(row["total_m2"])
    # the naive sum of pairwise intersections would count FARM1 ∩ FARM2 ∩ RED twice
    naive = geod(FARM1.intersection(RED)) + geod(FARM2.intersection(RED))
    assert row["overlap_m2"] < naive - 1e4
    assert set(r.pairs["a"] + "×" + r.pairs["b"]) == {"eco_redline×basic_farmland", "eco_redline×urban_boundary",
                                                      "basic_farmland×urban_boundary"}
    none = r.pairs.set_index(["a", "b"]).loc[("eco_redline", "urban_boundary")]
    assert none["overlap_m2"] == 0 and none["pieces"] == 0


def test_slivers_by_width_and_by_area():
    r = conflicts(layers())
    sl = r.pieces[r.pieces["sliver"]].sort_values("area_m2")
    assert list(sl["reason"]) == ["area", "width"]
    assert sl["area_m2"].iloc[1] == pytest.approx(geod(STRIP.intersection(RED)), rel=1e-3)  # ~ 1 m × 220 m
    assert 150 < sl["area_m2"].iloc[1] < 300
    real = r.pieces[~r.pieces["sliver"] & (r.pieces["b"] == "basic_farmland")]
    assert real["a_ids"].tolist() == ["0"] and set(real["b_ids"].iloc[0].split("、")) == {"0", "1"}
    loose = conflicts(layers(), min_width=0.3, min_area=0.0)
    assert loose.pairs.loc[0, "pieces"] == 3 and loose.pairs.loc[0, "slivers"] == 0


@pytest.mark.parametrize("farm_crs", ["EPSG:4490", "EPSG:4545", "EPSG:4524", "EPSG:3857"])
def test_same_areas_whatever_the_crs(farm_crs):
    base = conflicts(layers("EPSG:4490")).pairs["overlap_m2"]
    other = conflicts(layers(farm_crs)).pairs["overlap_m2"]
    assert other.tolist() == pytest.approx(base.tolist(), rel=1e-6)


def test_boundary_clips_and_units_add_up():
    boundary = gpd.GeoDataFrame(geometry=[d(box(108.60, 29.40, 108.718, 29.60))], crs=4490)
    towns = gpd.GeoDataFrame({"name": ["甲", "乙"]}, geometry=[d(box(108.60, 29.40, 108.714, 29.505)),
                                                             d(box(108.60, 29.505, 108.714, 29.60))], crs=4490)
    r = conflicts(layers(), boundary=boundary, units=towns, by="name")
    expected = geod(shapely.union(FARM1, FARM2).intersection(RED).intersection(box(108.60, 29.40, 108.718, 29.60)))
    total = r.pairs.loc[0, "overlap_m2"]
    assert total == pytest.approx(expected, rel=1e-5)
    u = r.by_unit[r.by_unit["b"] == "basic_farmland"].set_index("unit")
    assert set(u.index) == {"甲", "乙", "(未归属单位)"}  # the part east of 108.714 lies in no unit
    assert u["overlap_m2"].sum() == pytest.approx(total, rel=1e-9)
    assert u.loc["甲", "overlap_m2"] == pytest.approx(geod(box(108.71, 29.50, 108.714, 29.505)), rel=1e-5)
    assert any("outside the boundary" in n for n in r.notes)


def test_split_by_units_and_errors():
    towns = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=4545)
    with pytest.raises(FieldError, match="no field 'code'"):
        split_by_units([box(0, 0, 1, 1)], 4545, towns, "code")
    with pytest.raises(FieldError, match="no layer 'water'"):
        conflicts(layers(), [("eco_redline", "water")])


def run(*args):
    return subprocess.run([sys.executable, "-m", "redline", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8")


def test_cli_end_to_end_non_ascii(tmp_path):
    folder = tmp_path / "三线 冲突"
    folder.mkdir()
    paths = {}
    for kind, gdf in layers().items():
        paths[kind] = folder / f"{kind}_图层.gpkg"
        gdf.to_file(paths[kind], engine="pyogrio")
    specs = [a for k, p in paths.items() for a in ("--layer", f"{k}={p}")]
    out = folder / "冲突.gpkg"
    proc = run("conflicts", *specs, "--out", out, "--table", folder / "冲突.xlsx", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    first = data["pairs"][0]
    assert {"a", "b", "overlap_m2", "pieces", "slivers"} <= set(first)
    assert first["overlap_m2"] == pytest.approx(geod(shapely.union(FARM1, FARM2).intersection(RED)), rel=1e-5)
    assert gpd.list_layers(out)["name"].tolist() == ["conflicts", "slivers"]
    assert len(gpd.read_file(out, layer="slivers")) == 2
    text = run("conflicts", *specs, "--pair", "eco_redline,basic_farmland")
    assert text.returncode == 0 and "生态保护红线" in text.stdout and "永久基本农田" in text.stdout
    assert "城镇开发边界" not in text.stdout
    en = run("conflicts", *specs, "--lang", "en")
    assert "Ecological protection red line" in en.stdout


def test_cli_bad_input_is_one_line(tmp_path):
    good = tmp_path / "red.gpkg"
    layers()["eco_redline"].to_file(good, engine="pyogrio")
    proc = run("conflicts", "--layer", f"eco_redline={good}", "--layer", f"basic_farmland={tmp_path / '无.gpkg'}")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("redline: error: ") and "无.gpkg" in lines[0]
