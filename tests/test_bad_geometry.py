"""Bad geometry (issue 15): overlapping parts of a feature, and coordinates nothing can be measured from.

1. A MultiPolygon whose parts overlap is a digitising error whose intent is the union of its parts. Every repair
   (on read, in each analysis given a GeoDataFrame, in dissolves and overlays) gives that union; areas are checked
   against pyproj's geodesic area of the union polygon written out by hand.
2. NaN, infinite, huge (1e300) and unprojectable coordinates: dropped and reported when a file is read, for every
   kind of layer (projects too); a GeometryError naming the features when a GeoDataFrame reaches the Python API.
   Never a GEOS traceback.

Every bad input is made in code into ``tmp_path``.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely import GeometryCollection, MultiPolygon, Polygon, box

import redline
from redline.errors import GeometryError
from redline.geometry.footprints import footprints
from test_bad_input import check_json, one_line_error, run

GEOD = Geod(ellps="GRS80")
SEG = 0.0005  # edges densified like real boundaries (~50 m): a straight lon/lat edge then follows its geodesic


def d(geom):
    return shapely.segmentize(geom, SEG)


def geod(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


# two 4.3 km² squares sharing a quarter of each: the feature is their union, 7.52 km² (the symmetric difference,
# which the old repair gave, is 6.45 km²)
A = d(box(108.70, 29.50, 108.72, 29.52))
B = d(box(108.71, 29.51, 108.73, 29.53))
SHARED = d(box(108.71, 29.51, 108.72, 29.52))
OVERLAPPING = MultiPolygon([A, B])
UNION = d(Polygon([(108.70, 29.50), (108.72, 29.50), (108.72, 29.51), (108.73, 29.51), (108.73, 29.53),
                   (108.71, 29.53), (108.71, 29.52), (108.70, 29.52)]))  # by hand
UNION_M2 = geod(UNION)
BIG = d(box(108.60, 29.40, 108.90, 29.70))  # covers everything above
GOOD = d(box(108.80, 29.60, 108.82, 29.62))  # a good feature next to the bad ones


def frame(geoms, crs=4490, **cols):
    ids = [f"P{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"project_id": ids, "category": ["industrial"] * len(geoms), **cols},
                            geometry=list(geoms), crs=4490).to_crs(crs)


# --- 1. overlapping parts: their union, everywhere -----------------------------------------------------------


def test_repair_gives_the_union_and_says_so():
    from redline.geometry.clean import repair

    # the hand-made union is the union: the two squares less the part they share
    assert UNION_M2 == pytest.approx(geod(A) + geod(B) - geod(SHARED), rel=1e-7)
    assert UNION_M2 / 1e6 == pytest.approx(7.52, abs=0.01)
    fixed = repair([OVERLAPPING, GOOD])
    assert geod(fixed.geoms[0]) == pytest.approx(UNION_M2, rel=1e-9)
    assert fixed.repaired.tolist() == [True, False] and fixed.geoms[1] is GOOD
    assert fixed.reasons[0].startswith("Self-intersection")
    assert fixed.fixes[0].startswith("overlapping parts merged (union")
    for kind in ("polygon", "any"):
        assert geod(repair([OVERLAPPING], geometry=kind).geoms[0]) == pytest.approx(UNION_M2, rel=1e-9)


@pytest.mark.parametrize("geom,expected,fix", [
    # a part inside another: the outer part
    (MultiPolygon([BIG, A]), geod(BIG), "a part lying inside another merged"),
    # the polygons of a collection overlapping each other: their union, not their sum
    (GeometryCollection([A, B, shapely.Point(108.8, 29.6)]), UNION_M2, "overlapping parts merged (union"),
    # parts sharing an edge: one polygon, the area unchanged
    (MultiPolygon([d(box(108.70, 29.50, 108.71, 29.51)), d(box(108.71, 29.50, 108.72, 29.51))]),
     geod(d(box(108.70, 29.50, 108.72, 29.51))), "parts sharing an edge joined"),
    # a bow-tie keeps both loops
    (Polygon([(108.50, 29.50), (108.52, 29.52), (108.52, 29.50), (108.50, 29.52)]),
     geod(Polygon([(108.50, 29.50), (108.51, 29.51), (108.50, 29.52)]))
     + geod(Polygon([(108.52, 29.50), (108.52, 29.52), (108.51, 29.51)])), "self-intersection fixed"),
    # a hole crossing its polygon's edge is cut back to the polygon
    (Polygon(A.exterior.coords, [B.exterior.coords]), geod(A) - geod(SHARED), "hole crossing the boundary"),
])
def test_repair_keeps_what_was_drawn(geom, expected, fix):
    from redline.geometry.clean import repair

    fixed = repair([geom])
    assert fixed.repaired[0] and fixed.fixes[0].startswith(fix)
    assert geod(fixed.geoms[0]) == pytest.approx(expected, rel=1e-7)
    assert fixed.geoms[0].is_valid and fixed.geoms[0].geom_type in ("Polygon", "MultiPolygon")


def test_layers_check_measures_overlapping_parts_once(tmp_path):
    path = tmp_path / "overlap.gpkg"
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[OVERLAPPING], crs=4490).to_file(path, engine="pyogrio")
    result = check_json(path)
    assert result["area_km2"] == pytest.approx(UNION_M2 / 1e6, abs=2e-6)
    (rep,) = result["repaired"]
    assert rep["reason"].startswith("Self-intersection") and rep["repair"].startswith("overlapping parts merged")
    assert any("1 invalid geometry repaired: overlapping parts merged (union" in n for n in result["notes"])


def test_a_collection_of_overlapping_polygons_counts_their_union(tmp_path):
    """A GeometryCollection is valid to GEOS however its polygons overlap: its polygons made one multipolygon
    were counted twice where they overlap."""
    path = tmp_path / "collection.gpkg"
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[GeometryCollection([A, B])], crs=4490).to_file(path, engine="pyogrio")
    gdf, report = redline.read_layer(path, geometry="polygon")
    assert redline.ellipsoidal_area(gdf)[0] == pytest.approx(UNION_M2, rel=1e-7)
    assert gdf.geometry.is_valid.all()
    assert report.repaired[0]["repair"].startswith("overlapping parts merged")


def test_cli_indicators_and_screen_measure_the_union(tmp_path):
    layer = tmp_path / "red.gpkg"
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[OVERLAPPING], crs=4490).to_file(layer, engine="pyogrio")
    boundary = tmp_path / "boundary.gpkg"
    gpd.GeoDataFrame({"name": ["b"]}, geometry=[BIG], crs=4490).to_file(boundary, engine="pyogrio")
    proc = run("indicators", "--boundary", boundary, "--layer", f"eco_redline={layer}", "--json")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)["layers"]
    assert row["area_m2"] == pytest.approx(UNION_M2, rel=1e-7)
    # the same feature as a project footprint, against a control line covering it
    projects = tmp_path / "projects.geojson"
    frame([OVERLAPPING]).to_file(projects, engine="pyogrio")
    proc = run("screen", projects, "--layer", f"eco_redline={boundary}", "--buffers", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    (p,) = out["projects"]
    assert p["repaired"] is True and p["footprint_m2"] == pytest.approx(UNION_M2, rel=1e-7)
    assert p["hits"][0]["overlap_m2"] == pytest.approx(UNION_M2, rel=1e-7)
    assert any("P0: invalid footprint repaired (overlapping parts merged" in n for n in out["notes"])


def _layer(geom, crs=4490, **cols):
    return gpd.GeoDataFrame({"name": ["x"], **cols}, geometry=[geom], crs=4490).to_crs(crs)


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4545"])
def test_api_analyses_measure_the_union(crs):
    """GeoDataFrames handed to the Python API are repaired by the same function: the union."""
    from redline.analyses.indicators import prepare_layer

    bad = _layer(OVERLAPPING, crs)
    big = _layer(BIG, crs)
    assert geod(gpd.GeoSeries([redline.dissolve(bad)], crs=crs).to_crs(4490).iloc[0]) == pytest.approx(
        UNION_M2, rel=1e-6)
    assert prepare_layer(bad).whole.total_m2 == pytest.approx(UNION_M2, rel=1e-7)
    assert redline.layer_shares(big, {"eco_redline": bad}).iloc[0]["area_m2"] == pytest.approx(UNION_M2, rel=1e-7)
    led = redline.ledger(_layer(OVERLAPPING, crs, town=["t"]), "town", {"eco_redline": big})
    assert led.rows.set_index("unit").loc["t", "area_m2"] == pytest.approx(UNION_M2, rel=1e-7)
    # screening: the overlapping feature as a project and as a control line
    fp = footprints(frame([OVERLAPPING], crs))
    assert fp["footprint_m2"].iloc[0] == pytest.approx(UNION_M2, rel=1e-7) and fp["repaired"].iloc[0]
    assert fp["repair"].iloc[0].startswith("overlapping parts merged")
    gc = footprints(frame([GeometryCollection([A, B, shapely.Point(108.8, 29.6)])], crs))  # its polygons: their union
    assert gc["footprint_m2"].iloc[0] == pytest.approx(UNION_M2, rel=1e-7)
    r = redline.screen(frame([BIG], crs), {"eco_redline": bad}, buffers=[])
    assert r.hits["overlap_m2"].iloc[0] == pytest.approx(UNION_M2, rel=1e-7)
    assert any("eco_redline: 1 invalid geometry repaired: overlapping parts merged" in n for n in r.notes)
    # conflicts and change
    c = redline.conflicts({"eco_redline": bad, "basic_farmland": big}, [("eco_redline", "basic_farmland")])
    assert c.pairs["total_m2"].iloc[0] == pytest.approx(UNION_M2, rel=1e-7)
    ch = redline.change(_layer(UNION, crs), bad)
    assert ch.totals["old_m2"] == pytest.approx(UNION_M2, rel=1e-7)
    assert ch.totals["new_m2"] == pytest.approx(UNION_M2, rel=1e-7)
    assert ch.totals["removed_m2"] < 1.0 and ch.totals["added_m2"] < 1.0


def test_monitor_watches_the_shared_part(tmp_path):
    """Built-up land in the part the two squares share is inside the protected layer."""
    import rasterio
    from rasterio.transform import from_origin

    from redline.analyses.monitor import monitor

    before = np.full((10, 10), 10, dtype="uint8")  # 0.01° cells from 108.70°E, 29.60°N: all tree cover
    after = before.copy()
    after[8, 1] = 50  # the cell 108.71–108.72°E, 29.51–29.52°N (the shared square) built up
    paths = []
    for name, array in (("before.tif", before), ("after.tif", after)):
        paths.append(tmp_path / name)
        with rasterio.open(paths[-1], "w", driver="GTiff", width=10, height=10, count=1, dtype="uint8",
                           crs="EPSG:4490", transform=from_origin(108.70, 29.60, 0.01, 0.01), nodata=0) as dst:
            dst.write(array, 1)
    with rasterio.open(paths[0]) as b, rasterio.open(paths[1]) as a:
        result = monitor(b, a, _layer(OVERLAPPING))
    assert result.to_json()["total_m2"] == pytest.approx(geod(SHARED), rel=1e-4)


# --- 2. coordinates nothing can be measured from -------------------------------------------------------------


def _ring(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


GOOD_JSON = ("Polygon", json.dumps([_ring(108.70, 29.50, 108.72, 29.52)]))
GOOD_M2 = geod(box(108.70, 29.50, 108.72, 29.52))
# bad geometries as GeoJSON text (GDAL reads the NaN and Infinity tokens)
BAD = {
    "nan-vertex": ("Polygon", "[[[108.71,29.51],[108.73,29.51],[NaN,29.53],[108.71,29.53],[108.71,29.51]]]"),
    "nan-first-vertex": ("Polygon", "[[[NaN,29.51],[108.73,29.51],[108.73,29.53],[108.71,29.53],[NaN,29.51]]]"),
    "inf": ("Polygon", "[[[108.71,29.51],[108.73,29.51],[Infinity,29.53],[108.71,29.53],[108.71,29.51]]]"),
    "-inf-latitude": ("Polygon", "[[[108.71,29.51],[108.73,29.51],[108.73,-Infinity],[108.71,29.53],[108.71,29.51]]]"),
    "nan-in-second-part": ("MultiPolygon", "[[[[108.71,29.51],[108.73,29.51],[108.73,29.53],[108.71,29.51]]],"
                                           "[[[108.8,29.6],[108.81,29.6],[NaN,29.61],[108.8,29.6]]]]"),
    "huge": ("Polygon", "[[[108.71,29.51],[1e300,29.51],[1e300,29.53],[108.71,29.53],[108.71,29.51]]]"),
    "latitude-beyond-90": ("Polygon", "[[[108.71,29.51],[108.73,29.51],[108.73,95.0],[108.71,95.0],[108.71,29.51]]]"),
    "nan-point": ("Point", "[NaN, 29.51]"),
    "nan-line": ("LineString", "[[108.71,29.51],[NaN,29.52],[108.73,29.53]]"),
}
NON_FINITE = "non-finite coordinates (NaN/inf)"


def _expected_reason(name):
    return "coordinates outside the range of EPSG:4490" if name in ("huge", "latitude-beyond-90") else NON_FINITE


def geojson(path, geoms):
    """A GeoJSON FeatureCollection in CGCS2000 written by hand: (type, coordinates text) per feature."""
    feats = [('{"type":"Feature","properties":{"project_id":"P%d","category":"industrial","width_m":20,'
              '"radius_m":50},"geometry":{"type":"%s","coordinates":%s}}') % (i, t, c)
             for i, (t, c) in enumerate(geoms)]
    path.write_text('{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":'
                    '"urn:ogc:def:crs:EPSG::4490"}},"features":[' + ",".join(feats) + "]}", encoding="utf-8")
    return path


@pytest.fixture
def red(tmp_path):
    path = tmp_path / "red.gpkg"
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[box(108.705, 29.505, 108.8, 29.6)], crs=4490).to_file(
        path, engine="pyogrio")
    return path


def _dropped(result, name):
    assert result["dropped"] == [{"id": 1, "reason": result["dropped"][0]["reason"]}], result["dropped"]
    assert result["dropped"][0]["reason"].startswith(_expected_reason(name)), result["dropped"]


@pytest.mark.parametrize("name", list(BAD))
def test_layers_check_drops_and_reports(tmp_path, name):
    path = geojson(tmp_path / f"{name}.geojson", [GOOD_JSON, BAD[name]])
    result = check_json(path)
    _dropped(result, name)
    assert result["area_km2"] == pytest.approx(GOOD_M2 / 1e6, abs=2e-6)
    assert any("1 feature dropped — " + _expected_reason(name) in n for n in result["notes"]), result["notes"]


@pytest.mark.parametrize("name", ["nan-vertex", "nan-first-vertex", "nan-point", "huge"])
def test_the_fiona_engine_drops_and_reports_too(tmp_path, name):
    path = geojson(tmp_path / f"{name}.geojson", [GOOD_JSON, BAD[name]])
    _dropped(check_json(path, "--engine", "fiona"), name)


@pytest.mark.parametrize("name", list(BAD))
def test_screen_drops_the_bad_project(tmp_path, red, name):
    path = geojson(tmp_path / f"{name}.geojson", [GOOD_JSON, BAD[name]])
    proc = run("screen", path, "--layer", f"eco_redline={red}", "--buffers", "0", "--json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    out = json.loads(proc.stdout)
    assert [p["id"] for p in out["projects"]] == ["P0"]
    assert out["projects"][0]["footprint_m2"] == pytest.approx(GOOD_M2, rel=1e-6)
    assert any(n.startswith("projects: 1 feature dropped — " + _expected_reason(name)) for n in out["notes"])


@pytest.mark.parametrize("name", ["nan-vertex", "inf", "nan-in-second-part", "huge"])
def test_indicators_with_a_bad_feature_in_the_boundary_or_a_layer(tmp_path, red, name):
    path = geojson(tmp_path / f"{name}.geojson", [GOOD_JSON, BAD[name]])
    for args, which in (((path, f"eco_redline={red}"), "boundary"), ((red, f"eco_redline={path}"), "eco_redline")):
        proc = run("indicators", "--boundary", args[0], "--layer", args[1], "--json")
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        out = json.loads(proc.stdout)
        assert any(n.startswith(f"{which}: 1 feature dropped — {_expected_reason(name)}") for n in out["notes"]), out
    # the good feature measured, the bad one gone: the layer's area is the good square's
    assert out["layers"][0]["area_m2"] + out["layers"][0]["outside_m2"] == pytest.approx(GOOD_M2, rel=1e-6)


@pytest.mark.parametrize("name", ["nan-vertex", "nan-first-vertex", "inf", "huge"])
def test_map_with_bad_features(tmp_path, red, name):
    path = geojson(tmp_path / f"{name}.geojson", [GOOD_JSON, BAD[name]])
    out = tmp_path / "m.html"
    proc = run("map", "--boundary", path, "--layer", f"eco_redline={path}", "--projects", path, "--basemap", "none",
               "--out", out)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert out.exists()
    for role in ("boundary", "eco_redline", "projects"):
        assert f"{role}: 1 feature dropped — {_expected_reason(name)}" in proc.stdout, proc.stdout


@pytest.mark.parametrize("command", ["check", "screen", "indicators"])
def test_nothing_usable_left_is_one_line(tmp_path, red, command):
    path = geojson(tmp_path / "allbad.geojson", [BAD["nan-vertex"], BAD["inf"]])
    args = {"check": ("layers", "check", path), "screen": ("screen", path, "--layer", f"eco_redline={red}"),
            "indicators": ("indicators", "--boundary", path, "--layer", f"eco_redline={red}")}[command]
    one_line_error(run(*args), "allbad.geojson", "no usable geometry left", f"{NON_FINITE} ×2")


def test_nan_in_a_geopackage_written_as_wkb(tmp_path, red):
    from pyogrio.raw import write

    with np.errstate(invalid="ignore"):
        bad = shapely.polygons([[108.71, 29.51], [108.73, 29.51], [np.nan, 29.53], [108.71, 29.53], [108.71, 29.51]])
    wkb = np.array([shapely.to_wkb(box(108.70, 29.50, 108.72, 29.52)), shapely.to_wkb(bad)], dtype=object)
    path = tmp_path / "nan.gpkg"
    write(path, wkb, [np.array(["P0", "P1"]), np.array(["industrial"] * 2)], fields=["project_id", "category"],
          geometry_type="Polygon", crs="EPSG:4490", driver="GPKG")
    assert check_json(path)["dropped"] == [{"id": 2, "reason": NON_FINITE}]
    proc = run("screen", path, "--layer", f"eco_redline={red}", "--buffers", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [p["id"] for p in json.loads(proc.stdout)["projects"]] == ["P0"]


def test_projected_coordinates_that_cannot_be_reprojected(tmp_path, red):
    """In a Gauss-Krüger CRS, an easting of 5e7 m has no longitude (PROJ returns inf): dropped, the rest used."""
    path = tmp_path / "gk.gpkg"
    gk = frame([box(108.70, 29.50, 108.72, 29.52)], crs=4545)
    far = gpd.GeoDataFrame({"project_id": ["P1"], "category": ["industrial"]},
                           geometry=[box(5e7, 3.3e6, 5e7 + 100, 3.3e6 + 100)], crs=4545)
    gpd.GeoDataFrame(pd.concat([gk, far], ignore_index=True), crs=4545).to_file(path, engine="pyogrio")
    result = check_json(path)
    assert result["dropped"][0]["id"] == 2
    assert result["dropped"][0]["reason"].startswith("coordinates outside the range of EPSG:4545")
    proc = run("screen", path, "--layer", f"eco_redline={red}", "--buffers", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [p["id"] for p in json.loads(proc.stdout)["projects"]] == ["P0"]


def test_every_feature_outside_a_projected_crs_is_a_crs_error(tmp_path):
    """Zone-prefixed Gauss-Krüger eastings (36 500 000 m) under the unprefixed zone's .prj: a wrong .prj."""
    path = tmp_path / "prefixed.gpkg"
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(36_500_000, 3_300_000, 36_501_000, 3_301_000)],
                     crs=4545).to_file(path, engine="pyogrio")
    one_line_error(run("layers", "check", path), "prefixed.gpkg", "outside the range of EPSG:4545", "wrong .prj?",
                   "--crs")


