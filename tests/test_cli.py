"""End-to-end tests of the ``redline`` command on real files (subprocess: the installed console script)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import box

from conftest import NAMES, sample_gdf, write_shapefile

# the console script installed beside this interpreter (the venv's bin/), else on PATH
REDLINE = shutil.which("redline", path=str(Path(sys.executable).parent)) or shutil.which("redline")
CHECK_KEYS = {"path", "features", "crs", "crs_source", "encoding", "geometry_types", "repaired", "dropped",
              "area_km2", "bounds_lonlat", "fields"}


def run(*args, ok=True):
    cmd = [sys.executable, "-m", "redline", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_console_script_installed():
    assert REDLINE, "the 'redline' console script is not installed"
    proc = subprocess.run([REDLINE, "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "redline" in proc.stdout


def test_layers_check_gbk_gk_shapefile(gbk_gk_shapefile):
    proc = run("layers", "check", gbk_gk_shapefile, "--json")
    (result,) = json.loads(proc.stdout)
    assert CHECK_KEYS <= set(result)
    assert result["crs"] == "EPSG:4524" and result["crs_source"] == "detected"
    assert result["encoding"] == "gb18030"
    assert result["fields"] == ["名称", "code"]
    assert result["sample"]["名称"] == NAMES[0]
    assert result["features"] == 3 and result["geometry_types"] == {"MultiPolygon": 1, "Polygon": 2}
    west, south, east, north = result["bounds_lonlat"]
    assert 108.5 < west < east < 108.9 and 29.3 < south < north < 29.7
    text = run("layers", "check", gbk_gk_shapefile).stdout
    assert "云阳县" in text and "EPSG:4524" in text and "乡镇.shp" in text


def test_layers_check_given_crs_and_encoding(gbk_gk_shapefile):
    (result,) = json.loads(run("layers", "check", gbk_gk_shapefile, "--crs", "EPSG:4524", "--encoding", "GBK",
                               "--json").stdout)
    assert result["crs_source"] == "given" and result["encoding"] == "gbk"


def test_layers_check_reports_repairs(tmp_path):
    from conftest import BOWTIE, SQUARE

    path = tmp_path / "修复.gpkg"
    gpd.GeoDataFrame({"id": [1, 2, 3]}, geometry=[SQUARE, BOWTIE, None], crs=4490).to_file(path, engine="pyogrio")
    (result,) = json.loads(run("layers", "check", path, "--json").stdout)
    assert [r["id"] for r in result["repaired"]] == [2]
    assert result["dropped"] == [{"id": 3, "reason": "null or empty geometry"}]


def test_layers_check_fiona_engine(tmp_path):
    path = tmp_path / "f.gpkg"
    sample_gdf().to_file(path, engine="pyogrio")
    a = json.loads(run("layers", "check", path, "--json").stdout)[0]
    b = json.loads(run("layers", "check", path, "--json", "--engine", "fiona").stdout)[0]
    assert a["area_km2"] == b["area_km2"] and a["features"] == b["features"]


def _bad_inputs(tmp_path):
    shp = write_shapefile(sample_gdf(), tmp_path / "noshx.shp")
    (tmp_path / "noshx.shx").unlink()
    multi = tmp_path / "multi.gpkg"
    sample_gdf().to_file(multi, layer="a", engine="pyogrio")
    sample_gdf().to_file(multi, layer="b", engine="pyogrio")
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4490)).to_file(empty, engine="pyogrio")
    text = tmp_path / "notes.txt"
    text.write_text("not a map")
    nocrs = write_shapefile(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=3857), tmp_path / "nocrs.shp", prj=False)
    return {
        "missing": (tmp_path / "missing.gpkg", "missing.gpkg: file not found"),
        "shx": (shp, "noshx.shp: the shapefile's .shx file is missing"),
        "layer not found": (f"{multi}:c", "no layer 'c'; layers: a, b"),
        "ambiguous": (multi, "holds 2 layers (a, b)"),
        "empty": (empty, "empty.gpkg: the layer has no features"),
        "not spatial": (text, "notes.txt"),
        "no crs": (nocrs, "nocrs.shp: no CRS in the file"),
    }


@pytest.mark.parametrize("case", ["missing", "shx", "layer not found", "ambiguous", "empty", "not spatial", "no crs"])
def test_bad_input_one_line_error(tmp_path, case):
    path, expected = _bad_inputs(tmp_path)[case]
    proc = run("layers", "check", path, ok=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("redline: error: ") and expected in lines[0]


def test_bad_input_json_keeps_going(tmp_path):
    good = tmp_path / "good.gpkg"
    sample_gdf().to_file(good, engine="pyogrio")
    proc = run("layers", "check", tmp_path / "missing.gpkg", good, "--json", ok=False)
    assert proc.returncode == 1
    results = json.loads(proc.stdout)
    assert "file not found" in results[0]["error"] and results[1]["features"] == 3


def test_demo_writes_results(tmp_path):
    out = tmp_path / "演示 结果"
    proc = run("demo", "--out", out, "--json")
    data = json.loads(proc.stdout)
    shares = {row["kind"]: row for row in data["indicators"]["layers"] if row["zone"] is None}
    assert set(shares) >= {"eco_redline", "nature_reserve", "basic_farmland", "urban_boundary", "water_source"}
    assert all(0 <= row["share_pct"] <= 100 for row in shares.values())
    assert shares["eco_redline"]["share_pct"] == pytest.approx(25.76, abs=0.3)
    assert shares["nature_reserve"]["share_pct"] == pytest.approx(17.02, abs=0.3)
    card = {r["id"]: r["met"] for r in data["indicators"]["scorecard"]}
    assert card["eco_redline_share"] is True and card["forest_coverage"] is False
    names = sorted(p.name for p in out.iterdir())
    assert names == ["demo.json", "indicators.xlsx", "map.html", "maps", "notes.txt", "projects", "report.docx",
                     "report.html", "results.gpkg"]
    assert json.loads((out / "demo.json").read_text(encoding="utf-8")) == data
    every = sorted(r["id"] for r in data["screening"])  # a map and a 用地预审 analysis for each project
    assert sorted(p.stem for p in (out / "maps").iterdir()) == sorted(["overview", *every])
    assert sorted(p.stem for p in (out / "projects").iterdir()) == every


def test_demo_text_both_languages(tmp_path):
    zh = run("demo", "--out", tmp_path / "zh").stdout
    assert "生态保护红线" in zh and "黔江区" in zh and "平方公里" in zh and "评价表" in zh and "未达标" in zh
    en = run("demo", "--out", tmp_path / "en", "--lang", "en").stdout
    assert "Ecological protection red line" in en and "km²" in en


def test_indicators_json_contract_and_ledger_adds_up(tmp_path):
    from conftest import SAMPLE

    data = json.loads(run("indicators", "--workspace", SAMPLE / "workspace.toml", "--json").stdout)
    assert data["boundary_area_km2"] == pytest.approx(2396.33, abs=0.01)
    for row in data["layers"]:
        assert {"kind", "area_km2", "share_pct", "outside_km2"} <= set(row)
    whole = {r["kind"]: r for r in data["layers"] if r["zone"] is None}
    assert whole["eco_redline"]["share_pct"] == pytest.approx(25.76, abs=0.3)
    # 30 townships, plus the sliver of the district they leave uncovered (reported, and kept so totals add up)
    assert len(data["units"]) == 31 and data["units"][-1]["unit"] == "(未归属单位)"
    assert data["units"][-1]["area_km2"] * 1e6 == pytest.approx(data["tiling"]["gap_m2"], abs=0.5)
    for total in (t for t in data["units_total"] if t["zone"] is None):
        # equal to 1e-7: a unit edge cutting a long boundary edge puts the cut point on the lon/lat straight line,
        # while ellipsoidal area follows the geodesic (≈ 18 m² of 617 km² on the sample)
        assert total["area_m2"] == pytest.approx(whole[total["kind"]]["area_m2"], rel=1e-7)
        summed = sum(next(l["area_m2"] for l in u["layers"] if l["kind"] == total["kind"] and l["zone"] is None)
                     for u in data["units"])
        assert summed == pytest.approx(total["area_m2"], rel=1e-9)
    assert len(data["quotas"]) == 60 and {q["met"] for q in data["quotas"]} == {True, False}


def test_indicators_from_flags_with_recipe(tmp_path):
    from conftest import REPO, SAMPLE

    out = tmp_path / "台账.xlsx"
    proc = run("indicators", "--boundary", SAMPLE / "boundary.gpkg", "--layer", f"eco_redline={SAMPLE / 'eco_redline.gpkg'}",
               "--layer", f"nature_reserve={SAMPLE / 'nature_reserve.gpkg'}", "--landuse", SAMPLE / "land_use.gpkg",
               "--recipe", REPO / "analyses" / "qianjiang-2025.toml", "--out", out, "--json")
    card = {r["id"]: r for r in json.loads(proc.stdout)["scorecard"]}
    assert {"id", "target", "value", "unit", "met"} <= set(card["forest_coverage"])
    assert card["eco_redline_share"]["met"] is True and card["forest_coverage"]["met"] is False
    assert card["builtup_green_coverage"]["met"] is None  # no urban boundary given: no data, not 0
    import openpyxl

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["评价表", "控制线占比"]
    assert [c.value for c in wb["评价表"][1]] == ["指标", "单位", "目标值", "现状值", "状态"]


def test_scorecard_outputs(tmp_path):
    from conftest import REPO, SAMPLE

    args = ["scorecard", "--recipe", REPO / "analyses" / "qianjiang-2025.toml", "--workspace", SAMPLE / "workspace.toml"]
    text = run(*args, "--out", tmp_path / "s.csv", "--out", tmp_path / "s.md", "--out", tmp_path / "s.xlsx").stdout
    assert "森林覆盖率" in text and "未达标" in text and "达标" in text
    csv = (tmp_path / "s.csv").read_text(encoding="utf-8-sig")
    assert csv.splitlines()[0] == "指标,单位,目标值,现状值,状态" and "生态保护红线面积占比,%,≥25.76,25.76,达标" in csv
    assert "| 指标 | 单位 | 目标值 | 现状值 | 状态 |" in (tmp_path / "s.md").read_text(encoding="utf-8")


def test_indicators_bad_recipe_and_missing_boundary(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('[[indicator]]\nid = "a"\n', encoding="utf-8")
    proc = run("indicators", "--recipe", bad, "--boundary", "x.gpkg", ok=False)
    assert proc.returncode == 1 and "invalid recipe" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("indicators", ok=False)
    assert proc.returncode == 1 and "no boundary given" in proc.stderr


def test_no_polygons_where_needed_is_one_line(tmp_path):
    pts = tmp_path / "点.geojson"
    gpd.GeoDataFrame(geometry=gpd.points_from_xy([108.7, 108.8], [29.5, 29.6]), crs=4490).to_file(pts, engine="pyogrio")
    proc = run("indicators", "--boundary", pts, ok=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.strip()]
    assert "点.geojson: no polygons in the layer (found Point ×2)" in line


def test_language_given_before_the_command_or_by_redline_lang_labels_its_output(monkeypatch):
    """``redline --lang en screen …`` and ``REDLINE_LANG=en`` give English labels, the command's own ``--lang``
    wins over both, and with none of them the labels are Chinese."""
    sample = Path(__file__).resolve().parent.parent / "data" / "qianjiang"
    args = ["screen", sample / "sites.txt", "--layer", f"basic_farmland={sample / 'basic_farmland.gpkg'}",
            "--category", "energy", "--buffers", "none"]
    assert "有条件准入" in run(*args).stdout
    assert "conditional" in run("--lang", "en", *args).stdout
    assert "有条件准入" in run("--lang", "en", *args, "--lang", "zh").stdout
    monkeypatch.setenv("REDLINE_LANG", "en")
    english = run(*args).stdout
    assert "conditional" in english and "of the permanent basic farmland" in english  # a name mid-sentence
