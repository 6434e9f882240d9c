"""KML/KMZ (redline.io.kml): folders merged, names as project ids, 奥维/GCJ-02 marks, zip limits, writing."""

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from redline.errors import LayerNotFoundError, LayerReadError, OutputError
from redline.geometry.gcj02 import wgs84_to_gcj02
from redline.io import kml, read_layer
from redline.io.formats import FormatOptions, sniff

SQUARE = "114.30,30.50,0 114.31,30.50,0 114.31,30.51,0 114.30,30.51,0 114.30,30.50,0"
CLOSED_LINE = "114.32,30.50 114.33,30.50 114.33,30.51 114.32,30.50"


def _kml(body: str, head: str = "", namespaces: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<kml xmlns="http://www.opengis.net/kml/2.2"{namespaces}>\n<Document>{head}\n{body}\n</Document>\n</kml>\n')


PLAIN = _kml(f"""
<Folder><name>地块</name>
  <Placemark><name>XM-001</name><description>一号地块</description>
    <ExtendedData><Data name="面积"><value>12.5</value></Data><Data name="单位"><value>某某公司</value></Data></ExtendedData>
    <Polygon><outerBoundaryIs><LinearRing><coordinates>{SQUARE}</coordinates></LinearRing></outerBoundaryIs></Polygon>
  </Placemark>
  <Placemark><name>XM-002</name><LineString><coordinates>{CLOSED_LINE}</coordinates></LineString></Placemark>
</Folder>
<Folder><name>线路</name>
  <Placemark><name>道路</name><LineString><coordinates>114.30,30.52 114.35,30.52</coordinates></LineString></Placemark>
  <Placemark><name>界桩</name><Point><coordinates>114.30,30.53,12</coordinates></Point></Placemark>
</Folder>""", head="<name>项目红线</name>")

OVITAL = _kml(f"""
<Folder><name>面</name>
  <Placemark><name>XM-101</name><LineString><coordinates>{CLOSED_LINE}</coordinates></LineString></Placemark>
</Folder>""", head="<name>奥维互动地图导出</name>", namespaces=' xmlns:ovital="http://www.ovital.com/kml"')


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _kmz(path: Path, text: str, name: str = "doc.kml") -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, text.encode("utf-8"))
    return path


def test_suffixes_are_registered(tmp_path):
    assert sniff(tmp_path / "a.kml") == "kml" and sniff(tmp_path / "a.KMZ") == "kml"


def test_folders_merged_names_as_project_ids(tmp_path):
    got = kml.read(_write(tmp_path / "plain.kml", PLAIN), None, None, FormatOptions())
    gdf = got.gdf
    assert list(gdf.columns[:4]) == ["project_id", "name", "description", "folder"]
    assert gdf["project_id"].tolist() == ["XM-001", "XM-002", "道路", "界桩"]
    assert gdf["name"].tolist() == gdf["project_id"].tolist()
    assert gdf["folder"].tolist() == ["地块", "地块", "线路", "线路"]
    assert gdf["description"].iloc[0] == "一号地块"
    assert gdf["面积"].iloc[0] == "12.5" and gdf["单位"].iloc[0] == "某某公司"  # Chinese ExtendedData names kept
    for noise in ("id", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude", "visibility",
                  "drawOrder", "icon"):
        assert noise not in gdf.columns
    assert gdf.crs.to_epsg() == 4326 and gdf.index.name == "fid"
    assert got.encoding == "utf-8" and got.encoding_source == "XML"
    assert gdf.geom_type.tolist() == ["Polygon", "Polygon", "LineString", "Point"]
    square = shapely.get_coordinates(gdf.geometry.iloc[0])
    assert np.allclose(square[:4], [[114.30, 30.50], [114.31, 30.50], [114.31, 30.51], [114.30, 30.51]], atol=0)
    assert any("1 closed line" in n and "polygon" in n for n in got.notes)
    assert not any(n.startswith("warning") for n in got.notes)