# the Python API: a GeometryError naming the features, never a GEOS traceback

def _nan_polygon():
    with np.errstate(invalid="ignore"):
        return shapely.polygons([[108.71, 29.51], [108.73, 29.51], [np.nan, 29.53], [108.71, 29.53], [108.71, 29.51]])


API_BAD = {
    "nan": (_nan_polygon(), 4490, NON_FINITE),
    "inf": (box(108.71, 29.51, np.inf, 29.53), 4490, NON_FINITE),
    "huge": (box(108.71, 29.51, 1e300, 29.53), 4490, "coordinates outside the range of EPSG:4490"),
    "unprojectable": (box(5e7, 3.3e6, 5e7 + 100, 3.3e6 + 100), 4545, "coordinates outside the range of EPSG:4545"),
}


def _with_bad(name):
    geom, crs, _ = API_BAD[name]
    good = gpd.GeoSeries([box(108.70, 29.50, 108.72, 29.52)], crs=4490).to_crs(crs).iloc[0]
    return gpd.GeoDataFrame({"project_id": ["A", "B"], "category": ["industrial"] * 2, "town": ["a", "b"]},
                            geometry=[good, geom], crs=crs)


@pytest.mark.parametrize("name", list(API_BAD))
@pytest.mark.parametrize("call", ["screen-projects", "screen-layer", "footprints", "prepare_layer", "layer_shares",
                                  "ledger-units", "conflicts", "change"])
