"""The bureau service (``redline serve``): every route and role, uploads, jobs in real worker processes, faults.

The store is SQLite in tmp_path, and PostgreSQL too where a PostGIS server is given (REDLINE_TEST_POSTGIS; CI
starts one): each PostGIS test gets a database of its own. The jobs run in real worker processes; results are
compared with what ``redline screen --json`` prints for the same file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from redline.service.app import create_app  # noqa: E402
from redline.service.auth import hash_password  # noqa: E402
from redline.service.store import Store  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "qianjiang"
WORKSPACE = SAMPLE / "workspace.toml"
from conftest import SERVICE_PASSWORD as PASSWORD, wait_healthy  # noqa: E402
ROLES = ("viewer", "reviewer", "admin")


def _postgis_store(tmp_path: Path) -> Store:
    import psycopg

    dsn = os.environ["REDLINE_TEST_POSTGIS"]
    name = f"redline_svc_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = dsn.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    return Store(url, files=tmp_path / "files")


STORES = ["sqlite"] + (["postgis"] if os.environ.get("REDLINE_TEST_POSTGIS") else [])


def _store(kind: str, tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'service.db'}") if kind == "sqlite" else _postgis_store(tmp_path)


@contextmanager
def running(store: Store, workers: int = 1, queue_limit: int = 20):
    """The app over ``store`` with its workers started and ready; yields (client, app)."""
    app = create_app(store, WORKSPACE, workers=workers, queue_limit=queue_limit)
    with TestClient(app) as client:
        assert app.state.pool.wait_ready(120)
        yield client, app


def _users(store: Store) -> None:
    for role in ROLES:
        if store.user(name=role) is None:
            store.add_user(role, role, hash_password(PASSWORD))


def _auth(client, name: str) -> dict:
    r = client.post("/auth/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """One running service (SQLite) for the read-mostly tests: (client, app, headers per role)."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('svc') / 'service.db'}")
    _users(store)
    with running(store, workers=2) as (client, app):
        yield client, app, {role: _auth(client, role) for role in ROLES}


def _upload(client, headers, path: Path, name: str | None = None) -> dict:
    r = client.post("/uploads", headers=headers, files={"file": (name or path.name, path.read_bytes())})
    assert r.status_code == 201, r.text
    return r.json()


def _wait(client, headers, location: str, until=("successful", "failed", "dismissed"), seconds: float = 120):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        job = client.get(location, headers=headers).json()
        if job["status"] in until:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{location} still {job['status']} after {seconds} s")


def _slow_projects(path: Path, n: int = 6000) -> Path:
    """Many small squares over the sample county: a screening with its rings that takes seconds."""
    rng = np.random.default_rng(1)
    x = rng.uniform(108.55, 108.9, n)
    y = rng.uniform(29.15, 29.8, n)
    gdf = gpd.GeoDataFrame({"project_id": [f"S{i:05d}" for i in range(n)], "category": "energy"},
                           geometry=shapely.box(x, y, x + 0.002, y + 0.002), crs=4490)
    gdf.to_file(path, driver="GeoJSON")
    return path


# --- authentication and roles -----------------------------------------------------------------------------------


def test_every_route_but_health_and_login_needs_an_account(service):
    from redline.service.app import api
    from redline.service.pages import pages

    client, app, _ = service
    open_routes = {k for k, v in ROUTE_ROLES.items() if v is None}
    checked = 0
    for route in [*api.routes, *pages.routes]:
        for method in route.methods:
            if method == "HEAD" or (method, route.path) in open_routes:
                continue
            path = route.path.replace("{", "").replace("}", "")
            r = client.request(method, path)
            assert r.status_code == 401, (method, route.path, r.status_code)
            checked += 1
    assert checked >= 20
    assert client.get("/health").json()["status"] == "ok"
    for path in ("/docs", "/openapi.json", "/redoc"):  # no description of the API without an account
        assert client.get(path).status_code == 404


