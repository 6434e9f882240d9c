"""Raster tiles of large layers (redline.maps.tiles) and the page's companion folder (redline.io.atomic_page).

Pixels are checked against the polygons themselves: each pixel's centre is taken back to lon/lat with the
spherical Mercator formula written out here, and tested for containment with shapely.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image
from shapely import box

from redline.errors import OutputError
from redline.io import atomic_page
from redline.maps import TileTarget, build_map, render_html
from redline.maps.theme import load_theme
from redline.maps.tiles import render_tiles, tile_zooms

R = 6378137.0
WORLD = 2 * math.pi * R


def res(z: int) -> float:
    return WORLD / (256 * 2 ** z)


def pixel_lonlat(z, tx, ty, col, row):
    """Centre of pixel (col, row) of tile (z, tx, ty) in lon/lat degrees (EPSG:3857's sphere)."""
    x = (tx * 256 + col + 0.5) * res(z) - WORLD / 2
    y = WORLD / 2 - (ty * 256 + row + 0.5) * res(z)
    return np.degrees(x / R), np.degrees(2 * np.arctan(np.exp(y / R)) - math.pi / 2)


def mercator_area(geoms) -> float:
    """Area in EPSG:3857 square metres, from the formula (densified so the projection's curvature is followed)."""
    def fwd(xy):
        lon, lat = np.radians(xy[:, 0]), np.radians(xy[:, 1])
        return np.column_stack([R * lon, R * np.log(np.tan(math.pi / 4 + lat / 2))])

    return float(shapely.area(shapely.transform(shapely.segmentize(geoms, 0.0005), fwd)).sum())


def read_tiles(folder: Path):
    """{(z, x, y): (fill coverage, outline coverage)} from the palette indices of the PNGs written."""
    out = {}
    for png in folder.rglob("*.png"):
        z, x, y = int(png.parts[-3]), int(png.parts[-2]), int(png.stem)
        with Image.open(png) as im:
            assert im.mode == "P" and im.size == (256, 256)
            index = np.asarray(im)
        out[(z, x, y)] = (index // 16 / 15.0, index % 16 / 15.0)
    return out


@pytest.fixture(scope="module")
def parcels():
    """Two clusters of 'parcels' 8 km apart in lon/lat (EPSG:4490): squares of ~100 m, one with a hole."""
    cells = []
    for ox in (108.70, 108.78):
        for i in range(6):
            for j in range(6):
                x, y = ox + i * 0.0015, 29.40 + j * 0.0015
                cells.append(box(x, y, x + 0.001, y + 0.001))
    holed = shapely.Polygon(cells[0].exterior.coords, [box(108.7003, 29.4003, 108.7007, 29.4007).exterior.coords])
    cells[0] = holed
    return np.array(cells, dtype=object)


def test_zooms_fit_the_features_and_the_budget():
    # 100 m features over 10 km: pixels of about 1/12 of a feature, i.e. res(z) <= 100/12 < res(z - 1)
    zmin, zmax = tile_zooms((0, 0, 10_000, 10_000), 100.0, max_tiles=100_000)
    assert res(zmax) <= 100 / 12 < res(zmax - 1)
    assert 10_000 / (256 * res(zmin)) <= 2  # the extent in about one tile at the shallowest zoom
    # tiny features over a big extent: the tile budget decides
    zmin, zmax = tile_zooms((0, 0, 200_000, 200_000), 5.0, max_tiles=1024)
    assert (200_000 / (256 * res(zmax)) + 1) ** 2 <= 1024 < (200_000 / (256 * res(zmax + 1)) + 1) ** 2
    assert zmin <= zmax <= 17
    assert tile_zooms((0, 0, 10, 10), 0.01)[1] == 17  # never deeper than ~1.2 m pixels


def test_tile_pixels_follow_the_polygons(parcels, tmp_path):
    ts = render_tiles(parcels, "EPSG:4490", tmp_path, fill="#ff9900", stroke="#cc6600", fill_opacity=0.5,
                      max_tiles=256)
    tiles = read_tiles(tmp_path)
    assert ts.count == len(tiles) and ts.bytes == sum(p.stat().st_size for p in tmp_path.rglob("*.png"))
    assert {z for z, _, _ in tiles} == set(range(ts.zmin, ts.zmax + 1))
    union = shapely.union_all(parcels)
    line = shapely.boundary(union)
    hole = box(108.7003, 29.4003, 108.7007, 29.4007)
    checked = hole_checked = 0
    for (z, tx, ty), (fill, outline) in tiles.items():
        if z != ts.zmax:
            continue
        rows, cols = np.mgrid[0:256, 0:256]
        lon, lat = pixel_lonlat(z, tx, ty, cols.ravel(), rows.ravel())
        pts = shapely.points(lon, lat)
        inside = shapely.contains_xy(union, lon, lat)
        # a pixel is filled when its centre is inside (rasterisation's rule); far from every edge, empty outside
        near = shapely.dwithin(line, pts, 1.5 * res(z) / (R * math.cos(math.radians(29.4))) * 180 / math.pi)
        painted = (fill.ravel() > 0) | (outline.ravel() > 0)
        assert painted[inside].all()
        assert not painted[~inside & ~near].any()
        assert (outline.ravel()[~near] == 0).all()  # outlines only along the edges
        checked += int(inside.sum())
        hole_checked += int((shapely.contains_xy(hole, lon, lat) & ~near).sum())
    assert checked > 1000
    assert hole_checked > 0  # pixels inside the first parcel's hole were among those checked empty


def test_every_zoom_keeps_the_layer_area(parcels, tmp_path):
    """Each zoom out averages 2 × 2 pixels: the fill coverage summed over a zoom's tiles stays the polygons'
    (Web Mercator) area, to the pixels along the edges."""
    ts = render_tiles(parcels, "EPSG:4490", tmp_path, fill="#ff9900", stroke="#cc6600", fill_opacity=0.5,
                      max_tiles=256)
    tiles = read_tiles(tmp_path)
    expected = mercator_area(parcels)
    for z in range(ts.zmin, ts.zmax + 1):
        covered = sum(f.sum() for (zz, _, _), (f, _) in tiles.items() if zz == z) * res(z) ** 2
        edge_px = 72 * 4 * 0.001 * 111_000 * 1.15 / res(z)  # perimeter in pixels, all parcels
        assert abs(covered - expected) <= max(0.5 * edge_px * res(z) ** 2, 0.02 * expected), z


def test_empty_tiles_are_not_written(parcels, tmp_path):
    ts = render_tiles(parcels, "EPSG:4490", tmp_path, fill="#ff9900", stroke="#cc6600", fill_opacity=0.5,
                      max_tiles=256)
    tiles = read_tiles(tmp_path)
    for fill, outline in tiles.values():
        assert fill.any() or outline.any()
    # between the clusters (lon 108.71–108.78) no tile at the deepest zoom
    for (z, tx, ty) in tiles:
        if z == ts.zmax:
            west, _ = pixel_lonlat(z, tx, ty, 0, 0)
            east, _ = pixel_lonlat(z, tx, ty, 255, 0)
            assert east >= 108.70 - 0.01 and not (west > 108.71 and east < 108.78)
    empty = render_tiles(np.array([shapely.Polygon()], dtype=object), "EPSG:4490", tmp_path / "none",
                         fill="#ff9900", stroke="#cc6600", fill_opacity=0.5)
    assert empty.count == 0 and not (tmp_path / "none").exists()


def test_large_layer_becomes_a_tile_layer(parcels, tmp_path):
    layer = gpd.GeoDataFrame({"n": range(len(parcels))}, geometry=list(parcels), crs=4490)
    theme = load_theme()
    small = dataclasses.replace(theme, tile_above_features=10)
    with atomic_page(tmp_path / "地图.html") as (page, files):
        built = build_map({"basic_farmland": layer}, basemap="none", theme=small,
                          tiles=TileTarget(files, "%E5%9C%B0%E5%9B%BE_files"))
        page.write_text(render_html(built.map), encoding="utf-8")
    html = (tmp_path / "地图.html").read_text(encoding="utf-8")
    assert "%E5%9C%B0%E5%9B%BE_files/basic_farmland/{z}/{x}/{y}.png" in html
    assert built.tiles["basic_farmland"].count == len(list((tmp_path / "地图_files").rglob("*.png")))
    assert any("72 features drawn as" in n for n in built.notes)
    # without a tile target (or under the threshold) the layer stays vectors
    vec = render_html(build_map({"basic_farmland": layer}, basemap="none", theme=small).map)
    assert "_files/" not in vec and "108.7" in vec


def test_companion_folder_is_replaced_whole(tmp_path):
    out = tmp_path / "map.html"
    for run, names in enumerate((["a.png", "b.png"], ["b.png"])):
        with atomic_page(out) as (page, files):
            for n in names:
                (files / "k").mkdir(parents=True, exist_ok=True)
                (files / "k" / n).write_bytes(b"png")
            page.write_text(f"run {run}", encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "map_files" / "k").iterdir()) == ["b.png"]  # a.png did not linger
    with atomic_page(out) as (page, files):  # a page with no tiles: the earlier folder goes
        page.write_text("small", encoding="utf-8")
    assert not (tmp_path / "map_files").exists() and out.read_text() == "small"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html"]


def test_companion_folder_not_ours_is_refused(tmp_path):
    theirs = tmp_path / "map_files"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="map_files.*redline did not write it"):
        with atomic_page(tmp_path / "map.html") as (page, files):
            (files / "k").mkdir(parents=True)
            (files / "k" / "t.png").write_bytes(b"png")
            page.write_text("x")
    assert (theirs / "notes.txt").read_text() == "mine" and not (tmp_path / "map.html").exists()
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"]
    with atomic_page(tmp_path / "map.html") as (page, files):  # a page with no tiles leaves their folder alone
        page.write_text("small")
    assert (theirs / "notes.txt").read_text() == "mine" and (tmp_path / "map.html").read_text() == "small"