def test_api_names_the_bad_features(name, call):
    from redline.analyses.indicators import prepare_layer

    bad = _with_bad(name)
    good = gpd.GeoDataFrame({"project_id": ["A"], "category": ["industrial"]}, geometry=[BIG], crs=4490)
    calls = {
        "screen-projects": lambda: redline.screen(bad, {"eco_redline": good}, buffers=[]),
        "screen-layer": lambda: redline.screen(good, {"eco_redline": bad}, buffers=[]),
        "footprints": lambda: footprints(bad),
        "prepare_layer": lambda: prepare_layer(bad),
        "layer_shares": lambda: redline.layer_shares(good, {"eco_redline": bad}),
        "ledger-units": lambda: redline.ledger(bad, "town", {"eco_redline": good}),
        "conflicts": lambda: redline.conflicts({"eco_redline": bad, "basic_farmland": good},
                                               [("eco_redline", "basic_farmland")]),
        "change": lambda: redline.change(good, bad),
    }
    with pytest.raises(GeometryError) as info:
        calls[call]()
    message = str(info.value)
    assert API_BAD[name][2] in message or NON_FINITE in message, message
    # the feature is named: by its project id where there is one, else by its index
    assert ": B" in message or ": 1" in message, message


def test_a_bad_project_is_named_by_its_id():
    with pytest.raises(GeometryError, match=r"projects: 1 feature with non-finite coordinates \(NaN/inf\): B; fix"):
        redline.screen(_with_bad("nan"), {"eco_redline": frame([BIG])}, buffers=[])
    with pytest.raises(GeometryError, match=r"projects: 1 feature with coordinates outside the range of EPSG:4490: B"):
        redline.screen(_with_bad("huge"), {"eco_redline": frame([BIG])}, buffers=[])


def test_non_finite_finds_every_nan_and_inf_and_nothing_else():
    """Found through lengths first, then coordinate by coordinate: a NaN in a hole, in one part of a multipolygon,
    in a point and in a line; an infinite vertex; while a huge but finite coordinate (its length overflows), a
    missing and an empty geometry are not flagged."""
    from redline.geometry.clean import non_finite

    nan, inf = float("nan"), float("inf")
    with np.errstate(all="ignore"):
        geoms = [box(0, 0, 1, 1),
                 Polygon(box(0, 0, 10, 10).exterior.coords, [[(1, 1), (2, nan), (3, 1)]]),
                 MultiPolygon([box(0, 0, 1, 1), Polygon([(5, 5), (6, nan), (7, 5)])]),
                 shapely.Point(nan, 1), shapely.LineString([(0, 0), (1, nan)]),
                 Polygon([(0, 0), (inf, 1), (1, 1)]),
                 Polygon([(0, 0), (1e308, 1), (-1e308, 1)]), None, Polygon(),
                 shapely.MultiPoint([(0, 0), (1, 1)]), GeometryCollection([shapely.Point(0, nan)])]
        got = non_finite(geoms)
    assert got.tolist() == [False, True, True, True, True, True, False, False, False, False, True]