#: every route of the service and the least role it needs (None: open to anyone); the test below fails when a
#: route is added without a row here
ROUTE_ROLES = {
    ("GET", "/health"): None, ("POST", "/auth/token"): None, ("GET", "/login"): None, ("POST", "/login"): None,
    ("POST", "/auth/logout"): "viewer", ("GET", "/"): "viewer", ("GET", "/api"): "viewer",
    ("GET", "/conformance"): "viewer", ("GET", "/processes"): "viewer", ("GET", "/processes/{process_id}"): "viewer",
    ("POST", "/processes/{process_id}/execution"): "reviewer", ("GET", "/jobs"): "viewer",
    ("GET", "/jobs/{job_id}"): "viewer", ("GET", "/jobs/{job_id}/results"): "viewer",
    ("GET", "/jobs/{job_id}/files"): "viewer", ("GET", "/jobs/{job_id}/files/{name:path}"): "viewer",
    ("GET", "/jobs/{job_id}/geojson"): "viewer", ("DELETE", "/jobs/{job_id}"): "reviewer",
    ("POST", "/uploads"): "reviewer", ("GET", "/uploads/{upload_id}"): "viewer", ("GET", "/collections"): "viewer",
    ("GET", "/collections/{kind}"): "viewer", ("GET", "/collections/{kind}/items"): "viewer",
    ("GET", "/layers"): "viewer", ("POST", "/layers/{kind}"): "admin", ("GET", "/users"): "admin",
    ("POST", "/users"): "admin", ("POST", "/users/{name}/disable"): "admin", ("GET", "/audit"): "admin",
    ("GET", "/audit/export"): "admin", ("GET", "/me"): "viewer", ("GET", "/ui"): "viewer", ("GET", "/ui/"): "viewer",
    ("GET", "/ui/new"): "reviewer", ("GET", "/ui/jobs"): "viewer", ("GET", "/ui/jobs/{job_id}"): "viewer",
    ("GET", "/ui/compare"): "viewer", ("GET", "/ui/layers"): "viewer", ("GET", "/ui/users"): "admin",
    ("POST", "/ui/users"): "admin", ("POST", "/ui/users/{name}/disable"): "admin", ("POST", "/ui/logout"): "viewer",
    ("GET", "/static/{name:path}"): "viewer",
}
_FILL = {"{process_id}": "screen", "{job_id}": "nojob", "{name:path}": "leaflet/leaflet.js", "{upload_id}": "none",
         "{kind}": "eco_redline", "{name}": "nobody"}


def test_the_route_table_names_every_route():
    from redline.service.app import api
    from redline.service.pages import pages

    served = {(m, r.path) for r in [*api.routes, *pages.routes] for m in r.methods if m != "HEAD"}
    assert served == set(ROUTE_ROLES)


@pytest.mark.parametrize("method, path", sorted(k for k, v in ROUTE_ROLES.items() if v))
def test_each_role_gets_what_it_may_and_403_below(service, method, path):
    client, _, _ = service
    headers = {role: _auth(client, role) for role in ROLES}  # fresh: a logout ends its token
    lowest = ROUTE_ROLES[(method, path)]
    for key, value in _FILL.items():
        path = path.replace(key, value)
    for role in ROLES:
        r = client.request(method, path, headers=headers[role], follow_redirects=False)
        if ROLES.index(role) < ROLES.index(lowest):
            assert r.status_code == 403, (role, method, path, r.text)
            assert lowest in r.json()["detail"]
        else:
            assert r.status_code not in (401, 403), (role, method, path, r.text)


def test_a_reviewer_cannot_dismiss_anothers_job(service, tmp_path):
    client, app, headers = service
    store = app.state.store
    if store.user(name="liu") is None:
        store.add_user("liu", "reviewer", hash_password(PASSWORD))
    up = _upload(client, headers["reviewer"], _slow_projects(tmp_path / "many.geojson", 3000))
    r = client.post("/processes/screen/execution", headers={**headers["reviewer"], "Prefer": "respond-async"},
                    json={"inputs": {"projects": {"href": up["href"]}}})
    other = client.delete(r.headers["location"], headers=_auth(client, "liu"))
    assert other.status_code == 403 and "owner" in other.json()["detail"]
    assert client.delete(r.headers["location"], headers=headers["admin"]).status_code == 200
    assert _wait(client, headers["viewer"], r.headers["location"])["status"] == "dismissed"


