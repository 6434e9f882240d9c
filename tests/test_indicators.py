"""Indicators against independent computations: pyproj Geod on hand-made geometries."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from redline.analyses.indicators import check_quotas, landuse_indicators, layer_shares, ledger, load_class_map
from redline.analyses.scorecard import Recipe, evaluate, load_recipe, metrics_from
from redline.errors import CatalogError, FieldError

GEOD = Geod(ellps="GRS80")


def box(*bounds):
    """A lon/lat box with short edges, as real data has: geodesic areas of the pieces of a split polygon then add up
    (a 0.1° geodesic edge bulges away from the straight lon/lat line that overlays cut along)."""
    return shapely.segmentize(shapely.box(*bounds), 0.0005 if bounds[0] < 1000 else 20)


B = box(108.0, 29.0, 108.1, 29.1)


def geod(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def gdf(geoms, crs=4490, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs)


def test_share_dissolves_and_clips():
    a, b = box(108.05, 29.0, 108.15, 29.05), box(108.08, 29.02, 108.12, 29.08)  # overlap, both spill east
    layer = gdf([a, b]).to_crs("EPSG:4545")  # another CRS: reprojected
    row = layer_shares(gdf([B]), {"red": layer}).iloc[0]
    union = shapely.union(a, b)
    assert row["area_m2"] == pytest.approx(geod(union.intersection(B)), rel=1e-6)
    assert row["outside_m2"] == pytest.approx(geod(union.difference(B)), rel=1e-6)
    assert row["share_pct"] == pytest.approx(100 * geod(union.intersection(B)) / geod(B), rel=1e-6)
    assert row["area_mu"] == pytest.approx(row["area_m2"] * 15 / 10_000)


def test_zones_reported_separately_and_together():
    core, general = box(108.0, 29.0, 108.02, 29.02), box(108.01, 29.0, 108.05, 29.02)
    layer = gdf([core, general], zone=["核心保护区", "一般控制区"])
    t = layer_shares(gdf([B]), {"nr": layer}, {"nr": "zone"})
    assert pd.isna(t["zone"].iloc[0]) and set(t["zone"][1:]) == {"核心保护区", "一般控制区"}
    by_zone = t.set_index(t["zone"].fillna("all"))["area_m2"]
    assert by_zone["all"] == pytest.approx(geod(core.union(general)), rel=1e-6)
    assert by_zone["核心保护区"] == pytest.approx(geod(core), rel=1e-6)
    assert by_zone["核心保护区"] + by_zone["一般控制区"] > by_zone["all"]  # the zones overlap here


def test_ledger_adds_up_to_the_district():
    west, east = box(108.0, 29.0, 108.04, 29.1), box(108.04, 29.0, 108.1, 29.1)
    layer = gdf([box(108.02, 29.02, 108.2, 29.04), box(108.03, 29.0, 108.05, 29.1)])
    led = ledger(gdf([west, east], code=["w", "e"]), "code", {"red": layer}, boundary=gdf([B]))
    district = layer_shares(gdf([B]), {"red": layer}).iloc[0]
    assert led.totals.iloc[0]["area_m2"] == pytest.approx(district["area_m2"], rel=1e-8)
    union = shapely.union(*layer.geometry)
    rows = led.rows.set_index("unit")
    assert rows.loc["w", "area_m2"] == pytest.approx(geod(union.intersection(west)), rel=1e-6)
    assert rows.loc["e", "share_pct"] == pytest.approx(100 * geod(union.intersection(east)) / geod(east), rel=1e-6)
    assert led.notes == []


def test_ledger_reports_gaps_overlaps_and_spill():
    west, east = box(108.0, 29.0, 108.05, 29.1), box(108.04, 29.0, 108.09, 29.1)  # overlap 0.01°, gap 0.01°
    spill = box(108.0, 29.1, 108.01, 29.11)
    led = ledger(gdf([west, east, spill], code=["w", "e", "s"]), "code", {"red": gdf([B])}, boundary=gdf([B]))
    assert led.tiling["gap_m2"] == pytest.approx(geod(box(108.09, 29.0, 108.1, 29.1)), rel=1e-6)
    assert led.tiling["overlap_m2"] == pytest.approx(geod(box(108.04, 29.0, 108.05, 29.1)), rel=1e-6)
    assert led.tiling["outside_m2"] == pytest.approx(geod(spill), rel=1e-6)
    assert len(led.notes) == 3
    gap_row = led.rows.set_index("unit").loc["(未归属单位)"]
    assert gap_row["area_m2"] == pytest.approx(led.tiling["gap_m2"], rel=1e-9)  # the layer covers the whole gap


def test_ledger_unknown_field():
    with pytest.raises(FieldError, match="no field 'nope'.*fields: code"):
        ledger(gdf([B], code=["x"]), "nope", {})


def _landuse():
    cells = {
        "0301": box(108.0, 29.0, 108.05, 29.1),     # forest
        "0101": box(108.05, 29.0, 108.07, 29.1),    # paddy: farmland, never wetland
        "1108": box(108.07, 29.0, 108.08, 29.1),    # wetland
        "0701": box(108.08, 29.0, 108.09, 29.1),    # residential
        "0810": box(108.09, 29.0, 108.1, 29.1),     # park
    }
    return gdf(cells.values(), DLBM=list(cells)), cells


def test_landuse_indicators():
    lu, cells = _landuse()
    reserve = gdf([box(108.07, 29.0, 108.08, 29.05)])            # half the wetland
    builtup = gdf([box(108.085, 29.0, 108.1, 29.1)])             # half residential + the park
    r = landuse_indicators(lu, gdf([B]), protected=reserve, builtup=builtup).indicators
    assert r["forest_coverage_pct"] == pytest.approx(100 * geod(cells["0301"]) / geod(B), rel=1e-6)
    assert r["farmland_m2"] == pytest.approx(geod(cells["0101"]), rel=1e-6)
    assert r["wetland_m2"] == pytest.approx(geod(cells["1108"]), rel=1e-6)
    assert r["wetland_protection_rate_pct"] == pytest.approx(
        100 * geod(box(108.07, 29.0, 108.08, 29.05)) / geod(cells["1108"]), rel=1e-6)
    assert r["green_coverage_pct"] == pytest.approx(100 * geod(cells["0810"]) / geod(builtup.geometry[0]), rel=1e-6)
    # the residential cell is ~970 m wide beside the park: the 500 m next to it are served
    width = GEOD.inv(108.08, 29.05, 108.09, 29.05)[2]
    assert r["park_service_coverage_pct"] == pytest.approx(100 * 500 / width, rel=3e-3)


def test_landuse_missing_inputs_are_none_not_zero():
    lu, _ = _landuse()
    r = landuse_indicators(lu, gdf([B])).indicators
    assert r["wetland_protection_rate_pct"] is None and r["green_coverage_pct"] is None


def test_park_service_radius_in_metres():
    # GK CM 108E metres: a 100 m x 100 m park (1 ha ≥ 5000 m² → 500 m radius) and a 100 m wide residential strip
    # running 1000 m north of it: exactly the first 500 m of the strip is served.
    park = box(500_000, 3_300_000, 500_100, 3_300_100)
    res = box(500_000, 3_300_100, 500_100, 3_301_100)
    small = box(600_000, 3_300_000, 600_040, 3_300_040)             # 1600 m²: 300 m tier
    res2 = box(600_000, 3_300_040, 600_040, 3_301_040)
    bnd = gdf([box(499_000, 3_299_000, 601_000, 3_302_000)], crs=4545)
    lu = gdf([park, res, small, res2], crs=4545, DLBM=["0810", "0701", "0810", "0701"])
    r = landuse_indicators(lu, bnd).indicators
    served = geod_m(box(500_000, 3_300_100, 500_100, 3_300_600)) + geod_m(box(600_000, 3_300_040, 600_040, 3_300_340))
    assert r["park_service_coverage_pct"] == pytest.approx(100 * served / (geod_m(res) + geod_m(res2)), rel=2e-3)


def geod_m(geom_gk) -> float:
    return geod(gpd.GeoSeries([geom_gk], crs=4545).to_crs(4490).iloc[0])


def test_class_map_validation(tmp_path):
    bad = tmp_path / "cm.toml"
    bad.write_text('[groups]\nfarmland = [101]\n[[park_service]]\nradius_m = 5\n', encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_class_map(bad)
    text = str(err.value)
    assert "group 'forest' is missing" in text and "groups.farmland must be a list of code strings" in text
    assert "park_service[0] needs numbers" in text


def test_quotas():
    q = pd.DataFrame({"unit": ["a", "b"], "indicator": ["耕地保有量", "basic_farmland"], "quota": ["1.5", "100"],
                      "quota_unit": ["万亩", "公顷"]})
    measured = {"farmland": pd.Series({"a": 1e8 / 15 * 1.2, "b": 0.0}), "basic_farmland": pd.Series({"a": 0.0, "b": 2e6})}
    out = check_quotas(q, measured).set_index("unit")
    assert out.loc["a", "quota_mu"] == pytest.approx(15_000)
    assert out.loc["a", "surplus_mu"] == pytest.approx(-3_000) and not out.loc["a", "met"]
    assert out.loc["b", "quota_mu"] == pytest.approx(1_500) and out.loc["b", "surplus_mu"] == pytest.approx(1_500)
    with pytest.raises(FieldError, match="unknown quota unit"):
        check_quotas(q.assign(quota_unit="acre"), measured)


def _recipe(**kw):
    ind = {"id": "x", "name_zh": "指标", "metric": "share:red", "unit": "%", "comparator": ">=", "target": 25.76,
           "decimals": 2, **kw}
    return Recipe("t", "", (ind,))


@pytest.mark.parametrize(
    "kw,value,met",
    [({}, 25.7551, True), ({}, 25.7549, False), ({"comparator": "<="}, 30.0, False),
     ({"comparator": "==", "target": 25.76}, 25.76, True),
     ({"comparator": "no_decrease", "baseline": 20.0}, 19.99, False)],
)
def test_scorecard_comparators(kw, value, met):
    row = evaluate(_recipe(**kw), {"share:red": value}).iloc[0]
    assert row["met"] == met and row["status"] == ("达标" if met else "未达标")


def test_scorecard_no_data_and_area_units():
    row = evaluate(_recipe(), {}).iloc[0]
    assert row["met"] is None and row["status"] == "无数据"
    r = _recipe(metric="landuse:farmland", unit="万亩", target=75)
    assert evaluate(r, {"landuse:farmland": 75 * 1e8 / 15}, lang="en").iloc[0]["status"] == "met"


def test_recipe_validation_lists_every_problem(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('[[indicator]]\nid = "a"\nname_zh = "甲"\nmetric = "share:x"\nunit = "万亩"\ncomparator = ">"\n'
                    '[[indicator]]\nid = "a"\nname_zh = "乙"\nmetric = "magic"\nunit = "%"\ncomparator = "no_decrease"\n',
                    encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_recipe(path)
    text = str(err.value)
    for expected in ("must be '%'", "comparator '>'", "'target' is required", "used twice", "unknown metric 'magic'",
                     "'baseline' is required"):
        assert expected in text


def test_metrics_from_shares():
    t = layer_shares(gdf([B]), {"red": gdf([box(108.0, 29.0, 108.05, 29.1)])})
    m = metrics_from(t)
    assert m["share:red"] == pytest.approx(t.iloc[0]["share_pct"]) and m["area:red"] == pytest.approx(t.iloc[0]["area_m2"])


def test_overlap_clusters_dissolve_like_one_union():
    # chains of overlapping patches (clusters), patches alone, and one patch wholly inside another: the dissolved
    # parts add up to the Geod area of one big union, and a prepared layer gives the same shares and ledger
    from redline.analyses.indicators import prepare_layer

    chain = [box(108.00 + 0.004 * i, 29.00, 108.006 + 0.004 * i, 29.01) for i in range(6)]
    alone = [box(108.05, 29.05, 108.06, 29.06), box(108.07, 29.05, 108.08, 29.06)]
    nested = [box(108.02, 29.03, 108.04, 29.05), box(108.025, 29.035, 108.03, 29.04)]
    layer = gdf(chain + alone + nested).to_crs("EPSG:4545")
    prep = prepare_layer(layer)
    assert len(prep.whole.parts) == 4  # one chain, two alone, one nest
    union = shapely.union_all(chain + alone + nested)
    assert prep.whole.total_m2 == pytest.approx(geod(union), rel=1e-7)
    west, east = box(108.0, 29.0, 108.03, 29.1), box(108.03, 29.0, 108.1, 29.1)
    units = gdf([west, east], code=["w", "e"])
    for lyr in (layer, prep):
        shares = layer_shares(gdf([B]), {"red": lyr})
        assert shares["area_m2"].iloc[0] == pytest.approx(geod(union.intersection(B)), rel=1e-7)
        rows = ledger(units, "code", {"red": lyr}, boundary=gdf([B])).rows.set_index("unit")["area_m2"]
        assert rows["w"] == pytest.approx(geod(union.intersection(west)), rel=1e-7)
        assert rows["e"] == pytest.approx(geod(union.intersection(east)), rel=1e-7)
