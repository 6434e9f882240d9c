"""A bad environment, and what a new user meets first (issue 15, classes 11 and 12).

- No CJK font on the machine: static maps draw Chinese with the bundled subset font (never empty boxes
  silently), characters no font has are said once (a note, the report's methods section, one stderr line),
  never matplotlib's warning per glyph; the font choice is forced with ``REDLINE_MAP_FONT`` (``bundled``,
  ``none``) or by monkeypatching ``redline.maps.static.cjk_font``.
- ``screen --fail-on`` and ``change --no-decrease`` say what tripped them; the ledger's ``(未归属单位)`` row has a
  share that agrees with its area; no table shows ``-0.00``; the README's Python API block runs as a script.

Every layer is made in code into ``tmp_path``; areas are checked against pyproj's Geod on hand-made polygons.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import REPO, SAMPLE
from markupsafe import escape
from pyproj import Geod
from shapely import box
from test_bad_input import run

import redline.maps.static as static
from redline.errors import CatalogError

GEOD = Geod(ellps="GRS80")
DISTRICT = box(108.70, 29.50, 108.76, 29.56)
RED = box(108.71, 29.51, 108.74, 29.54)
SITE = box(108.72, 29.52, 108.725, 29.525)          # inside the red line: a mining project there is prohibited
AWAY = box(108.75, 29.50, 108.755, 29.505)          # clear of it
RARE = "䶮龘"                                        # outside GB 2312: not in the bundled subset


def geod(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.segmentize(geom, 0.0005))[0])


def gdf(geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=4490)


# ---------------------------------------------------------------------------
# 11. no CJK font on the machine


@pytest.fixture
def drawn():
    """What the static maps draw: layers, boundary and a screening with a named, prohibited project."""
    from redline.analyses.screening import screen

    layers = {"eco_redline": gdf([RED], name=["示例红线"])}
    boundary = gdf([DISTRICT], name=["示例区"])
    projects = gdf([SITE, AWAY], project_id=["P-1", "P-2"], category=["mining", "mining"],
                   name=["示例采石场", "示例工厂"])
    return layers, boundary, screen(projects, layers, boundary=boundary)


@pytest.fixture
def no_system_font(monkeypatch):
    """As on a machine with no CJK font: the system lookup finds none."""
    monkeypatch.delenv("REDLINE_MAP_FONT", raising=False)
    monkeypatch.setattr(static, "cjk_font", lambda candidates: None)
    getattr(static, "_warned", set()).clear()  # said once per process: forget what earlier tests said


def _glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_without_a_cjk_font_the_maps_draw_chinese_with_the_bundled_font(drawn, no_system_font, caplog):
    layers, boundary, screening = drawn
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="redline"):
        warnings.simplefilter("always")
        png = static.overview_png(layers, boundary, screening=screening, title="示例区 总图")
        one = static.project_png("P-1", layers, screening)
    assert png[:4] == b"\x89PNG" and one[:4] == b"\x89PNG"
    assert _glyph_warnings(caught) == []                    # no box drawn, no warning per glyph
    said = [r.getMessage() for r in caplog.records if r.name == "redline"]
    assert len(said) == 1, said                             # said once, for the two maps
    assert said[0].startswith("redline: warning: static maps: no CJK font found")
    assert "bundled font" in said[0] and "apt install fonts-noto-cjk" in said[0] and "empty box" not in said[0]


def test_characters_beyond_the_bundled_font_are_said_once(drawn, no_system_font, caplog):
    layers, boundary, screening = drawn
    screening.projects.loc[screening.projects["project_id"] == "P-1", "name"] = f"{RARE}采石场"
    fonts = static.FontCheck()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="redline"):
        warnings.simplefilter("always")
        static.overview_png(layers, boundary, screening=screening, title=f"{RARE}区", fonts=fonts)
        static.project_png("P-1", layers, screening, fonts=fonts)
        assert not caplog.records                            # the owner of a shared check says it
        fonts.warn()
        fonts.warn()
    assert _glyph_warnings(caught) == []
    assert fonts.font.source == "bundled" and fonts.missing == set(RARE)
    note = fonts.note()
    assert "2 characters" in note and RARE in note and "empty boxes" in note and "fonts-noto-cjk" in note
    assert [r.getMessage() for r in caplog.records] == [f"redline: warning: {note}"]


def test_the_normal_case_still_uses_the_system_font(drawn, monkeypatch):
    monkeypatch.delenv(static.FONT_ENV, raising=False)
    theme = static.load_theme()
    system = static.cjk_font(theme.cjk_fonts)
    if system is None:
        pytest.skip("no CJK font on this machine (apt-get install fonts-noto-cjk)")
    font = static.map_font(theme)
    assert (font.family, font.source) == (system, "system") and font.families[0] == system
    layers, boundary, screening = drawn
    fonts = static.FontCheck()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        static.project_png("P-1", layers, screening, fonts=fonts)
    assert _glyph_warnings(caught) == [] and fonts.missing == set() and fonts.note() is None
    import matplotlib.pyplot as plt

    assert system not in plt.rcParams["font.family"]  # drawn in an rc_context: the caller's settings untouched


def test_the_font_can_be_forced_and_a_wrong_value_is_refused(monkeypatch):
    monkeypatch.setenv(static.FONT_ENV, "bundled")
    assert static.map_font().source == "bundled" and static.map_font().chosen
    monkeypatch.setenv(static.FONT_ENV, "none")
    assert static.map_font().family is None
    monkeypatch.setenv(static.FONT_ENV, "Comic Sans")
    with pytest.raises(CatalogError, match="REDLINE_MAP_FONT='comic sans': expected auto, bundled or none"):
        static.map_font()


def test_the_bundled_font_covers_redline_labels_the_sample_and_gb2312():
    from fontTools.ttLib import TTFont

    from redline.specs.catalog import load_catalog

    path = static.BUNDLED_FONT
    assert path.stat().st_size < 2_000_000                   # keeps the wheel reasonable
    assert (path.parent / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE Version 1.1") == 1
    cmap = TTFont(path).getBestCmap()
    font = TTFont(path)
    assert font["name"].getDebugName(1) == "Redline Sans SC"  # not the Reserved Font Name 'Source'
    labels = [k.label("zh") for k in load_catalog().values()] + list(static._VERDICT_ZH.values())
    labels += ["图例", "行政边界", "项目 · ", "占用图斑", "北", "公里", "米", "—", "国土空间管控分析报告"]
    for name in ("boundary", "townships", "eco_redline", "nature_reserve", "water_source", "urban_boundary"):
        labels += gpd.read_file(SAMPLE / f"{name}.gpkg")["name"].astype(str).tolist()
    labels += gpd.read_file(SAMPLE / "projects.geojson")["name"].astype(str).tolist()
    gb2312 = [bytes([hi, lo]).decode("gb2312", errors="ignore") for hi in range(0xB0, 0xF8) for lo in range(0xA1, 0xFF)]
    missing = {c for text in labels + gb2312 for c in text if not c.isspace() and ord(c) not in cmap}
    assert not missing, "".join(sorted(missing))


def _report_inputs(tmp_path, project_name):
    d = tmp_path / "输入"
    d.mkdir()
    gdf([DISTRICT], name=["示例区"]).to_file(d / "边界.gpkg", engine="pyogrio")
    gdf([RED], name=["示例红线"]).to_file(d / "红线.gpkg", engine="pyogrio")
    gdf([SITE], project_id=["P-1"], category=["mining"], name=[project_name]).to_file(d / "项目.geojson",
                                                                                    engine="pyogrio")
    return d


@pytest.mark.parametrize("choice, expect", [("none", "no CJK font found"), ("bundled", RARE)])
def test_report_says_once_what_its_maps_could_not_draw(tmp_path, choice, expect):
    d = _report_inputs(tmp_path, f"{RARE}采石场")
    out = tmp_path / "报告"
    proc = run("report", "--boundary", d / "边界.gpkg", "--layer", f"eco_redline={d / '红线.gpkg'}",
               "--projects", d / "项目.geojson", "--basemap", "none", "--out", out, "--json",
               env={static.FONT_ENV: choice})
    assert proc.returncode == 0, proc.stderr
    assert "missing from font" not in proc.stderr and "Glyph" not in proc.stderr and "findfont" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("redline: warning: static maps:"), proc.stderr
    assert expect in lines[0] and "apt install fonts-noto-cjk" in lines[0]
    note = lines[0].removeprefix("redline: warning: ")
    assert json.loads(proc.stdout)["notes"].count(note) == 1
    page = (out / "report.html").read_text(encoding="utf-8")
    methods, shown = page[page.index("方法与数据来源"):], str(escape(note))  # as jinja2 escapes it
    assert page.count(shown) == 1 and f'<p class="note">{shown}</p>' in methods
    from docx import Document

    paragraphs = [p.text for p in Document(out / "report.docx").paragraphs]
    assert paragraphs.count(note) == 1 and paragraphs.index(note) > paragraphs.index("方法与数据来源")


# ---------------------------------------------------------------------------
# 12. what a new user meets first


@pytest.fixture
def screened(tmp_path):
    d = tmp_path / "筛查"
    d.mkdir()
    gdf([SITE, AWAY, SITE], project_id=["甲-1", "乙-2", "丙-3"], category=["mining", "mining", "mining"]).to_file(
        d / "项目.geojson", engine="pyogrio")
    gdf([RED]).to_file(d / "红线.gpkg", engine="pyogrio")
    return ["screen", d / "项目.geojson", "--layer", f"eco_redline={d / '红线.gpkg'}", "--buffers", "0"]


def test_screen_fail_on_says_which_projects(screened):
    proc = run(*screened, "--fail-on", "prohibited")
    assert proc.returncode == 3
    assert [x for x in proc.stderr.splitlines() if x.strip()] == [
        "redline: --fail-on prohibited: 2 projects 禁止 (甲-1, 丙-3)"]
    data = run(*screened, "--fail-on", "restricted", "--json", "--lang", "en")
    assert data.returncode == 3 and data.stderr.strip() == "redline: --fail-on restricted: 2 projects prohibited (甲-1, 丙-3)"
    result = json.loads(data.stdout)                          # stdout stays JSON
    assert result["failed"] is True and result["failure"] == data.stderr.strip().removeprefix("redline: ")


def test_screen_fail_on_passing_gate_is_quiet(tmp_path):
    d = tmp_path / "筛查"
    d.mkdir()
    gdf([AWAY], project_id=["乙-2"], category=["mining"]).to_file(d / "项目.geojson", engine="pyogrio")
    gdf([RED]).to_file(d / "红线.gpkg", engine="pyogrio")
    proc = run("screen", d / "项目.geojson", "--layer", f"eco_redline={d / '红线.gpkg'}", "--buffers", "0",
               "--fail-on", "conditional", "--json")
    assert proc.returncode == 0 and proc.stderr.strip() == ""
    data = json.loads(proc.stdout)
    assert data["failed"] is False and data["failure"] is None


def test_change_no_decrease_says_by_how_much_like_screen(tmp_path):
    west, east = box(108.70, 29.50, 108.73, 29.56), box(108.73, 29.50, 108.76, 29.56)
    old, new = RED, box(108.71, 29.51, 108.74, 29.53)          # the red line loses its northern third
    d = tmp_path / "变化"
    d.mkdir()
    gdf([old]).to_file(d / "v1.gpkg", engine="pyogrio")
    gdf([new]).to_file(d / "v2.gpkg", engine="pyogrio")
    gdf([west, east], name=["西乡", "东镇"]).to_file(d / "乡镇.gpkg", engine="pyogrio")
    lost, o, n = geod(old) - geod(new), geod(old), geod(new)
    ha = lambda m2: f"{m2 / 1e4:,.2f}"  # noqa: E731
    proc = run("change", d / "v1.gpkg", d / "v2.gpkg", "--no-decrease")
    assert proc.returncode == 4
    assert [x for x in proc.stderr.splitlines() if x.strip()] == [
        f"redline: --no-decrease: the area decreased (面积减少) by {ha(lost)} 公顷 ({ha(o)} → {ha(n)} 公顷)"]
    strict = run("change", d / "v1.gpkg", d / "v2.gpkg", "--no-decrease", "--strict", "--units", d / "乡镇.gpkg",
                 "--by", "name", "--json", "--lang", "en")
    assert strict.returncode == 4
    west_lost = geod(old.intersection(west)) - geod(new.intersection(west))
    east_lost = geod(old.intersection(east)) - geod(new.intersection(east))
    line = strict.stderr.strip()
    assert line.startswith(f"redline: --no-decrease --strict: the area decreased (面积减少) by {ha(lost)} ha")
    assert line.endswith(f"and in 2 units (西乡 -{ha(west_lost)} ha, 东镇 -{ha(east_lost)} ha)")
    data = json.loads(strict.stdout)
    assert data["failed"] is True and data["failure"] == line.removeprefix("redline: ")


def test_ledger_unassigned_row_share_agrees_with_its_area():
    from redline.analyses.indicators import UNASSIGNED, ledger

    notch = box(108.75995, 29.50, 108.76, 29.50005)            # ~27 m² no unit covers: 0.00 公顷
    west, east = box(108.70, 29.50, 108.73, 29.56), box(108.73, 29.50, 108.76, 29.56).difference(notch)
    layer = gdf([DISTRICT])                                    # covers the whole district, the notch too
    led = ledger(gdf([west, east], name=["西", "东"]), "name", {"red": layer}, boundary=gdf([DISTRICT]))
    rows = led.rows.set_index("unit")
    gap = rows.loc[UNASSIGNED]
    assert gap["area_m2"] == pytest.approx(geod(notch), rel=1e-4) and round(gap["area_ha"], 2) == 0.0
    # the row is no unit: its share is of the district (as the totals'), so 0.00 公顷 stands beside 0.00 %
    assert gap["share_pct"] == pytest.approx(100 * geod(notch) / geod(DISTRICT), rel=1e-4)
    assert round(gap["share_pct"], 2) == 0.0
    assert rows.loc["东", "share_pct"] == pytest.approx(100.0, rel=1e-9)   # units: of their own area, as before
    assert led.totals.iloc[0]["share_pct"] == pytest.approx(100.0, rel=1e-9)


NEAR_ZERO = [-0.0, -1e-9, -0.004, 0.004, -1091.904441, 1234.5]
SHOWN = ["0.00", "0.00", "0.00", "0.00", "-1,091.90", "1,234.50"]


def test_no_formatter_shows_negative_zero(tmp_path):
    from openpyxl import load_workbook

    from redline.cli import _cell
    from redline.io import format_number, write_tables
    from redline.maps.interactive import _fmt
    from redline.report.document import _table

    assert [format_number(v) for v in NEAR_ZERO] == SHOWN
    assert [_cell(v) for v in NEAR_ZERO] == SHOWN and [_fmt(v) for v in NEAR_ZERO] == SHOWN
    df = pd.DataFrame({"净变化(公顷)": NEAR_ZERO, "单位": list("abcdef")})
    assert [row[0]["text"] for row in _table(df).rows] == SHOWN
    md = write_tables({"t": df}, tmp_path / "t.md").read_text(encoding="utf-8")
    assert "-0.0" not in md and all(f"| {s} |" in md for s in SHOWN)
    sheet = load_workbook(write_tables({"t": df}, tmp_path / "t.xlsx"))["t"]
    values = [c.value for c in sheet["A"][1:]]
    assert all(c.number_format == "#,##0.00" for c in sheet["A"][1:])
    assert not [v for v in values if v < 0 and round(v, 2) == 0]   # Excel would show them as -0.00
    assert values[4] == NEAR_ZERO[4] and values[3] == 0.004           # the rest keeps its precision
    csv = write_tables({"t": df.assign(x=np.round(df["净变化(公顷)"], 2))}, tmp_path / "t.csv").read_text("utf-8-sig")
    assert not re.search(r"(^|,)-0\.0(,|$)", csv, re.M)


def test_change_table_never_prints_negative_zero():
    proc = run("change", SAMPLE / "eco_redline.gpkg", SAMPLE / "eco_redline_v2.gpkg", "--key", "hx_id",
               "--units", SAMPLE / "townships.gpkg", "--by", "name")
    assert proc.returncode == 0, proc.stderr
    assert "-0.00" not in proc.stdout and "示例镇07" in proc.stdout


def _readme_python_api() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Python API")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else None]
    blocks = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
    assert blocks, "no ```python block under ## Python API"
    return "\n".join(blocks)


def test_readme_python_api_runs_as_a_script(tmp_path):
    """The README's Python API block, saved as a file and run with python: it must work as written.

    It runs where the repository's ``data/`` and ``analyses/`` are (linked into ``tmp_path``, so the files it writes
    — ``report-out/``, ``farmland.parts`` — land there and not in the checkout).
    """
    for name in ("data", "analyses"):
        try:
            os.symlink(REPO / name, tmp_path / name, target_is_directory=True)
        except OSError:  # no symlinks (Windows without the privilege)
            shutil.copytree(REPO / name, tmp_path / name)
    script = tmp_path / "readme_api.py"
    script.write_text(_readme_python_api(), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          encoding="utf-8", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
