"""The planner's pages: the login page now (the screening, history, layer and user pages build on it).

HTML comes from Jinja2 templates with autoescaping (a file name or attribute holding ``<script>`` is shown as
text); Chinese by default, English with ``?lang=en``. A login sets the session cookie (HttpOnly, SameSite=Strict,
Secure behind HTTPS) and hands the page scripts their CSRF token through ``GET /me``.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..analyses.screening import load_rules
from ..errors import RedlineError
from ..specs.catalog import load_catalog
from ..text import labels, t
from .auth import SESSION_COOKIE, TOKEN_S, User, check_login, hash_password, issue, require
from .store import ROLES, beijing_time

__all__ = ["pages"]

pages = APIRouter()
_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_TEXT = {
    "zh": {"title": "登录 — redline 国土空间管控线审查", "user": "用户名", "password": "密码", "login": "登录",
           "switch": "English", "other": "en", "401": "用户名或密码不对。", "429": "登录失败次数过多，请十分钟后再试。"},
    "en": {"title": "Log in — redline", "user": "User name", "password": "Password", "login": "Log in",
           "switch": "中文", "other": "zh", "401": "Wrong user name or password.",
           "429": "Too many failed logins: try again in ten minutes."},
}
_LOGIN = _ENV.from_string("""<!doctype html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ t.title }}</title>
<style>body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f4f5f7;margin:0}
main{max-width:22rem;margin:12vh auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.2rem;color:#b71c1c}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;
box-sizing:border-box}button{margin-top:1.2rem;width:100%;padding:.6rem;background:#b71c1c;color:#fff;border:0;
border-radius:4px;font-size:1rem}.error{color:#b71c1c;margin-top:.8rem}nav{text-align:right;font-size:.9rem}</style>
</head><body><main><nav><a href="/login?lang={{ t.other }}&next={{ next_q }}">{{ t.switch }}</a></nav>
<h1>{{ t.title }}</h1>
<form method="post" action="/login?lang={{ lang }}">
<input type="hidden" name="next" value="{{ next }}">
<label for="username">{{ t.user }}</label><input id="username" name="username" autocomplete="username" required>
<label for="password">{{ t.password }}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{{ t.login }}</button>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
</form></main></body></html>""")


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "zh"


def _safe_next(target: str | None) -> str:
    """Where to go after the login: a path on this site only (never ``//elsewhere`` or ``https://…``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@pages.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    lang = _lang(request)
    nxt = _safe_next(next)
    return HTMLResponse(_LOGIN.render(t=_TEXT[lang], lang=lang, next=nxt, next_q=quote(nxt), error=None))


@pages.post("/login")
def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form("/")):
    store = request.app.state.store
    lang = _lang(request)
    try:
        user = check_login(store, username, password, request.client.host if request.client else "unknown")
    except HTTPException as exc:
        nxt = _safe_next(next)
        error = _TEXT[lang].get(str(exc.status_code), exc.detail)
        page = _LOGIN.render(t=_TEXT[lang], lang=lang, next=nxt, next_q=quote(nxt), error=error)
        return HTMLResponse(page, status_code=exc.status_code, headers=exc.headers)
    token, _ = issue(store, user, "session")
    store.audit(user.name, "login", "session")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=TOKEN_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@pages.get("/me")
def me(user: User = Depends(require("viewer"))) -> dict:
    """The account and, for a browser session, the CSRF token its scripts send back (``X-CSRF-Token``)."""
    return {"name": user.name, "role": user.role, "csrf": user.csrf}


# --- the pages behind the login -----------------------------------------------------------------------------------

_PAGES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                     autoescape=select_autoescape(default=True, default_for_string=True))
_STATIC = Path(__file__).resolve().parents[1] / "maps" / "static"  # Leaflet, shipped with the package
_PAGES.filters["local"] = beijing_time


def _render(request: Request, user: User, name: str, page: str, **values) -> HTMLResponse:
    lang = _lang(request)
    keep = "".join(f"&{quote(k)}={quote(v)}" for k, v in request.query_params.multi_items() if k != "lang")
    return HTMLResponse(_PAGES.get_template(name).render(T=labels("service.page", lang), lang=lang, user=user,
                                                         page=page, keep=keep, **values))


def _kind_labels(lang: str) -> dict[str, str]:
    """Each layer kind's name in ``lang``, the context roles too."""
    context = {"boundary": t("service.page.kind_boundary", lang), "units": t("service.page.kind_units", lang),
               "landuse": t("service.page.kind_landuse", lang)}
    return {**{k: kind.label(lang) for k, kind in load_catalog().items()}, **context}


def _owners(store) -> dict[int, str]:
    return {u["id"]: u["name"] for u in store.users()}


@pages.get("/ui", response_class=HTMLResponse)
@pages.get("/ui/", response_class=HTMLResponse)
def home(request: Request, user: User = Depends(require("viewer"))):
    target = "/ui/new" if user.may("reviewer") else "/ui/jobs"
    return RedirectResponse(f"{target}?lang={_lang(request)}", status_code=303)


@pages.get("/ui/new", response_class=HTMLResponse)
def new_page(request: Request, user: User = Depends(require("reviewer"))):
    lang = _lang(request)
    rules = load_rules()
    return _render(request, user, "new.html", "new",
                   categories=[(code, rules.category_label(code, lang)) for code in rules.categories])


