"""Attribute encodings decided from the .dbf field names and records together (issue 15).

Every case is made in code: a shapefile written by pyogrio, then its .dbf header's field names patched with
GBK bytes, its values cut or replaced, and/or a .cpg of our choosing written beside it. Each is checked through
the CLI (``layers check --json``) and/or :func:`read_layer` with both engines: the names and the values come out
right, with a note when the bytes contradict the .cpg, or one line about the ENCODING when nothing decodes them.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from conftest import NAMES, SQUARE, sample_gdf, write_shapefile
from test_bad_input import check_json, one_line_error, run

from redline.errors import LayerReadError
from redline.io import detect_encoding, read_layer

GBK_NAMES = {"MC": "名称", "MJLX": "面积类型"}  # 4 and 8 bytes in GBK: they fit the 10 bytes of a field name


def patch_field_names(dbf: Path, names: dict[str, str], encoding: str = "gbk") -> None:
    """Rewrite field names in a .dbf header (32-byte descriptors after the 32-byte header, up to 0x0D)."""
    data = bytearray(dbf.read_bytes())
    header_len = int.from_bytes(data[8:10], "little")
    for off in range(32, header_len - 1, 32):
        if data[off] == 0x0D:
            break
        name = bytes(data[off:off + 11]).split(b"\0", 1)[0].decode("ascii")
        if name in names:
            new = names[name].encode(encoding)
            assert len(new) <= 10
            data[off:off + 11] = new.ljust(11, b"\0")
    dbf.write_bytes(bytes(data))


def replace_bytes(dbf: Path, old: bytes, new: bytes) -> None:
    data = dbf.read_bytes()
    assert len(old) == len(new) and old in data
    dbf.write_bytes(data.replace(old, new))


def ascii_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"MC": ["a", "b", "c"], "MJLX": ["x1", "x2", "x3"]},
                            geometry=[SQUARE] * 3, crs="EPSG:4490")


def gbk_names_shapefile(path: Path, cpg: str | None, gdf=None, values="UTF-8") -> Path:
    """A shapefile whose field names are GBK (名称, 面积类型) over values written in ``values``."""
    write_shapefile(ascii_layer() if gdf is None else gdf, path, encoding=values, cpg=False)
    patch_field_names(path.with_suffix(".dbf"), GBK_NAMES)
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg)
    return path


def zip_shapefile(shp: Path) -> Path:
    zpath = shp.with_suffix(".zip")
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in shp.parent.glob(shp.stem + ".*"):
            if part != zpath:
                zf.write(part, part.name)
    return zpath


# --- a single-byte .cpg over GBK bytes: any bytes "decode", so the text must read as Chinese ---------------


@pytest.mark.parametrize("cpg", ["ISO-8859-1", "88591", "1252", "ANSI 1252", "Latin1", "CP1252"])
def test_single_byte_cpg_over_gbk_values(tmp_path, cpg):
    shp = write_shapefile(sample_gdf(), tmp_path / "gbk.shp", encoding="GBK", cpg=False)
    (tmp_path / "gbk.cpg").write_text(cpg)
    result = check_json(shp)
    assert result["fields"][0] == "名称" and result["sample"]["名称"] == NAMES[0]  # not ÔÆÑôÏØ
    assert result["encoding"] == "gb18030"
    assert f"the .cpg says {cpg}" in result["encoding_source"] and "Chinese" in result["encoding_source"]
    assert any(f"the .cpg says {cpg}" in note for note in result["notes"])
    for engine in ("pyogrio", "fiona"):
        gdf, report = read_layer(shp, engine=engine)
        assert gdf["名称"].tolist() == NAMES and report.encoding == "gb18030"
    # the same .cpg over text that really is Latin-1 stays trusted
    latin = tmp_path / "latin.shp"
    write_shapefile(gpd.GeoDataFrame({"nom": ["Café été", "Größe Straße", "Ñandú"]}, geometry=[SQUARE] * 3,
                                     crs="EPSG:4490"), latin, encoding="cp1252", cpg=False)
    (tmp_path / "latin.cpg").write_text(cpg)
    gdf, report = read_layer(latin)
    assert gdf["nom"].tolist() == ["Café été", "Größe Straße", "Ñandú"] and report.encoding_source == ".cpg"


# --- GBK field names (名称, 面积类型) over ASCII values ------------------------------------------------------


@pytest.mark.parametrize("cpg", ["1252", "UTF-8", None])
def test_gbk_field_names_with_ascii_values(tmp_path, cpg):
    shp = gbk_names_shapefile(tmp_path / "names.shp", cpg)
    result = check_json(shp)
    assert result["fields"] == ["名称", "面积类型"]  # not Ãû³Æ, and with a UTF-8 .cpg not "truncated or corrupt"
    assert result["sample"] == {"名称": "a", "面积类型": "x1"}
    assert result["encoding"] == "gb18030"
    if cpg is None:
        assert result["encoding_source"] == "detected from .dbf bytes"
    else:
        assert f"the .cpg says {cpg}" in result["encoding_source"]
        assert any(f"the .cpg says {cpg}" in note for note in result["notes"])
    for engine in ("pyogrio", "fiona"):  # GDAL's encoding applies to the field names too, in both engines
        gdf, report = read_layer(shp, engine=engine)
        assert list(gdf.columns) == ["名称", "面积类型", "geometry"]
        assert gdf["面积类型"].tolist() == ["x1", "x2", "x3"]
    # a box in another CRS reads the file's CRS first: that must not trip on the names either
    gdf, _ = read_layer(shp, bbox=(108.6, 29.4, 108.8, 29.6), bbox_crs="EPSG:4326")
    assert list(gdf.columns) == ["名称", "面积类型", "geometry"] and len(gdf) == 3


def test_gbk_field_names_over_utf8_values(tmp_path):
    """A table converted to UTF-8 but not its header: names decoded as GB18030, values as UTF-8, both said."""
    gdf = sample_gdf().rename(columns={"名称": "MC"})
    gdf.loc[1, "MC"] = None
    shp = gbk_names_shapefile(tmp_path / "mixed.shp", None, gdf=gdf)
    result = check_json(shp)
    assert result["fields"] == ["名称", "code"] and result["sample"]["名称"] == NAMES[0]
    assert result["encoding"] == "utf-8"
    assert "field names are GB18030" in result["encoding_source"] and "values UTF-8" in result["encoding_source"]
    assert any("field names are GB18030" in note for note in result["notes"])
    for engine in ("pyogrio", "fiona"):
        got, report = read_layer(shp, engine=engine)
        assert list(got.columns) == ["名称", "code", "geometry"]
        assert got["名称"].tolist() == [NAMES[0], None, NAMES[2]] and got["code"].tolist() == gdf["code"].tolist()
    # the same with a .cpg saying GBK (right for the names, wrong for the values)
    (tmp_path / "mixed.cpg").write_text("GBK")
    result = check_json(shp)
    assert result["fields"] == ["名称", "code"] and result["sample"]["名称"] == NAMES[0]
    assert "the .cpg says GBK" in result["encoding_source"]


def test_zipped_shapefile_same_detection(tmp_path):
    zpath = zip_shapefile(gbk_names_shapefile(tmp_path / "names.shp", "1252"))
    assert detect_encoding(zpath)[0] == "gb18030"
    result = check_json(zpath)
    assert result["fields"] == ["名称", "面积类型"] and "the .cpg says 1252" in result["encoding_source"]
    assert any("the .cpg says 1252" in note for note in result["notes"])
    for engine in ("pyogrio", "fiona"):
        assert list(read_layer(zpath, engine=engine).gdf.columns) == ["名称", "面积类型", "geometry"]


# --- characters cut at a field's width: tolerated, said, not a reason to give up -------------------------------


@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
def test_character_cut_at_the_field_width(tmp_path, encoding):
    shp = write_shapefile(sample_gdf(), tmp_path / "cut.shp", encoding=encoding, cpg=False)
    whole = NAMES[0].encode(encoding)
    replace_bytes(shp.with_suffix(".dbf"), whole, whole[:-1] + b" ")  # 云阳县 with its last byte gone
    result = check_json(shp)
    assert result["encoding"] == ("gb18030" if encoding == "GBK" else "utf-8")
    assert result["fields"][0] == "名称" and result["sample"]["名称"] == "云阳"
    assert any("1 undecodable character" in note for note in result["notes"])
    for engine in ("pyogrio", "fiona"):  # UTF-8: pyogrio used to fail, fiona gave None
        assert read_layer(shp, engine=engine).gdf["名称"].tolist() == ["云阳", *NAMES[1:]]


# --- nothing decodes the bytes: one line about the ENCODING, not about corruption --------------------------


@pytest.mark.parametrize("cpg", [None, "UTF-8", "GBK"])
def test_undecodable_text_is_an_encoding_error(tmp_path, cpg):
    shp = gbk_names_shapefile(tmp_path / "garbled.shp", cpg)
    replace_bytes(shp.with_suffix(".dbf"), b"x2 ", b"\x80\xff\x80")  # neither UTF-8 nor GB18030
    line = one_line_error(run("layers", "check", shp), "garbled.shp", "encoding", "--encoding GBK")
    assert "corrupt" not in line and "truncated" not in line
    if cpg:
        assert f"the .cpg says {cpg}" in line
    with pytest.raises(LayerReadError, match="encoding"):
        read_layer(shp, engine="fiona")
    # the override wins: the caller decides
    result = check_json(shp, "--encoding", "latin-1")
    assert result["encoding_source"] == "given" and result["encoding"] == "iso8859-1"


def test_given_encoding_wins_but_must_decode(tmp_path):
    shp = gbk_names_shapefile(tmp_path / "names.shp", "1252")
    result = check_json(shp, "--encoding", "GBK")  # wins over the .cpg and the detection
    assert result["encoding"] == "gbk" and result["encoding_source"] == "given"
    assert result["fields"] == ["名称", "面积类型"]
    gbk = write_shapefile(sample_gdf(), tmp_path / "gbk.shp", encoding="GBK", cpg=False)
    for engine in ("pyogrio", "fiona"):  # was: 'truncated or corrupt' (pyogrio), values silently None (fiona)
        line = one_line_error(run("layers", "check", gbk, "--encoding", "UTF-8", "--engine", engine),
                              "gbk.shp", "not UTF-8", "--encoding GB18030")
        assert "corrupt" not in line


# --- the same detection beyond read_layer, and beyond the first megabytes ----------------------------------


def test_partition_and_dask_decode_gbk_field_names(tmp_path):
    from redline.engines.dask import layer_info

    shp = write_shapefile(sample_gdf(), tmp_path / "gbk.shp", encoding="GBK", cpg=False)
    (tmp_path / "gbk.cpg").write_text("ISO-8859-1")
    proc = run("partition", shp, "--by", "名称", "--out", tmp_path / "parts")
    assert proc.returncode == 0, proc.stderr  # was: no field '名称'; fields: Ãû³Æ, code
    index = json.loads((tmp_path / "parts" / "_partitions.json").read_text(encoding="utf-8"))
    assert sorted(p["key"] for p in index["partitions"]) == sorted(NAMES)
    assert layer_info(shp)[2] == ["名称", "code"]  # the Dask engine's view of the columns
    mixed = gbk_names_shapefile(tmp_path / "mixed.shp", "UTF-8", gdf=sample_gdf().rename(columns={"名称": "MC"}))
    assert layer_info(mixed)[2] == ["名称", "code"]  # was: a UnicodeDecodeError as 'cannot read'
    one_line_error(run("partition", mixed, "--by", "名称", "--out", tmp_path / "mixed.parts"),
                   "mixed.shp", "field names are GB18030", "export it again")


def _dbf(path: Path, names: list[bytes], width: int, rows: list[tuple[bytes, ...]]) -> None:
    """A bare dBASE III table of character fields."""
    header_len, reclen = 32 + 32 * len(names) + 1, 1 + width * len(names)
    head = bytearray(32)
    head[0] = 3
    head[4:8] = len(rows).to_bytes(4, "little")
    head[8:10], head[10:12] = header_len.to_bytes(2, "little"), reclen.to_bytes(2, "little")
    fields = b"".join(n.ljust(11, b"\0") + b"C" + bytes(4) + bytes([width, 0]) + bytes(14) for n in names)
    body = b"".join(b" " + b"".join(v.ljust(width) for v in row) for row in rows)
    path.write_bytes(bytes(head) + fields + b"\r" + body + b"\x1a")


def test_chinese_text_only_at_the_end_of_a_large_dbf(tmp_path):
    """A layer sorted by a field can start with megabytes of ASCII: the sample is spread through the file."""
    rows = [(b"none", b"x")] * 120_000 + [("黔江区".encode("gbk"), "基本农田".encode("gbk"))] * 200
    _dbf(tmp_path / "sorted.dbf", [b"MC", b"LX"], 40, rows)
    assert (tmp_path / "sorted.dbf").stat().st_size > 8_000_000
    assert detect_encoding(tmp_path / "sorted.shp") == ("gb18030", "detected from .dbf bytes")


# --- GeoJSON: UTF-8 by the standard, GBK in practice -------------------------------------------------------


def test_gbk_geojson(tmp_path):
    path = tmp_path / "gbk.geojson"
    feature = {"type": "Feature", "properties": {"名称": NAMES[1]}, "geometry": SQUARE.__geo_interface__}
    path.write_bytes(json.dumps({"type": "FeatureCollection", "features": [feature]},
                                ensure_ascii=False).encode("gbk"))
    result = check_json(path)  # was: a traceback (bytes that aren't UTF-8 in an Arrow string column)
    assert result["fields"] == ["名称"] and result["sample"]["名称"] == NAMES[1]
    assert any("not UTF-8" in note for note in result["notes"])
    one_line_error(run("layers", "check", path, "--engine", "fiona"), "gbk.geojson", "--engine pyogrio")
    one_line_error(run("partition", path, "--by", "名称", "--out", tmp_path / "parts"), "gbk.geojson", "not UTF-8", "export it again")
    path.write_bytes(path.read_bytes().replace(NAMES[1].encode("gbk"), b"\x80\xff\x80\xff\x80\xff"))
    one_line_error(run("layers", "check", path), "gbk.geojson", "encoding", "--encoding GBK")
