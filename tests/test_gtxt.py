"""国土TXT: reading (CRS from the header, zones checked, rings, declared areas), writing, the round trip, and
every bad case with its one-line message. Areas are checked against pyproj.Geod on the vertices."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod, Transformer

from redline.errors import CRSError, GeometryError, LayerReadError
from redline.io import read_layer
from redline.io.formats import FormatOptions
from redline.io.gtxt import txt_crs

GEOD = Geod(ellps="GRS80")

HEADER = """[属性描述]
格式版本号=1.01版本
数据产生单位=某设计院
坐标系={datum}
几度分带={width}
投影类型=高斯克吕格
计量单位=米
带号={zone}
精度=0.001
转换参数={params}
[地块坐标]
"""


def square(x0: float, y0: float, size: float, ring: int = 1, start: int = 1, close: bool = True) -> list[str]:
    """Point lines of a square, X = northing, Y = easting (y0 the easting), clockwise, closed on J{start}."""
    corners = [(x0, y0), (x0, y0 + size), (x0 - size, y0 + size), (x0 - size, y0)]
    lines = [f"J{start + i},{ring},{x:.3f},{y:.3f}" for i, (x, y) in enumerate(corners)]
    return lines + ([f"J{start},{ring},{x0:.3f},{y0:.3f}"] if close else [])


def txt(parcels: list[tuple[str, list[str]]], *, datum="2000国家大地坐标系", width=3, zone="36", params=",,,,,,") -> str:
    body = HEADER.format(datum=datum, width=width, zone=zone, params=params)
    for attrs, points in parcels:
        body += f"{len(points)},{attrs},@\n" + "\n".join(points) + "\n"
    return body


def write(tmp_path, text: str, name="a.txt", encoding="gbk", newline="\r\n", bom=False):
    path = tmp_path / name
    data = text.replace("\n", newline).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def geod_area(points_xy: list[tuple[float, float]], crs) -> float:
    """Area of a ring (easting, northing in ``crs``) by pyproj.Geod on its vertices, densified every 10 m."""
    ring = shapely.segmentize(shapely.LinearRing(points_xy), 10.0)
    to_ll = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    lon, lat = to_ll.transform(*np.asarray(ring.coords).T)
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def two_parcels() -> str:
    outer = square(3266000, 36480000, 100)
    holed = square(3266000, 36481000, 100) + square(3265960, 36481040, 20, ring=2, start=5)
    return txt([("1.0000,D-1,示例工业地块,面,,工业用地,0601", outer),
                ("0.9600,D-2,示例光伏地块,面,H49G001001,光伏发电,", holed)])


@pytest.mark.parametrize("encoding,newline,bom", [("gbk", "\r\n", False), ("gb18030", "\n", False),
                                                  ("utf-8", "\r\n", True), ("utf-8", "\n", False)])
def test_reads_every_encoding_and_line_end(tmp_path, encoding, newline, bom):
    path = write(tmp_path, two_parcels(), encoding=encoding, newline=newline, bom=bom)
    gdf, report = read_layer(path)
    assert list(gdf["project_id"]) == ["D-1", "D-2"]
    assert list(gdf["name"]) == ["示例工业地块", "示例光伏地块"]
    assert list(gdf["category"]) == ["industrial", "energy"]
    assert gdf.loc[gdf.index[1], "sheet"] == "H49G001001"
    assert report.crs == "EPSG:4524" and report.crs_source == "file"
    assert report.format == "gtxt"
    assert not [n for n in report.notes if n.startswith("warning")], report.notes


def test_x_is_northing_and_hole_by_nesting(tmp_path):
    gdf, _ = read_layer(write(tmp_path, two_parcels()))
    first, second = gdf.geometry.values
    x0, y0, x1, y1 = first.bounds
    assert (x0, y1) == (36480000, 3266000)  # easting from Y, northing from X
    assert len(second.interiors) == 1
    assert second.area == pytest.approx(100 * 100 - 20 * 20)


def test_area_matches_geod(tmp_path):
    """The measured area of a 地块 (its hole taken out) against pyproj.Geod on the vertices."""
    gdf, _ = read_layer(write(tmp_path, two_parcels()))
    from redline.geometry.area import ellipsoidal_area

    crs = CRS.from_epsg(4524)
    outer = [(36481000, 3266000), (36481100, 3266000), (36481100, 3265900), (36481000, 3265900)]
    hole = [(36481040, 3265960), (36481060, 3265960), (36481060, 3265940), (36481040, 3265940)]
    expected = geod_area(outer, crs) - geod_area(hole, crs)
    measured = ellipsoidal_area(gdf.geometry.values[1:], crs=gdf.crs)[0]
    assert measured == pytest.approx(expected, rel=1e-9)


def test_declared_area_checked(tmp_path):
    text = txt([("1.0200,D-1,甲,面,,工业,", square(3266000, 36480000, 100)),
                ("10000.0,D-2,乙,面,,工业,", square(3266000, 36481000, 100))])
    _, report = read_layer(write(tmp_path, text))
    warned = [n for n in report.notes if n.startswith("warning: 地块")]
    assert len(warned) == 2
    assert "D-1" in warned[0] and "+2.0" in warned[0]
    assert "square metres" in warned[1]


def test_unclosed_ring_closed_and_said(tmp_path):
    text = txt([("1.0,D-1,甲,面,,,", square(3266000, 36480000, 100, close=False))])
    gdf, report = read_layer(write(tmp_path, text))
    assert gdf.geometry.values[0].area == pytest.approx(1e4)
    assert any("does not close" in n for n in report.notes)


def test_fewer_than_three_points_dropped(tmp_path):
    text = txt([("1.0,D-1,甲,面,,,", square(3266000, 36480000, 100)),
                ("0.1,D-2,乙,面,,,", ["J1,1,3266000,36481000", "J2,1,3266000,36481100", "J1,1,3266000,36481000"])])
    gdf, report = read_layer(write(tmp_path, text))
    assert list(gdf["project_id"]) == ["D-1"]
    assert report.dropped and "D-2" in report.dropped[0]["reason"] and "fewer than 3" in report.dropped[0]["reason"]
    only_bad = txt([("0.1,D-2,乙,面,,,", ["J1,1,3266000,36481000", "J2,1,3266000,36481100"])])
    with pytest.raises(GeometryError, match="no usable geometry.*fewer than 3"):
        read_layer(write(tmp_path, only_bad, name="b.txt"))


def test_ring_number_gap_reported(tmp_path):
    points = square(3266000, 36481000, 100) + square(3265960, 36481040, 20, ring=3, start=5)
    _, report = read_layer(write(tmp_path, txt([("0.96,D-1,甲,面,,,", points)])))
    assert any("圈号 1, 3" in n and "gap" in n for n in report.notes)


def test_second_part_outside_is_a_part_not_a_hole(tmp_path):
    points = square(3266000, 36481000, 100) + square(3266000, 36482000, 50, ring=2, start=5)
    gdf, _ = read_layer(write(tmp_path, txt([("1.25,D-1,甲,面,,,", points)])))
    geom = gdf.geometry.values[0]
    assert geom.geom_type == "MultiPolygon" and geom.area == pytest.approx(1e4 + 2500)


def test_zone_contradicting_eastings_refused(tmp_path):
    path = write(tmp_path, txt([("1.0,D-1,甲,面,,,", square(3266000, 37480000, 100))], zone="36"))
    with pytest.raises(CRSError) as err:
        read_layer(path)
    message = str(err.value)
    assert "\n" not in message and "带号=36" in message and "37" in message and "does not guess" in message


def test_neighbouring_zone_prefix_moved_not_redetected(tmp_path):
    """One point computed in the next zone: the declared zone is kept, the point reprojected into it."""
    to37 = Transformer.from_crs("EPSG:4524", "EPSG:4525", always_xy=True)
    e, n = 36650000.0, 3266000.0
    e37, n37 = to37.transform(e + 100, n)
    points = [f"J1,1,{n:.3f},{e:.3f}", f"J2,1,{n37:.3f},{e37:.3f}", f"J3,1,{n - 100:.3f},{e + 100:.3f}",
              f"J4,1,{n - 100:.3f},{e:.3f}", f"J1,1,{n:.3f},{e:.3f}"]
    gdf, report = read_layer(write(tmp_path, txt([("1.0,D-1,甲,面,,,", points)])))
    assert report.crs == "EPSG:4524"
    assert any("neighbouring zone's prefix 37" in n for n in report.notes)
    xy = shapely.get_coordinates(gdf.geometry.values[0])
    assert np.allclose(xy[1], (e + 100, n), atol=1e-3)


def test_mixed_prefix_refused(tmp_path):
    points = ["J1,1,3266000,36480000", "J2,1,3266000,480100", "J3,1,3265900,480100", "J1,1,3266000,36480000"]
    with pytest.raises(CRSError, match="some eastings carry a zone prefix and some don't"):
        read_layer(write(tmp_path, txt([("1.0,D-1,甲,面,,,", points)])))


def test_without_prefix_uses_central_meridian_crs(tmp_path):
    text = txt([("1.0,D-1,甲,面,,,", square(3266000, 480000, 100))], zone="36")
    _, report = read_layer(write(tmp_path, text, encoding="utf-8", bom=True))
    assert report.crs == "EPSG:4545"


def test_no_zone_and_no_prefix_needs_crs(tmp_path):
    path = write(tmp_path, txt([("1.0,D-1,甲,面,,,", square(3266000, 480000, 100))], zone=""))
    with pytest.raises(CRSError, match="--crs"):
        read_layer(path)
    _, report = read_layer(path, crs="EPSG:4545")
    assert report.crs == "EPSG:4545" and report.crs_source == "given"


def test_map_order_file_read_and_warned(tmp_path):
    points = [f"J{i},1,{y:.3f},{x:.3f}" for i, (x, y) in enumerate(
        [(3266000, 36480000), (3266000, 36480100), (3265900, 36480100), (3266000, 36480000)], start=1)]
    gdf, report = read_layer(write(tmp_path, txt([("0.5,D-1,甲,面,,,", points)])))
    assert report.crs == "EPSG:4524"
    assert any("map order" in n for n in report.notes)


@pytest.mark.parametrize("datum,width,zone,prefixed,code", [
    ("CGCS2000", 3, 25, True, 4513), ("CGCS2000", 3, 45, False, 4554), ("CGCS2000", 6, 13, True, 4491),
    ("CGCS2000", 6, 23, False, 4512), ("Xian 1980", 3, 36, True, 2360), ("Xian 1980", 3, 36, False, 2381),
    ("Xian 1980", 6, 18, True, 2332), ("Xian 1980", 6, 18, False, 2343), ("Beijing 1954", 3, 39, True, 2415),
    ("Beijing 1954", 3, 39, False, 2436), ("Beijing 1954", 6, 20, True, 21420), ("Beijing 1954", 6, 20, False, 21460),
])
def test_crs_table(datum, width, zone, prefixed, code):
    crs = txt_crs(datum, width, zone, prefixed)
    assert crs.to_epsg() == code
    name = crs.name
    assert name.startswith(datum)
    cm = 3 * zone if width == 3 else 6 * zone - 3
    assert (f"zone {zone}" in name) if prefixed else (f"CM {cm}E" in name)


def test_xian80_with_parameters_shifted(tmp_path):
    params = "24,-123,-94,0.02,-0.25,-0.13,1.1"
    text = txt([("1.0,D-1,甲,面,,,", square(3266000, 36480000, 100))], datum="1980西安坐标系", params=params)
    gdf, report = read_layer(write(tmp_path, text))
    assert report.towgs84 == params and report.crs == "EPSG:4524"
    moved = Transformer.from_crs(
        CRS.from_proj4(f"+proj=tmerc +lat_0=0 +lon_0=108 +k=1 +x_0=36500000 +y_0=0 +a=6378140 +rf=298.257 "
                       f"+towgs84={params} +units=m"), "EPSG:4326", always_xy=True).transform(36480000, 3266000)
    expected = Transformer.from_crs("EPSG:4326", "EPSG:4524", always_xy=True).transform(*moved)
    assert np.allclose(shapely.get_coordinates(gdf.geometry.values[0]).min(axis=0)[0], expected[0], atol=0.01)
    shift = abs(gdf.geometry.values[0].bounds[0] - 36480000)
    assert 1 < shift < 300  # a datum shift of metres to hundreds of metres, not nothing


def test_xian80_without_parameters_warned(tmp_path):
    text = txt([("1.0,D-1,甲,面,,,", square(3266000, 36480000, 100))], datum="1980西安坐标系")
    _, report = read_layer(write(tmp_path, text))
    assert report.crs == "EPSG:2360"
    assert any(n.startswith("warning") and "ballpark" in n and "--towgs84" in n for n in report.notes)
    _, given = read_layer(write(tmp_path, text, name="b.txt"), options=FormatOptions(towgs84="24,-123,-94"))
    assert given.towgs84 == "24,-123,-94" and given.crs == "EPSG:4524"


def test_field_name_line_and_thirteen_fields(tmp_path):
    body = HEADER.format(datum="2000国家大地坐标系", width=3, zone=36, params="") + \
        "界址点数,地块面积,地块编号,地块名称,记录图形属性(点、线、面),图幅号,地块用途,地类编码,@\n"
    points = square(3266000, 36480000, 100)
    body += f"{len(points)},1.0,D-9,甲,面,,采石场,0602,备注,项目甲,,,,@\n" + "\n".join(points) + "\n"
    gdf, _ = read_layer(write(tmp_path, body))
    assert gdf.iloc[0]["project_id"] == "D-9" and gdf.iloc[0]["category"] == "mining"
    assert gdf.iloc[0]["land_class"] == "0602"


def test_unmapped_purpose_reported(tmp_path):
    text = txt([("1.0,D-1,甲,面,,其他用途,", square(3266000, 36480000, 100))])
    gdf, report = read_layer(write(tmp_path, text))
    assert gdf.iloc[0]["category"] is None
    assert any("其他用途" in n and "project_purposes.toml" in n for n in report.notes)


@pytest.mark.parametrize("body,match", [
    ("[属性描述]\n带号=36\n[地块坐标]\n", "no 地块"),
    (txt([("1.0,D-1,甲,面,,,", ["J1,1,3266000,3648000O", "J2,1,1,1", "J3,1,2,2"])]), "line 13: Y '3648000O' is not a number"),
    (txt([("1.0,D-1,甲,面,,,", square(3266000, 36480000, 100))], zone="50"), "带号=50 is not a 3° Gauss-Krüger zone"),
    (txt([("1.0,D-1,甲,面,,,", square(3266000, 36480000, 100))], datum="地方坐标系"), "坐标系='地方坐标系'"),
    (txt([("1.0,D-1,甲,面,,,", square(3266000, 36480000, 100))], width=4), "几度分带='4'"),
])
def test_bad_files_one_line(tmp_path, body, match):
    with pytest.raises((LayerReadError, CRSError)) as err:
        read_layer(write(tmp_path, body))
    assert match in str(err.value) and "\n" not in str(err.value)
    assert str(tmp_path / "a.txt") in str(err.value)


def test_plain_txt_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(LayerReadError, match="not a 国土TXT"):
        read_layer(path)


def test_round_trip_keeps_points_to_precision(tmp_path):
    """TXT → GPKG → TXT: every point within the file's 精度 (0.001 m), the hole and the ids kept."""
    src = write(tmp_path, two_parcels())
    gpkg, back = tmp_path / "a.gpkg", tmp_path / "back.txt"
    run = [sys.executable, "-m", "redline", "convert"]
    for a, b in ((src, gpkg), (gpkg, back)):
        done = subprocess.run([*run, str(a), str(b)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    text = back.read_bytes().decode("gbk")
    assert "\r\n" in text and "精度=0.001\r\n" in text and "带号=36" in text
    original, _ = read_layer(src)
    again, _ = read_layer(back)
    assert list(again["project_id"]) == list(original["project_id"])
    for a, b in zip(original.geometry.values, again.geometry.values):
        assert shapely.equals_exact(a, b, tolerance=0.0005 + 1e-9)
        assert len(a.interiors) == len(b.interiors)


def test_write_lonlat_goes_to_its_zone(tmp_path):
    import geopandas as gpd

    from redline.io.write import write_as

    square_ll = shapely.box(108.70, 29.50, 108.71, 29.51)
    gdf = gpd.GeoDataFrame({"project_id": ["Z1"], "name": ["经纬度地块"]}, geometry=[square_ll], crs="EPSG:4490")
    path, notes = write_as(gdf, tmp_path / "z.txt")
    assert any("EPSG:4524" in n for n in notes)
    back, report = read_layer(path)
    assert report.crs == "EPSG:4524"
    lon, lat = np.asarray(square_ll.exterior.coords).T
    expected = abs(GEOD.polygon_area_perimeter(lon, lat)[0])
    declared = float(path.read_bytes().decode("gbk").split("[地块坐标]")[1].split(",")[1])
    assert declared == pytest.approx(expected / 1e4, abs=1e-4)


def test_screen_cli_on_txt(tmp_path):
    """A 国土TXT screened end to end: the ids, names and categories come from the file."""
    from redline._resources import resource_dir

    sample = resource_dir("sample")
    path = write(tmp_path, two_parcels())
    done = subprocess.run([sys.executable, "-m", "redline", "screen", str(path), "--layer",
                           f"eco_redline={sample / 'eco_redline.gpkg'}", "--buffers", "none", "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [p["id"] for p in data["projects"]] == ["D-1", "D-2"]
    assert [p["category"] for p in data["projects"]] == ["industrial", "energy"]


def test_header_and_attribute_variants(tmp_path):
    """带号=第36带, 几度分带=3度, an attribute line ending in "0601@", a 界址点数 that does not match."""
    points = square(3266000, 36480000, 100)
    body = HEADER.format(datum="国家2000坐标系", width="3度", zone="第36带", params="").replace("精度=0.001", "精度=0.001米")
    body += "7,1.0,D-1,甲,面,,工业用地,0601@\n" + "\n".join(points) + "\n"
    gdf, report = read_layer(write(tmp_path, body))
    assert report.crs == "EPSG:4524"
    assert gdf.iloc[0]["land_class"] == "0601"
    assert any("界址点数 says 7 points, 5 point lines follow" in n for n in report.notes)


def test_six_degree_zone(tmp_path):
    from pyproj import Transformer

    e, n = Transformer.from_crs("EPSG:4490", "EPSG:4497", always_xy=True).transform(108.7, 29.5)
    text = txt([("1.0,D-1,甲,面,,,", square(n, e, 100))], width=6, zone="19")
    gdf, report = read_layer(write(tmp_path, text))
    assert report.crs == "EPSG:4497"
    assert gdf.to_crs(4490).geometry.values[0].bounds[0] == pytest.approx(108.7, abs=1e-6)


def test_written_eastings_carry_the_zone_prefix_whatever_the_layers_crs(tmp_path):
    """A layer in a central-meridian zone (EPSG:4545, no prefix) is written with 带号-prefixed eastings, as 报盘
    files carry them: the same points, 36 000 000 m further east, and read back where they were."""
    import geopandas as gpd

    from redline.io.write import write_as

    square = shapely.box(573_000, 3_245_000, 573_400, 3_245_300)
    gdf = gpd.GeoDataFrame({"project_id": ["A"]}, geometry=[square], crs="EPSG:4545")
    write_as(gdf, tmp_path / "a.txt")
    text = (tmp_path / "a.txt").read_bytes().decode("gbk")
    eastings = [float(line.split(",")[3]) for line in text.splitlines() if line.startswith("J")]
    assert sorted(set(eastings)) == [36_573_000.0, 36_573_400.0]
    back, _ = read_layer(tmp_path / "a.txt")
    assert CRS.from_user_input(back.crs).to_epsg() == 4524
    assert shapely.hausdorff_distance(back.to_crs("EPSG:4545").geometry.iloc[0], square) < 1e-6
