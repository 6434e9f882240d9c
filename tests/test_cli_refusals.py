"""Every refusal in one form, a clean stop on Ctrl-C, and messages a planner can read (issue 15, classes 7–9).

Each case runs the real command in a subprocess, on inputs made in code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import geopandas as gpd
import pytest
import shapely
from conftest import SAMPLE, SQUARE
from shapely import box
from test_bad_input import one_line_error, run

LAYER = box(108.705, 29.505, 108.8, 29.6)


@pytest.fixture
def red(tmp_path):
    path = tmp_path / "red.gpkg"
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[LAYER], crs=4490).to_file(path, engine="pyogrio")
    return path


@pytest.fixture
def projects(tmp_path):
    path = tmp_path / "projects.geojson"
    gpd.GeoDataFrame({"project_id": ["P1"], "category": ["industrial"]}, geometry=[SQUARE],
                     crs=4490).to_file(path, engine="pyogrio")
    return path


# --- class 8: option values and usage refused like any other bad input ---------------------------------------


@pytest.mark.parametrize("args, expected", [
    (["--buffers", "-500,1000"], ["--buffers", "-500,1000", "positive and increasing", "screen --help"]),
    (["--buffers", "5000,500,1000"], ["--buffers", "5000,500,1000", "positive and increasing"]),
    (["--buffers", "500,abc"], ["--buffers", "distances in metres"]),
    (["--fail-on", "forbidden"], ["--fail-on", "forbidden", "prohibited"]),
    (["--line-width", "-3"], ["--line-width", "-3"]),
    (["--engine", "spark"], ["--engine", "spark"]),
    (["--lang", "fr"], ["--lang", "fr"]),
    (["--no-such-option"], ["no such option", "--no-such-option"]),
])
def test_option_values_refused_in_one_line(projects, red, args, expected):
    proc = run("screen", projects, "--layer", f"eco_redline={red}", *args)
    line = one_line_error(proc, *expected)
    assert "Usage:" not in proc.stderr and "Try '" not in proc.stderr, line


@pytest.mark.parametrize("args, expected", [
    (["scren"], ["no such command 'scren'", "did you mean 'screen'", "redline --help"]),
    (["screen"], ["screen: missing argument 'PROJECTS'", "redline screen --help"]),
    (["layers", "check"], ["layers check: missing argument", "redline layers check --help"]),
    (["layers", "chek", "x"], ["no such command 'chek'"]),
    (["screen", "p.geojson", "--layer", "eco_redline"], ["--layer", "expected KIND=PATH"]),
    (["conflicts", "--layer", "eco_redline=a.gpkg"], ["give at least two --layer"]),
    (["change", "a.gpkg", "b.gpkg", "--strict"], ["--strict goes with --no-decrease"]),
    (["partition", "x.gpkg", "--out", "parts"], ["--by FIELD or --grid KM"]),
])
def test_usage_refused_in_one_line(tmp_path, args, expected):
    proc = subprocess.run([sys.executable, "-m", "redline", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=tmp_path)
    one_line_error(proc, *expected)


def test_help_is_unchanged():
    for args in (["--help"], ["screen", "--help"], ["layers", "check", "-h"]):
        proc = run(*args)
        assert proc.returncode == 0 and proc.stdout.startswith("Usage: ") and proc.stderr == "", args
    assert run("--version").stdout.strip() == "redline, version 0.1.0"


def test_console_script_keeps_the_one_line_form(projects, red):
    """The installed ``redline`` command (not only ``python -m redline``) refuses the same way."""
    script = os.path.join(os.path.dirname(sys.executable), "redline")
    if not os.path.exists(script):
        pytest.skip("the redline console script is not installed beside this interpreter")
    proc = subprocess.run([script, "screen", str(projects), "--layer", f"eco_redline={red}", "--buffers", "-1"],
                          capture_output=True, text=True, encoding="utf-8")
    one_line_error(proc, "--buffers")


# --- class 7: Ctrl-C -------------------------------------------------------------------------------------------


def _interrupt(args, delay: float, cwd=None) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-m", "redline", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8", cwd=cwd)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.6, 1.0, 1.6])
def test_ctrl_c_during_start_up(delay):
    """While the modules import (geopandas, shapely, GDAL …), a Ctrl-C used to print a KeyboardInterrupt traceback."""
    proc = _interrupt(["layers", "check", SAMPLE / "eco_redline.gpkg", "--json"], delay)
    assert "Traceback" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr, proc.stderr
    if proc.returncode in (0, -signal.SIGINT) and not proc.stderr:
        return  # finished before the signal came (or it came while the interpreter was exiting: nothing to say)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 130 and lines == ["redline: interrupted (Ctrl-C); unfinished outputs were not kept"]


def test_ctrl_c_while_writing_leaves_no_output(tmp_path):
    out = tmp_path / "demo"
    proc = _interrupt(["demo", "--out", out, "--basemap", "none", "--json"], 6.0)
    assert "Traceback" not in proc.stderr, proc.stderr
    if proc.returncode == 0:
        pytest.skip("the demo finished before the signal")
    assert proc.returncode == 130 and "redline: interrupted" in proc.stderr
    leftovers = [p.name for p in tmp_path.rglob("*") if ".part" in p.name or p.name.endswith("-journal")]
    assert not leftovers, leftovers


# --- class 9: messages that fit on one line -------------------------------------------------------------------


def test_runaway_coordinates_give_a_short_message(tmp_path, red):
    path = tmp_path / "huge.geojson"
    ring = [[1e308, 29.5], [1e308, 29.6], [1e307, 29.6], [1e308, 29.5]]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    line = one_line_error(run("indicators", "--boundary", path, "--layer", f"eco_redline={red}"),
                          "huge.geojson", "not degrees", "--crs")
    assert "1e+308" in line and "0000000000" not in line and len(line) < 300, line


@pytest.mark.parametrize("content", [b"hello world\nnot a map", bytes(range(256)) * 10])
def test_not_a_spatial_file_without_gdal_hints(tmp_path, red, content):
    path = tmp_path / "notes.dat"
    path.write_bytes(content)
    line = one_line_error(run("indicators", "--boundary", path, "--layer", f"eco_redline={red}"),
                          "notes.dat", "not a readable spatial file", "GeoPackage")
    assert "DRIVER" not in line and "It might help" not in line and line.count("notes.dat") == 1, line


def test_dropped_note_names_the_features_and_needs_no_json_key(tmp_path, red):
    """The note said "see 'dropped'", a key that ``screen --json`` (or the table) does not have."""
    path = tmp_path / "projects.gpkg"
    gpd.GeoDataFrame({"project_id": ["P1", "P2", "P3"], "category": ["industrial"] * 3},
                     geometry=[SQUARE, None, shapely.Polygon()], crs=4490).to_file(path, engine="pyogrio")
    proc = run("screen", path, "--layer", f"eco_redline={red}", "--buffers", "none", "--json")
    assert proc.returncode == 0, proc.stderr
    notes = json.loads(proc.stdout)["notes"]
    dropped = [n for n in notes if "dropped" in n]
    assert dropped and "see 'dropped'" not in " ".join(notes), notes
    assert "2 features dropped" in dropped[0] and "null or empty geometry" in dropped[0] and "2, 3" in dropped[0]


# --- a quota table is checked whole, before any measuring --------------------------------------------------------


def test_quota_table_problems_listed_at_once(tmp_path):
    """A non-numeric quota was a ValueError traceback after all the measuring; now every bad row is named."""
    quotas = tmp_path / "quotas.csv"
    quotas.write_text("unit,indicator,quota,quota_unit\n示例街道01,耕地保有量,abc,亩\n,耕地,12,亩\n"
                      "示例街道01,永久基本农田保护面积,-5,英亩\n", encoding="utf-8")
    proc = run("indicators", "--workspace", SAMPLE / "workspace.toml", "--quotas", quotas)
    one_line_error(proc, "quotas.csv", "5 problems", "line 2: quota 'abc'", "line 3: no unit",
                   "line 3: unknown indicator '耕地'", "line 4: unknown quota unit '英亩'", "line 4: quota '-5'")


def test_quota_for_a_unit_that_is_not_there(tmp_path):
    quotas = tmp_path / "quotas.csv"
    quotas.write_text("unit,indicator,quota,quota_unit\n不存在的乡,永久基本农田保护面积,5,亩\n", encoding="utf-8")
    line = one_line_error(run("indicators", "--workspace", SAMPLE / "workspace.toml", "--quotas", quotas),
                          "quotas.csv", "'不存在的乡' not in the units layer")
    assert "未归属单位" not in line


# --- silent replacements and misplaced layers ---------------------------------------------------------------------


def test_a_kind_given_twice_is_refused(projects, red, tmp_path):
    """The second ``--layer eco_redline=…`` used to replace the first without a word."""
    other = tmp_path / "red2.gpkg"
    gpd.GeoDataFrame({"name": ["r2"]}, geometry=[box(108.9, 29.9, 109.0, 30.0)], crs=4490).to_file(other)
    one_line_error(run("screen", projects, "--layer", f"eco_redline={red}", "--layer", f"eco_redline={other}"),
                   "--layer", "'eco_redline' given twice", "red.gpkg", "red2.gpkg")
    one_line_error(run("indicators", "--boundary", red, "--layer", f"eco_redline={red}", "--layer",
                       f"eco_redline={other}"), "'eco_redline' given twice")


def test_a_layer_outside_china_is_flagged(tmp_path, red):
    """Projects at (0°, 0°) — a lost CRS — were screened 'clear' with no word of warning."""
    path = tmp_path / "lost.geojson"
    gpd.GeoDataFrame({"project_id": ["X"], "category": ["industrial"]}, geometry=[box(0.0, 0.0, 0.01, 0.01)],
                     crs=4490).to_file(path, engine="pyogrio")
    proc = run("screen", path, "--layer", f"eco_redline={red}", "--buffers", "none", "--json")
    assert proc.returncode == 0, proc.stderr
    notes = json.loads(proc.stdout)["notes"]
    assert any("outside China" in n and n.startswith("projects:") and "--crs" in n for n in notes), notes
    assert not any("to unknown" in n for n in notes), notes
    inside = run("screen", red, "--layer", f"eco_redline={red}",
                 "--buffers", "none", "--json", "--id-field", "name")
    assert inside.returncode == 0 and not any("outside China" in n for n in json.loads(inside.stdout)["notes"])


# --- the right diagnosis --------------------------------------------------------------------------------------------


def test_unreadable_prj_is_named_not_called_corruption(tmp_path, red):
    """A .prj GDAL can't parse read as "cannot read (missing [) … truncated or corrupt"."""
    shp = tmp_path / "乡镇.shp"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[SQUARE], crs=4490).to_file(shp, engine="pyogrio")
    shp.with_suffix(".prj").write_text("GEOGCS[garbage", encoding="ascii")
    line = one_line_error(run("indicators", "--boundary", shp, "--layer", f"eco_redline={red}"),
                          "乡镇.shp", "the .prj file is not a CRS", "--crs")
    assert "corrupt" not in line and "(layer " not in line


