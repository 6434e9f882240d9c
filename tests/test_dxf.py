"""DXF drawings (redline.io.dxf): closed polylines, bulges, hatches, circles, blocks, code pages, units, refusals.

Every drawing is built with ezdxf in tmp_path; areas are checked against the shoelace sum of the hand-made
coordinates or the analytic value (the drawings are planar metres), and end to end against pyproj.Geod.
"""

from __future__ import annotations

import math
from pathlib import Path

import ezdxf
import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from redline.errors import LayerNotFoundError, LayerReadError
from redline.io import dxf, read_layer
from redline.io.formats import FormatOptions, sniff

OPTIONS = FormatOptions()
GEOD = Geod(ellps="GRS80")
REL = 1e-6


def _shoelace(points) -> float:
    """The planar area of a hand-made ring, by the shoelace formula."""
    x, y = np.asarray(points, dtype=float).T
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def _square(x0, y0, size):
    return [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)]


def _save(doc, tmp_path: Path, name="plan.dxf") -> Path:
    path = tmp_path / name
    doc.saveas(path)
    return path


def _read(path: Path, layer=None, encoding=None):
    return dxf.read(path, layer, encoding, OPTIONS)


def test_dxf_is_sniffed():
    assert sniff(Path("红线.DXF")) == "dxf"


def test_nested_rings_make_a_hole_and_an_island(tmp_path):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    outer, hole, island = _square(0, 0, 100), _square(10, 10, 30), _square(20, 20, 5)
    msp.add_lwpolyline(outer, close=True, dxfattribs={"layer": "红线"})
    msp.add_lwpolyline(hole + hole[:1], dxfattribs={"layer": "红线"})  # closed by its last point, not the flag
    msp.add_lwpolyline(island, close=True, dxfattribs={"layer": "红线"})
    msp.add_lwpolyline(_square(50, 50, 10), close=True, dxfattribs={"layer": "other"})  # another layer: no hole
    got = _read(_save(doc, tmp_path))
    gdf = got.gdf
    assert list(gdf.columns) == ["project_id", "layer", "entity", "handle", "geometry"]
    assert gdf.index.name == "fid" and list(gdf.index) == [0, 1, 2]
    assert gdf.crs is None
    first = gdf.geometry[0]
    assert len(first.interiors) == 1 and gdf.entity[0] == "LWPOLYLINE" and gdf.layer[0] == "红线"
    assert first.area == pytest.approx(_shoelace(outer) - _shoelace(hole), rel=1e-12)
    assert gdf.geometry[1].area == pytest.approx(_shoelace(island), rel=1e-12)  # the island in the hole
    assert gdf.layer[2] == "other" and not gdf.geometry[2].interiors
    assert all(gdf.handle.str.len() > 0)
    assert any("made into holes" in n for n in got.notes)


def _gk_drawing(tmp_path: Path, x0: float, y0: float):
    doc = ezdxf.new("R2010")
    ring = [(x0, y0), (x0 + 400, y0), (x0 + 400, y0 + 250), (x0 + 150, y0 + 300), (x0, y0 + 250)]
    hole = _square(x0 + 50, y0 + 50, 100)
    doc.modelspace().add_lwpolyline(ring, close=True, dxfattribs={"layer": "用地红线"})
    doc.modelspace().add_lwpolyline(hole, close=True, dxfattribs={"layer": "用地红线"})
    return _save(doc, tmp_path), shapely.Polygon(ring, [hole])


def _geod_area(polygon: shapely.Polygon, crs: str) -> float:
    to_lonlat = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    return abs(GEOD.geometry_area_perimeter(shapely.transform(polygon, lambda xy: np.column_stack(
        to_lonlat.transform(xy[:, 0], xy[:, 1]))))[0])


