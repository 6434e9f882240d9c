"""Siting screening: overlaps and distances against independent pyproj.Geod computations, verdicts by rule, outputs, CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely import LineString, Point, Polygon, box

from conftest import BOWTIE, SAMPLE, WITH_HOLE
from redline.analyses.screening import load_rules
from redline.engines import screen
from redline.specs.catalog import load_catalog
from redline.errors import CatalogError, FieldError, GeometryError

GEOD = Geod(ellps="GRS80")


def geod_area(geom) -> float:
    """Independent reference: GeographicLib area of a lon/lat shapely geometry (oriented so holes subtract)."""
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0])


def geod_dist(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def projects(*rows, crs="EPSG:4490", **cols):
    """rows: (id, category, geometry)."""
    data = {"project_id": [r[0] for r in rows], "category": [r[1] for r in rows], **cols}
    return gpd.GeoDataFrame(data, geometry=[r[2] for r in rows], crs="EPSG:4490").to_crs(crs)


def layer(*geoms, crs="EPSG:4490", **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs="EPSG:4490").to_crs(crs)


def hit(result, pid, kind):
    row = result.hits[(result.hits.project_id == pid) & (result.hits.kind == kind)]
    assert len(row) == 1
    return row.iloc[0]


def verdict(result, pid):
    return result.projects.set_index("project_id").loc[pid, "verdict"]


PROJECT = box(108.70, 29.50, 108.71, 29.51)
RED = box(108.705, 29.49, 108.72, 29.52)


# ---------------------------------------------------------------------------
# overlap areas and distances


@pytest.mark.parametrize("layer_crs", ["EPSG:4490", "EPSG:4545", "EPSG:4524", "EPSG:32649", "EPSG:4326"])
@pytest.mark.parametrize("project_crs", ["EPSG:4490", "EPSG:4545"])
def test_overlap_area_against_geod(layer_crs, project_crs):
    p = projects(("A", "mining", PROJECT), crs=project_crs)
    r = screen(p, {"eco_redline": layer(RED, crs=layer_crs)}, buffers=[])
    h = hit(r, "A", "eco_redline")
    expected = geod_area(box(108.705, 29.50, 108.71, 29.51))
    assert h.overlap_m2 == pytest.approx(expected, rel=2e-4)
    assert h.overlap_ha == pytest.approx(expected / 1e4, rel=2e-4)
    assert h.overlap_mu == pytest.approx(expected * 15 / 1e4, rel=2e-4)
    assert r.projects.footprint_m2.iloc[0] == pytest.approx(geod_area(PROJECT), rel=1e-6)
    assert h.overlap_pct == pytest.approx(100 * expected / geod_area(PROJECT), rel=2e-4)
    assert h.distance_m == 0 and h.severity == "prohibited"
    # the work is done in the GK zone of the data (EPSG:4545 here); any other layer CRS is reprojected, and said so
    assert r.crs == "EPSG:4545"
    assert any("eco_redline: reprojected" in n for n in r.notes) == (layer_crs != "EPSG:4545")


@pytest.mark.parametrize("layer_crs", ["EPSG:4490", "EPSG:4545", "EPSG:4524"])
def test_distance_east_west_and_north_south(layer_crs):
    east = box(108.72, 29.50, 108.73, 29.51)        # 0.01° of longitude east of the project
    north = box(108.70, 29.53, 108.71, 29.54)       # 0.02° of latitude north of it
    p = projects(("A", "industrial", PROJECT))
    r1 = screen(p, {"eco_redline": layer(east, crs=layer_crs)}, buffers=[])
    r2 = screen(p, {"eco_redline": layer(north, crs=layer_crs)}, buffers=[])
    # nearest points: the corners at the higher latitude (meridians converge northwards)
    assert hit(r1, "A", "eco_redline").distance_m == pytest.approx(geod_dist(108.71, 29.51, 108.72, 29.51), rel=1e-3)
    assert hit(r2, "A", "eco_redline").distance_m == pytest.approx(geod_dist(108.705, 29.51, 108.705, 29.53), rel=1e-4)
    assert hit(r1, "A", "eco_redline").overlap_m2 == 0 and verdict(r1, "A") == "clear"


def test_distance_far_away_is_geodesic_not_degrees_or_web_mercator():
    far = box(109.20, 30.00, 109.21, 30.01)  # ~70 km to the north-east
    r = screen(projects(("A", "industrial", PROJECT)), {"eco_redline": layer(far, crs="EPSG:3857")}, buffers=[])
    d = hit(r, "A", "eco_redline").distance_m
    assert d == pytest.approx(geod_dist(108.71, 29.51, 109.20, 30.00), rel=5e-3)


def test_line_footprint_is_buffered_by_half_its_width():
    road = LineString([(108.70, 29.505), (108.72, 29.505)])
    p = projects(("R", "road", road), ("M", "mining", road), width_m=[20.0, 20.0])
    red = box(108.705, 29.49, 108.715, 29.52)
    r = screen(p, {"eco_redline": layer(red)}, buffers=[])
    length = geod_dist(108.70, 29.505, 108.72, 29.505)
    inside = geod_dist(108.705, 29.505, 108.715, 29.505)
    assert r.projects.footprint_m2.iloc[0] == pytest.approx(20 * length, rel=1e-3)
    assert hit(r, "R", "eco_redline").overlap_m2 == pytest.approx(20 * inside, rel=1e-3)
    assert hit(r, "R", "eco_redline").overlap_pct == pytest.approx(50.0, abs=0.1)
    # linear infrastructure is permitted in the red line (conditional); a quarry on the same footprint is not
    assert verdict(r, "R") == "conditional" and verdict(r, "M") == "prohibited"


def test_line_width_fallback_and_missing_width():
    road = LineString([(108.70, 29.505), (108.72, 29.505)])
    p = projects(("R", "road", road))
    r = screen(p, {"eco_redline": layer(RED)}, buffers=[], line_width=10)
    assert r.projects.footprint_m2.iloc[0] == pytest.approx(10 * geod_dist(108.70, 29.505, 108.72, 29.505), rel=1e-3)
    with pytest.raises(GeometryError, match="R: a line needs a positive 'width_m' or --line-width"):
        screen(p, {"eco_redline": layer(RED)}, buffers=[])


def test_road_polygon_in_red_line_is_not_linear():
    r = screen(projects(("R", "road", PROJECT)), {"eco_redline": layer(RED)}, buffers=[])
    assert verdict(r, "R") == "prohibited"


def test_point_footprint_is_a_disc():
    p = projects(("S", "research_monitoring", Point(108.712, 29.505)), ("E", "energy", Point(108.705, 29.505)),
                 radius_m=[100.0, 100.0])
    r = screen(p, {"eco_redline": layer(RED)}, buffers=[])
    assert r.projects.footprint_m2.iloc[0] == pytest.approx(math.pi * 100**2, rel=1e-3)
    assert hit(r, "S", "eco_redline").overlap_pct == pytest.approx(100.0, abs=1e-6)
    assert hit(r, "E", "eco_redline").overlap_pct == pytest.approx(50.0, abs=0.2)  # centred on the edge
    assert verdict(r, "S") == "conditional" and verdict(r, "E") == "prohibited"  # a point is not a line


def test_ring_shaped_footprint():
    inner_layer = box(108.612, 29.412, 108.618, 29.418)   # inside the hole
    whole = box(108.59, 29.39, 108.65, 29.45)
    p = projects(("H", "mining", WITH_HOLE))
    r = screen(p, {"eco_redline": layer(inner_layer), "basic_farmland": layer(whole, crs="EPSG:4545")}, buffers=[])
    ring_area = geod_area(WITH_HOLE)
    assert r.projects.footprint_m2.iloc[0] == pytest.approx(ring_area, rel=1e-6)
    h = hit(r, "H", "eco_redline")
    assert h.overlap_m2 == 0 and verdict(r, "H") == "prohibited"
    expected = min(geod_dist(108.61, 29.418, 108.612, 29.418), geod_dist(108.615, 29.41, 108.615, 29.412))
    assert h.distance_m == pytest.approx(expected, rel=2e-3)
    assert hit(r, "H", "basic_farmland").overlap_m2 == pytest.approx(ring_area, rel=2e-4)
    assert hit(r, "H", "basic_farmland").overlap_pct == pytest.approx(100.0, rel=2e-4)


def test_bowtie_footprint_is_repaired_and_flagged():
    p = projects(("B", "residential", BOWTIE))
    r = screen(p, {"eco_redline": layer(box(108.5, 29.5, 108.51, 29.52))}, buffers=[])
    left = Polygon([(108.5, 29.5), (108.51, 29.51), (108.5, 29.52)])
    right = Polygon([(108.52, 29.5), (108.52, 29.52), (108.51, 29.51)])
    assert bool(r.projects.repaired.iloc[0]) is True
    assert r.projects.footprint_m2.iloc[0] == pytest.approx(geod_area(left) + geod_area(right), rel=1e-4)
    assert hit(r, "B", "eco_redline").overlap_m2 == pytest.approx(geod_area(left), rel=1e-3)
    assert any("B: invalid footprint repaired" in n for n in r.notes)


def test_footprint_straddling_boundary_and_layer_edge():
    district = layer(box(108.60, 29.40, 108.705, 29.60))
    r = screen(projects(("A", "mining", PROJECT)), {"eco_redline": layer(RED)}, boundary=district, buffers=[])
    row = r.projects.iloc[0]
    # the 22 km long district edge is straight in lon/lat but a chord in the working GK grid: ~0.1 m apart here
    assert row.outside_boundary_m2 == pytest.approx(geod_area(box(108.705, 29.50, 108.71, 29.51)), rel=5e-4)
    assert row.outside_boundary_pct == pytest.approx(50.0, abs=0.05)
    assert any("outside the boundary" in n for n in r.notes)


def test_overlapping_features_count_once_and_zones_split():
    core = box(108.70, 29.50, 108.705, 29.51)
    general = box(108.70, 29.50, 108.71, 29.51)   # overlaps the core completely
    p = projects(("T", "tourism", PROJECT))
    r = screen(p, {"nature_reserve": layer(core, general, zone=["核心区", "一般控制区"])}, buffers=[])
    h = hit(r, "T", "nature_reserve")
    assert h.overlap_m2 == pytest.approx(geod_area(PROJECT), rel=2e-4)  # not 1.5 ×
    assert list(h.zones) == ["核心保护区", "一般控制区"]  # alias 核心区 → 核心保护区
    assert h.severity == "prohibited"  # tourism: allowed in the general control zone only
    enc = r.encroachments[r.encroachments.kind == "nature_reserve"].set_index("zone")
    assert enc.loc["核心保护区", "area_m2"] == pytest.approx(geod_area(core), rel=2e-4)
    assert enc.loc["核心保护区", "severity"] == "prohibited" and enc.loc["一般控制区", "severity"] == "conditional"


# ---------------------------------------------------------------------------
# verdicts by rule


def test_permitted_category_turns_red_line_conditional():
    p = projects(("S", "research_monitoring", PROJECT), ("Q", "mining", PROJECT))
    r = screen(p, {"eco_redline": layer(RED)}, buffers=[])
    assert verdict(r, "S") == "conditional" and verdict(r, "Q") == "prohibited"
    assert "有条件准入" in hit(r, "S", "eco_redline").message
    msg = hit(r, "Q", "eco_redline").message
    assert msg.startswith("Q 占用生态保护红线") and "禁止" in msg and "允许类别: 科研监测" in msg
    en = screen(p, {"eco_redline": layer(RED)}, buffers=[], lang="en")
    assert "permitted categories: Research and monitoring" in hit(en, "Q", "eco_redline").message


def test_farmland_national_key_projects_conditional():
    p = projects(("R", "road", PROJECT), ("I", "industrial", PROJECT), ("W", "water_conservancy", PROJECT))
    r = screen(p, {"basic_farmland": layer(RED)}, buffers=[])
    assert [verdict(r, x) for x in "RIW"] == ["conditional", "prohibited", "conditional"]


def test_urban_construction_outside_urban_boundary():
    urban = box(108.70, 29.50, 108.71, 29.51)
    far = box(108.80, 29.50, 108.81, 29.51)
    p = projects(("IN", "industrial", PROJECT), ("OUT", "industrial", far), ("EN", "energy", far),
                 ("HALF", "residential", box(108.705, 29.50, 108.715, 29.51)))
    r = screen(p, {"urban_boundary": layer(urban)}, buffers=[])
    assert verdict(r, "IN") == "clear" and verdict(r, "EN") == "clear"
    assert verdict(r, "OUT") == "restricted" and verdict(r, "HALF") == "restricted"
    out = hit(r, "OUT", "urban_boundary")
    assert out.overlap_m2 == 0 and out.outside_m2 == pytest.approx(geod_area(far), rel=1e-6)
    assert out.distance_m == pytest.approx(geod_dist(108.71, 29.51, 108.80, 29.51), rel=2e-3)
    assert "位于城镇开发边界外" in out.message
    assert hit(r, "HALF", "urban_boundary").outside_m2 == pytest.approx(geod_area(box(108.71, 29.50, 108.715, 29.51)),
                                                                        rel=1e-3)
    enc = r.encroachments[r.encroachments.kind == "urban_boundary"]
    assert set(enc.project_id) == {"OUT", "HALF"} and set(enc.zone) == {"界外"}


def test_heavy_metal_safety_distance():
    urban = box(108.70, 29.50, 108.71, 29.51)
    near = box(108.713, 29.50, 108.716, 29.51)   # ~290 m east of the boundary
    away = box(108.72, 29.50, 108.723, 29.51)    # ~970 m
    p = projects(("N", "heavy_metal", near), ("F", "heavy_metal", away), ("I", "industrial", near))
    r = screen(p, {"urban_boundary": layer(urban)}, buffers=[])
    assert verdict(r, "N") == "prohibited" and "安全防护距离不足" in hit(r, "N", "urban_boundary").message
    assert verdict(r, "F") == "restricted" and verdict(r, "I") == "restricted"


def test_water_source_levels():
    lvl1, lvl2 = box(108.70, 29.50, 108.705, 29.51), box(108.705, 29.50, 108.71, 29.51)
    layers = {"water_source": layer(lvl1, lvl2, 级别=["一级保护区", "二级保护区"])}
    pump = box(108.701, 29.501, 108.702, 29.502)
    factory = box(108.706, 29.501, 108.707, 29.502)
    p = projects(("W", "water_conservancy", pump), ("G", "energy", pump), ("I", "industrial", factory),
                 ("T", "tourism", factory))
    r = screen(p, layers, buffers=[])
    assert [verdict(r, x) for x in "WGIT"] == ["conditional", "prohibited", "prohibited", "restricted"]


def test_rings_count_and_area():
    a = box(108.70, 29.50, 108.71, 29.51)
    near = box(108.712, 29.50, 108.713, 29.51)   # ~194 m east: ring 0–500
    mid = box(108.719, 29.50, 108.72, 29.51)     # ~870 m: ring 500–1000
    r = screen(projects(("A", "industrial", a)), {"eco_redline": layer(near, mid)}, buffers=[500, 1000, 5000])
    rings = r.rings.set_index("outer_m")
    assert rings.loc[500.0, "count"] == 1 and rings.loc[1000.0, "count"] == 1 and rings.loc[5000.0, "count"] == 0
    assert rings.loc[500.0, "area_m2"] == pytest.approx(geod_area(near), rel=2e-3)
    assert rings.loc[1000.0, "area_m2"] == pytest.approx(geod_area(mid), rel=2e-3)
    assert len(r.buffers) == 3 and {"eco_redline_n", "eco_redline_m2", "inner_m", "outer_m"} <= set(r.buffers.columns)


@pytest.mark.parametrize("n_parcels", [1, 400])
def test_ring_area_of_a_partly_covered_ring(n_parcels):
    # a layer covering the east half of the rings, as one polygon or as 400 overlapping-free parcels in GK metres:
    # the ring area must equal the layer's area inside (disk 1000 m − disk 500 m), measured independently
    fp = box(500_000, 3_300_000, 500_200, 3_300_200)
    east = box(500_100, 3_298_000, 502_000, 3_302_000)
    if n_parcels == 1:
        parcels = [east]
    else:
        parcels = [box(x, y, x + 95, y + 200) for x in range(500_100, 502_000, 95) for y in range(3_298_000, 3_302_000, 200)]
    proj = gpd.GeoDataFrame({"project_id": ["A"], "category": ["industrial"]}, geometry=[fp], crs=4545)
    r = screen(proj, {"eco_redline": gpd.GeoDataFrame(geometry=parcels, crs=4545)}, buffers=[500, 1000])
    truth = shapely.intersection(shapely.difference(fp.buffer(1000, quad_segs=512), fp.buffer(500, quad_segs=512)),
                                 shapely.union_all(parcels))
    expected = geod_area(gpd.GeoSeries([shapely.segmentize(truth, 20)], crs=4545).to_crs(4490).iloc[0])
    got = r.rings.set_index("outer_m").loc[1000.0, "area_m2"]
    assert got == pytest.approx(expected, rel=2e-4)  # the code's disks are 256-gons: ~1e-4 of a true disk
    first = geod_area(gpd.GeoSeries([shapely.segmentize(shapely.intersection(
        shapely.difference(fp.buffer(500, quad_segs=512), fp), shapely.union_all(parcels)), 20)], crs=4545).to_crs(4490).iloc[0])
    assert r.rings.set_index("outer_m").loc[500.0, "area_m2"] == pytest.approx(first, rel=2e-4)


@settings(max_examples=25, deadline=None)
@given(st.floats(0, 0.02), st.floats(0, 0.02), st.floats(0.001, 0.02), st.floats(0.001, 0.02))
def test_overlap_never_exceeds_footprint(dx, dy, w, h):
    fp = box(108.70 + dx, 29.50 + dy, 108.70 + dx + w, 29.50 + dy + h)
    r = screen(projects(("A", "mining", fp)), {"eco_redline": layer(RED, box(108.70, 29.50, 108.71, 29.51))},
               buffers=[])
    hh = hit(r, "A", "eco_redline")
    assert 0 <= hh.overlap_m2 <= r.projects.footprint_m2.iloc[0] * (1 + 1e-9)
    assert 0 <= hh.overlap_pct <= 100 + 1e-6
    # overlapping means distance 0; a footprint that only touches the layer has distance 0 and no overlap
    assert hh.distance_m == 0 if hh.overlap_m2 > 0 else hh.distance_m >= 0


# ---------------------------------------------------------------------------
# input problems


def test_unknown_kind_and_missing_id_field():
    p = projects(("A", "mining", PROJECT))
    with pytest.raises(CatalogError, match="unknown layer kind 'farmland'"):
        screen(p, {"farmland": layer(RED)})
    with pytest.raises(FieldError, match="no id field 'bsm'; fields: project_id, category"):
        screen(p, {"eco_redline": layer(RED)}, id_field="bsm")


def test_id_field_autodetect_and_chinese_categories():
    p = gpd.GeoDataFrame({"编号": ["甲-1"], "类别": ["科研监测"]}, geometry=[PROJECT], crs="EPSG:4490")
    r = screen(p, {"eco_redline": layer(RED)}, buffers=[])
    assert r.projects.project_id.tolist() == ["甲-1"] and r.projects.category.tolist() == ["research_monitoring"]
    assert verdict(r, "甲-1") == "conditional"


# ---------------------------------------------------------------------------
# outputs


def test_gpkg_output_layers_and_columns(tmp_path):
    p = projects(("A", "mining", PROJECT), ("B", "industrial", box(108.80, 29.5, 108.81, 29.51)))
    r = screen(p, {"eco_redline": layer(RED), "urban_boundary": layer(box(108.6, 29.4, 108.65, 29.45))})
    path = r.to_file(tmp_path / "筛查.gpkg")
    import pyogrio

    assert [name for name, _ in pyogrio.list_layers(path)] == ["projects", "encroachments", "buffers"]
    proj = gpd.read_file(path, layer="projects")
    assert {"project_id", "category", "footprint_m2", "footprint_ha", "footprint_mu", "repaired", "verdict",
            "findings", "eco_redline_m2", "eco_redline_pct", "eco_redline_distance_m", "eco_redline_severity"} <= set(proj)
    assert proj.crs.to_epsg() == 4490 and proj.verdict.tolist() == ["prohibited", "restricted"]
    enc = gpd.read_file(path, layer="encroachments")
    assert {"project_id", "kind", "zone", "severity", "area_m2", "area_ha", "area_mu", "pct"} <= set(enc)
    assert enc.set_index("kind").loc["eco_redline", "area_m2"] == pytest.approx(
        geod_area(box(108.705, 29.50, 108.71, 29.51)), rel=2e-4)
    buf = gpd.read_file(path, layer="buffers")
    assert len(buf) == 2 * 3 and {"project_id", "inner_m", "outer_m", "eco_redline_n", "urban_boundary_m2"} <= set(buf)
    csv = r.to_table(tmp_path / "t.csv")
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
    pytest.importorskip("openpyxl")
    import pandas as pd

    xl = pd.read_excel(r.to_table(tmp_path / "t.xlsx"), sheet_name=None)
    assert set(xl) == {"projects", "hits"}


# ---------------------------------------------------------------------------
# CLI, end to end on real files

HIT_KEYS = {"kind", "overlap_m2", "overlap_pct", "distance_m", "zones", "severity", "message"}
PROJECT_KEYS = {"id", "category", "footprint_m2", "verdict", "repaired", "hits"}


def run(*args):
    return subprocess.run([sys.executable, "-m", "redline", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8")


def test_cli_screen_on_files(tmp_path):
    d = tmp_path / "数据"
    d.mkdir()
    p = projects(("A", "mining", PROJECT), ("B", "research_monitoring", PROJECT), ("C", "residential", BOWTIE))
    p.to_file(d / "项目.geojson")
    layer(RED, crs="EPSG:4545").to_file(d / "红线.gpkg")
    layer(box(108.4, 29.4, 108.9, 29.6), crs="EPSG:4524").to_file(d / "城镇.gpkg")
    proc = run("screen", d / "项目.geojson", "--layer", f"eco_redline={d / '红线.gpkg'}",
               "--layer", f"urban_boundary={d / '城镇.gpkg'}", "--out", d / "out.gpkg", "--table", d / "t.csv",
               "--json", "--buffers", "500,1000")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"projects", "rings", "notes"} == set(data)
    by_id = {x["id"]: x for x in data["projects"]}
    for proj in data["projects"]:
        assert set(proj) == PROJECT_KEYS
        assert [h["kind"] for h in proj["hits"]] == ["eco_redline", "urban_boundary"]
        for h in proj["hits"]:
            assert set(h) == HIT_KEYS
    assert by_id["A"]["verdict"] == "prohibited" and by_id["B"]["verdict"] == "conditional"
    assert by_id["C"]["repaired"] is True and by_id["A"]["repaired"] is False
    assert by_id["A"]["hits"][0]["overlap_m2"] == pytest.approx(geod_area(box(108.705, 29.50, 108.71, 29.51)), rel=2e-4)
    assert (d / "out.gpkg").exists() and (d / "t.csv").exists()
    # --fail-on
    args = ["screen", d / "项目.geojson", "--layer", f"eco_redline={d / '红线.gpkg'}", "--buffers", "0"]
    assert run(*args, "--fail-on", "prohibited").returncode == 3
    text = run(*args, "--lang", "en")
    assert text.returncode == 0 and "prohibited" in text.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.geojson", "--layer", "eco_redline=x.gpkg"], "missing.geojson: file not found"),
        (["{p}", "--layer", "farmland={l}"], "unknown layer kind 'farmland'"),
        (["{p}", "--layer", "eco_redline={l}", "--id-field", "nope"], "no id field 'nope'"),
        (["{p}", "--layer", "eco_redline={l}", "--rules", "{bad}"], "severity 'fatal'"),
    ],
)
def test_cli_screen_bad_input_one_line(tmp_path, args, message):
    projects(("A", "mining", PROJECT)).to_file(tmp_path / "p.geojson")
    layer(RED).to_file(tmp_path / "l.gpkg")
    (tmp_path / "bad.toml").write_text(
        '[categories]\nmining = ["采矿", "Mining"]\n[[safety_distance]]\ncategories = ["mining"]\n'
        'kind = "eco_redline"\nmin_distance_m = 100\nseverity = "fatal"\n', encoding="utf-8")
    fill = {"p": tmp_path / "p.geojson", "l": tmp_path / "l.gpkg", "bad": tmp_path / "bad.toml"}
    proc = run("screen", *[a.format(**fill) for a in args])
    assert proc.returncode == 1
    assert proc.stderr.startswith("redline: error:") and message in proc.stderr
    assert "Traceback" not in proc.stderr


SAMPLE_VERDICTS = {
    "P-01": "clear", "P-02": "clear", "P-03": "conditional", "P-04": "prohibited", "P-05": "prohibited",
    "P-06": "restricted", "P-07": "prohibited", "P-08": "conditional", "P-09": "prohibited", "P-10": "clear",
    "P-11": "clear", "P-12": "clear", "P-13": "conditional", "P-14": "clear", "P-15": "clear",
    "P-16": "conditional", "P-17": "clear", "P-18": "prohibited", "P-19": "restricted", "P-20": "clear",
}


def test_cli_screen_sample_matches_data_readme(tmp_path):
    kinds = ["eco_redline", "basic_farmland", "urban_boundary", "nature_reserve", "water_source"]
    args = [a for k in kinds for a in ("--layer", f"{k}={SAMPLE / (k + '.gpkg')}")]
    proc = run("screen", SAMPLE / "projects.geojson", *args, "--boundary", SAMPLE / "boundary.gpkg", "--json",
               "--out", tmp_path / "s.gpkg")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {p["id"]: p["verdict"] for p in data["projects"]} == SAMPLE_VERDICTS
    by_id = {p["id"]: {h["kind"]: h for h in p["hits"]} for p in data["projects"]}
    assert [p["repaired"] for p in data["projects"]].count(True) == 1 and data["projects"][1]["repaired"]
    assert by_id["P-05"]["nature_reserve"]["zones"] == ["核心保护区"]
    assert by_id["P-18"]["water_source"]["zones"] == ["一级"]
    assert by_id["P-19"]["nature_reserve"]["zones"] == ["自然公园"]
    assert by_id["P-07"]["urban_boundary"]["distance_m"] == pytest.approx(270, abs=15)   # data/README.md: 270 m
    assert by_id["P-06"]["urban_boundary"]["distance_m"] == pytest.approx(12_900, rel=0.01)  # ≈ 12.9 km
    assert by_id["P-13"]["basic_farmland"]["overlap_m2"] > 0 and by_id["P-16"]["eco_redline"]["overlap_m2"] > 0
    # clear projects don't touch the protective layers
    for pid, v in SAMPLE_VERDICTS.items():
        if v == "clear":
            for k in ("eco_redline", "basic_farmland", "nature_reserve", "water_source"):
                assert by_id[pid][k]["overlap_m2"] == 0


# ---------------------------------------------------------------------------
# catalog and rule set


def test_catalog_rules_loaded():
    cat = load_catalog()
    red = cat["eco_redline"]
    assert red.rule.severity == "prohibited" and red.rule.legal_basis.startswith("《")
    assert red.rule.assess("research_monitoring") == ("conditional", True)
    assert red.rule.assess("road", linear=True) == ("conditional", True)
    assert red.rule.assess("road", linear=False) == ("prohibited", False)
    assert cat["urban_boundary"].inverted and "industrial" in cat["urban_boundary"].applies_to
    nr = cat["nature_reserve"]
    assert [nr.zone_rule(z).severity for z in nr.zones] == ["prohibited", "prohibited", "restricted"]
    assert nr.match_zone("示例湿地公园")["name_zh"] == "自然公园"
    ws = cat["water_source"]
    assert ws.zone_rule(ws.match_zone("二级")).assess("industrial") == ("prohibited", False)
    assert ws.zone_rule(ws.match_zone("二级")).assess("tourism") == ("restricted", False)


def test_rule_set_validation_lists_every_problem(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('buffers_m = [1000, 500]\n[categories]\nmining = ["采矿"]\n'
                   '[[safety_distance]]\ncategories = ["unknown_cat"]\nkind = "nowhere"\nmin_distance_m = -1\n',
                   encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_rules(bad)
    text = str(err.value)
    for expected in ("buffers_m must be increasing", "categories.mining must be", "kind 'nowhere' is not in the layer",
                     "min_distance_m must be a positive", "unknown categories 'unknown_cat'",
                     "categories not in the rule set"):
        assert expected in text


@pytest.mark.parametrize("name", ["redline.analyses.screening.coordinator", "redline.specs.rules",
                                  "redline.geometry.footprints", "redline.specs.catalog"])
def test_docstring_examples(name):
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS).failed == 0


def test_explore_makes_a_folium_map():
    import folium
    r = screen(SAMPLE / "projects.geojson", {"eco_redline": SAMPLE / "eco_redline.gpkg"}, buffers=[])
    m = r.explore()
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    assert "P-04" in html and "prohibited" in html


def test_a_broken_third_layer_fails_before_any_overlay(tmp_path, monkeypatch):
    import redline.analyses.screening as analysis
    from redline.errors import LayerReadError

    def no_work(*args, **kwargs):
        raise AssertionError("the screening ran before every layer was opened")

    monkeypatch.setattr(analysis, "screen", no_work)
    (tmp_path / "broken.gpkg").write_bytes(b"not a geopackage")
    layers = {"eco_redline": SAMPLE / "eco_redline.gpkg", "basic_farmland": SAMPLE / "basic_farmland.gpkg",
              "urban_boundary": tmp_path / "broken.gpkg"}
    with pytest.raises(LayerReadError) as err:
        screen(SAMPLE / "projects.geojson", layers, buffers=[])
    assert "broken.gpkg" in str(err.value) and "\n" not in str(err.value)