def test_read_layer_end_to_end_polygons_only(tmp_path):
    gdf, report = read_layer(_write(tmp_path / "plain.kml", PLAIN), geometry="polygon", options=FormatOptions())
    assert gdf["project_id"].tolist() == ["XM-001", "XM-002"]
    assert report.crs.startswith("EPSG:4326")
    assert {d["reason"] for d in report.dropped} == {"LineString in a polygon layer", "Point in a polygon layer"}
    # the closed line made a polygon of the expected area (hand-made triangle on GRS80)
    area, _ = Geod(ellps="GRS80").geometry_area_perimeter(
        shapely.Polygon([(114.32, 30.50), (114.33, 30.50), (114.33, 30.51)]))
    from redline.geometry.area import area as measure
    assert measure(gdf.geometry.values[1:], gdf.crs)[0] == pytest.approx(abs(area), rel=1e-9)


def test_one_folder_by_name_and_unknown_folder(tmp_path):
    path = _write(tmp_path / "plain.kml", PLAIN)
    gdf, _ = read_layer(f"{path}:线路")
    assert gdf["project_id"].tolist() == ["道路", "界桩"] and set(gdf["folder"]) == {"线路"}
    with pytest.raises(LayerNotFoundError) as err:
        read_layer(path, layer="没有")
    assert "地块" in str(err.value) and "线路" in str(err.value) and "\n" not in str(err.value)


def test_ovital_export_warns_without_gcj02(tmp_path):
    got = kml.read(_write(tmp_path / "ov.kml", OVITAL), None, None, FormatOptions())
    warning = [n for n in got.notes if n.startswith("warning: ")]
    assert len(warning) == 1
    assert "奥维" in warning[0] and "GCJ-02" in warning[0] and "--gcj02" in warning[0] and "300–600 m" in warning[0]
    assert got.gdf.geom_type.tolist() == ["Polygon"]


def test_ovital_export_with_gcj02_is_a_plain_note_and_converted(tmp_path):
    lon, lat = 114.32, 30.50
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    text = OVITAL.replace(CLOSED_LINE, f"{glon!r},{glat!r} 114.33,30.50 114.33,30.51 {glon!r},{glat!r}")
    path = _write(tmp_path / "ov.kml", text)
    got = kml.read(path, None, None, FormatOptions(gcj02=True))
    assert not any(n.startswith("warning") for n in got.notes)
    assert any("奥维" in n and "--gcj02" in n for n in got.notes)
    gdf, report = read_layer(path, options=FormatOptions(gcj02=True))
    first = shapely.get_coordinates(gdf.geometry.iloc[0])[0]
    assert first == pytest.approx([lon, lat], abs=1e-8)  # back on WGS84/CGCS2000
    assert any("GCJ-02 coordinates converted" in n for n in report.notes)


def test_gcj_mark_in_the_text_and_no_mark(tmp_path):
    marked = PLAIN.replace("<description>一号地块</description>", "<description>坐标系：GCJ-02（火星坐标）</description>")
    got = kml.read(_write(tmp_path / "gcj.kml", marked), None, None, FormatOptions())
    assert any(n.startswith("warning: ") and "GCJ" in n for n in got.notes)
    plain = kml.read(_write(tmp_path / "plain.kml", PLAIN), None, None, FormatOptions())
    assert not any("GCJ" in n for n in plain.notes)


def test_kmz_read_directly(tmp_path):
    zipped = kml.read(_kmz(tmp_path / "plain.kmz", PLAIN), None, None, FormatOptions())
    flat = kml.read(_write(tmp_path / "plain.kml", PLAIN), None, None, FormatOptions())
    assert zipped.gdf["project_id"].tolist() == flat.gdf["project_id"].tolist()
    assert shapely.equals_exact(zipped.gdf.geometry.values, flat.gdf.geometry.values, tolerance=0).all()
    ov = kml.read(_kmz(tmp_path / "ov.kmz", OVITAL), None, None, FormatOptions())
    assert any(n.startswith("warning: ") for n in ov.notes)  # the mark is looked for inside the zip too


