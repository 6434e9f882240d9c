"""The bureau service's HTTP API: OGC API - Processes and Features, uploads, accounts, layers and the audit trail.

:func:`create_app` builds the FastAPI application over a :class:`~redline.service.store.Store`; ``redline serve``
runs it with uvicorn. Every route but ``GET /health`` and the login page needs an account (401 without, 403 when
its role is too low); see :mod:`redline.service.auth`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from ..errors import RedlineError
from .auth import User, check_login, issue, require
from .layers import FeatureCache, add_version, import_workspace, job_sources, known_kinds
from .pages import pages
from .pool import FINISHED, JobPool, QueueFull
from .processes import PROCESSES, check_inputs, describe
from .store import ROLES, Store, beijing_time
from .uploads import display_name, max_upload_bytes, save_upload

__all__ = ["create_app", "resolve_job", "DOWNLOADS"]

api = APIRouter()
viewer, reviewer, admin = require("viewer"), require("reviewer"), require("admin")
#: the files a job may leave for download (nothing else in its folder is served)
DOWNLOADS = ("result.json", "screening.gpkg", "screening.xlsx", "encroachments.txt", "indicators.xlsx",
             "conflicts.gpkg", "conflicts.xlsx", "change.gpkg", "change.xlsx", "report/report.docx", "report/report.html",
             "report/map.html", "report/results.gpkg", "report/indicators.xlsx")
_PROJECT_DOCX = re.compile(r"report/projects/[A-Za-z0-9_.-]+\.docx")  # one 用地预审 document per project
_MAP_TILE = re.compile(r"report/map_files/[A-Za-z0-9_.-]+/\d+/\d+/\d+\.png")  # a large layer's tiles beside the map
# the report and the map open in the browser; what they may do there is bounded: no fetch or XHR (so no call on
# the API with the viewer's session), no forms, images and styles from here (tiles) or https basemaps
_PAGE_CSP = ("default-src 'self' 'unsafe-inline' data: blob:; img-src 'self' data: blob: https:; connect-src 'none'; "
             "form-action 'none'; frame-ancestors 'self'")
_SYNC_WAIT_S = float(os.environ.get("REDLINE_SYNC_WAIT", 120))


def _state(request: Request):
    return request.app.state


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _base(request: Request) -> str:
    """This service's address as the client reached it (behind a reverse proxy: its Host and X-Forwarded-Proto),
    for the absolute links OGC clients such as QGIS follow."""
    return str(request.base_url).rstrip("/")


def _problem(status: int, title: str, detail: str, **headers) -> JSONResponse:
    """An OGC / RFC 7807 exception body."""
    return JSONResponse({"type": f"about:blank#{status}", "title": title, "status": status, "detail": detail},
                        status_code=status, headers=headers or None)


@api.get("/health")
def health(request: Request) -> dict:
    st = _state(request)
    return {"status": "ok", "workers": len(st.pool.workers()), "queued": st.store.count_jobs(("accepted",))}


@api.post("/auth/token")
def token(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> dict:
    """OAuth2's password flow: ``username`` and ``password`` as a form, a bearer token back."""
    user = check_login(_state(request).store, form.username, form.password, _client(request))
    access, _ = issue(_state(request).store, user, "bearer")
    _state(request).store.audit(user.name, "login", "token", client=_client(request))
    return {"access_token": access, "token_type": "bearer"}


@api.post("/auth/logout")
def logout(request: Request, user: User = Depends(viewer)) -> Response:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    for tok in (value.strip() if scheme.lower() == "bearer" else None, request.cookies.get("redline_session")):
        if tok:
            _state(request).store.drop_token(tok)
    response = Response(status_code=204)
    response.delete_cookie("redline_session")
    return response


@api.get("/")
def landing(request: Request, user: User = Depends(viewer)):
    """The OGC API landing page (a browser goes to the pages)."""
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/ui/", status_code=303)
    links = [("self", "/", "this document"), ("conformance", "/conformance", "conformance classes"),
             ("http://www.opengis.net/def/rel/ogc/1.0/processes", "/processes", "the processes"),
             ("http://www.opengis.net/def/rel/ogc/1.0/job-list", "/jobs", "the jobs"),
             ("data", "/collections", "the bureau's layers"), ("service-desc", "/api", "the OpenAPI description")]
    base = _base(request)
    return {"title": "redline", "description": "国土空间管控线审查 — territorial-spatial constraint screening",
            "links": [{"rel": r, "href": base + h, "title": t, "type": "application/json"} for r, h, t in links]}


