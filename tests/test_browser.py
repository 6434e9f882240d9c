"""The map in a real headless browser (Debian chromium + chromedriver, driven by Selenium).

Skipped with a reason on a machine without them; in CI (CI=true) their absence is a failure:
.ci/run installs them.
"""

from __future__ import annotations

import time

import geopandas as gpd
import pytest
from shapely import box

import redline
from redline.io import read_layer
from redline.maps import build_map, render_html

from conftest import SAMPLE

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def map_file(tmp_path_factory):
    layers = {k: read_layer(SAMPLE / f"{k}.gpkg", geometry="polygon").gdf
              for k in ("eco_redline", "nature_reserve", "basic_farmland", "urban_boundary", "water_source")}
    boundary = read_layer(SAMPLE / "boundary.gpkg").gdf
    projects = read_layer(SAMPLE / "projects.geojson").gdf
    xss = gpd.GeoDataFrame({"project_id": [XSS], "name": [XSS], "category": ["mining"]},
                           geometry=[box(108.60, 29.40, 108.605, 29.405)], crs=4490)
    import pandas as pd

    projects = gpd.GeoDataFrame(pd.concat([projects, xss], ignore_index=True), crs=4490)
    screening = redline.screen(projects, layers, boundary=boundary, buffers=[])
    result = build_map(layers, boundary=boundary, screening=screening, basemap="none", title="黔江区 一张图")
    path = tmp_path_factory.mktemp("地图") / "map.html"
    path.write_text(render_html(result.map), encoding="utf-8")
    return path, result, screening


CLICK = _CLICK = """
    const target = arguments[0];
    for (const key in window) {
        const obj = window[key];
        if (!(obj && obj instanceof L.Map)) continue;
        let hit = null;
        obj.eachLayer(l => {
            if (!hit && l.feature && l.feature.properties._tip && l.feature.properties._tip.indexOf(target) === 0) {
                hit = l;
            }
        });
        if (!hit) continue;
        obj.closePopup();
        const at = hit.getLatLng ? hit.getLatLng() : hit.getBounds().getCenter();
        hit.fire('click', {latlng: at}, true);
        const pops = document.querySelectorAll('.leaflet-popup-content');  // a closed one may still fade out
        const pop = pops[pops.length - 1];
        return pop ? [pop.textContent, pop.querySelectorAll('img').length] : null;
    }
    return null;
"""


def test_map_in_browser(browser, map_file, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    path, result, screening = map_file
    browser.get(path.as_uri())
    time.sleep(2)
    browser.save_screenshot(str(tmp_path / "map.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors[:3]
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # the XSS payload must not run
    overlays = browser.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    assert len(overlays) == len(result.layers)
    # click P-04 (a click event on its feature, as a user's click delivers it) and read the popup
    text = browser.execute_script(_CLICK, "P-04")
    assert text is not None and "P-04" in text[0] and "禁止" in text[0]
    xss_text = browser.execute_script(_CLICK, "&lt;img")
    assert xss_text is not None and XSS in xss_text[0] and xss_text[1] == 0  # shown as text, no <img> created
    browser.save_screenshot(str(tmp_path / "popup.png"))


_TILES = """
    return Array.from(document.querySelectorAll('img.leaflet-tile'))
        .filter(i => i.src.indexOf('_files/') >= 0)
        .map(i => [i.complete, i.naturalWidth]);
"""


def test_tiled_layer_loads_from_the_file_system(browser, tmp_path):
    """A large layer drawn as image tiles in map_files/ shows in a page opened from file:// (no fetch/XHR)."""
    import dataclasses
    from urllib.parse import quote

    from redline.io import atomic_page
    from redline.maps import TileTarget
    from redline.maps.theme import load_theme

    farmland = read_layer(SAMPLE / "basic_farmland.gpkg", geometry="polygon").gdf
    theme = dataclasses.replace(load_theme(), tile_above_features=1000)
    out = tmp_path / "一张图.html"
    with atomic_page(out) as (page, files):
        result = build_map({"basic_farmland": farmland}, basemap="none", theme=theme,
                           tiles=TileTarget(files, quote(files.name)))
        page.write_text(render_html(result.map), encoding="utf-8")
    assert result.tiles["basic_farmland"].count > 0
    browser.get(out.as_uri())
    time.sleep(2)
    loaded = browser.execute_script(_TILES)
    browser.save_screenshot(str(tmp_path / "tiles.png"))
    assert loaded and all(done and width == 256 for done, width in loaded), loaded[:5]
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors[:3]  # no request for a tile that was not written
