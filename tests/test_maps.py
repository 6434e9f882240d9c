"""Maps: the self-contained HTML map, escaping, simplification, basemaps, static PNGs, QGIS styles."""

from __future__ import annotations

import re
import sqlite3

import geopandas as gpd
import pytest
import shapely
from shapely import box

import redline
from redline.errors import RedlineError
from redline.io import read_layer, write_styled_gpkg
from redline.maps import build_map, render_html, simplify_for_map
from redline.maps.qgis import categorized_qml, fill_qml
from redline.maps.static import FontCheck, cjk_font, overview_png, project_png
from redline.maps.theme import load_theme

from conftest import SAMPLE, in_ci

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def sample():
    layers = {k: read_layer(SAMPLE / f"{k}.gpkg", geometry="polygon").gdf
              for k in ("eco_redline", "nature_reserve", "basic_farmland", "urban_boundary", "water_source")}
    boundary = read_layer(SAMPLE / "boundary.gpkg").gdf
    towns = read_layer(SAMPLE / "townships.gpkg").gdf
    screening = redline.screen(SAMPLE / "projects.geojson", layers, boundary=boundary, buffers=[])
    return layers, boundary, towns, screening


def test_sample_map_is_self_contained_and_small(sample):
    layers, boundary, towns, screening = sample
    result = build_map(layers, boundary=boundary, units=towns, units_by="name", screening=screening, basemap="none")
    page = render_html(result.map)
    assert len(page.encode()) < 10 * 1024 * 1024
    assert not re.findall(r'<script[^>]*\ssrc="http|<link[^>]*\shref="http', page)
    assert "tile.openstreetmap.org" not in page  # basemap none: nothing external at all
    for name in ("生态保护红线", "永久基本农田", "建设项目 · 禁止", "占用图斑", "图例"):
        assert name in page
    assert any("7,052 features drawn with" in n for n in result.notes)  # says what was simplified
    # the numbers come from the analysis: P-04's area and verdict text are in its popup
    p04 = screening.projects.set_index("project_id").loc["P-04"]
    assert f"{p04.footprint_ha:,.2f}" in page and "禁止" in page


def test_osm_basemap_is_the_only_external_reference(sample):
    layers, boundary, _, _ = sample
    page = render_html(build_map({"eco_redline": layers["eco_redline"]}, boundary=boundary).map)
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page
    assert not re.findall(r'<script[^>]*\ssrc="http|<link[^>]*\shref="http', page)


def test_attribute_values_are_escaped(sample):
    layers, boundary, _, _ = sample
    red = layers["eco_redline"].copy()
    red["name"] = XSS
    projects = gpd.GeoDataFrame({"project_id": [XSS, "</script><script>alert(2)</script>"],
                                 "category": ["mining", "mining"]},
                                geometry=[box(108.70, 29.50, 108.71, 29.51), box(108.80, 29.50, 108.81, 29.51)],
                                crs=4490)
    screening = redline.screen(projects, {"eco_redline": red}, buffers=[])
    page = render_html(build_map({"eco_redline": red}, screening=screening, basemap="none", title=XSS).map)
    assert XSS not in page and "</script><script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_simplify_keeps_shape_and_reduces_vertices():
    circle = shapely.Point(500_000, 3_300_000).buffer(1000, quad_segs=512)
    gdf = gpd.GeoDataFrame(geometry=[circle], crs=4545)
    out, before, after = simplify_for_map(gdf, 5.0, 1e-5)
    assert after < before / 4
    back = out.to_crs(4545).geometry.iloc[0]
    assert shapely.hausdorff_distance(back, circle) <= 5.0 + 1.5  # within the tolerance (+ ~1 m coordinate rounding)
    assert out.crs.to_epsg() == 4326


def test_basemaps(sample):
    layers, boundary, _, _ = sample
    one = {"eco_redline": layers["eco_redline"]}
    with pytest.raises(RedlineError, match="needs a Tianditu key"):
        build_map(one, basemap="tianditu_vec")
    page = render_html(build_map(one, basemap="tianditu_img", tianditu_key="abc123").map)
    assert "tianditu.gov.cn/img_w" in page and "tk=abc123" in page
    with pytest.raises(RedlineError, match="unknown basemap"):
        build_map(one, basemap="google")


def test_gcj02_basemap_warns(tmp_path, sample):
    layers, _, _, _ = sample
    theme_file = tmp_path / "t.toml"
    text = (SAMPLE.parent.parent / "maps" / "default.toml").read_text(encoding="utf-8")
    theme_file.write_text(text + '\n[basemaps.gaode]\ntiles = "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}"\n'
                          'crs = "GCJ02"\n', encoding="utf-8")
    result = build_map({"eco_redline": layers["eco_redline"]}, basemap="gaode", theme=load_theme(theme_file))
    assert any("GCJ-02" in n for n in result.notes)


def _require_cjk_font():
    font = cjk_font(load_theme().cjk_fonts)
    if font is None:
        if in_ci():
            pytest.fail("no CJK font installed: .ci/run installs fonts-noto-cjk")
        pytest.skip("no CJK font on this machine (apt-get install fonts-noto-cjk)")
    return font


def test_static_maps_render_chinese(sample, tmp_path):
    _require_cjk_font()
    layers, boundary, _, screening = sample
    fonts = FontCheck()  # the maps now catch matplotlib's missing-glyph warnings themselves: ask them
    with _no_missing_glyphs():
        png = overview_png(layers, boundary, screening=screening, title="黔江区 总图", fonts=fonts)
        one = project_png("P-04", layers, screening, fonts=fonts)
    assert fonts.missing == set() and fonts.font.source == "system"
    for data, name in ((png, "overview.png"), (one, "P-04.png")):
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        (tmp_path / name).write_bytes(data)


class _no_missing_glyphs:
    """Fail when matplotlib had to draw Chinese in a font without the glyphs (boxes)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings(record=True)
        self._log = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        missing = [str(w.message) for w in self._log if "missing from font" in str(w.message)]
        assert not missing, missing[:3]
        return False


def test_styled_geopackage_opens_styled(tmp_path, sample):
    layers, boundary, _, screening = sample
    path = write_styled_gpkg([
        ("eco_redline", layers["eco_redline"], "生态保护红线", fill_qml("#2e7d32", "#1b5e20", 0.45)),
        ("projects", screening.projects.drop(columns=[]), "建设项目",
         categorized_qml("verdict", [("prohibited", "禁止", "#d50000"), ("clear", "无冲突", "#2962ff")])),
    ], tmp_path / "结果.gpkg")
    con = sqlite3.connect(path)
    styles = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault = 1").fetchall())
    titles = dict(con.execute("SELECT table_name, identifier FROM gpkg_contents").fetchall())
    con.close()
    assert set(styles) == {"eco_redline", "projects"}
    assert "46,125,50,115" in styles["eco_redline"] and 'attr="verdict"' in styles["projects"]
    assert titles["eco_redline"] == "生态保护红线" and titles["projects"] == "建设项目"
    back = gpd.read_file(path, layer="projects")
    assert len(back) == 20 and "verdict" in back.columns
