"""QGIS adds the service's layers as an OGC API - Features source (QGIS's OAuth2 "Resource Owner" login against
``POST /auth/token``), sees every feature with its attributes, and measures the same area as pyproj's Geod.

Needs a Python with PyQGIS (Debian: ``apt-get install qgis python3-qgis``, then ``/usr/bin/python3``): skipped
with the reason without one, a failure under CI=true (``.ci/run`` installs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod

from conftest import REPO, SAMPLE, SERVICE_PASSWORD, in_ci


def pyqgis(what: str) -> str:
    """A Python that imports PyQGIS; without one, a skip that says why (a failure in CI, where ``what`` must run)."""
    for python in (os.environ.get("REDLINE_PYQGIS"), "/usr/bin/python3", shutil.which("python3")):
        if python and subprocess.run([python, "-c", "import qgis.core"], capture_output=True).returncode == 0:
            return python
    reason = "needs a Python with PyQGIS (apt-get install qgis python3-qgis; or set REDLINE_PYQGIS)"
    if in_ci():
        pytest.fail(f"{what} must run in CI: {reason}")
    pytest.skip(reason)


def test_qgis_reads_a_layer_of_the_service(served_county):
    python = pyqgis("the QGIS test")
    proc = subprocess.run([python, str(REPO / "tests" / "data" / "qgis_oapif.py"), served_county, "wang",
                           SERVICE_PASSWORD, "eco_redline"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["valid"], proc.stderr[-2000:]
    layer = gpd.read_file(SAMPLE / "eco_redline.gpkg").to_crs(4326)
    assert seen["count"] == len(layer) and seen["crs"] == "EPSG:4326"
    assert seen["ids"] == sorted(layer["hx_id"].astype(str)) and {"hx_id", "name", "type"} <= set(seen["fields"])
    geod = Geod(ellps="GRS80")  # the oracle: Geod on the same polygons (holes subtracted)
    expected = 0.0
    for geom in layer.geometry.explode(index_parts=False):
        expected += abs(geod.geometry_area_perimeter(geom)[0])
    assert seen["area_m2"] == pytest.approx(expected, rel=1e-6), (seen["area_m2"], expected, seen["ellipsoid"])
    assert np.isfinite(seen["area_m2"])
