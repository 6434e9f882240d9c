"""The sample sites in every intake format (data/qianjiang/sites.*) screen to the same overlaps as the
GeoPackage: a 国土TXT with and without zone prefix, a DXF and a KML."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

import redline
from redline._resources import resource_dir
from redline.io import read_layer

SAMPLE = resource_dir("sample")
LAYERS = {k: SAMPLE / f"{k}.gpkg" for k in ("eco_redline", "basic_farmland", "urban_boundary")}
# KML holds lon/lat to ~1e-12° and its edges are followed along the geodesic: a few square millimetres apart
TOLERANCE = {"sites.txt": 1e-9, "sites_cm.txt": 1e-9, "sites.dxf": 1e-9, "sites.kml": 1e-6}


@pytest.fixture(scope="module")
def reference():
    return redline.screen(SAMPLE / "sites.gpkg", LAYERS, buffers=[])


@pytest.mark.parametrize("name", list(TOLERANCE))
def test_same_overlaps_as_geopackage(reference, name):
    result = redline.screen(SAMPLE / name, LAYERS, buffers=[])
    assert list(result.projects["project_id"]) == list(reference.projects["project_id"])
    if name != "sites.dxf":  # a drawing carries no category (the TXT's 地块用途 and the KML's data do)
        assert list(result.projects["category"]) == list(reference.projects["category"])
        assert list(result.projects["verdict"]) == list(reference.projects["verdict"])
    got = result.hits.set_index(["project_id", "kind"])["overlap_m2"]
    want = reference.hits.set_index(["project_id", "kind"])["overlap_m2"]
    assert got.index.equals(want.index)
    assert np.allclose(got.to_numpy(), want.to_numpy(), rtol=TOLERANCE[name], atol=1e-3)
    assert (want > 0).sum() >= 2  # the sample sites do overlap: the red line and basic farmland


def test_sites_area_against_geod():
    """The sites' footprints against pyproj.Geod on their vertices (densified every 5 m in the zone)."""
    gdf, report = read_layer(SAMPLE / "sites.txt")
    assert report.crs == "EPSG:4524"
    to_ll = Transformer.from_crs("EPSG:4524", "EPSG:4490", always_xy=True)
    geod = Geod(ellps="GRS80")

    def ring_area(ring):
        lon, lat = to_ll.transform(*np.asarray(shapely.segmentize(ring, 5.0).coords).T)
        return abs(geod.polygon_area_perimeter(lon, lat)[0])

    result = redline.screen(gdf, {"eco_redline": LAYERS["eco_redline"]}, buffers=[])
    for geom, measured in zip(gdf.geometry.values, result.projects["footprint_m2"]):
        expected = ring_area(geom.exterior) - sum(ring_area(r) for r in geom.interiors)
        assert measured == pytest.approx(expected, rel=1e-7)
    assert len(gdf.geometry.values[1].interiors) == 1  # the second site has its pond


@pytest.mark.parametrize("name,content,match", [
    ("drawing.dwg", b"AC1032\x00\x00garbage", "a DWG drawing, which redline cannot read; save it as DXF"),
    ("old.xls", b"\xd0\xcf\x11\xe0garbage", ".xlsx or .csv"),
    ("broken.dxf", b"not a drawing at all", "not a readable DXF drawing"),
    ("broken.kml", b"<kml><Document><Placemark>", "not a readable KML/KMZ"),
    ("notes.txt", "会议纪要".encode("gbk"), "not a 国土TXT"),
])
def test_cli_refuses_in_one_line(tmp_path, name, content, match):
    import subprocess
    import sys

    path = tmp_path / name
    path.write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "redline", "screen", str(path), "--layer",
                           f"eco_redline={LAYERS['eco_redline']}", "--buffers", "none"], capture_output=True, text=True)
    assert done.returncode == 1, done.stdout
    assert match in done.stderr and str(path) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_dxf_without_zone_prefix_asks_for_crs(tmp_path):
    import geopandas as gpd

    from redline.errors import CRSError
    from redline.io.write import write_as

    gdf = gpd.GeoDataFrame({"project_id": ["D1"]}, geometry=[shapely.box(480000, 3266000, 480100, 3266100)],
                           crs="EPSG:4545")
    path, _ = write_as(gdf, tmp_path / "cm.dxf")
    with pytest.raises(CRSError, match="a DXF drawing carries no CRS.*--crs"):
        read_layer(path)
    back, report = read_layer(path, crs="EPSG:4545")
    assert report.crs_source == "given" and back.iloc[0]["project_id"] == "D1"


def test_cli_coordinate_table_with_named_columns(tmp_path):
    """A point table whose headers nobody would guess, named on the command line, screened end to end."""
    import json
    import subprocess
    import sys

    rows = ["序,北向坐标,东向坐标,块", *(f"{i},{n},{e},QJ-T1" for i, (n, e) in enumerate(
        [(3266000, 480000), (3266000, 480100), (3265900, 480100), (3265900, 480000)], start=1))]
    path = tmp_path / "points.csv"
    path.write_bytes("\r\n".join(rows).encode("gbk"))
    base = [sys.executable, "-m", "redline", "screen", str(path), "--layer", f"eco_redline={LAYERS['eco_redline']}",
            "--buffers", "none", "--json"]
    refused = subprocess.run(base, capture_output=True, text=True)
    assert refused.returncode == 1 and "--x-field" in refused.stderr
    done = subprocess.run([*base, "--x-field", "北向坐标", "--y-field", "东向坐标", "--point-field", "序",
                           "--parcel-field", "块", "--crs", "EPSG:4545"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    project = json.loads(done.stdout)["projects"][0]
    assert project["id"] == "QJ-T1"
    to_ll = Transformer.from_crs("EPSG:4545", "EPSG:4490", always_xy=True)
    ring = shapely.segmentize(shapely.box(480000, 3265900, 480100, 3266000).exterior, 5.0)
    lon, lat = to_ll.transform(*np.asarray(ring.coords).T)
    assert project["footprint_m2"] == pytest.approx(abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0]),
                                                     abs=0.01)
