"""Run by tests/test_accuracy_qgis.py with a Python that has PyQGIS: the ellipsoidal area QGIS measures (its
QgsDistanceArea on the GRS80 ellipsoid, as the attribute table's $area with the project ellipsoid set to CGCS2000)
of every feature of the given layers, as JSON ``{path: {fid: m²}}``.

    python3 qgis_areas.py LAYER ...
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsDistanceArea, QgsProject, QgsVectorLayer  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
out = {}
for path in sys.argv[1:]:
    layer = QgsVectorLayer(path, "layer", "ogr")
    assert layer.isValid(), path
    measure = QgsDistanceArea()
    measure.setSourceCrs(layer.crs(), QgsProject.instance().transformContext())
    measure.setEllipsoid("EPSG:7019")  # GRS 1980, CGCS2000's ellipsoid
    out[path] = {str(f.id()): measure.measureArea(f.geometry()) for f in layer.getFeatures()}
    del layer
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22's exitQgis() can crash a headless process after the work is done
