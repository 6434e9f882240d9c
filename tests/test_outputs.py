"""Outputs (issue 8): atomic writes, inputs never overwritten, byte-identical reruns, untrusted text and secrets."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
from conftest import SAMPLE, SQUARE, sample_gdf, write_shapefile
from shapely import box

from redline.errors import LayerReadError, OutputError, redact, register_secret
from redline.io import (
    atomic_output,
    protect_inputs,
    read_layer,
    write_layer,
    write_styled_gpkg,
    write_tables,
)


def run(*args, ok=True, env=None):
    import os

    proc = subprocess.run([sys.executable, "-m", "redline", *map(str, args)], capture_output=True,
                          env={**os.environ, **(env or {})})
    if ok:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


# --- atomic writes: a failure mid-write leaves no partial file and the old file untouched -------------------


def _half_then_fail(real):
    """A writer that writes its output, cuts it in half, then fails — an interrupted write."""

    def writer(self, path, *args, **kwargs):
        real(self, path, *args, **kwargs)
        from pathlib import Path

        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
        raise RuntimeError("disk full")

    return writer


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".md"])
def test_failed_table_write_keeps_the_good_file(tmp_path, monkeypatch, suffix):
    target = tmp_path / f"good{suffix}"
    write_tables({"t": pd.DataFrame({"a": [1.5, 2.5]})}, target)
    before = target.read_bytes()
    if suffix == ".csv":
        monkeypatch.setattr(pd.DataFrame, "to_csv", _half_then_fail(pd.DataFrame.to_csv))
    elif suffix == ".xlsx":
        import redline.io.tables as rio

        monkeypatch.setattr(rio, "_write_xlsx", lambda tables, path: (path.write_bytes(b"PK\x03\x04half"),
                                                                      (_ for _ in ()).throw(RuntimeError("boom"))))
    else:
        from pathlib import Path

        real = Path.write_text
        monkeypatch.setattr(Path, "write_text", lambda self, data, **kw: (real(self, data[:5], **kw),
                                                                         (_ for _ in ()).throw(RuntimeError("boom"))))
    with pytest.raises(RuntimeError):
        write_tables({"t": pd.DataFrame({"a": [9.0] * 1000})}, target)
    assert target.read_bytes() == before
    assert listing(tmp_path) == [target.name]


def test_failed_layer_write_keeps_the_good_file(tmp_path, monkeypatch):
    target = write_layer(sample_gdf(), tmp_path / "good.gpkg", layer="good")
    before = target.read_bytes()
    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", _half_then_fail(gpd.GeoDataFrame.to_file))
    with pytest.raises(OutputError, match="good.gpkg: cannot write"):
        write_layer(sample_gdf(), target, layer="good")
    assert target.read_bytes() == before and listing(tmp_path) == ["good.gpkg"]
    with pytest.raises(OutputError):
        write_styled_gpkg([("a", sample_gdf(), "甲", "<qgis/>")], tmp_path / "styled.gpkg")
    assert listing(tmp_path) == ["good.gpkg"]


def test_interrupt_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("good")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(target) as tmp:
            tmp.write_text("hal")
            raise KeyboardInterrupt
    assert target.read_text() == "good" and listing(tmp_path) == ["out.json"]


def test_output_onto_a_directory_is_refused(tmp_path):
    (tmp_path / "d.gpkg").mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        write_layer(sample_gdf(), tmp_path / "d.gpkg")


def test_no_direct_writes_outside_atomic_output():
    """Every file redline writes goes through io.atomic_output (an audit of the source)."""
    import re
    from pathlib import Path

    import redline

    root = Path(redline.__file__).parent
    direct = re.compile(r"\.(write_text|write_bytes|to_file|to_csv|to_excel|to_parquet|savefig|save)\(|open\([^)]*['\"][wa]b?['\"]")
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in direct.finditer(text):
            line = text[: match.start()].count("\n") + 1
            window = "\n".join(text.splitlines()[max(0, line - 12): line])
            # allowed: inside an atomic_output (or atomic_page) block (writes to its tmp), or into an in-memory buffer
            source = text.splitlines()[line - 1]
            if "atomic_output" in window or "atomic_page" in window or re.search(r"\((buf|fh|xl|tmp)\b", source):
                continue
            # doctests, results' own (atomic) to_file methods, sheets of an ExcelWriter on a tmp path
            if ">>>" in source or "result.to_file(" in source or "sheet_name=" in source:
                continue
            if path.name == "io.py" and ("tmp" in text.splitlines()[line - 1] or "dbf.write" in window):
                continue
            if path.name == "monitor.py" and "write_layer" in window:
                continue
            offenders.append(f"{path.relative_to(root)}:{line}: {text.splitlines()[line - 1].strip()}")
    assert not offenders, "\n".join(offenders)


# --- inputs are never overwritten ---------------------------------------------------------------------------


@pytest.fixture
def inputs(tmp_path):
    boundary, red = tmp_path / "boundary.gpkg", tmp_path / "red.gpkg"
    gpd.GeoDataFrame({"name": ["b"]}, geometry=[box(108.6, 29.4, 108.9, 29.7)], crs=4490).to_file(boundary)
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[box(108.705, 29.505, 108.8, 29.6)], crs=4490).to_file(red)
    projects = tmp_path / "projects.geojson"
    gpd.GeoDataFrame({"project_id": ["P"], "category": ["industrial"]}, geometry=[SQUARE], crs=4490).to_file(projects)
    old = write_shapefile(gpd.GeoDataFrame({"k": [1]}, geometry=[SQUARE], crs=4490), tmp_path / "old.shp",
                          encoding="UTF-8")
    return {"boundary": boundary, "red": red, "projects": projects, "old": old}


@pytest.mark.parametrize("case", ["screen --out", "screen --table", "indicators --out", "map --out", "conflicts --out",
                                  "change --table (a shapefile part)", "report into the inputs' folder"])
def test_outputs_never_overwrite_inputs(tmp_path, inputs, case):
    b, r, p, old = inputs["boundary"], inputs["red"], inputs["projects"], inputs["old"]
    hashes = {f: f.read_bytes() for f in tmp_path.iterdir()}
    args = {
        "screen --out": ["screen", p, "--layer", f"eco_redline={r}", "--buffers", "0", "--out", r],
        "screen --table": ["screen", p, "--layer", f"eco_redline={r}", "--boundary", b, "--table", b],
        "indicators --out": ["indicators", "--boundary", b, "--layer", f"eco_redline={r}", "--out", r],
        "map --out": ["map", "--boundary", b, "--layer", f"eco_redline={r}", "--basemap", "none", "--out", b],
        "conflicts --out": ["conflicts", "--layer", f"eco_redline={r}", "--layer", f"basic_farmland={b}", "--out", b],
        "change --table (a shapefile part)": ["change", old, r, "--table", old.with_suffix(".dbf")],
        "report into the inputs' folder": None,
    }[case]
    if args is None:  # a report whose map.html would land on an input called map.html
        html_input = tmp_path / "map.html"
        html_input.write_bytes(r.read_bytes())  # a GeoPackage that happens to be named map.html
        hashes[html_input] = html_input.read_bytes()
        args = ["report", "--boundary", b, "--layer", f"eco_redline={html_input}", "--basemap", "none",
                "--out", tmp_path]
    proc = run(*args, ok=False)
    assert proc.returncode == 1, proc.stderr.decode()
    err = proc.stderr.decode()
    assert "refusing to overwrite an input file" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    for f, data in hashes.items():
        assert f.read_bytes() == data, f"{f.name} was changed"


def test_protect_inputs_in_the_library(tmp_path):
    path = write_layer(sample_gdf(), tmp_path / "in.gpkg")
    with protect_inputs():
        read_layer(path)
        with pytest.raises(OutputError, match="refusing to overwrite an input"):
            write_layer(sample_gdf(), path)
    write_layer(sample_gdf(), path)  # outside a protected run, a notebook may overwrite its own file


# --- reproducible: the same inputs give the same bytes --------------------------------------------------------


def _twice(tmp_path, name, *args, files=()):
    outs = []
    for i in (1, 2):
        folder = tmp_path / f"run{i}"
        folder.mkdir(exist_ok=True)
        proc = run(*[str(a).replace("{out}", str(folder)) for a in args])
        outs.append([proc.stdout, *[(folder / f).read_bytes() for f in files]])
    assert outs[0] == outs[1], f"{name}: the two runs differ"
    return outs[0]


def test_json_and_csv_are_byte_identical_across_runs(tmp_path):
    s = SAMPLE
    layers = ["--layer", f"eco_redline={s / 'eco_redline.gpkg'}", "--layer", f"basic_farmland={s / 'basic_farmland.gpkg'}"]
    _twice(tmp_path, "screen", "screen", s / "projects.geojson", *layers, "--buffers", "500,1000",
           "--json", "--table", "{out}/screen.csv", files=["screen.csv"])
    _twice(tmp_path, "indicators", "indicators", "--workspace", s / "workspace.toml", "--json")
    _twice(tmp_path, "conflicts", "conflicts", *layers, "--json", "--table", "{out}/conflicts.csv",
           files=["conflicts.csv"])
    _twice(tmp_path, "change", "change", s / "eco_redline.gpkg", s / "eco_redline_v2.gpkg", "--key", "hx_id",
           "--json", "--table", "{out}/change.csv", files=["change.csv"])
    out = _twice(tmp_path, "layers check", "layers", "check", s / "eco_redline.gpkg",
                 s / "townships_gk_gbk" / "townships_gk.shp", "--json")
    assert json.loads(out[0])[1]["encoding"] == "gb18030"


def test_demo_json_is_byte_identical_and_report_records_input_hashes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    first = run("demo", "--out", a, "--json", "--basemap", "none").stdout
    second = run("demo", "--out", b, "--json", "--basemap", "none").stdout
    assert first == second
    assert (a / "demo.json").read_bytes() == (b / "demo.json").read_bytes()
    html = (a / "report.html").read_text(encoding="utf-8")
    for name in ("boundary.gpkg", "eco_redline.gpkg", "projects.geojson"):
        digest = hashlib.sha256((SAMPLE / name).read_bytes()).hexdigest()
        assert digest in html, f"no SHA-256 of {name} in the report"


# --- untrusted text and secrets -------------------------------------------------------------------------------


def test_file_names_are_escaped_in_the_report_and_map(tmp_path):
    evil = tmp_path / 'x"><img src=x onerror=alert(1)>.gpkg'
    gpd.GeoDataFrame({"name": ['<script>alert("t")</script>']},
                     geometry=[box(108.6, 29.4, 108.9, 29.7)], crs=4490).to_file(evil, layer="boundary")
    red = tmp_path / "<b onmouseover=alert(2)>red.gpkg"
    gpd.GeoDataFrame({"name": ["<i>r</i>"]}, geometry=[box(108.705, 29.505, 108.8, 29.6)], crs=4490).to_file(red, layer="red")
    out = tmp_path / "out"
    run("report", "--boundary", evil, "--layer", f"eco_redline={red}", "--basemap", "none", "--out", out)
    for page in ("report.html", "map.html"):
        html = (out / page).read_text(encoding="utf-8")
        assert "<img src=x onerror=alert(1)>" not in html, page
        assert '<script>alert("t")</script>' not in html, page
        assert "<b onmouseover=alert(2)>" not in html, page
    assert "&lt;img src=x onerror=alert(1)&gt;" in (out / "report.html").read_text(encoding="utf-8")


def test_tianditu_key_never_printed_or_reported(tmp_path, inputs):
    key = "SECRETKEY0123456789abcdef"
    b, r, p = inputs["boundary"], inputs["red"], inputs["projects"]
    proc = run("map", "--boundary", b, "--layer", f"eco_redline={r}", "--projects", p, "--basemap", "tianditu_vec",
               "--tianditu-key", key, "--out", tmp_path / "m.html")
    assert key.encode() not in proc.stdout + proc.stderr
    assert key in (tmp_path / "m.html").read_text(encoding="utf-8")  # documented: the browser needs it
    out = tmp_path / "rep"
    proc = run("report", "--boundary", b, "--layer", f"eco_redline={r}", "--basemap", "tianditu_img", "--out", out,
               "--json", env={"TIANDITU_KEY": key})
    assert key.encode() not in proc.stdout + proc.stderr
    for name in ("report.html", "report.docx", "indicators.xlsx", "results.gpkg"):
        assert key.encode() not in (out / name).read_bytes(), name
    # an error while the key is set does not show it either
    proc = run("map", "--boundary", tmp_path / f"{key}.gpkg", "--tianditu-key", key, ok=False)
    assert proc.returncode == 1 and key.encode() not in proc.stderr and b"***" in proc.stderr


def test_database_password_masked_in_errors(tmp_path):
    uri = "postgresql://planner:hunter2@db.example/gis"
    for args in (["layers", "check", uri], ["layers", "check", uri, "--json"],
                 ["indicators", "--boundary", f"{uri}?table=boundary"]):
        proc = run(*args, ok=False)
        text = (proc.stdout + proc.stderr).decode()
        assert proc.returncode == 1 and "hunter2" not in text and "***" in text, text
        assert "say what to read" in text or "cannot connect" in text, text


def test_redact_and_errors():
    assert redact("mysql://u:p%40ss@h/db failed") == "mysql://u:***@h/db failed"
    assert "tk=***" in redact("https://t0.tianditu.gov.cn/img_w/wmts?tk=0123456789")
    register_secret("my-tianditu-key-42")
    assert str(LayerReadError("tile https://x/y?z=my-tianditu-key-42 failed")) == "tile https://x/y?z=*** failed"


def test_json_text_is_strict_json_with_the_layout_of_json_dumps():
    """The --json text: strict JSON (NaN as null, which json.loads then reads back), keys sorted, two spaces,
    Chinese as it is, numpy integers and other types as text like json.dumps(default=str), an integer beyond
    64 bits kept exactly."""
    import json

    import numpy as np

    from redline.jobs.common import json_text

    data = {"z": [1.5, 2, 0.1 + 0.2], "a": {"名称": "红线", "n": np.int64(7)}, "none": None}
    for value in (data, {**data, "big": 2 ** 70}):
        assert json_text(value) == json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    back = json.loads(json_text({"x": float("nan"), "y": float("inf"), "k": 3.25}), parse_constant=refuse)
    assert back == {"k": 3.25, "x": None, "y": None}
