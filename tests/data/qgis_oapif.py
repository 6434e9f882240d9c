"""Run by tests/test_service_qgis.py with a Python that has PyQGIS: add a layer of ``redline serve`` to QGIS as an
OGC API - Features source, logging in with OAuth2's password flow (QGIS's own OAuth2 method, "Resource Owner"),
and print what QGIS sees as JSON: whether the layer is valid, its features, CRS, attributes and the ellipsoidal
area (GRS80) QGIS measures.

    python3 qgis_oapif.py BASE_URL USER PASSWORD KIND
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QGIS_AUTH_DB_DIR_PATH"] = tempfile.mkdtemp()

from qgis.core import (QgsApplication, QgsAuthMethodConfig, QgsCoordinateReferenceSystem,  # noqa: E402
                       QgsDistanceArea, QgsProject, QgsVectorLayer)

base, user, password, kind = sys.argv[1:5]
app = QgsApplication([], False)
app.initQgis()
auth = QgsApplication.authManager()
auth.setMasterPassword("redline-test", True)
cfg = QgsAuthMethodConfig("OAuth2")
cfg.setName("redline")
cfg.setConfig("oauth2config", json.dumps({
    "apiKey": "", "clientId": "qgis", "clientSecret": "", "configType": 1, "description": "", "grantFlow": 2,
    "id": "", "name": "redline", "objectName": "", "password": password, "persistToken": False, "queryPairs": {},
    "redirectPort": 7070, "redirectUrl": "", "refreshTokenUrl": "", "requestTimeout": 30,
    "requestUrl": base + "/auth/token", "scope": "", "tokenUrl": base + "/auth/token", "username": user,
    "version": 1, "accessMethod": 0}))
auth.storeAuthenticationConfig(cfg)
layer = QgsVectorLayer(f"url='{base}' typename='{kind}' authcfg={cfg.id()}", kind, "OAPIF")
out = {"valid": layer.isValid()}
if layer.isValid():
    measure = QgsDistanceArea()
    measure.setSourceCrs(layer.crs(), QgsProject.instance().transformContext())
    measure.setEllipsoid(QgsCoordinateReferenceSystem("EPSG:4490").ellipsoidAcronym() or "EPSG:7019")
    features = list(layer.getFeatures())
    out.update(count=len(features), crs=layer.crs().authid(), fields=[f.name() for f in layer.fields()],
               ids=sorted(str(f["hx_id"]) for f in features) if "hx_id" in layer.fields().names() else [],
               area_m2=sum(measure.measureArea(f.geometry()) for f in features), ellipsoid=measure.ellipsoid())
print(json.dumps(out, ensure_ascii=False))
app.exitQgis()