@api.get("/api")
def service_description(request: Request, user: User = Depends(viewer)) -> dict:
    """The OpenAPI description of this service."""
    return request.app.openapi()


@api.get("/conformance")
def conformance(user: User = Depends(viewer)) -> dict:
    base = "http://www.opengis.net/spec/"
    return {"conformsTo": [base + "ogcapi-processes-1/1.0/conf/core", base + "ogcapi-processes-1/1.0/conf/json",
                           base + "ogcapi-processes-1/1.0/conf/job-list", base + "ogcapi-processes-1/1.0/conf/dismiss",
                           base + "ogcapi-features-1/1.0/conf/core", base + "ogcapi-features-1/1.0/conf/geojson"]}


@api.get("/processes")
def processes(lang: str = "zh", user: User = Depends(viewer)) -> dict:
    return {"processes": [describe(p, lang) for p in PROCESSES],
            "links": [{"href": "/processes", "rel": "self", "type": "application/json"}]}


@api.get("/processes/{process_id}")
def process(process_id: str, lang: str = "zh", user: User = Depends(viewer)) -> dict:
    if process_id not in PROCESSES:
        raise HTTPException(404, f"no process {process_id!r} (GET /processes lists them)")
    return describe(process_id, lang, full=True)


def _job_status(job: dict) -> dict:
    """A job as OGC API - Processes' statusInfo."""
    out = {"jobID": job["id"], "processID": job["process"], "type": "process", "status": job["status"],
           "message": job["message"], "progress": job["progress"], "created": job["created_at"],
           "started": job["started_at"], "finished": job["finished_at"], "project": job["project"],
           "layers": job["layers"], "input_sha256": job["input_sha256"], "result_sha256": job["result_sha256"],
           "links": [{"href": f"/jobs/{job['id']}", "rel": "self", "type": "application/json"}]}
    if job["status"] == "successful":
        out["links"].append({"href": f"/jobs/{job['id']}/results", "rel": "http://www.opengis.net/def/rel/ogc/1.0/"
                                                                          "results", "type": "application/json"})
    return out


@api.post("/processes/{process_id}/execution")
async def execute(process_id: str, request: Request, user: User = Depends(reviewer)) -> Response:
    """Run a process: 201 with ``Location`` when asked ``Prefer: respond-async``, else the result once it is done
    (or, past ``REDLINE_SYNC_WAIT`` seconds, 201 as if asked async)."""
    st = _state(request)
    if process_id not in PROCESSES:
        raise HTTPException(404, f"no process {process_id!r} (GET /processes lists them)")
    try:
        body = json.loads(await request.body() or b"{}")
        inputs = check_inputs(process_id, body.get("inputs", {}) if isinstance(body, dict) else None)
    except (ValueError, RedlineError) as exc:
        return _problem(400, "bad inputs", str(exc) if isinstance(exc, RedlineError) else f"not JSON: {exc}")
    upload = None
    if "projects" in inputs:
        upload = st.store.upload(inputs["projects"]["href"].rsplit("/", 1)[-1])
        if upload is None:
            return _problem(400, "bad inputs", f"no upload {inputs['projects']['href']} (POST /uploads first)")
    job_id = secrets.token_hex(12)
    project = str(body.get("project") or (upload["name"].rsplit(".", 1)[0] if upload else process_id))[:255]
    st.store.add_job({"id": job_id, "process": process_id, "status": "accepted", "inputs": json.dumps(inputs),
                      "user_id": user.id, "project": project, "input_sha256": upload["sha256"] if upload else ""})
    try:
        st.pool.submit(job_id)
    except QueueFull:
        return _problem(503, "busy", "the job queue is full: try again in a minute", **{"Retry-After": "60"})
    st.store.audit(user.name, "submit", job_id, process=process_id, project=project,
                   input_sha256=upload["sha256"] if upload else "", upload=upload["name"] if upload else "")
    location = {"Location": f"/jobs/{job_id}"}
    if "respond-async" not in request.headers.get("prefer", ""):
        waited = 0.0
        while waited < _SYNC_WAIT_S:
            job = await asyncio.to_thread(st.store.job, job_id)  # the event loop serves others meanwhile
            if job["status"] in FINISHED:
                if job["status"] == "successful":
                    return FileResponse(st.store.job_dir(job_id) / "result.json", media_type="application/json",
                                        headers=location)
                return _problem(422 if job["status"] == "failed" else 410, f"job {job['status']}", job["message"],
                                **location)
            await asyncio.sleep(0.05 if waited < 2 else 0.25)
            waited += 0.05 if waited < 2 else 0.25
    return JSONResponse(_job_status(st.store.job(job_id)), status_code=201, headers=location)


