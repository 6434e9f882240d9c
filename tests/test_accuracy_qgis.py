"""redline's areas against QGIS's: every feature of the sample layers (lon/lat and Gauss-Krüger, parcels of a few
hundred m² to red-line patches of tens of km²) measured by QGIS's QgsDistanceArea on GRS80 and by redline as every
command measures it (the layer read with read_layer, then its ellipsoidal area).

Needs a Python with PyQGIS (as tests/test_service_qgis.py): skipped with the reason without one, a failure in CI."""

from __future__ import annotations

import json
import subprocess

import numpy as np

from conftest import REPO, SAMPLE
from test_service_qgis import pyqgis

from redline.geometry.area import ellipsoidal_area
from redline.io import read_layer

LAYERS = ["eco_redline.gpkg", "basic_farmland.gpkg", "nature_reserve.gpkg", "townships.gpkg", "land_use.gpkg",
          "boundary.gpkg"]
#: the largest relative gap allowed between QGIS and redline (the guide's accuracy page states it)
TOLERANCE = 1e-7


def test_redline_measures_what_qgis_measures():
    python = pyqgis("the QGIS comparison")
    paths = [str(SAMPLE / name) for name in LAYERS]
    run = subprocess.run([python, str(REPO / "tests" / "data" / "qgis_areas.py"), *paths], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    qgis = json.loads(run.stdout.strip().splitlines()[-1])
    worst = 0.0
    for path in paths:
        gdf, _ = read_layer(path, geometry="polygon")
        assert len(gdf) == len(qgis[path]), path  # nothing dropped from the sample layers
        mine = ellipsoidal_area(gdf.geometry.values, crs=gdf.crs)
        theirs = np.array([qgis[path][str(fid)] for fid in gdf.index])
        gap = np.abs(mine - theirs) / np.maximum(theirs, 1.0)
        worst = max(worst, float(gap.max()))
        assert gap.max() < TOLERANCE, (path, float(gap.max()))
    print(f"largest relative gap to QGIS: {worst:.1e}")