def test_kmz_zip_bomb_refused(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.kmz"
    padded = PLAIN.replace("<Document>", "<Document>" + " " * (3 * 1024 * 1024))  # ~1000 times compressible
    _kmz(bomb, padded)
    with pytest.raises(LayerReadError) as err:
        kml.read(bomb, None, None, FormatOptions())
    assert "zip bomb" in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setattr(kml, "_MAX_MEMBER", 500)
    with pytest.raises(LayerReadError, match="zip bomb"):
        read_layer(_kmz(tmp_path / "big.kmz", PLAIN))


@pytest.mark.parametrize("content, reason", [
    (PLAIN[:400], "no element found"),
    ("just some text\n", "syntax error"),
])
def test_broken_kml_is_one_line(tmp_path, content, reason):
    path = _write(tmp_path / "broken.kml", content)
    with pytest.raises(LayerReadError) as err:
        read_layer(path)
    message = str(err.value)
    assert message.startswith(f"{path}: not a readable KML/KMZ (") and reason in message
    assert message.endswith("export it again") and "\n" not in message


def test_broken_kmz(tmp_path):
    (tmp_path / "notzip.kmz").write_bytes(b"PK\x03\x04 this is no zip")
    with pytest.raises(LayerReadError, match="not a readable KML/KMZ"):
        read_layer(tmp_path / "notzip.kmz")
    with zipfile.ZipFile(tmp_path / "empty.kmz", "w") as zf:
        zf.writestr("images/a.png", b"\x89PNG")
    with pytest.raises(LayerReadError, match="no .kml file inside"):
        read_layer(tmp_path / "empty.kmz")


def _projects() -> gpd.GeoDataFrame:
    """Two projects in CGCS2000 3° zone 38 (EPSG:4526), Chinese attributes, two folders."""
    return gpd.GeoDataFrame(
        {"project_id": ["XM-1", "XM-2", "XM-3"], "name": ["产业园一期", "产业园二期", "道路"],
         "用地面积": [1.5, 2.25, 0.5], "folder": ["一期", "二期", "一期"]},
        geometry=[shapely.box(38512000, 3345000, 38512400, 3345300),
                  shapely.Polygon([(38513000, 3345000), (38513500, 3345000), (38513200, 3345400)]),
                  shapely.LineString([(38512000, 3345500), (38513000, 3345600)])],
        crs="EPSG:4526")


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
def test_write_and_read_back(tmp_path, suffix):
    gdf = _projects()
    path = tmp_path / f"projects{suffix}"
    kml.write(gdf, path)
    back = kml.read(path, None, None, FormatOptions()).gdf
    assert back["project_id"].tolist() == ["XM-1", "XM-3", "XM-2"]  # grouped by folder, in order of appearance
    assert back["folder"].tolist() == ["一期", "一期", "二期"]
    expected = gdf.to_crs("EPSG:4326").set_index("project_id").loc[back["project_id"]]
    assert back["name"].tolist() == expected["name"].tolist()
    assert back["用地面积"].astype(float).tolist() == expected["用地面积"].tolist()
    for got, want in zip(back.geometry.values, expected.geometry.values):
        a = shapely.get_coordinates(got)
        b = shapely.get_coordinates(want)
        if shapely.get_type_id(want) == 3:  # the ring may start elsewhere: compare as sets of vertices
            a, b = np.unique(a, axis=0), np.unique(b, axis=0)
        assert np.abs(a - b).max() < 1e-7


def test_written_kml_is_what_google_earth_reads(tmp_path):
    path = tmp_path / "out.kml"
    kml.write(_projects(), path)
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    root = ET.parse(path).getroot()
    folders = root.findall(".//k:Folder", ns)
    assert [f.find("k:name", ns).text for f in folders] == ["一期", "二期"]
    names = [p.find("k:name", ns).text for p in root.iter("{http://www.opengis.net/kml/2.2}Placemark")]
    assert names == ["XM-1", "XM-3", "XM-2"]
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))  # no clashing ids for Chinese folder names
    data = {d.get("name") for d in root.iter("{http://www.opengis.net/kml/2.2}Data")}
    assert data == {"name", "用地面积"}
    lon, lat = (float(v) for v in root.find(".//k:coordinates", ns).text.split()[0].split(",")[:2])
    assert 114 < lon < 116 and 30 < lat < 31


def test_write_a_layer_without_crs_is_refused(tmp_path):
    gdf = _projects().set_crs(None, allow_override=True)
    with pytest.raises(OutputError, match="no CRS"):
        kml.write(gdf, tmp_path / "x.kml")


def test_a_given_encoding_is_noted_not_used(tmp_path):
    got = kml.read(_write(tmp_path / "plain.kml", PLAIN), None, "gbk", FormatOptions())
    assert any("not used" in n for n in got.notes)
    assert got.gdf["project_id"].iloc[0] == "XM-001"