@pages.get("/ui/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, project: str | None = None, user: User = Depends(require("viewer"))):
    store = request.app.state.store
    return _render(request, user, "jobs.html", "jobs", jobs=store.jobs(project=project, limit=500), project=project,
                   owners=_owners(store))


def _result(store, job: dict) -> dict | None:
    path = store.job_dir(job["id"]) / "result.json"
    if job["status"] != "successful" or not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


@pages.get("/ui/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request, user: User = Depends(require("viewer"))):
    from .app import job_files

    store = request.app.state.store
    job = store.job(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    lang = _lang(request)
    catalog = load_catalog()
    styles = {k: {"label": kind.label(lang), "fill": kind.style.get("fill", "#888"),
                  "stroke": kind.style.get("stroke", "#444"), "fill_opacity": kind.style.get("fill_opacity", 0.4)}
              for k, kind in catalog.items() if k in job["layers"]}
    owner = _owners(store).get(job["user_id"], "")
    return _render(request, user, "job.html", "jobs", job=job, owner=owner, result=_result(store, job),
                   kinds=_kind_labels(lang), verdicts=labels("maps.verdict", lang), styles=styles,
                   files=[(f, _file_label(f, lang)) for f in job_files(request.app.state, job_id)]
                   if job["status"] == "successful" else [])


def _file_label(name: str, lang: str) -> str:
    """What a download is, in words: ``report/projects/QJ-01.docx`` → 用地预审分析 QJ-01（Word）."""
    if name.startswith("report/projects/"):
        return t("service.file.preexam_docx", lang, project=name.rsplit("/", 1)[-1][:-len(".docx")])
    key = name.rsplit("/", 1)[-1].replace(".", "_")
    return t(f"service.file.{key}", lang)


def _hit_rows(results: list[dict]) -> list[tuple]:
    """Per project and kind: the overlap and the verdict in each of the results (None where it has none)."""
    keys: dict = {}
    for r in results:
        for p in r.get("projects", []):
            keys.setdefault((p["id"], None), None)
            for h in p["hits"]:
                keys.setdefault((p["id"], h["kind"]), None)
    rows = []
    for pid, kind in keys:
        areas, verdicts = [], []
        for r in results:
            p = next((p for p in r.get("projects", []) if p["id"] == pid), None)
            h = next((h for h in p["hits"] if h["kind"] == kind), None) if p and kind else None
            areas.append(h["overlap_m2"] if h else (p["footprint_m2"] if p and kind is None else None))
            verdicts.append((h["severity"] if h else None) if kind else (p["verdict"] if p else None))
        rows.append((pid, kind, areas, verdicts))
    return rows


@pages.get("/ui/compare", response_class=HTMLResponse)
def compare_page(request: Request, user: User = Depends(require("viewer"))):
    store = request.app.state.store
    ids = request.query_params.getlist("job")
    if len(ids) != 2:
        raise HTTPException(400, "choose two screenings to compare")
    pair = []
    for job_id in ids:
        job = store.job(job_id)
        result = _result(store, job) if job is not None else None
        if result is None:
            raise HTTPException(404, f"no finished job {job_id!r}")
        pair.append((job, result))
    lang = _lang(request)
    return _render(request, user, "compare.html", "jobs", pair=pair, rows=_hit_rows([r for _, r in pair]),
                   kinds=_kind_labels(lang), verdicts=labels("maps.verdict", lang), owners=_owners(store))


@pages.get("/ui/layers", response_class=HTMLResponse)
def layers_page(request: Request, user: User = Depends(require("viewer"))):
    from .layers import known_kinds

    store = request.app.state.store
    rows = []
    for r in store.layers(current=False):
        change = json.loads(r["change"]) if r.get("change") else {}
        rows.append({**r, "change_totals": change.get("totals")})
    return _render(request, user, "layers.html", "layers", layers=rows, known=known_kinds(),
                   kinds=_kind_labels(_lang(request)), owners=_owners(store))


@pages.get("/ui/users", response_class=HTMLResponse)
def users_page(request: Request, user: User = Depends(require("admin")), error: str | None = None):
    return _render(request, user, "users.html", "users", users=request.app.state.store.users(), roles=ROLES,
                   error=error)


@pages.post("/ui/users")
def users_add(request: Request, name: str = Form(...), role: str = Form(...), password: str = Form(...),
              user: User = Depends(require("admin"))):
    store = request.app.state.store
    try:
        store.add_user(name.strip(), role, hash_password(password))
    except (RedlineError, ValueError) as exc:
        return users_page(request, user, error=str(exc))
    store.audit(user.name, "user add", name, role=role)
    return RedirectResponse(f"/ui/users?lang={_lang(request)}", status_code=303)


@pages.post("/ui/users/{name}/disable")
def users_disable(name: str, request: Request, user: User = Depends(require("admin"))):
    store = request.app.state.store
    if name != user.name:
        try:
            store.update_user(name, disabled=True)
        except RedlineError as exc:
            raise HTTPException(404, str(exc)) from None
        store.audit(user.name, "user disable", name)
    return RedirectResponse(f"/ui/users?lang={_lang(request)}", status_code=303)


@pages.post("/ui/logout")
def ui_logout(request: Request, user: User = Depends(require("viewer"))):
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        request.app.state.store.drop_token(token)
    response = RedirectResponse(f"/login?lang={_lang(request)}", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@pages.get("/static/{name:path}")
def static(name: str, user: User = Depends(require("viewer"))):
    """The page's scripts and styles (Leaflet), from the package: no request leaves the bureau's network for them."""
    path = (_STATIC / name).resolve()
    if not path.is_file() or _STATIC.resolve() not in path.parents:
        raise HTTPException(404, f"no file {name!r}")
    return FileResponse(path)
