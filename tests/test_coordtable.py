"""Coordinate tables (redline.io.coordtable): CSV in GBK or UTF-8, XLSX, 国土 X/Y order, parcels and rings."""

from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from redline.errors import LayerNotFoundError, LayerReadError
from redline.geometry.area import area as measure
from redline.io import coordtable, read_layer
from redline.io.formats import CoordColumns, FormatOptions, sniff

GEOD = Geod(ellps="GRS80")
# a 100 m × 60 m parcel in CGCS2000 3° zone 38 (EPSG:4526): (easting, northing)
PARCEL = [(38512345.2, 3345678.1), (38512445.2, 3345678.1), (38512445.2, 3345738.1), (38512345.2, 3345738.1)]


def _geod_area(lonlat_rings: list[list[tuple[float, float]]]) -> float:
    """The GRS80 area of a hand-made polygon (outer ring, holes) in lon/lat: each ring measured on its own (pyproj
    adds the rings' signed areas, so a hole drawn the same way round as its shell would be added)."""
    outer, *holes = (abs(GEOD.geometry_area_perimeter(shapely.Polygon(ring))[0]) for ring in lonlat_rings)
    return outer - sum(holes)


def _csv(path: Path, lines: list[str], encoding: str) -> Path:
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def _guotu_lines(rows=PARCEL) -> list[str]:
    """A 国土-style table: a title, a blank line, then 点号, X (northing), Y (easting)."""
    lines = ["某某建设项目用地红线坐标,,", ",,", "点号,X坐标（m）,Y坐标（m）"]
    lines += [f"J{i},{n:.2f},{e:.2f}" for i, (e, n) in enumerate(rows, start=1)]
    return lines


def test_suffixes_are_registered(tmp_path):
    assert [sniff(tmp_path / f"t{s}") for s in (".csv", ".xlsx", ".XLS")] == ["coords"] * 3


def test_gbk_csv_with_title_rows_x_is_northing(tmp_path):
    path = _csv(tmp_path / "红线.csv", _guotu_lines(), "gbk")
    got = coordtable.read(path, None, None, FormatOptions())
    assert got.encoding == "gb18030" and got.encoding_source == "detected"
    assert got.gdf.crs is None
    assert got.gdf["project_id"].tolist() == ["红线"] and got.gdf["points"].tolist() == [4]
    assert shapely.get_coordinates(got.gdf.geometry.iloc[0]).tolist() == [list(p) for p in PARCEL + PARCEL[:1]]
    assert any("header in row 3" in n for n in got.notes)
    assert any("国土" in n and "northing" in n for n in got.notes)
    assert any("1 ring closed" in n for n in got.notes)
    # end to end: the zone-prefixed eastings give the CRS, the area is the parcel's on the ellipsoid
    gdf, report = read_layer(path, detect_crs=True, options=FormatOptions())
    assert report.crs.startswith("EPSG:4526")
    to_lonlat = Transformer.from_crs("EPSG:4526", "EPSG:4490", always_xy=True)
    ring = [to_lonlat.transform(e, n) for e, n in PARCEL]
    assert measure(gdf.geometry.values, gdf.crs)[0] == pytest.approx(_geod_area([ring]), rel=1e-7)


def test_math_order_table_is_recognised(tmp_path):
    lines = ["X,Y"] + [f"{e},{n}" for e, n in PARCEL]  # X holds the 8-digit eastings
    got = coordtable.read(_csv(tmp_path / "math.csv", lines, "utf-8"), None, None, FormatOptions())
    assert shapely.get_coordinates(got.gdf.geometry.iloc[0])[:4].tolist() == [list(p) for p in PARCEL]
    assert any("math order" in n for n in got.notes)
    plain = [f"{e:.1f}".removeprefix("38") + f",{n}" for e, n in PARCEL]  # eastings without the zone
    got = coordtable.read(_csv(tmp_path / "math2.csv", ["X,Y", *plain], "utf-8"), None, None, FormatOptions())
    assert shapely.get_coordinates(got.gdf.geometry.iloc[0])[0].tolist() == [512345.2, 3345678.1]