def test_read_layer_end_to_end_with_crs(tmp_path):
    path, made = _gk_drawing(tmp_path, 500_000.0, 3_300_000.0)
    gdf, report = read_layer(path, crs="EPSG:4545")
    assert report.crs == "EPSG:4545" and report.crs_source == "given"
    assert len(gdf) == 1 and gdf.layer.iloc[0] == "用地红线"
    (polygon,) = gdf.geometry
    assert polygon.area == pytest.approx(_shoelace(made.exterior.coords[:-1]) - 100 * 100, rel=1e-12)
    assert polygon.bounds[0] == pytest.approx(500_000.0)  # X is the easting, as CAD draws it
    assert _geod_area(polygon, "EPSG:4545") == pytest.approx(_geod_area(made, "EPSG:4545"), rel=1e-9)


def test_zone_prefixed_eastings_detected(tmp_path):
    path, _ = _gk_drawing(tmp_path, 36_500_000.0, 3_300_000.0)
    gdf, report = read_layer(f"{path}:用地红线", detect_crs=True)
    assert report.crs == "EPSG:4524" and report.crs_source == "detected"
    assert gdf.total_bounds[0] == pytest.approx(36_500_000.0)


@pytest.mark.parametrize("bulge, sign", [(1.0, 1), (-1.0, -1)])
def test_bulge_semicircle(tmp_path, bulge, sign):
    # a 20 × 30 rectangle whose bottom side is a semicircle of radius 10: outwards (bulge 1) or inwards (-1)
    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline([(0, 0, bulge), (20, 0, 0), (20, 30, 0), (0, 30, 0)], format="xyb", close=True)
    got = _read(_save(doc, tmp_path))
    exact = 20 * 30 + sign * math.pi * 10**2 / 2
    assert got.gdf.geometry[0].area == pytest.approx(exact, rel=REL)
    assert got.gdf.geometry[0].is_valid
    assert any("points on the curve" in n for n in got.notes)


def test_hatch_paths_and_circle(tmp_path):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    hatch = msp.add_hatch(dxfattribs={"layer": "fill"})
    hatch.paths.add_polyline_path(_square(0, 0, 50), is_closed=True)
    edges = hatch.paths.add_edge_path()  # a hole: a 20 × 20 square whose east side is a semicircle (r 10)
    edges.add_line((10, 10), (30, 10))
    edges.add_arc((30, 20), 10, -90, 90)
    edges.add_line((30, 30), (10, 30))
    edges.add_line((10, 30), (10, 10))
    alone = msp.add_hatch(dxfattribs={"layer": "fill2"})  # an edge path alone: a stadium of two arcs
    stadium = alone.paths.add_edge_path()
    stadium.add_line((100, 0), (140, 0))
    stadium.add_arc((140, 10), 10, -90, 90)
    stadium.add_line((140, 20), (100, 20))
    stadium.add_arc((100, 10), 10, 90, 270)
    msp.add_circle((500, 500), 7.5, dxfattribs={"layer": "well"})
    gdf = _read(_save(doc, tmp_path)).gdf.set_index("layer")
    hole = 20 * 20 + math.pi * 10**2 / 2
    assert gdf.loc["fill", "entity"] == "HATCH" and len(gdf.loc["fill", "geometry"].interiors) == 1
    assert gdf.loc["fill", "geometry"].area == pytest.approx(50 * 50 - hole, rel=REL)
    assert gdf.loc["fill2", "geometry"].area == pytest.approx(40 * 20 + math.pi * 10**2, rel=REL)
    assert gdf.loc["well", "entity"] == "CIRCLE"
    assert gdf.loc["well", "geometry"].area == pytest.approx(math.pi * 7.5**2, rel=REL)


def test_r12_polylines_and_a_mirrored_one(tmp_path):
    doc = ezdxf.new("R12")
    doc.modelspace().add_polyline2d(_square(0, 0, 10), close=True, dxfattribs={"layer": "A"})
    doc.modelspace().add_polyline3d([(20, 0, 1), (30, 0, 2), (30, 10, 3), (20, 0, 1)], dxfattribs={"layer": "B"})
    got = _read(_save(doc, tmp_path, "r12.dxf")).gdf
    assert got.entity.tolist() == ["POLYLINE", "POLYLINE"] and got.area.tolist() == pytest.approx([100, 50])
    doc = ezdxf.new("R2010")  # drawn mirrored in CAD: its own coordinate system (OCS) has z pointing down
    doc.modelspace().add_lwpolyline(_square(0, 0, 10), close=True, dxfattribs={"extrusion": (0, 0, -1)})
    (mirrored,) = _read(_save(doc, tmp_path)).gdf.geometry
    assert mirrored.bounds == pytest.approx((-10, 0, 0, 10))