def test_failed_page_leaves_nothing(tmp_path):
    out = tmp_path / "map.html"
    with atomic_page(out) as (page, files):
        (files / "k").mkdir(parents=True)
        (files / "k" / "old.png").write_bytes(b"old")
        page.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_page(out) as (page, files):
            (files / "k").mkdir(parents=True)
            (files / "k" / "new.png").write_bytes(b"new")
            raise RuntimeError("drawing failed")
    assert out.read_text() == "old"
    assert [p.name for p in (tmp_path / "map_files" / "k").iterdir()] == ["old.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html", "map_files"]


def test_map_command_tiles_a_large_layer(tmp_path):
    """``redline map`` with 20 736 parcels (over the default 20 000): the page plus map_files/, one line saying
    so; then with a small layer the same --out is one file again and the tiles folder is gone."""
    import subprocess
    import sys

    xs, ys = np.meshgrid(np.arange(144), np.arange(144))
    x0, y0 = 108.70 + xs.ravel() * 0.0004, 29.40 + ys.ravel() * 0.0004
    parcels = gpd.GeoDataFrame({"dkbh": [f"P{i}" for i in range(x0.size)]},
                               geometry=shapely.box(x0, y0, x0 + 0.0003, y0 + 0.0003), crs=4490)
    parcels.to_file(tmp_path / "parcels.gpkg")
    boundary = gpd.GeoDataFrame({"name": ["示例县"]}, geometry=[box(108.69, 29.39, 108.77, 29.47)], crs=4490)
    boundary.to_file(tmp_path / "county.gpkg")
    out = tmp_path / "一张图.html"

    def redline_map(layer):
        cmd = [sys.executable, "-m", "redline", "map", "--boundary", tmp_path / "county.gpkg", "--layer",
               f"basic_farmland={layer}", "--basemap", "none", "--out", out]
        return subprocess.run(list(map(str, cmd)), capture_output=True, text=True, encoding="utf-8")

    proc = redline_map(tmp_path / "parcels.gpkg")
    assert proc.returncode == 0, proc.stderr
    files = tmp_path / "一张图_files"
    pngs = list(files.rglob("*.png"))
    assert pngs and (files / ".redline").is_file()
    assert "20,736 features drawn as" in proc.stdout + proc.stderr
    page = out.read_text(encoding="utf-8")
    assert "%E4%B8%80%E5%BC%A0%E5%9B%BE_files/basic_farmland/{z}/{x}/{y}.png" in page
    assert "P20735" not in page  # attributes stay in the layer's file
    written = sum(p.stat().st_size for p in pngs) + out.stat().st_size
    assert f"({written / 1e6:.1f} MB)" in proc.stdout
    theirs = tmp_path / "一张图_files"
    shutil.move(files, tmp_path / "kept")
    theirs.mkdir()
    (theirs / "mine.txt").write_text("mine")
    out.unlink()
    proc = redline_map(tmp_path / "parcels.gpkg")  # a folder of that name not written by redline: refused
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert proc.stderr.startswith("redline: error:") and "一张图_files" in proc.stderr and "--out" in proc.stderr
    assert not out.exists() and [p.name for p in theirs.iterdir()] == ["mine.txt"]
    shutil.rmtree(theirs)
    shutil.rmtree(tmp_path / "kept")
    parcels.iloc[:50].to_file(tmp_path / "few.gpkg")
    proc = redline_map(tmp_path / "parcels.gpkg")
    assert proc.returncode == 0, proc.stderr
    proc = redline_map(tmp_path / "few.gpkg")
    assert proc.returncode == 0, proc.stderr
    assert not files.exists() and "P49" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.gpkg", "few.gpkg", "parcels.gpkg", "一张图.html"]


def test_report_map_tiles_a_large_layer(tmp_path, monkeypatch):
    """The report's map.html gets its map_files/ in the report folder when a layer is drawn as tiles."""
    import redline.jobs.report as report_job
    from redline.specs.workspace import load_workspace

    from conftest import SAMPLE

    lowered = dataclasses.replace(load_theme(), tile_above_features=5000)  # the sample's 7 052 parcels: tiled
    monkeypatch.setattr(report_job, "load_theme", lambda *a, **k: lowered)
    out = tmp_path / "报告"
    built = report_job.build_outputs(load_workspace(SAMPLE / "workspace.toml"), out, basemap="none")
    assert out / "map_files" in built.files
    tiles = list((out / "map_files" / "basic_farmland").rglob("*.png"))
    assert tiles and "map_files/basic_farmland/{z}/{x}/{y}.png" in (out / "map.html").read_text(encoding="utf-8")
    assert any("features drawn as" in n for n in built.notes)