# lon/lat parcels: A with a hole (ring 2) and a second part (ring 3), B unclosed, C too short
OUTER = [(114.300, 30.500), (114.310, 30.500), (114.310, 30.510), (114.300, 30.510), (114.300, 30.500)]
HOLE = [(114.303, 30.503), (114.306, 30.503), (114.306, 30.506), (114.303, 30.506)]
PART = [(114.320, 30.500), (114.325, 30.500), (114.325, 30.505)]
B = [(114.400, 30.600), (114.405, 30.600), (114.405, 30.604), (114.400, 30.604)]


def _lonlat_lines() -> list[str]:
    lines = ["地块编号,圈号,点号,经度,纬度"]
    n = 0
    for parcel, ring, points in (("A", 1, OUTER), ("A", 2, HOLE), ("A", 3, PART), ("B", 1, B),
                                 ("C", 1, [(114.5, 30.7), (114.6, 30.7)])):
        for lon, lat in points:
            n += 1
            lines.append(f"{parcel},{ring},J{n},{lon},{lat}")
    return lines


def test_lonlat_parcels_rings_holes_and_parts(tmp_path):
    path = _csv(tmp_path / "parcels.csv", _lonlat_lines(), "utf-8-sig")
    got = coordtable.read(path, None, None, FormatOptions())
    gdf = got.gdf
    assert got.encoding == "utf-8" and gdf.crs.to_epsg() == 4490
    assert gdf["project_id"].tolist() == ["A", "B"]
    assert gdf["points"].tolist() == [4 + 4 + 3, 4]
    a = gdf.geometry.iloc[0]
    assert a.geom_type == "MultiPolygon" and len(a.geoms) == 2 and len(a.geoms[0].interiors) == 1
    assert got.dropped == [{"id": "C", "reason": "rows 18–19: 2 distinct points, fewer than 3 points"}]
    assert any("hole" in n for n in got.notes) and any("further part" in n for n in got.notes)
    gdf, report = read_layer(path, options=FormatOptions())
    assert report.crs.startswith("EPSG:4490") and report.dropped[0]["id"] == "C"
    expected = [_geod_area([OUTER, HOLE]) + _geod_area([PART]), _geod_area([B])]
    assert measure(gdf.geometry.values, gdf.crs) == pytest.approx(expected, rel=1e-7)


def test_rings_without_a_ring_column_split_where_the_boundary_returns(tmp_path):
    lines = ["经度,纬度"] + [f"{lon},{lat}" for lon, lat in OUTER + HOLE + HOLE[:1]]
    got = coordtable.read(_csv(tmp_path / "one.csv", lines, "utf-8"), None, None, FormatOptions())
    polygon = got.gdf.geometry.iloc[0]
    assert polygon.geom_type == "Polygon" and len(polygon.interiors) == 1
    assert got.gdf["project_id"].tolist() == ["one"]
    assert any("returns to its first point" in n for n in got.notes)