def test_hatch_filling_a_polyline_is_read_once(tmp_path):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    line = msp.add_lwpolyline(_square(0, 0, 10), close=True, dxfattribs={"layer": "红线"})
    msp.add_hatch(dxfattribs={"layer": "红线"}).paths.add_polyline_path(_square(0, 0, 10)[::-1], is_closed=True)
    got = _read(_save(doc, tmp_path))
    assert got.gdf.entity.tolist() == ["LWPOLYLINE"]
    assert len(got.dropped) == 1 and line.dxf.handle in got.dropped[0]["reason"]


def test_block_insert(tmp_path):
    doc = ezdxf.new("R2010")
    block = doc.blocks.new("PARCEL")
    block.add_lwpolyline(_square(0, 0, 1), close=True)  # layer 0: takes the INSERT's layer
    insert = doc.modelspace().add_blockref("PARCEL", (1000, 2000), dxfattribs={"layer": "地块", "xscale": 20,
                                                                               "yscale": 20})
    got = _read(_save(doc, tmp_path))
    (polygon,) = got.gdf.geometry
    assert polygon.area == pytest.approx(400, rel=1e-12) and polygon.bounds[:2] == pytest.approx((1000, 2000))
    assert got.gdf.layer[0] == "地块" and got.gdf.handle[0] == insert.dxf.handle
    assert any("blocks inserted" in n for n in got.notes)


def test_chinese_layer_in_r2000_gbk(tmp_path):
    doc = ezdxf.new("R2000")
    doc.encoding = "gbk"  # written as $DWGCODEPAGE ANSI_936
    doc.layers.add("用地红线")
    doc.modelspace().add_lwpolyline(_square(0, 0, 10), close=True, dxfattribs={"layer": "用地红线"})
    path = _save(doc, tmp_path)
    raw = path.read_bytes()
    assert b"ANSI_936" in raw and "用地红线".encode("gbk") in raw
    got = _read(path)
    assert got.gdf.layer.tolist() == ["用地红线"]
    assert (got.encoding, got.encoding_source) == ("gbk", "$DWGCODEPAGE ANSI_936")
    assert _read(path, layer="用地红线").gdf.layer.tolist() == ["用地红线"]


def test_gbk_names_under_a_latin_code_page(tmp_path):
    # an exporter that writes GBK bytes but says ANSI_1252
    doc = ezdxf.new("R2000")
    doc.layers.add("规划红线")
    doc.modelspace().add_lwpolyline(_square(0, 0, 10), close=True, dxfattribs={"layer": "规划红线"})
    path = tmp_path / "mislabelled.dxf"
    doc.saveas(path, encoding="gbk")
    assert b"ANSI_1252" in path.read_bytes()
    got = _read(path)
    assert got.gdf.layer.tolist() == ["规划红线"] and got.encoding == "gbk"
    assert any("ANSI_1252" in n for n in got.notes)


def test_utf8_drawing(tmp_path):
    doc = ezdxf.new("R2018")
    doc.modelspace().add_lwpolyline(_square(0, 0, 10), close=True, dxfattribs={"layer": "生态红线"})
    got = _read(_save(doc, tmp_path))
    assert got.gdf.layer.tolist() == ["生态红线"]
    assert (got.encoding, got.encoding_source) == ("utf-8", "DXF R2007+ (UTF-8)")


def test_millimetres_scaled(tmp_path):
    doc = ezdxf.new("R2010", units=4)
    doc.modelspace().add_lwpolyline(_square(500_000_000, 3_300_000_000, 100_000), close=True)
    got = _read(_save(doc, tmp_path))
    (polygon,) = got.gdf.geometry
    assert polygon.area == pytest.approx(100 * 100, rel=1e-12)
    assert polygon.bounds == pytest.approx((500_000, 3_300_000, 500_100, 3_300_100))
    assert any("millimetres" in n and "divided by 1000" in n for n in got.notes)


