"""FileGDB (written by GDAL's OpenFileGDB driver): layers by name, Chinese attributes, CRS, layer listing."""

import geopandas as gpd
import pyogrio
import pytest
import shapely
from pyproj import CRS

from redline.errors import LayerNotFoundError
from redline.io import list_layers, read_layer, split_layer_spec

pytestmark = pytest.mark.skipif(
    "w" not in pyogrio.list_drivers().get("OpenFileGDB", ""), reason="GDAL < 3.6 cannot write FileGDB"
)


@pytest.fixture
def gdb(tmp_path):
    path = tmp_path / "规划.gdb"
    a = gpd.GeoDataFrame(
        {"名称": ["生态保护红线", "永久基本农田"], "面积": [12.5, 30.25]},
        geometry=[shapely.box(512000, 3345000, 513000, 3346000), shapely.box(514000, 3345000, 515000, 3346000)],
        crs="EPSG:4547",
    )
    b = gpd.GeoDataFrame({"类型": ["城镇开发边界"]}, geometry=[shapely.box(512000, 3347000, 512500, 3347500)],
                         crs="EPSG:4547")
    pyogrio.write_dataframe(a, path, layer="layer_a", driver="OpenFileGDB")
    pyogrio.write_dataframe(b, path, layer="layer_b", driver="OpenFileGDB")
    return path


def test_layer_by_name_attributes_and_crs(gdb):
    gdf, report = read_layer(f"{gdb}:layer_a")
    assert gdf["名称"].tolist() == ["生态保护红线", "永久基本农田"]
    assert gdf["面积"].tolist() == [12.5, 30.25]
    assert CRS.from_user_input(gdf.crs).equals(CRS.from_epsg(4547)) and report.crs.startswith("EPSG:4547")
    assert gdf.geometry.area.tolist() == pytest.approx([1e6, 1e6])  # plane area of the boxes written
    gdf, _ = read_layer(gdb, layer="layer_b")
    assert gdf["类型"].tolist() == ["城镇开发边界"]


def test_list_layers_and_spec(gdb):
    assert list_layers(gdb) == ["layer_a", "layer_b"]
    assert split_layer_spec(f"{gdb}:layer_b") == (gdb, "layer_b")
    assert split_layer_spec(str(gdb)) == (gdb, None)


def test_trailing_slash(gdb):
    assert list_layers(f"{gdb}/") == ["layer_a", "layer_b"]
    gdf, _ = read_layer(f"{gdb}/", layer="layer_a")
    assert len(gdf) == 2
    gdf, _ = read_layer(f"{gdb}/:layer_b")
    assert len(gdf) == 1


def test_several_layers_must_be_chosen(gdb):
    for spec in (gdb, f"{gdb}/"):
        with pytest.raises(LayerNotFoundError) as err:
            read_layer(spec)
        assert "layer_a" in str(err.value) and "layer_b" in str(err.value) and "\n" not in str(err.value)


def test_missing_layer_lists_the_layers(gdb):
    with pytest.raises(LayerNotFoundError) as err:
        read_layer(f"{gdb}:layer_c")
    assert str(err.value) == f"{gdb}: no layer 'layer_c'; layers: layer_a, layer_b"