def _job(st, job_id: str) -> dict:
    job = st.store.job(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return job


@api.get("/jobs")
def jobs(request: Request, project: str | None = None, limit: int = 100, user: User = Depends(viewer)) -> dict:
    rows = _state(request).store.jobs(project=project, limit=max(1, min(limit, 1000)))
    return {"jobs": [_job_status(j) for j in rows], "links": [{"href": "/jobs", "rel": "self"}]}


@api.get("/jobs/{job_id}")
def job(job_id: str, request: Request, user: User = Depends(viewer)) -> dict:
    return _job_status(_job(_state(request), job_id))


@api.get("/jobs/{job_id}/results")
def results(job_id: str, request: Request, user: User = Depends(viewer)) -> Response:
    st = _state(request)
    job = _job(st, job_id)
    if job["status"] != "successful":
        if job["status"] in ("accepted", "running"):
            return _problem(404, "result not ready", f"the job is {job['status']}: ask again later")
        return _problem(422 if job["status"] == "failed" else 410, f"job {job['status']}", job["message"])
    return FileResponse(st.store.job_dir(job_id) / "result.json", media_type="application/json")


def job_files(st, job_id: str) -> list[str]:
    """The downloads a job left, in :data:`DOWNLOADS` order, then the projects' documents."""
    folder = st.store.job_dir(job_id)
    found = [n for n in DOWNLOADS if (folder / n).is_file()]
    projects = folder / "report" / "projects"
    return found + sorted(f"report/projects/{p.name}" for p in projects.glob("*.docx")) if projects.is_dir() else found


@api.get("/jobs/{job_id}/files")
def files(job_id: str, request: Request, user: User = Depends(viewer)) -> dict:
    st = _state(request)
    _job(st, job_id)
    return {"files": [{"name": n, "href": f"/jobs/{job_id}/files/{n}"} for n in job_files(st, job_id)]}


@api.get("/jobs/{job_id}/files/{name:path}")
def download(job_id: str, name: str, request: Request, user: User = Depends(viewer)) -> Response:
    st = _state(request)
    job = _job(st, job_id)
    path = st.store.job_dir(job_id) / name
    allowed = (name in DOWNLOADS or any(r.fullmatch(name) for r in (_PROJECT_DOCX, _MAP_TILE))) and \
        ".." not in Path(name).parts and st.store.job_dir(job_id).resolve() in path.resolve().parents
    if not allowed or job["status"] != "successful" or not path.is_file():
        raise HTTPException(404, f"job {job_id} has no file {name!r}")
    if not name.endswith(".png"):  # a map's tiles are not downloads of their own
        st.store.audit(user.name, "download", f"{job_id}/{name}")
    inline = name.endswith((".html", ".json", ".png"))
    headers = {"Content-Security-Policy": _PAGE_CSP, "X-Content-Type-Options": "nosniff"} if inline else None
    return FileResponse(path, filename=f"{job['project'] or job_id}-{Path(name).name}", headers=headers,
                        content_disposition_type="inline" if inline else "attachment")


@api.get("/jobs/{job_id}/geojson")
def job_geojson(job_id: str, request: Request, user: User = Depends(viewer)) -> dict:
    """A screening's footprints and encroachments in lon/lat, for the result page's map."""
    import pyogrio

    st = _state(request)
    job = _job(st, job_id)
    path = st.store.job_dir(job_id) / "screening.gpkg"
    if job["status"] != "successful" or not path.is_file():
        raise HTTPException(404, f"job {job_id} has no screening to draw")
    out = {}
    for layer in ("projects", "encroachments"):
        gdf = pyogrio.read_dataframe(path, layer=layer) if layer in pyogrio.list_layers(path)[:, 0] else None
        out[layer] = json.loads(gdf.to_crs(4326).to_json(drop_id=True)) if gdf is not None and len(gdf) else \
            {"type": "FeatureCollection", "features": []}
    return out


@api.delete("/jobs/{job_id}")
def dismiss(job_id: str, request: Request, user: User = Depends(reviewer)) -> dict:
    """Dismiss a job: a queued one never runs, a running one is stopped (its worker killed)."""
    st = _state(request)
    job = _job(st, job_id)
    if job["user_id"] != user.id and not user.may("admin"):
        raise HTTPException(403, "only the job's owner or an admin may dismiss it")
    if job["status"] in FINISHED:
        return _problem(409, "finished", f"the job is {job['status']} already")  # type: ignore[return-value]
    st.pool.cancel(job_id)
    st.store.audit(user.name, "dismiss", job_id)
    return _job_status(st.store.job(job_id))


async def _chunks(file: UploadFile):
    while True:
        block = await file.read(1 << 20)
        if not block:
            return
        yield block


async def _save(st, file: UploadFile, folder: Path):
    """The upload written to ``folder`` (checked: size, format, zip safety); 413/400 when refused."""
    limit = max_upload_bytes()
    blocks = []
    size = 0
    async for block in _chunks(file):
        size += len(block)
        if size > limit:
            raise HTTPException(413, f"the file is larger than {limit // 1024 ** 2} MB; send the project's layer alone")
        blocks.append(block)
    try:
        return await asyncio.to_thread(save_upload, blocks, folder, limit, file.filename)
    except RedlineError as exc:
        raise HTTPException(400, f"{file.filename or 'the file'}: {exc}") from None


@api.post("/uploads", status_code=201)
async def upload(request: Request, file: UploadFile = File(...), user: User = Depends(reviewer)) -> dict:
    """Keep a project's file (multipart field ``file``): ``{"id", "href", "format", "bytes", "sha256"}``."""
    st = _state(request)
    upload_id, path, fmt, size, sha = await _save(st, file, st.store.files / "uploads")
    name = display_name(file.filename)
    st.store.add_upload({"id": upload_id, "user_id": user.id, "name": name, "format": fmt, "path": str(path),
                         "bytes": size, "sha256": sha})
    st.store.audit(user.name, "upload", upload_id, name=name, format=fmt, bytes=size, sha256=sha)
    return {"id": upload_id, "href": f"/uploads/{upload_id}", "name": name, "format": fmt, "bytes": size,
            "sha256": sha}


@api.get("/uploads/{upload_id}")
def upload_info(upload_id: str, request: Request, user: User = Depends(viewer)) -> dict:
    row = _state(request).store.upload(upload_id)
    if row is None:
        raise HTTPException(404, f"no upload {upload_id!r}")
    return {k: row[k] for k in ("id", "name", "format", "bytes", "sha256", "created_at")}


def _collection(row: dict, base: str) -> dict:
    kind = row["kind"]
    out = {"id": kind, "title": kind, "description": f"{row['name']} (version {row['version']}, {row['features']} "
                                                       f"features)",
           "itemType": "feature", "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
           "links": [{"href": f"{base}/collections/{kind}/items", "rel": "items", "type": "application/geo+json"},
                     {"href": f"{base}/collections/{kind}", "rel": "self", "type": "application/json"}]}
    if row.get("bbox"):
        out["extent"] = {"spatial": {"bbox": [[float(v) for v in row["bbox"].split(",")]],
                                     "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    return out


@api.get("/collections")
def collections(request: Request, user: User = Depends(viewer)) -> dict:
    base = _base(request)
    return {"collections": [_collection(r, base) for r in _state(request).store.layers()],
            "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}]}


@api.get("/collections/{kind}")
def collection(kind: str, request: Request, user: User = Depends(viewer)) -> dict:
    row = {r["kind"]: r for r in _state(request).store.layers()}.get(kind)
    if row is None:
        raise HTTPException(404, f"no layer {kind!r} (GET /collections lists them)")
    return _collection(row, _base(request))


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (box[0] <= box[2] and box[1] <= box[3]):
        raise HTTPException(400, "bbox: expected minlon,minlat,maxlon,maxlat (WGS84 degrees)")
    return box  # type: ignore[return-value]


@api.get("/collections/{kind}/items")
def items(kind: str, request: Request, bbox: str | None = None, limit: int = 1000, offset: int = 0,
          user: User = Depends(viewer)) -> Response:
    """The features of a layer (GeoJSON, lon/lat), those meeting ``bbox`` when given, a page at a time."""
    st = _state(request)
    if kind not in {r["kind"] for r in st.store.layers()}:
        raise HTTPException(404, f"no layer {kind!r} (GET /collections lists them)")
    limit, offset = max(1, min(limit, 10_000)), max(0, offset)
    page = st.features.items(kind, _bbox(bbox), limit, offset)
    def here(url) -> str:  # absolute, as the client reached the service
        return _base(request) + url.path + (f"?{url.query}" if url.query else "")

    links = [{"href": here(request.url), "rel": "self", "type": "application/geo+json"}]
    if offset + page["numberReturned"] < page["numberMatched"]:
        nxt = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append({"href": here(nxt), "rel": "next", "type": "application/geo+json"})
    return JSONResponse({**page, "links": links}, media_type="application/geo+json")


@api.get("/layers")
def layers(request: Request, user: User = Depends(viewer)) -> dict:
    """Every version of every layer, with who added it and when."""
    return {"layers": [{k: v for k, v in r.items() if k != "source"} for r in _state(request).store.layers(False)],
            "kinds": known_kinds()}


@api.post("/layers/{kind}", status_code=201)
async def new_layer(kind: str, request: Request, file: UploadFile = File(...), user: User = Depends(admin)) -> dict:
    """A new version of a layer (admins): read and checked like any input, then current for every new job."""
    st = _state(request)
    if kind not in known_kinds():
        raise HTTPException(404, f"no layer kind {kind!r}; expected one of {', '.join(known_kinds())}")
    _, path, fmt, _, _ = await _save(st, file, st.store.files / "incoming")
    name = display_name(file.filename, kind)
    try:
        row = await asyncio.to_thread(add_version, st.store, kind, path, user.name, user.id, name)
    except RedlineError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None
    return {k: v for k, v in row.items() if k != "source"}


@api.get("/users")
def users(request: Request, user: User = Depends(admin)) -> dict:
    return {"users": _state(request).store.users(), "roles": list(ROLES)}


@api.post("/users", status_code=201)
def add_user(request: Request, name: str = Form(...), role: str = Form(...), password: str = Form(...),
             user: User = Depends(admin)) -> dict:
    from .auth import hash_password

    st = _state(request)
    try:
        st.store.add_user(name, role, hash_password(password))
    except (RedlineError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None
    st.store.audit(user.name, "user add", name, role=role)
    return {"name": name, "role": role}


@api.post("/users/{name}/disable")
def disable_user(name: str, request: Request, user: User = Depends(admin)) -> dict:
    st = _state(request)
    if name == user.name:
        raise HTTPException(400, "you cannot disable your own account")
    try:
        st.store.update_user(name, disabled=True)
    except RedlineError as exc:
        raise HTTPException(404, str(exc)) from None
    st.store.audit(user.name, "user disable", name)
    return {"name": name, "disabled": True}


@api.get("/audit")
def audit(request: Request, since: int = 0, user: User = Depends(admin)) -> dict:
    """The audit trail after entry ``since``, and whether its chain of digests is intact."""
    st = _state(request)
    broken = st.store.verify_audit()
    return {"entries": st.store.audit_log(since), "intact": broken is None, "broken_at": broken}


@api.get("/audit/export")
def audit_export(request: Request, user: User = Depends(admin)) -> Response:
    """The whole trail as JSON Lines (one entry per line, oldest first) to keep or hand on."""
    st = _state(request)
    st.store.audit(user.name, "audit export", "")
    body = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in st.store.audit_log())
    return PlainTextResponse(body, media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="redline-audit.jsonl"'})


def _versions(store: Store, inputs: dict) -> dict:
    """The two versions of a layer a change job compares, as sources (refused when the layer has no such ones)."""
    kind = inputs["kind"]
    rows = {r["version"]: r for r in store.layers(current=False) if r["kind"] == kind}
    if not rows:
        raise FileNotFoundError(f"the bureau has no layer {kind!r} (GET /collections lists them)")
    to = inputs.get("to", max(rows))
    old = inputs.get("from", to - 1)
    missing = [v for v in (old, to) if v not in rows]
    if missing or old >= to:
        have = ", ".join(map(str, sorted(rows)))
        raise FileNotFoundError(f"{kind}: versions {old} and {to} cannot be compared (it has {have}; 'from' must be "
                                f"older than 'to')")
    return {"old_source": rows[old]["source"], "new_source": rows[to]["source"], "from_version": old,
            "to_version": to}


def resolve_job(store: Store, job: dict) -> dict:
    """What a worker gets for a stored job: the process, the inputs with the upload's path and the current layers'
    sources, and the job's folder. The layer versions it reads are recorded on the job (the audit trail)."""
    inputs = dict(job["inputs"])
    if "projects" in inputs:
        upload = store.upload(inputs["projects"]["href"].rsplit("/", 1)[-1])
        if upload is None or not Path(upload["path"]).is_file():
            raise FileNotFoundError(f"the upload {inputs['projects']['href']} is gone; upload the file again")
        inputs["projects_path"] = upload["path"]
    sources, versions = job_sources(store)
    if job["process"] == "change":
        inputs.update(_versions(store, inputs))
        versions = {inputs["kind"]: [inputs["from_version"], inputs["to_version"]]}
    elif not sources["layers"]:
        raise FileNotFoundError("the bureau has no control-line layers yet: an admin adds them (POST /layers/KIND)")
    inputs["sources"] = sources
    owner = store.user(user_id=job["user_id"])
    inputs["record"] = {"job": job["id"], "user": owner["name"] if owner else "", "layers": versions,
                        "time": beijing_time(job["created_at"]) + " (UTC+8)", "input_sha256": job["input_sha256"]}
    store.update_job(job["id"], layers=json.dumps(versions))
    return {"process": job["process"], "inputs": inputs, "dir": str(store.job_dir(job["id"]))}


def _audit_end(store: Store, job_id: str) -> None:
    """The trail's entry for a job's end: its status, the layer versions it read and its result's SHA-256."""
    job = store.job(job_id)
    if job is None:
        return
    owner = store.user(user_id=job["user_id"])
    store.audit(owner["name"] if owner else "?", "job " + job["status"], job_id, process=job["process"],
                project=job["project"], input_sha256=job["input_sha256"], layers=job["layers"],
                result_sha256=job["result_sha256"], message=job["message"])


def create_app(store: Store, workspace: Path | None = None, workers: int = 2, queue_limit: int = 20) -> FastAPI:
    """The service over ``store``; on start, ``workspace``'s layers become version 1 when the store has none."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if workspace is not None:
            await asyncio.to_thread(import_workspace, store, Path(workspace))
        app.state.pool.start()
        try:
            yield
        finally:
            await asyncio.to_thread(app.state.pool.stop)

    # no unauthenticated /docs or /openapi.json: the description is at GET /api, for accounts
    app = FastAPI(title="redline", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  description="国土空间管控线审查服务: OGC API - Processes and Features over the bureau's control lines")
    app.state.store = store
    app.state.pool = JobPool(store, lambda job: resolve_job(store, job), size=workers, queue_limit=queue_limit,
                             on_end=lambda job_id: _audit_end(store, job_id))
    app.state.features = FeatureCache(store)
    app.include_router(api)
    app.include_router(pages)

    @app.exception_handler(HTTPException)
    async def http_problem(request: Request, exc: HTTPException):
        if exc.status_code == 401 and request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)  # a browser
        return _problem(exc.status_code, {401: "unauthorized", 403: "forbidden", 404: "not found",
                                          429: "too many requests"}.get(exc.status_code, "error"),
                        str(exc.detail), **(exc.headers or {}))

    return app
