"""占用地类: the land a footprint occupies by 三调 class — against pyproj.Geod on hand-made polygons with a hole,
overlapping classes and an uncovered part; the three big classes; ownership; the mapping's own checks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely import box

from redline.analyses.landtake import UNCOVERED, land_take
from redline.errors import CatalogError, FieldError
from redline.specs.landclasses import load_land_classes

CRS = "EPSG:4545"
GEOD = Geod(ellps="GRS80")
TO_LL = Transformer.from_crs(CRS, "EPSG:4490", always_xy=True)
X0, Y0 = 480000.0, 3266000.0


def geod_area(geom) -> float:
    """Area by pyproj.Geod on the vertices of every ring (densified every 2 m), holes taken out."""
    def ring(r):
        lon, lat = TO_LL.transform(*np.asarray(shapely.segmentize(r, 2.0).coords).T)
        return abs(GEOD.polygon_area_perimeter(lon, lat)[0])
    return sum(ring(p.exterior) - sum(ring(h) for h in p.interiors) for p in getattr(geom, "geoms", [geom]))


def b(x0, x1, y0=Y0 - 100, y1=Y0 + 300):
    return box(X0 + x0, y0, X0 + x1, y1)


@pytest.fixture
def case():
    footprint = b(0, 200, Y0, Y0 + 200).difference(b(80, 120, Y0 + 80, Y0 + 120))
    landuse = gpd.GeoDataFrame(
        {"DLBM": ["0101", "0601", "0103", "0404"], "QSXZ": ["20", "30", "国有", "32"]},
        geometry=[b(-100, 100), b(100, 150), b(50, 180), b(1000, 1100)], crs=CRS)  # C overlaps A and B
    return footprint, landuse


def test_classes_against_geod(case):
    footprint, landuse = case
    take = land_take(np.array([footprint]), ["P"], CRS, landuse)
    hole = b(80, 120, Y0 + 80, Y0 + 120)
    expected = {
        "0101": b(0, 100, Y0, Y0 + 200).difference(hole),
        "0601": b(100, 150, Y0, Y0 + 200).difference(hole),
        "0103": b(150, 180, Y0, Y0 + 200),   # its overlaps with A and B went to them (first in file order)
        UNCOVERED: b(180, 200, Y0, Y0 + 200),
    }
    got = take.pieces.set_index("code")["area_m2"]
    assert set(got.index) == set(expected)
    for code, geom in expected.items():
        assert got[code] == pytest.approx(geod_area(geom), rel=1e-7), code  # redline vs Geod: as QGIS, ~1e-8
    total = got.sum()
    assert total == pytest.approx(geod_area(footprint), rel=1e-7)
    assert total == pytest.approx(take.footprint_m2["P"], rel=1e-9)  # every m² once: the pieces add up
    assert any("overlap others" in n for n in take.notes)


def test_summary_groups(case):
    footprint, landuse = case
    take = land_take(np.array([footprint]), ["P"], CRS, landuse)
    s = take.summary().loc["P"]
    pieces = take.pieces.set_index("code")["area_m2"]
    assert s.agricultural_m2 == pytest.approx(pieces["0101"] + pieces["0103"])
    assert s.construction_m2 == pytest.approx(pieces["0601"])
    assert s.unused_m2 == 0
    assert s.farmland_m2 == pytest.approx(s.paddy_m2 + s.dry_m2) and s.irrigated_m2 == 0
    parts = s.agricultural_m2 + s.construction_m2 + s.unused_m2 + s.uncovered_m2 + s.unclassified_m2
    assert parts == pytest.approx(take.footprint_m2["P"], rel=1e-9)
    data = take.to_json()["P"]
    assert [c["code"] for c in data["classes"]] == ["0101", "0103", "0601"]
    assert data["classes"][0]["name"] == "水田" and data["classes"][2]["group"] == "construction"
    assert set(data) >= {"agricultural_m2", "construction_m2", "unused_m2", "farmland_m2", "paddy_m2",
                         "irrigated_m2", "dry_m2", "uncovered_m2"}


def test_by_ownership(case):
    footprint, landuse = case
    take = land_take(np.array([footprint]), ["P"], CRS, landuse, ownership_field="QSXZ")
    own = take.to_json()["P"]["by_ownership"]
    pieces = take.pieces.set_index("code")["area_m2"]
    assert own["state"]["agricultural_m2"] == pytest.approx(pieces["0101"] + pieces["0103"], abs=1e-3)
    assert own["collective"]["construction_m2"] == pytest.approx(pieces["0601"], abs=1e-3)


def test_no_landuse_near_is_all_uncovered():
    lu = gpd.GeoDataFrame({"DLBM": ["0101"]}, geometry=[b(5000, 5100)], crs=CRS)
    fp = b(0, 100, Y0, Y0 + 100)
    take = land_take(np.array([fp, b(200, 300, Y0, Y0 + 100)]), ["A", "B"], CRS, lu)
    s = take.summary()
    assert s.loc["A", "uncovered_m2"] == pytest.approx(geod_area(fp), rel=1e-7)
    assert list(s.index) == ["A", "B"]


def test_unknown_codes_reported_not_dropped():
    lu = gpd.GeoDataFrame({"DLBM": ["9999"]}, geometry=[b(-10, 200)], crs=CRS)
    fp = b(0, 100, Y0, Y0 + 100)
    take = land_take(np.array([fp]), ["A"], CRS, lu)
    assert take.summary().loc["A", "unclassified_m2"] == pytest.approx(geod_area(fp), rel=1e-7)
    assert any("9999" in n for n in take.notes)


def test_lonlat_landuse_reprojected():
    lu = gpd.GeoDataFrame({"dlbm": ["0102"]}, geometry=[b(-10, 200)], crs=CRS).to_crs("EPSG:4490")
    fp = b(0, 100, Y0, Y0 + 100)
    take = land_take(np.array([fp]), ["A"], CRS, lu)
    assert take.summary().loc["A", "irrigated_m2"] == pytest.approx(geod_area(fp), rel=1e-6)


def test_missing_code_field():
    lu = gpd.GeoDataFrame({"kind": ["0101"]}, geometry=[b(0, 10)], crs=CRS)
    with pytest.raises(FieldError, match="--landuse-field"):
        land_take(np.array([b(0, 5, Y0, Y0 + 5)]), ["A"], CRS, lu)


def test_class_map_codes_in_one_group_only(tmp_path):
    text = (load_land_classes.__wrapped__.__globals__["resource_dir"]("analyses") / "classes" /
            "sandiao_three.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('unused = ["0404",', 'unused = ["0101", "0404",'), encoding="utf-8")
    with pytest.raises(CatalogError, match="0101.*both"):
        load_land_classes(bad)


@pytest.mark.parametrize("code,group", [("0101", "agricultural"), ("1006", "agricultural"), ("1203", "agricultural"),
                                        ("1202", "agricultural"), ("1104K", "agricultural"), ("0404", "unused"),
                                        ("1110", "unused"), ("1207", "unused"), ("1109", "construction"),
                                        ("05H1", "construction"), ("0810A", "construction"), ("0603", "construction")])
def test_big_classes(code, group):
    assert load_land_classes().group(code) == group


def test_screen_cli_with_landuse(tmp_path):
    """``redline screen --landuse --ownership-field``: the JSON per project, the GeoPackage layer, the xlsx sheet;
    classes and uncovered add up to the footprint (1e-9, from the API) and agree with Geod."""
    import json
    import subprocess
    import sys

    import openpyxl
    import pyogrio

    import redline

    footprint = b(0, 200, Y0, Y0 + 200).difference(b(80, 120, Y0 + 80, Y0 + 120))
    projects = gpd.GeoDataFrame({"project_id": ["P"], "category": ["industrial"]}, geometry=[footprint], crs=CRS)
    ppath, lpath = tmp_path / "p.geojson", tmp_path / "lu.gpkg"
    projects.to_crs("EPSG:4490").to_file(ppath)
    gpd.GeoDataFrame({"DLBM": ["0101", "0601", "0404"], "QSXZ": ["30", "20", "20"]},
                     geometry=[b(-100, 100), b(100, 150), b(150, 170)], crs=CRS).to_file(lpath)
    red = tmp_path / "red.gpkg"
    gpd.GeoDataFrame(geometry=[b(5000, 5100)], crs=CRS).to_file(red)
    out, table = tmp_path / "s.gpkg", tmp_path / "s.xlsx"
    done = subprocess.run([sys.executable, "-m", "redline", "screen", str(ppath), "--layer", f"eco_redline={red}",
                           "--buffers", "none", "--landuse", str(lpath), "--ownership-field", "QSXZ", "--json",
                           "--out", str(out), "--table", str(table)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    land = json.loads(done.stdout)["projects"][0]["landuse"]
    assert land["uncovered_m2"] == pytest.approx(geod_area(b(170, 200, Y0, Y0 + 200)), rel=1e-6)
    assert land["unused_m2"] == pytest.approx(geod_area(b(150, 170, Y0, Y0 + 200)), rel=1e-6)
    assert land["by_ownership"]["collective"]["agricultural_m2"] == pytest.approx(land["paddy_m2"])
    assert "landuse_pieces" in pyogrio.list_layers(out)[:, 0]
    assert "landuse" in openpyxl.load_workbook(table).sheetnames
    result = redline.screen(ppath, {"eco_redline": red}, buffers=[], landuse=lpath)
    s = result.landuse.summary().loc["P"]
    parts = s.agricultural_m2 + s.construction_m2 + s.unused_m2 + s.uncovered_m2 + s.unclassified_m2
    assert parts == pytest.approx(float(result.projects["footprint_m2"].iloc[0]), rel=1e-9)