def test_open_polylines_only_refused(tmp_path):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    for k in range(3):
        msp.add_lwpolyline(_square(k * 100, 0, 50), dxfattribs={"layer": "红线"})  # not closed
    msp.add_line((0, 0), (10, 10), dxfattribs={"layer": "道路"})
    path = _save(doc, tmp_path)
    with pytest.raises(LayerReadError) as err:
        _read(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    assert "3 on layer 红线" in message and "1 on layer 道路" in message and "PEDIT" in message


def test_open_and_closed_mixed(tmp_path):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    msp.add_lwpolyline(_square(0, 0, 50), close=True, dxfattribs={"layer": "红线"})
    msp.add_lwpolyline(_square(100, 0, 50), dxfattribs={"layer": "红线"})
    msp.add_line((0, 0), (10, 10), dxfattribs={"layer": "道路"})
    msp.add_line((0, 5), (10, 15), dxfattribs={"layer": "道路"})
    got = _read(_save(doc, tmp_path))
    assert len(got.gdf) == 1
    assert any("3 open polylines or lines not used" in n and "2 on layer 道路" in n for n in got.notes)


def test_unknown_layer(tmp_path):
    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline(_square(0, 0, 50), close=True, dxfattribs={"layer": "红线"})
    path = _save(doc, tmp_path)
    with pytest.raises(LayerNotFoundError) as err:
        _read(path, layer="蓝线")
    assert "\n" not in str(err.value) and "'蓝线'" in str(err.value) and "红线" in str(err.value)
    assert len(_read(path, layer="红线").gdf) == 1


@pytest.mark.parametrize("content", [b"this is not a drawing\x00\xff" * 20, b"", b"  0\nSECTION\n  2\nHEADER\n"])
def test_not_a_dxf(tmp_path, content):
    path = tmp_path / "x.dxf"
    path.write_bytes(content)
    with pytest.raises(LayerReadError) as err:
        read_layer(path, crs="EPSG:4545")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: not a readable DXF drawing")
    assert "save it again from CAD as DXF" in message


def test_write_read_round_trip(tmp_path):
    with_hole = shapely.Polygon(_square(500_000.125, 3_300_000.5, 300), [_square(500_100.25, 3_300_100.75, 50)])
    two = shapely.MultiPolygon([shapely.Polygon(_square(501_000, 3_300_000, 80)),
                                shapely.Polygon(_square(501_200, 3_300_000, 40))])
    source = gpd.GeoDataFrame({"project_id": ["P-1", "P-2"], "layer": ["用地红线", "二期"]},
                              geometry=[with_hole, two], crs="EPSG:4545")
    path = tmp_path / "out.dxf"
    dxf.write(source, path)
    doc = ezdxf.readfile(path)
    assert doc.header["$INSUNITS"] == 6 and doc.dxfversion >= "AC1024"
    texts = {t.dxf.text: t.dxf.layer for t in doc.modelspace().query("TEXT")}
    assert texts == {"P-1": "用地红线", "P-2": "二期"}
    got = _read(path).gdf
    assert got.layer.tolist() == ["用地红线", "二期"] and got.project_id.tolist() == ["P-1", "P-2"]
    assert len(got.geometry[0].interiors) == 1
    for read_back, made in zip(got.geometry, [with_hole, two]):
        assert read_back.normalize().equals_exact(made.normalize(), 1e-6)


def test_write_lines_points_and_refuses_lonlat(tmp_path):
    layer = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (5, 5)]), shapely.Point(1, 2)], crs="EPSG:4545")
    path = tmp_path / "misc.dxf"
    dxf.write(layer, path)
    msp = ezdxf.readfile(path).modelspace()
    assert [e.dxftype() for e in msp] == ["LWPOLYLINE", "POINT"]
    assert {e.dxf.layer for e in msp} == {"REDLINE"}
    with pytest.raises(ValueError, match="DXF output needs metric coordinates"):
        dxf.write(layer.to_crs("EPSG:4490"), tmp_path / "lonlat.dxf")