def test_wrong_passwords_are_refused_then_rate_limited(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    _users(store)
    with running(store) as (client, _):
        for _ in range(5):
            r = client.post("/auth/token", data={"username": "viewer", "password": "wrong password"})
            assert r.status_code == 401
        r = client.post("/auth/token", data={"username": "viewer", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        unknown = client.post("/auth/token", data={"username": "nobody", "password": PASSWORD})
        assert unknown.status_code in (401, 429)


def test_a_disabled_account_loses_its_token(service):
    client, _, headers = service
    r = client.post("/users", headers=headers["admin"], data={"name": "li", "role": "viewer", "password": PASSWORD})
    assert r.status_code == 201
    li = _auth(client, "li")
    assert client.get("/processes", headers=li).status_code == 200
    assert client.post("/users/li/disable", headers=headers["admin"]).status_code == 200
    assert client.get("/processes", headers=li).status_code == 401
    assert client.post("/auth/token", data={"username": "li", "password": PASSWORD}).status_code == 401


def test_browser_session_needs_its_csrf_token(service):
    client, _, _ = service
    browser = TestClient(client.app)
    page = browser.get("/login")
    assert page.status_code == 200 and "登录" in page.text
    wrong = browser.post("/login", data={"username": "reviewer", "password": "not the password"})
    assert wrong.status_code == 401 and "用户名或密码不对" in wrong.text
    assert "Log in" in browser.get("/login?lang=en").text
    r = browser.post("/login", data={"username": "reviewer", "password": PASSWORD, "next": "//evil.example"},
                     follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    csrf = browser.get("/me").json()["csrf"]
    files = {"file": ("sites.txt", (SAMPLE / "sites.txt").read_bytes())}
    assert browser.post("/uploads", files=files).status_code == 403
    assert browser.post("/uploads", files=files, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert browser.post("/uploads", files=files, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert browser.post("/uploads", files=files, data={"csrf_token": csrf}).status_code == 201
    html = TestClient(client.app).get("/jobs", headers={"Accept": "text/html"}, follow_redirects=False)
    assert html.status_code == 303 and html.headers["location"].startswith("/login?next=")


# --- uploads ------------------------------------------------------------------------------------------------------


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_uploads_are_sniffed_not_trusted_by_name(service, tmp_path):
    client, _, headers = service
    h = headers["reviewer"]
    sample = {"sites.txt": "gtxt", "sites.dxf": "dxf", "sites.kml": "kml", "sites.gpkg": "gpkg",
              "projects.geojson": "geojson"}
    for name, fmt in sample.items():
        assert _upload(client, h, SAMPLE / name, name="file.dat")["format"] == fmt
    shp = tmp_path / "shp"
    shp.mkdir()
    gpd.read_file(SAMPLE / "sites.gpkg").to_file(shp / "sites.shp")
    zipped = _zip({p.name: p.read_bytes() for p in shp.iterdir()})
    r = client.post("/uploads", headers=h, files={"file": ("x.bin", zipped)})
    assert r.status_code == 201 and r.json()["format"] == "shapefile"
    kmz = _zip({"doc.kml": (SAMPLE / "sites.kml").read_bytes()})
    assert client.post("/uploads", headers=h, files={"file": ("x.zip", kmz)}).json()["format"] == "kmz"


@pytest.mark.parametrize("name, data, words", [
    ("notes.txt", "just some notes\n".encode(), "not a format"),
    ("evil.zip", None, "outside itself"),
    ("bomb.zip", None, "zip bomb"),
    ("empty.gpkg", b"", "empty"),
    ("plan.dwg", b"AC1027" + b"\0" * 100, "DWG"),
    ("other.zip", None, "neither a KML"),
])
def test_bad_uploads_get_one_clear_line(service, name, data, words):
    client, app, headers = service
    if name == "evil.zip":
        data = _zip({"../../etc/cron.d/x.shp": b"x"})
    elif name == "bomb.zip":
        data = _zip({"big.shp": b"\0" * 50_000_000})
    elif name == "other.zip":
        data = _zip({"readme.md": b"hello"})
    before = set((app.state.store.files / "uploads").iterdir())
    r = client.post("/uploads", headers=headers["reviewer"], files={"file": (name, data)})
    assert r.status_code == 400 and words in r.json()["detail"] and name in r.json()["detail"]
    assert set((app.state.store.files / "uploads").iterdir()) == before  # nothing left behind


def test_uploads_beyond_the_limit_get_413(service, monkeypatch):
    client, _, headers = service
    monkeypatch.setenv("REDLINE_MAX_UPLOAD", "1KB")
    r = client.post("/uploads", headers=headers["reviewer"], files={"file": ("big.geojson", b"{" + b" " * 5000)})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_a_hostile_file_name_stays_a_name(service):
    client, app, headers = service
    name = '<script>alert(1)</script>/../../x.txt'
    up = _upload(client, headers["reviewer"], SAMPLE / "sites.txt", name=name)
    assert up["name"] == "x.txt"
    path = Path(app.state.store.upload(up["id"])["path"])
    assert path.parent.parent == app.state.store.files / "uploads" and path.name == "x.txt"
    up = _upload(client, headers["reviewer"], SAMPLE / "projects.geojson", name="../项目 红线<b>.DAT")
    assert Path(app.state.store.upload(up["id"])["path"]).name == "项目_红线_b.geojson"
    up = _upload(client, headers["reviewer"], SAMPLE / "sites.txt", name="<img src=x onerror=alert(1)>.txt")
    r = client.post("/processes/screen/execution", headers=headers["reviewer"],
                    json={"inputs": {"projects": {"href": up["href"]}, "category": "energy"}})
    job = client.get(r.headers["location"], headers=headers["viewer"])
    assert job.headers["content-type"].startswith("application/json")
    assert json.loads(job.text).get("project") == "<img src=x onerror=alert(1)>", job.text


# --- processes and jobs -----------------------------------------------------------------------------------------


def _cli_json(path: Path, *extra: str) -> dict:
    layers = [f"--layer={k}={SAMPLE / k}.gpkg" for k in ("eco_redline", "nature_reserve", "basic_farmland",
                                                            "urban_boundary", "water_source")]
    out = subprocess.run([sys.executable, "-m", "redline", "screen", str(path), *layers,
                          f"--boundary={SAMPLE / 'boundary.gpkg'}", f"--landuse={SAMPLE / 'land_use.gpkg'}",
                          *extra, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_a_screening_gives_what_the_command_line_gives(service):
    client, _, headers = service
    up = _upload(client, headers["reviewer"], SAMPLE / "sites.txt")
    r = client.post("/processes/screen/execution", headers=headers["reviewer"],
                    json={"inputs": {"projects": {"href": up["href"]}, "category": "能源"}})
    assert r.status_code == 200, r.text
    served, cli = r.json(), _cli_json(SAMPLE / "sites.txt", "--category=energy")
    assert [p["verdict"] for p in served["projects"]] == [p["verdict"] for p in cli["projects"]]
    for a, b in zip(served["projects"], cli["projects"]):
        assert a["id"] == b["id"] and a["footprint_m2"] == pytest.approx(b["footprint_m2"], rel=1e-12)
        mine, theirs = ({h["kind"]: h["overlap_m2"] for h in p["hits"]} for p in (a, b))
        assert mine.keys() == theirs.keys() and [mine[k] for k in theirs] == pytest.approx(list(theirs.values()),
                                                                                           rel=1e-12)
        assert a["landuse"] == b["landuse"] and a["landuse"]  # 占用地类 from the store's 三调 layer
    ring = lambda r: (r["project_id"], r["kind"], r["outer_m"], r["count"])  # noqa: E731
    assert sorted(map(ring, served["rings"])) == sorted(map(ring, cli["rings"])) and served["rings"]
    areas = ({ring(r): r["area_m2"] for r in rings} for rings in (served["rings"], cli["rings"]))
    assert next(areas) == pytest.approx(next(areas), rel=1e-12)
    job = client.get(r.headers["location"], headers=headers["viewer"]).json()
    assert job["status"] == "successful" and job["layers"]["eco_redline"] == 1 and len(job["input_sha256"]) == 64
    for name in ("result.json", "screening.gpkg", "screening.xlsx"):
        got = client.get(f"{r.headers['location']}/files/{name}", headers=headers["viewer"])
        assert got.status_code == 200 and len(got.content) > 100
    assert client.get(f"{r.headers['location']}/files/..%2Fservice.db", headers=headers["viewer"]).status_code == 404


def test_async_execution_and_the_other_processes(service):
    client, _, headers = service
    ids = {p["id"] for p in client.get("/processes", headers=headers["viewer"]).json()["processes"]}
    assert {"screen", "indicators", "conflicts"} <= ids
    described = client.get("/processes/screen", headers=headers["viewer"]).json()
    assert described["inputs"]["projects"]["minOccurs"] == 1
    for process in ("indicators", "conflicts"):
        r = client.post(f"/processes/{process}/execution", headers={**headers["reviewer"], "Prefer": "respond-async"},
                        json={"inputs": {"lang": "en"}})
        assert r.status_code == 201 and r.headers["location"].startswith("/jobs/")
        job = _wait(client, headers["viewer"], r.headers["location"])
        assert job["status"] == "successful", job
        assert client.get(r.headers["location"] + "/results", headers=headers["viewer"]).status_code == 200


@pytest.mark.parametrize("inputs, words", [
    ({}, "'projects' is required"),
    ({"projects": "sites.txt"}, "/uploads/ID"),
    ({"projects": {"href": "/uploads/nope"}}, "no upload"),
    ({"projects": {"href": "/uploads/x"}, "buffers": [-5]}, "distances in metres"),
    ({"projects": {"href": "/uploads/x"}, "colour": "red"}, "unknown input 'colour'"),
])
def test_bad_inputs_are_refused_before_a_job(service, inputs, words):
    client, _, headers = service
    r = client.post("/processes/screen/execution", headers=headers["reviewer"], json={"inputs": inputs})
    assert r.status_code == 400 and words in r.json()["detail"]


def test_a_bad_project_file_fails_its_job_with_the_reason(service, tmp_path):
    client, _, headers = service
    bad = tmp_path / "bad.txt"
    bad.write_text("[属性描述]\n坐标系=2000国家大地坐标系\n[地块坐标]\n", encoding="utf-8")
    up = _upload(client, headers["reviewer"], bad)
    r = client.post("/processes/screen/execution", headers=headers["reviewer"],
                    json={"inputs": {"projects": {"href": up["href"]}}})
    assert r.status_code == 422 and r.json()["detail"]
    assert client.get(r.headers["location"] + "/results", headers=headers["viewer"]).status_code == 422


def test_features_meeting_a_bbox_are_those_shapely_finds(service):
    client, _, headers = service
    bbox = (108.6, 29.3, 108.8, 29.5)
    r = client.get("/collections/eco_redline/items", headers=headers["viewer"],
                   params={"bbox": ",".join(map(str, bbox)), "limit": 5})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    layer = gpd.read_file(SAMPLE / "eco_redline.gpkg").to_crs(4326)
    expected = int(shapely.intersects(layer.geometry.values, shapely.box(*bbox)).sum())
    page = r.json()
    assert page["numberMatched"] == expected and page["numberReturned"] == min(5, expected)
    if expected > 5:
        assert any(link["rel"] == "next" for link in page["links"])
    assert client.get("/collections/nothing/items", headers=headers["viewer"]).status_code == 404
    assert client.get("/collections/eco_redline/items?bbox=1,2", headers=headers["viewer"]).status_code == 400


def test_an_admin_adds_a_layer_version_and_jobs_use_it(service):
    client, _, headers = service
    files = {"file": ("eco_redline_v2.gpkg", (SAMPLE / "eco_redline_v2.gpkg").read_bytes())}
    r = client.post("/layers/eco_redline", headers=headers["admin"], files=files)
    assert r.status_code == 201 and r.json()["version"] >= 2
    versions = [v for v in client.get("/layers", headers=headers["viewer"]).json()["layers"]
                if v["kind"] == "eco_redline"]
    assert [v["version"] for v in versions] == list(range(1, len(versions) + 1))
    up = _upload(client, headers["reviewer"], SAMPLE / "sites.txt")
    r = client.post("/processes/screen/execution", headers=headers["reviewer"],
                    json={"inputs": {"projects": {"href": up["href"]}, "buffers": []}})
    job = client.get(r.headers["location"], headers=headers["viewer"]).json()
    assert job["layers"]["eco_redline"] == versions[-1]["version"]


def test_the_audit_trail_records_and_detects_tampering(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    _users(store)
    with running(store) as (client, _):
        h = _auth(client, "reviewer")
        up = _upload(client, h, SAMPLE / "sites.txt")
        r = client.post("/processes/screen/execution", headers=h,
                        json={"inputs": {"projects": {"href": up["href"]}, "buffers": []}})
        assert r.status_code == 200
        log = client.get("/audit", headers=_auth(client, "admin")).json()
        assert log["intact"]
        actions = [e["action"] for e in log["entries"]]
        assert {"layer", "workspace", "login", "upload", "submit"} <= set(actions)
        submit = next(e for e in log["entries"] if e["action"] == "submit")
        assert submit["user"] == "reviewer" and submit["detail"]["input_sha256"] == up["sha256"]
        ended = next(e for e in log["entries"] if e["action"] == "job successful")
        assert ended["target"] == submit["target"] and ended["detail"]["layers"]["eco_redline"] == 1
        result = client.get(f"/jobs/{ended['target']}/files/result.json", headers=h).content
        assert ended["detail"]["result_sha256"] == hashlib.sha256(result).hexdigest()
        assert PASSWORD not in json.dumps(log, ensure_ascii=False)
        export = client.get("/audit/export", headers=_auth(client, "admin")).text.splitlines()
        assert len(export) >= len(log["entries"])
    with store.engine.begin() as c:
        c.exec_driver_sql("UPDATE audit SET user = 'someone' WHERE action = 'upload'")
    assert store.verify_audit() == next(e["seq"] for e in store.audit_log() if e["action"] == "upload")


# --- faults: a killed worker, a dismissed job, a restart, a full queue, PostGIS -------------------------------


@pytest.mark.parametrize("kind", STORES)
def test_faults_never_hang_a_job(kind, tmp_path):
    store = _store(kind, tmp_path)
    _users(store)
    slow = _slow_projects(tmp_path / "many.geojson")
    with running(store, workers=1, queue_limit=2) as (client, app):
        h = _auth(client, "reviewer")
        href = _upload(client, h, slow)["href"]
        body = {"inputs": {"projects": {"href": href}}}
        # a worker killed mid-job: the job fails with the reason, a new worker takes the next job
        first = client.post("/processes/screen/execution", headers={**h, "Prefer": "respond-async"}, json=body)
        _wait(client, h, first.headers["location"], until=("running",))
        (pid,) = app.state.pool.workers()
        os.kill(pid, signal.SIGKILL)
        job = _wait(client, h, first.headers["location"])
        assert job["status"] == "failed" and "killed" in job["message"]
        assert app.state.pool.wait_ready(120) and app.state.pool.workers() != [pid]
        # DELETE stops a running job; queued ones beyond the limit get 503
        running_job = client.post("/processes/screen/execution", headers={**h, "Prefer": "respond-async"}, json=body)
        _wait(client, h, running_job.headers["location"], until=("running",))
        (pid,) = app.state.pool.workers()
        queued = [client.post("/processes/screen/execution", headers={**h, "Prefer": "respond-async"}, json=body)
                  for _ in range(3)]
        assert [q.status_code for q in queued] == [201, 201, 503]
        assert len(app.state.store.jobs()) == 4  # the refused one is not kept
        assert int(queued[-1].headers["Retry-After"]) > 0
        t = time.monotonic()
        assert client.delete(running_job.headers["location"], headers=h).json()["status"] == "dismissed"
        assert time.monotonic() - t < 10
        assert _wait(client, h, running_job.headers["location"])["status"] == "dismissed"
        assert app.state.pool.wait_ready(120) and pid not in app.state.pool.workers()
        # the server stops with a job running and one queued
        _wait(client, h, queued[0].headers["location"], until=("running",))
    statuses = {j["id"]: j["status"] for j in store.jobs()}
    assert statuses[queued[0].headers["location"].rsplit("/", 1)[-1]] == "failed"
    assert statuses[queued[1].headers["location"].rsplit("/", 1)[-1]] == "accepted"
    with running(store, workers=1) as (client, app):  # the restart runs what was queued
        h = _auth(client, "viewer")
        done = _wait(client, h, queued[1].headers["location"], seconds=300)
        assert done["status"] == "successful", done
        stopped = client.get(queued[0].headers["location"], headers=h).json()
        assert "server stopped" in stopped["message"]


@pytest.mark.skipif("postgis" not in STORES, reason="no PostGIS server: set REDLINE_TEST_POSTGIS (.ci/postgis-up)")
def test_the_postgis_store_keeps_layers_in_tables(tmp_path):
    store = _postgis_store(tmp_path)
    _users(store)
    with running(store) as (client, _):
        h = _auth(client, "reviewer")
        sources = {r["kind"]: r["source"] for r in store.layers()}
        assert sources["eco_redline"].startswith("postgresql://") and "table=redline_layers.eco_redline_v1" in \
            sources["eco_redline"]
        up = _upload(client, h, SAMPLE / "sites.txt")
        r = client.post("/processes/screen/execution", headers=h,
                        json={"inputs": {"projects": {"href": up["href"]}, "category": "energy"}})
        assert r.status_code == 200, r.text
        cli = _cli_json(SAMPLE / "sites.txt", "--category=energy")
        assert [p["verdict"] for p in r.json()["projects"]] == [p["verdict"] for p in cli["projects"]]


# --- the commands as the README shows them --------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redline_serve_and_users_add_from_the_command_line(tmp_path):
    import httpx

    url = f"sqlite:///{tmp_path / 'bureau.db'}"
    env = {**os.environ, "REDLINE_STORE": url}
    add = subprocess.run([sys.executable, "-m", "redline", "users", "add", "wang", "--role", "reviewer",
                          "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True, env=env)
    assert add.returncode == 0, add.stderr
    short = subprocess.run([sys.executable, "-m", "redline", "users", "add", "li", "--role", "viewer",
                            "--password-stdin"], input="short\n", capture_output=True, text=True, env=env)
    assert short.returncode != 0 and "shorter than 8" in short.stderr
    listed = subprocess.run([sys.executable, "-m", "redline", "users", "list", "--json"], capture_output=True,
                            text=True, env=env, check=True)
    assert [u["name"] for u in json.loads(listed.stdout)] == ["wang"]
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "redline", "serve", "--port", str(port), "--workers", "1"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        tok = httpx.post(f"{base}/auth/token", data={"username": "wang", "password": PASSWORD}).json()
        h = {"Authorization": f"Bearer {tok['access_token']}"}
        up = httpx.post(f"{base}/uploads", headers=h,
                        files={"file": ("sites.txt", (SAMPLE / "sites.txt").read_bytes())}).json()
        r = httpx.post(f"{base}/processes/screen/execution", headers=h, timeout=120,
                       json={"inputs": {"projects": {"href": up["href"]}, "category": "energy"}})
        assert r.status_code == 200 and [p["id"] for p in r.json()["projects"]] == ["QJ-2026-01", "QJ-2026-02",
                                                                                    "QJ-2026-03"]
    finally:
        server.send_signal(signal.SIGINT)
        log, _ = server.communicate(timeout=60)
    assert PASSWORD not in log and tok["access_token"] not in log  # secrets never logged
    assert "serving on" in log


def test_the_report_downloads_and_what_they_may_do(service):
    client, _, headers = service
    up = _upload(client, headers["reviewer"], SAMPLE / "sites.txt")
    r = client.post("/processes/screen/execution", headers=headers["reviewer"],
                    json={"inputs": {"projects": {"href": up["href"]}, "category": "energy", "report": True}})
    assert r.status_code == 200, r.text
    job = r.headers["location"]
    names = [f["name"] for f in client.get(f"{job}/files", headers=headers["viewer"]).json()["files"]]
    assert {"report/report.docx", "report/map.html", "encroachments.txt"} <= set(names)
    assert [n for n in names if n.startswith("report/projects/")] == [f"report/projects/QJ-2026-0{i}.docx"
                                                                      for i in (1, 2, 3)]
    page = client.get(f"{job}/files/report/map.html", headers=headers["viewer"])
    assert page.status_code == 200 and "connect-src 'none'" in page.headers["content-security-policy"]
    txt = client.get(f"{job}/files/encroachments.txt", headers=headers["viewer"])
    assert txt.status_code == 200 and "[地块坐标]" in txt.content.decode("gbk")
    docx = client.get(f"{job}/files/report/projects/QJ-2026-01.docx", headers=headers["viewer"]).content
    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        text = zf.read("word/document.xml").decode("utf-8")
    result = client.get(f"{job}/files/result.json", headers=headers["viewer"]).content
    assert "审查记录" in text and job.rsplit("/", 1)[-1] in text and up["sha256"] in text and "reviewer" in text
    assert hashlib.sha256(result).hexdigest() in text  # the report names the result it was built from
    for bad in ("report/map_files/../1/2/3.png", "report/projects/..%2F..%2Fresult.json", "..%2F..%2Fservice.db",
                "report%2Fmap_files%2F..%2F0%2F0%2F0.png"):  # encoded: the client does not resolve the dots
        assert client.get(f"{job}/files/{bad}", headers=headers["viewer"]).status_code == 404, bad


def test_the_change_between_two_layer_versions_is_what_redline_change_gives(service):
    client, _, headers = service
    files = {"file": ("eco_redline_v2.gpkg", (SAMPLE / "eco_redline_v2.gpkg").read_bytes())}
    new = client.post("/layers/eco_redline", headers=headers["admin"], files=files).json()["version"]
    r = client.post("/processes/change/execution", headers=headers["reviewer"],
                    json={"inputs": {"kind": "eco_redline", "from": 1, "to": new}})
    assert r.status_code == 200, r.text
    served = r.json()
    cli = subprocess.run([sys.executable, "-m", "redline", "change", str(SAMPLE / "eco_redline.gpkg"),
                          str(SAMPLE / "eco_redline_v2.gpkg"), "--json"], capture_output=True, text=True, check=True)
    expected = json.loads(cli.stdout)["totals"]
    assert served["from"] == 1 and served["to"] == new
    assert served["totals"] == pytest.approx(expected, rel=1e-9)
    job = client.get(r.headers["location"], headers=headers["viewer"]).json()
    assert job["layers"] == {"eco_redline": [1, new]}
    bad = client.post("/processes/change/execution", headers=headers["reviewer"],
                      json={"inputs": {"kind": "eco_redline", "from": new, "to": 1}})
    assert bad.status_code == 422 and "cannot be compared" in bad.json()["detail"]


@pytest.mark.parametrize("kind", STORES)
def test_audit_entries_appended_at_once_still_chain(kind, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = _store(kind, tmp_path)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.audit(f"u{i % 8}", "test", str(i)), range(400)))
    assert len(store.audit_log()) == 400 and store.verify_audit() is None


def test_compare_marks_what_a_new_layer_version_changed(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    _users(store)
    old = gpd.read_file(SAMPLE / "eco_redline.gpkg").to_crs(4545).union_all()
    new = gpd.read_file(SAMPLE / "eco_redline_v2.gpkg").to_crs(4545).union_all()
    gone = max(shapely.get_parts(shapely.difference(old, new)), key=shapely.area)  # red line v2 gave up
    site = gpd.GeoDataFrame({"project_id": ["C-1"], "category": ["industrial"]},
                            geometry=[shapely.point_on_surface(gone).buffer(20)], crs=4545)
    site.to_file(tmp_path / "site.geojson", driver="GeoJSON")
    with running(store) as (client, _):
        h, admin = _auth(client, "reviewer"), _auth(client, "admin")
        body = {"inputs": {"projects": {"href": _upload(client, h, tmp_path / "site.geojson")["href"]},
                           "buffers": []}}
        first = client.post("/processes/screen/execution", headers=h, json=body)
        files = {"file": ("eco_redline_v2.gpkg", (SAMPLE / "eco_redline_v2.gpkg").read_bytes())}
        assert client.post("/layers/eco_redline", headers=admin, files=files).status_code == 201
        second = client.post("/processes/screen/execution", headers=h, json=body)
        a, b = (r.headers["location"].rsplit("/", 1)[-1] for r in (first, second))
        page = client.get(f"/ui/compare?job={a}&job={b}", headers=h)
        assert page.status_code == 200 and "两次审查对比" in page.text
        before = {p["id"]: {x["kind"]: x["overlap_m2"] for x in p["hits"]} for p in first.json()["projects"]}
        after = {p["id"]: {x["kind"]: x["overlap_m2"] for x in p["hits"]} for p in second.json()["projects"]}
        changed = [pid for pid in before if before[pid]["eco_redline"] != after[pid]["eco_redline"]]
        assert changed  # v2 moved the red line under some projects
        assert page.text.count('class="differs"') >= len(changed)
        assert client.get(f"/ui/compare?job={a}", headers=h).status_code == 400


def test_the_readmes_example_session_runs_as_written(tmp_path):
    """The README's session (users add, serve in the background, curl) as a new user would paste it, in a folder of
    its own: the sample's data beside it, `.venv/bin/redline` this interpreter's redline, a fresh store."""
    import re
    import shutil as sh
    import socket

    from conftest import REPO, in_ci

    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("An example session on the sample county")
    block = re.search(r"```bash\n(.*?)```", text[start:], re.S).group(1)
    with socket.socket() as s:
        busy = s.connect_ex(("127.0.0.1", 8000)) == 0
    if busy or not sh.which("curl"):
        if in_ci():
            pytest.fail("the README's session needs curl and a free port 8000")
        pytest.skip("the README's session needs curl and a free port 8000")
    (tmp_path / "data").symlink_to(REPO / "data")
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    (bin_ / "redline").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m redline "$@"\n', encoding="utf-8")
    (bin_ / "redline").chmod(0o755)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("REDLINE_STORE", None)
    run = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, (run.stderr[-2000:], (tmp_path / "serve.log").read_text()[-2000:])
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert [p["id"] for p in result["projects"]] == ["QJ-2026-01", "QJ-2026-02", "QJ-2026-03"]
    assert json.loads((tmp_path / "eco_redline.geojson").read_text(encoding="utf-8"))["numberReturned"] == 10
