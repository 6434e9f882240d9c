"""Reading layers: formats × engines, encodings, CRS handling, repair, and bad input."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pytest
import shapely
from shapely import box

from redline.geometry.area import ellipsoidal_area
from redline.errors import CRSError, GeometryError, LayerNotFoundError, LayerReadError, RedlineError
from redline.io import atomic_output, detect_encoding, list_layers, read_layer, reproject, write_layer

from conftest import BOWTIE, NAMES, SQUARE, sample_gdf, write_shapefile

FORMATS = {
    "gpkg": lambda g, p: g.to_file(p.with_suffix(".gpkg"), layer="乡镇", engine="pyogrio") or p.with_suffix(".gpkg"),
    "shp": lambda g, p: write_shapefile(g, p.with_suffix(".shp"), encoding="UTF-8"),
    "geojson": lambda g, p: g.to_file(p.with_suffix(".geojson"), engine="pyogrio") or p.with_suffix(".geojson"),
    "fgb": lambda g, p: g.to_file(p.with_suffix(".fgb"), engine="pyogrio") or p.with_suffix(".fgb"),
    "parquet": lambda g, p: g.to_parquet(p.with_suffix(".parquet")) or p.with_suffix(".parquet"),
}


@pytest.mark.parametrize("engine", ["pyogrio", "fiona"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_read_formats_both_engines(tmp_path, fmt, engine):
    path = FORMATS[fmt](sample_gdf(), tmp_path / "layer")
    gdf, report = read_layer(path, engine=engine)
    if fmt == "fgb":  # FlatGeobuf stores features in spatial-index (Hilbert) order
        gdf = gdf.set_index("名称").loc[NAMES].reset_index()
    assert gdf["名称"].tolist() == NAMES
    assert gdf.crs.to_epsg() == 4490
    assert report.crs == "EPSG:4490" and report.crs_source == "file"
    # the same square, with points added along the geodesic of its 2 km edges (which part from the lon/lat
    # parallels by ~4e-7°): the same area
    assert shapely.hausdorff_distance(gdf.geometry.iloc[0], SQUARE) < 1e-6
    assert shapely.get_num_coordinates(gdf.geometry.iloc[0]) > 5
    assert ellipsoidal_area(gdf.geometry.iloc[:1])[0] == pytest.approx(ellipsoidal_area([SQUARE], crs=4490)[0], rel=1e-10)


def test_engines_agree_on_fids(tmp_path):
    path = FORMATS["gpkg"](sample_gdf(), tmp_path / "layer")
    a, _ = read_layer(path, engine="pyogrio")
    b, _ = read_layer(path, engine="fiona")
    assert a.index.tolist() == b.index.tolist() == [1, 2, 3]


def test_zipped_shapefile_gbk_without_cpg(tmp_path):
    write_shapefile(sample_gdf(), tmp_path / "towns.shp", encoding="GBK", cpg=False)
    zpath = tmp_path / "towns.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in tmp_path.glob("towns.*"):
            if f != zpath:
                zf.write(f, f.name)
    assert detect_encoding(zpath) == ("gb18030", "detected from .dbf bytes")
    gdf, report = read_layer(zpath)
    assert gdf["名称"].tolist() == NAMES
    assert report.encoding == "gb18030"


def test_gbk_gk_prefixed_without_prj_or_cpg(gbk_gk_shapefile):
    # the real-world case: Chinese names in GBK, no .cpg, no .prj, zone-prefixed GK coordinates
    with pytest.raises(CRSError) as err:
        read_layer(gbk_gk_shapefile)
    assert "EPSG:4524" in str(err.value) and "--crs" in str(err.value) and "乡镇.shp" in str(err.value)
    gdf, report = read_layer(gbk_gk_shapefile, detect_crs=True)
    assert gdf["名称"].tolist() == NAMES
    assert gdf.crs.to_epsg() == 4524 and report.crs_source == "detected"
    gdf2, report2 = read_layer(gbk_gk_shapefile, crs="EPSG:4524")
    assert report2.crs_source == "given" and gdf2["名称"].tolist() == NAMES


def test_cpg_is_honoured(tmp_path):
    path = write_shapefile(sample_gdf(), tmp_path / "a.shp", encoding="GBK")
    (tmp_path / "a.cpg").write_text("936")
    assert detect_encoding(path) == ("gbk", ".cpg")
    assert read_layer(path).gdf["名称"].tolist() == NAMES


def test_utf8_without_cpg_detected(tmp_path):
    path = write_shapefile(sample_gdf(), tmp_path / "u.shp", encoding="UTF-8", cpg=False)
    assert detect_encoding(path) == ("utf-8", "detected from .dbf bytes")
    assert read_layer(path).gdf["名称"].tolist() == NAMES


def test_encoding_override(tmp_path):
    path = write_shapefile(sample_gdf(), tmp_path / "o.shp", encoding="GBK", cpg=False)
    gdf, report = read_layer(path, encoding="GBK")
    assert gdf["名称"].tolist() == NAMES and report.encoding_source == "given"
    with pytest.raises(LayerReadError, match="unknown encoding"):
        read_layer(path, encoding="klingon")


def test_gpkg_layer_choice(tmp_path):
    path = tmp_path / "multi.gpkg"
    sample_gdf().to_file(path, layer="one", engine="pyogrio")
    sample_gdf().iloc[:1].to_file(path, layer="two", engine="pyogrio")
    assert list_layers(path) == ["one", "two"]
    with pytest.raises(LayerNotFoundError, match="2 layers \\(one, two\\)"):
        read_layer(path)
    with pytest.raises(LayerNotFoundError, match="no layer 'three'; layers: one, two"):
        read_layer(path, "three")
    assert len(read_layer(path, "two").gdf) == 1
    assert len(read_layer(f"{path}:two").gdf) == 1


def test_latlon_swapped_detected_and_fixed(tmp_path):
    g = sample_gdf()
    swapped = g.set_geometry(shapely.transform(g.geometry.values, lambda xy: xy[:, ::-1]))
    path = tmp_path / "swapped.geojson"
    swapped.to_file(path, engine="pyogrio")
    with pytest.raises(CRSError, match="wrong order.*--swap-xy"):
        read_layer(path)
    gdf, report = read_layer(path, swap_xy=True)
    assert shapely.hausdorff_distance(gdf.geometry.iloc[0], SQUARE) < 1e-6  # swapped back (and densified)
    assert any("swapped" in n for n in report.notes)


def test_wrong_prj_is_reported(tmp_path):
    g = sample_gdf("EPSG:4524").set_crs("EPSG:4490", allow_override=True)
    path = tmp_path / "wrongprj.gpkg"
    g.to_file(path, engine="pyogrio")
    with pytest.raises(CRSError, match="not degrees.*EPSG:4524"):
        read_layer(path)
    assert read_layer(path, crs="EPSG:4524").gdf.crs.to_epsg() == 4524


def test_repair_and_drop_are_reported(tmp_path):
    g = gpd.GeoDataFrame(
        {"id": ["ok", "bowtie", "null", "empty", "line"]},
        geometry=[SQUARE, BOWTIE, None, shapely.Polygon(), shapely.LineString([(108, 29), (108.1, 29.1)])],
        crs=4490,
    )
    path = tmp_path / "messy.gpkg"
    g.to_file(path, engine="pyogrio")
    gdf, report = read_layer(path, geometry="polygon")
    assert gdf["id"].tolist() == ["ok", "bowtie"]
    assert gdf.geometry.is_valid.all()
    assert gdf.geometry.iloc[1].geom_type in ("MultiPolygon", "Polygon") and gdf.geometry.iloc[1].area > 0
    assert [r["id"] for r in report.repaired] == [2]
    assert "Self-intersection" in report.repaired[0]["reason"]
    assert {d["id"]: d["reason"] for d in report.dropped} == {
        3: "null or empty geometry",
        4: "null or empty geometry",
        5: "LineString in a polygon layer",
    }
    # with geometry="any" the line is kept
    assert len(read_layer(path).gdf) == 3


def test_z_coordinates_dropped_with_note(tmp_path):
    g = gpd.GeoDataFrame(geometry=[shapely.force_3d(SQUARE, 100.0)], crs=4490)
    path = tmp_path / "z.gpkg"
    g.to_file(path, engine="pyogrio")
    gdf, report = read_layer(path)
    assert not gdf.geometry.has_z.any()
    assert any("Z/M" in n for n in report.notes)


def test_reproject_notes(tmp_path):
    gdf = sample_gdf()
    _, report = read_layer(FORMATS["gpkg"](gdf, tmp_path / "r"))
    out = reproject(gdf, "EPSG:4545", report, name="farmland")
    assert out.crs.to_epsg() == 4545
    assert report.notes[-1].startswith("farmland: reprojected from EPSG:4490")
    assert reproject(out, 4545) is out


# --- bad input: one clear message naming the file ----------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(LayerReadError, match="nope.gpkg: file not found"):
        read_layer(tmp_path / "nope.gpkg")


@pytest.mark.parametrize("content,name", [(b"hello world\n", "notes.txt"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "x.png")])
def test_not_spatial(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LayerReadError, match=name):
        read_layer(path)


def test_csv_without_geometry(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(LayerReadError, match="table.csv: no coordinate columns recognised.*--x-field"):
        read_layer(path)


def test_csv_with_wkt_goes_to_gdal(tmp_path):
    path = tmp_path / "wkt.csv"
    path.write_text('id,WKT\n1,"POLYGON((108.7 29.5,108.71 29.5,108.71 29.51,108.7 29.5))"\n', encoding="utf-8")
    gdf, report = read_layer(path, crs="EPSG:4490")
    assert len(gdf) == 1 and gdf.geometry.values[0].geom_type == "Polygon" and report.format is None


@pytest.mark.parametrize("missing", [".shx", ".dbf"])
def test_shapefile_part_missing(tmp_path, missing):
    path = write_shapefile(sample_gdf(), tmp_path / "part.shp")
    (tmp_path / f"part{missing}").unlink()
    with pytest.raises(LayerReadError, match=f"part.shp: the shapefile's \\{missing} file is missing"):
        read_layer(path)


def test_empty_layer(tmp_path):
    path = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"a": []}, geometry=gpd.GeoSeries([], crs=4490)).to_file(path, engine="pyogrio", layer="empty")
    with pytest.raises(LayerReadError, match="empty.gpkg.*no features"):
        read_layer(path)


def test_no_polygons_where_needed(tmp_path):
    path = tmp_path / "pts.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(108, 29)] * 2, crs=4490).to_file(path, engine="pyogrio")
    with pytest.raises(GeometryError, match="pts.geojson: no polygons in the layer \\(found Point ×2\\)"):
        read_layer(path, geometry="polygon")


def test_no_crs_and_nothing_detectable(tmp_path):
    g = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)])
    path = write_shapefile(g.set_crs(3857), tmp_path / "nowhere.shp", prj=False)
    with pytest.raises(CRSError, match="nowhere.shp: no CRS in the file.*--crs"):
        read_layer(path)


def test_errors_share_one_base():
    for cls in (LayerReadError, LayerNotFoundError, CRSError, GeometryError):
        assert issubclass(cls, RedlineError)
    assert issubclass(LayerReadError, OSError) and issubclass(CRSError, ValueError)


# --- writing ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".fgb", ".parquet"])
def test_write_layer_roundtrip(tmp_path, suffix):
    path = write_layer(sample_gdf(), tmp_path / f"out{suffix}", layer="out")
    assert sorted(read_layer(path).gdf["名称"]) == sorted(NAMES)
    assert [p.name for p in tmp_path.iterdir()] == [f"out{suffix}"]


def test_failed_write_leaves_old_file(tmp_path):
    target = tmp_path / "good.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["good.json"]


def test_long_lonlat_edges_densified_along_the_geodesic(tmp_path):
    # a 0.3° × 0.2° polygon with a hole, and a parcel: the big one gets points every ≤ 100 m, all on the
    # geodesics of its edges (pyproj.Geod), so its area is unchanged; the parcel is left alone
    from pyproj import Geod

    big = box(108.0, 29.0, 108.3, 29.2).difference(box(108.1, 29.05, 108.2, 29.1))
    parcel = box(108.5, 29.5, 108.5005, 29.5004)
    path = tmp_path / "big.gpkg"
    gpd.GeoDataFrame({"n": [1, 2]}, geometry=[big, parcel], crs=4490).to_file(path)
    gdf, report = read_layer(path)
    dense = gdf.geometry.iloc[0]
    assert gdf.geometry.iloc[1].equals_exact(parcel, 0)
    assert any("points added along the geodesic" in n and n.startswith("1 ") for n in report.notes)
    geod = Geod(ellps="GRS80")
    for ring, original in zip([dense.exterior, *dense.interiors], [big.exterior, *big.interiors]):
        xy = list(ring.coords)
        steps = geod.inv(*zip(*xy[:-1]), *zip(*xy[1:]))[2]
        assert max(steps) <= 100.0 + 1e-6
        corners = {(round(x, 12), round(y, 12)) for x, y in original.coords}
        assert corners <= {(round(x, 12), round(y, 12)) for x, y in xy}  # every original vertex kept
    # each added point lies on its edge's geodesic: its distances to the two corners add up to the edge
    x0, y0, x1, y1 = 108.0, 29.0, 108.3, 29.0
    south = [(x, y) for x, y in dense.exterior.coords if y < 29.0001]
    whole = geod.inv(x0, y0, x1, y1)[2]
    for x, y in south:
        assert geod.inv(x0, y0, x, y)[2] + geod.inv(x, y, x1, y1)[2] == pytest.approx(whole, abs=1e-6)
    assert abs(geod.geometry_area_perimeter(dense)[0]) == pytest.approx(abs(geod.geometry_area_perimeter(big)[0]),
                                                                        rel=1e-12)


@pytest.mark.parametrize("engine", ["pyogrio", "fiona"])
def test_a_box_reads_the_features_meeting_it_in_file_order(engine):
    from conftest import SAMPLE

    whole, _ = read_layer(SAMPLE / "basic_farmland.gpkg")
    x0, y0, x1, y1 = whole.total_bounds
    box_gk = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    near = shapely.intersects(whole.geometry.values, box(*box_gk))
    part, report = read_layer(SAMPLE / "basic_farmland.gpkg", engine=engine, bbox=box_gk)
    assert set(part.index) == set(whole.index[near]) and part.index.is_monotonic_increasing
    assert any("meeting the box" in n for n in report.notes)
    # the box in another CRS (lon/lat): transformed outward, so it can only read more, never less
    lonlat = tuple(gpd.GeoSeries([box(*box_gk)], crs=whole.crs).to_crs(4490).total_bounds)
    more, _ = read_layer(SAMPLE / "basic_farmland.gpkg", engine=engine, bbox=lonlat, bbox_crs=4490)
    assert set(more.index) >= set(part.index)
    nothing, _ = read_layer(SAMPLE / "basic_farmland.gpkg", engine=engine, bbox=(0.0, 0.0, 1.0, 1.0))
    assert len(nothing) == 0