def test_xlsx_title_merged_parcels_and_sheets(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "说明"
    sheet.append(["这一页不是坐标"])
    coords = book.create_sheet("坐标")
    coords.append(["某某项目界址点成果表"])
    coords.merge_cells("A1:D1")
    coords.append(["宗地号", "界址点号", "X", "Y"])
    for i, (e, n) in enumerate(PARCEL):
        coords.append(["ZD-01" if i == 0 else None, f"J{i + 1}", n, e])  # merged parcel cells: blank below
    coords.append(["ZD-02", "J1", "３３４５８７８．１", "38,512,345.2"])  # full-width digits, thousands separators
    coords.append([None, "J2", 3345878.1, 38512445.2])
    coords.append([None, "J3", 3345938.1, 38512445.2])
    coords.append(["制表人：张三"])
    path = tmp_path / "成果表.xlsx"
    book.save(path)
    with pytest.raises(LayerReadError, match="no coordinate columns recognised"):
        coordtable.read(path, None, None, FormatOptions())  # the first sheet has none
    got = coordtable.read(path, "坐标", None, FormatOptions())
    assert got.gdf["project_id"].tolist() == ["ZD-01", "ZD-02"]
    assert shapely.get_coordinates(got.gdf.geometry.iloc[1])[0].tolist() == [38512345.2, 3345878.1]
    assert got.encoding_source == "XLSX"
    assert any("blank 宗地号 cells" in n for n in got.notes)
    assert any("1 row without coordinates skipped (row 10)" in n for n in got.notes)
    gdf, _ = read_layer(f"{path}:坐标", crs="EPSG:4526")
    assert len(gdf) == 2
    with pytest.raises(LayerNotFoundError) as err:
        read_layer(path, layer="没有")
    assert "说明" in str(err.value) and "坐标" in str(err.value)


def test_bad_cell_names_row_and_column(tmp_path):
    lines = _guotu_lines()
    lines[6] = "J4,\"3,3xx\",38512345.20"  # the 7th line of the file
    with pytest.raises(LayerReadError) as err:
        read_layer(_csv(tmp_path / "bad.csv", lines, "gbk"))
    assert str(err.value) == (f"{tmp_path / 'bad.csv'}: row 7, column X坐标（m）: '3,3xx' is not a number; "
                              f"fix the cell")


def test_ambiguous_comma_and_empty_cell(tmp_path):
    lines = ["经度,纬度", "\"114,3\",30.5", "114.31,30.5", "114.31,30.51"]
    with pytest.raises(LayerReadError, match=r"row 2, column 经度: '114,3' is not a number \(is the comma"):
        coordtable.read(_csv(tmp_path / "comma.csv", lines, "utf-8"), None, None, FormatOptions())
    lines = ["经度,纬度", "114.3,30.5", "114.31,", "114.31,30.51"]
    with pytest.raises(LayerReadError, match="row 3, column 纬度: the cell is empty"):
        coordtable.read(_csv(tmp_path / "empty.csv", lines, "utf-8"), None, None, FormatOptions())


def test_unrecognised_headers_list_the_columns_and_the_options(tmp_path):
    lines = ["编号,北向,东向"] + [f"J{i},{n},{e}" for i, (e, n) in enumerate(PARCEL)]
    path = _csv(tmp_path / "odd.csv", lines, "gbk")
    with pytest.raises(LayerReadError) as err:
        coordtable.read(path, None, None, FormatOptions())
    message = str(err.value)
    for part in ("'编号'", "'北向'", "'东向'", "--x-field", "--y-field", "--point-field", "--parcel-field",
                 "--ring-field"):
        assert part in message
    columns = CoordColumns(x="北向", y="东向", point="编号")
    gdf, _ = read_layer(path, crs="EPSG:4526", options=FormatOptions(columns=columns))
    assert shapely.get_coordinates(gdf.geometry.iloc[0])[0].tolist() == list(PARCEL[0])
    with pytest.raises(LayerReadError, match=r"no x column '北坐标' \(--x-field\)"):
        coordtable.read(path, None, None, FormatOptions(columns=CoordColumns(x="北坐标")))


def test_given_encoding_wins(tmp_path):
    path = _csv(tmp_path / "gbk.csv", _guotu_lines(), "gbk")
    got = coordtable.read(path, None, "gbk", FormatOptions())
    assert got.encoding == "gbk" and got.encoding_source == "given"
    with pytest.raises(LayerReadError, match="not utf-8"):
        coordtable.read(path, None, "utf-8", FormatOptions())


def test_old_excel_and_csv_layer_are_refused(tmp_path):
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(LayerReadError, match=r"save it as \.xlsx or \.csv"):
        read_layer(tmp_path / "old.xls")
    path = _csv(tmp_path / "t.csv", _guotu_lines(), "utf-8")
    with pytest.raises(LayerNotFoundError, match="holds one table"):
        coordtable.read(path, "Sheet1", None, FormatOptions())


def test_xy_columns_holding_degrees(tmp_path):
    lines = ["X,Y"] + [f"{lon},{lat}" for lon, lat in B]
    got = coordtable.read(_csv(tmp_path / "deg.csv", lines, "utf-8"), None, None, FormatOptions())
    assert got.gdf.crs.to_epsg() == 4490
    assert np.allclose(shapely.get_coordinates(got.gdf.geometry.iloc[0])[:4], B)
    assert any("degrees" in n for n in got.notes)
