"""CRS recognition, checked against PROJ's own names for the EPSG codes."""

from __future__ import annotations

import pytest
from pyproj import CRS

from redline.geometry.crs import crs_code, describe_crs, gk_crs, guess_crs, looks_swapped, to_crs
from redline.errors import CRSError


@pytest.mark.parametrize("zone", range(25, 46))
def test_gk3_prefixed_codes(zone):
    assert CRS.from_user_input(gk_crs(zone)).name == f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}"


@pytest.mark.parametrize("cm", range(75, 136, 3))
def test_gk3_cm_codes(cm):
    assert CRS.from_user_input(gk_crs(cm, prefixed=False)).name == f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"


@pytest.mark.parametrize("zone", range(13, 24))
def test_gk6_codes(zone):
    assert CRS.from_user_input(gk_crs(zone, width=6)).name == f"CGCS2000 / Gauss-Kruger zone {zone}"
    cm = 6 * zone - 3
    assert CRS.from_user_input(gk_crs(cm, width=6, prefixed=False)).name == f"CGCS2000 / Gauss-Kruger CM {cm}E"


@pytest.mark.parametrize("bad", [(24, 3, True), (46, 3, True), (107, 3, False), (12, 6, True), (36, 4, True)])
def test_gk_out_of_range(bad):
    with pytest.raises(ValueError):
        gk_crs(bad[0], width=bad[1], prefixed=bad[2])


@pytest.mark.parametrize(
    "bounds,expected",
    [
        ((108.3, 29.1, 109.0, 29.9), "EPSG:4490"),
        ((29.1, 108.3, 29.9, 109.0), "EPSG:4490"),  # swapped: still suggests CGCS2000, and says so
        ((36_420_000, 3_230_000, 36_490_000, 3_310_000), "EPSG:4524"),
        ((39_500_000, 4_400_000, 39_520_000, 4_420_000), "EPSG:4527"),
        ((19_600_000, 3_300_000, 19_700_000, 3_400_000), "EPSG:4497"),
        ((420_000, 3_230_000, 490_000, 3_310_000), None),  # no prefix: central meridian unknown
    ],
)
def test_guess_crs(bounds, expected):
    guess = guess_crs(bounds)
    assert guess is not None and guess.crs == expected
    if bounds[0] < 60:
        assert "wrong order" in guess.reason


def test_guess_crs_nothing():
    assert guess_crs((0, 0, 10, 10)) is None
    assert guess_crs((-120, 30, -100, 40)) is None
    assert guess_crs((36_400_000, 3_200_000, 37_100_000, 3_300_000)) is None  # spans two prefixes


def test_looks_swapped():
    assert looks_swapped((29.0, 108.0, 30.0, 109.0))
    assert not looks_swapped((108.0, 29.0, 109.0, 30.0))
    assert not looks_swapped((40.0, 40.0, 50.0, 50.0))  # could be either: lon 40–50 is not China anyway


def test_describe_and_parse():
    assert describe_crs("EPSG:4545") == "EPSG:4545 (CGCS2000 / 3-degree Gauss-Kruger CM 108E)"
    assert crs_code("4490") == "EPSG:4490"
    assert to_crs("4545").to_epsg() == 4545
    with pytest.raises(CRSError, match="unknown CRS 'EPSG:99999'"):
        to_crs("EPSG:99999")
