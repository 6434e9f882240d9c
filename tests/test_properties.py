"""Property tests (hypothesis) of the invariants redline's figures rest on (issue 8).

Geometries are random boxes and polygons near 黔江区 with short edges (segmentized to 0.0005°): the
ellipsoidal area follows the geodesic between vertices while a cut point lies on the lon/lat straight
line, so pieces of long-edged polygons don't add up exactly; with short edges they do to ~1e-9.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redline

SEG = 0.0005
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def boxes(draw, lon=(108.3, 109.1), lat=(29.1, 29.9), size=(0.002, 0.08)):
    x = draw(st.floats(*lon))
    y = draw(st.floats(*lat))
    w = draw(st.floats(*size))
    h = draw(st.floats(*size))
    return shapely.segmentize(shapely.box(x, y, x + w, y + h), SEG)


@st.composite
def blobs(draw):
    """A star-shaped polygon (valid by construction) with 5–12 vertices, segmentized."""
    cx = draw(st.floats(108.4, 109.0))
    cy = draw(st.floats(29.2, 29.8))
    n = draw(st.integers(5, 12))
    radii = draw(st.lists(st.floats(0.005, 0.05), min_size=n, max_size=n))
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.c_[cx + np.array(radii) * np.cos(angles), cy + np.array(radii) * np.sin(angles)]
    return shapely.segmentize(shapely.Polygon(ring), SEG)


def layer(geoms, crs="EPSG:4490", **cols):
    return gpd.GeoDataFrame(cols or None, geometry=list(geoms), crs="EPSG:4490").to_crs(crs)


@FAST
@given(st.lists(blobs(), min_size=1, max_size=4), blobs())
def test_overlap_never_exceeds_footprint_and_shares_in_range(control, footprint):
    projects = layer([footprint], project_id=["P"], category=["industrial"])
    result = redline.screen(projects, {"eco_redline": layer(control, zone=["x"] * len(control))}, buffers=[])
    hit = result.hits.iloc[0]
    fp = result.projects["footprint_m2"].iloc[0]
    assert 0 <= hit["overlap_m2"] <= fp * (1 + 1e-9)
    assert 0 <= hit["overlap_pct"] <= 100 + 1e-9


@FAST
@given(st.lists(boxes(), min_size=1, max_size=5), boxes(size=(0.05, 0.3)))
def test_layer_shares_between_0_and_100(control, district):
    shares = redline.layer_shares(layer([district], name=["d"]), {"eco_redline": layer(control)})
    row = shares.iloc[0]
    assert 0 <= row["share_pct"] <= 100 + 1e-9
    assert row["area_m2"] >= 0 and row["outside_m2"] >= 0


@FAST
@given(st.integers(2, 5), st.lists(boxes(lon=(108.5, 108.7), lat=(29.4, 29.6)), min_size=1, max_size=4),
       st.floats(0.1, 0.9))
def test_ledger_rows_add_up_to_the_total(n_units, control, cut):
    """Units are vertical strips of the district (plus a gap where ``cut`` leaves one): rows sum to the total."""
    x0, y0, x1, y1 = 108.5, 29.4, 108.8, 29.7
    edges = np.linspace(x0, x0 + (x1 - x0) * cut, n_units + 1)  # the strips cover part of the district only
    units = layer([shapely.segmentize(shapely.box(a, y0, b, y1), SEG) for a, b in itertools.pairwise(edges)],
                  name=[f"u{i}" for i in range(n_units)])
    boundary = layer([shapely.segmentize(shapely.box(x0, y0, x1, y1), SEG)], name=["d"])
    led = redline.ledger(units, "name", {"eco_redline": layer(control)}, boundary=boundary)
    rows = led.rows[led.rows["zone"].isna()] if "zone" in led.rows.columns else led.rows
    total = led.totals[led.totals["zone"].isna()] if "zone" in led.totals.columns else led.totals
    whole = redline.layer_shares(boundary, {"eco_redline": layer(control)}).iloc[0]["area_m2"]
    assert rows["area_m2"].sum() == pytest.approx(total["area_m2"].iloc[0], rel=1e-9, abs=1e-3)
    assert total["area_m2"].iloc[0] == pytest.approx(whole, rel=1e-7, abs=1e-3)


CRSS = ["EPSG:4490", "EPSG:4326", "EPSG:4545", "EPSG:4524", "EPSG:4502"]  # CGCS2000, WGS84, GK CM108, zone 36, 6° zone


@FAST
@given(blobs(), st.sampled_from(CRSS), st.sampled_from(CRSS))
def test_area_invariant_under_reprojection(geom, a, b):
    # GK zone 36 (prefixed) covers 106.5–109.5°E; 6° zone 18 (EPSG:4502) 102–108°E: all within reach of the blob
    ga, gb = layer([geom], a), layer([geom], b)
    area_a, area_b = redline.ellipsoidal_area(ga)[0], redline.ellipsoidal_area(gb)[0]
    assert area_a == pytest.approx(area_b, rel=1e-6)
    # and against pyproj's geodesic area of the lon/lat polygon, computed independently
    from pyproj import Geod

    expected = abs(Geod(ellps="GRS80").geometry_area_perimeter(geom)[0])
    assert area_a == pytest.approx(expected, rel=1e-6)


@FAST
@given(st.lists(st.one_of(boxes(), blobs()), min_size=1, max_size=6))
def test_dissolve_is_idempotent(geoms):
    once = redline.dissolve(geoms)
    twice = redline.dissolve([once])
    assert once.is_valid and twice.is_valid
    assert shapely.symmetric_difference(once, twice).area <= 1e-12 * max(once.area, 1e-12) + 1e-15
    assert redline.ellipsoidal_area([twice], crs="EPSG:4490")[0] == pytest.approx(
        redline.ellipsoidal_area([once], crs="EPSG:4490")[0], rel=1e-9)


@FAST
@given(boxes(size=(0.01, 0.06)), st.floats(0.2, 0.8), st.lists(blobs(), min_size=1, max_size=3))
def test_screening_a_split_footprint_gives_the_same_overlap(footprint, frac, control):
    x0, y0, x1, y1 = footprint.bounds
    cut = x0 + (x1 - x0) * frac
    left = shapely.segmentize(shapely.clip_by_rect(footprint, x0, y0, cut, y1), SEG)
    right = shapely.segmentize(shapely.clip_by_rect(footprint, cut, y0, x1, y1), SEG)
    ctl = {"eco_redline": layer(control, zone=["x"] * len(control))}
    whole = redline.screen(layer([footprint], project_id=["W"], category=["industrial"]), ctl, buffers=[])
    halves = redline.screen(layer([left, right], project_id=["L", "R"], category=["industrial"] * 2), ctl, buffers=[])
    assert halves.hits["overlap_m2"].sum() == pytest.approx(whole.hits["overlap_m2"].sum(), rel=1e-7, abs=1e-2)
    assert halves.projects["footprint_m2"].sum() == pytest.approx(whole.projects["footprint_m2"].iloc[0], rel=1e-7)