@pytest.mark.parametrize("crs, reason", [("EPSG:9999999", "unknown CRS 'EPSG:9999999'"),
                                         ("+proj=foo", "Unknown projection"), ("nonsense", "unknown CRS")])
def test_bad_crs_option_refused_before_reading(tmp_path, crs, reason):
    line = one_line_error(run("layers", "check", tmp_path / "not-even-there.gpkg", "--crs", crs),
                          "--crs", reason, "EPSG:4490")
    assert "Internal Proj Error" not in line and "not-even-there" not in line


def test_unknown_encoding_says_what_to_use(tmp_path):
    shp = tmp_path / "a.shp"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[SQUARE], crs=4490).to_file(shp, engine="pyogrio")
    one_line_error(run("layers", "check", shp, "--encoding", "klingon"), "a.shp", "unknown encoding 'klingon'",
                   "GBK, GB18030 or UTF-8")


# --- the error hierarchy: usage and engine failures have their own classes ---------------------------------------


def test_usage_and_engine_errors_have_their_own_classes():
    """Usage mistakes and engine failures were CatalogErrors ("a catalog file is invalid") or bare built-ins."""
    import redline
    from redline.engines.dask import dask_client
    from redline.specs.workspace import Workspace

    assert issubclass(redline.InputError, ValueError) and issubclass(redline.InputError, redline.RedlineError)
    assert issubclass(redline.EngineError, RuntimeError) and issubclass(redline.EngineError, redline.RedlineError)
    with pytest.raises(redline.InputError, match="unknown area unit"):
        redline.convert(1.0, "acre")
    with pytest.raises(redline.InputError, match="no boundary given"):
        redline.run_indicators(Workspace())
    with pytest.raises(redline.EngineError, match="cannot reach the Dask scheduler"):
        dask_client(scheduler="tcp://127.0.0.1:1")


def test_long_codes_in_messages_are_kept_as_they_are(tmp_path, red):
    """Runaway numbers are shortened, but an 18-digit 地块编号 is a code and must be shown whole."""
    path = tmp_path / "projects.geojson"
    code = "500114001001000001"
    gpd.GeoDataFrame({"project_id": [code, code], "category": ["industrial"] * 2},
                     geometry=[SQUARE, box(108.73, 29.5, 108.74, 29.51)], crs=4490).to_file(path, engine="pyogrio")
    one_line_error(run("screen", path, "--layer", f"eco_redline={red}"), f"{code} ×2", "--id-field")
