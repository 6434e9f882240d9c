"""Version-to-version change: added − removed = total change, against pyproj Geod on densified polygons; CLI exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod
from shapely import box

from redline.analyses.change import change
from redline.errors import FieldError

GEOD = Geod(ellps="GRS80")


def d(geom):
    return shapely.segmentize(geom, 0.0005)


def geod(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(d(geom))[0])


A = box(108.70, 29.50, 108.72, 29.52)
A_CUT = box(108.70, 29.50, 108.72, 29.51)       # A loses its northern half
B = box(108.74, 29.50, 108.75, 29.51)
C = box(108.76, 29.50, 108.765, 29.505)         # new
D = box(108.78, 29.50, 108.79, 29.51)           # removed
B_DUP = box(108.745, 29.50, 108.75, 29.51)      # a second feature of B, inside it: counts once


def versions(new_crs="EPSG:4545"):
    old = gpd.GeoDataFrame({"hx_id": ["A", "B", "D"], "type": ["水源涵养", "水土保持", "水源涵养"],
                            "name": ["甲", "乙", "丁"]}, geometry=[d(A), d(B), d(D)], crs=4490)
    new = gpd.GeoDataFrame({"hx_id": ["A", "B", "B", "C"], "type": ["水源涵养", "生物多样性维护", "生物多样性维护", "水土保持"],
                            "name": ["甲", "乙", "乙", "丙"]}, geometry=[d(A_CUT), d(B), d(B_DUP), d(C)],
                           crs=4490).to_crs(new_crs)
    return old, new


@pytest.mark.parametrize("new_crs", ["EPSG:4490", "EPSG:4545", "EPSG:4524"])
def test_totals_against_geod(new_crs):
    old, new = versions(new_crs)
    r = change(old, new)
    t = r.totals
    assert t["added_m2"] == pytest.approx(geod(C), rel=1e-5)
    assert t["removed_m2"] == pytest.approx(geod(D) + geod(box(108.70, 29.51, 108.72, 29.52)), rel=1e-5)
    assert t["old_m2"] == pytest.approx(geod(A) + geod(B) + geod(D), rel=1e-6)
    assert t["new_m2"] == pytest.approx(geod(A_CUT) + geod(B) + geod(C), rel=1e-6)
    assert t["added_m2"] - t["removed_m2"] == pytest.approx(t["net_m2"], abs=0.05)
    assert t["unchanged_m2"] + t["removed_m2"] == pytest.approx(t["old_m2"], abs=0.1)  # reprojection noise
    assert r.decreased()
    assert set(r.pieces["change"]) == {"added", "removed"}
    assert r.pieces.loc[r.pieces["change"] == "added", "area_m2"].sum() == pytest.approx(t["added_m2"], rel=1e-6)


def test_features_matched_by_key():
    old, new = versions()
    r = change(old, new, key="hx_id")
    f = r.features.set_index("key")
    assert f["status"].to_dict() == {"A": "reshaped", "B": "attributes", "C": "new", "D": "removed"}
    assert f.loc["B", "fields_changed"] == "type" and bool(f.loc["B", "nature_changed"])
    assert "水土保持" in f.loc["B", "old_value"] and "生物多样性维护" in f.loc["B", "new_value"]
    assert not f.loc["A", "nature_changed"]
    assert f.loc["A", "removed_m2"] == pytest.approx(geod(box(108.70, 29.51, 108.72, 29.52)), rel=1e-5)
    assert any("several features" in n for n in r.notes)  # B has two features in the new version
    assert r.to_json()["counts"]["nature_changed"] == 1
    with pytest.raises(FieldError, match="no key field 'bsm'"):
        change(old, new, key="bsm")


def test_units_and_strict():
    old, new = versions("EPSG:4490")
    west = box(108.60, 29.40, 108.73, 29.60)
    east = box(108.73, 29.40, 108.77, 29.60)  # D (removed, 108.78–108.79) lies in no unit
    towns = gpd.GeoDataFrame({"code": ["w", "e"]}, geometry=[d(west), d(east)], crs=4490)
    r = change(old, new, units=towns, by="code")
    u = r.by_unit.set_index("unit")
    assert set(u.index) == {"w", "e", "(未归属单位)"}
    for col in ("old_m2", "new_m2", "added_m2", "removed_m2", "net_m2"):
        assert u[col].sum() == pytest.approx(r.totals[col], rel=1e-9, abs=1e-3)
    assert u.loc["e", "added_m2"] == pytest.approx(geod(C), rel=1e-5)
    assert u.loc["(未归属单位)", "removed_m2"] == pytest.approx(geod(D), rel=1e-5)
    # a gain overall, a loss in one unit: only --strict fails
    old2, new2 = versions("EPSG:4490")
    new2 = new2[~new2["hx_id"].isin(["B", "C"])]  # the east unit loses B, the west one gains E
    new2.loc[len(new2)] = ["E", "水源涵养", "戊", d(box(108.70, 29.53, 108.73, 29.55))]
    r2 = change(old2[old2["hx_id"] != "D"], new2, units=towns, by="code")
    assert not r2.decreased() and r2.decreased(strict=True)


def run(*args):
    return subprocess.run([sys.executable, "-m", "redline", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8")


def test_cli_exit_codes_and_json(tmp_path):
    folder = tmp_path / "红线 版本"
    folder.mkdir()
    old, new = versions()
    old.to_file(folder / "红线_v1.gpkg", engine="pyogrio")
    new.to_file(folder / "红线_v2.gpkg", engine="pyogrio")
    out = folder / "变化.gpkg"
    proc = run("change", folder / "红线_v1.gpkg", folder / "红线_v2.gpkg", "--key", "hx_id", "--json", "--out", out)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"totals", "features", "counts", "decreased", "units", "notes"} <= set(data)
    assert data["totals"]["added_m2"] == pytest.approx(geod(C), rel=1e-5) and data["decreased"] is True
    assert gpd.list_layers(out)["name"].tolist() == ["added", "removed"]
    fail = run("change", folder / "红线_v1.gpkg", folder / "红线_v2.gpkg", "--no-decrease")
    assert fail.returncode == 4 and "面积减少" in fail.stderr and "新增" not in fail.stderr
    ok = run("change", folder / "红线_v2.gpkg", folder / "红线_v2.gpkg", "--no-decrease", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["failed"] is False
    bad = run("change", folder / "红线_v1.gpkg", folder / "红线_v2.gpkg", "--key", "编号")
    lines = [x for x in bad.stderr.splitlines() if x.strip()]
    assert bad.returncode == 1 and len(lines) == 1 and "编号" in lines[0] and "Traceback" not in bad.stderr
    strict = run("change", folder / "红线_v1.gpkg", folder / "红线_v2.gpkg", "--strict")
    # a usage refusal is bad input like any other: one line, exit 1 (issue 15, class 8)
    assert strict.returncode == 1 and "--strict goes with --no-decrease" in strict.stderr
