"""The planner's pages: the login page now (the screening, history, layer and user pages build on it).

HTML comes from Jinja2 templates with autoescaping (a file name or attribute holding ``<script>`` is shown as
text); Chinese by default, English with ``?lang=en``. A login sets the session cookie (HttpOnly, SameSite=Strict,
Secure behind HTTPS) and hands the page scripts their CSRF token through ``GET /me``.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, select_autoescape

from .auth import SESSION_COOKIE, TOKEN_S, User, check_login, issue, require

__all__ = ["pages"]

pages = APIRouter()
_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_TEXT = {
    "zh": {"title": "登录 — redline 国土空间管控线审查", "user": "用户名", "password": "密码", "login": "登录",
           "switch": "English", "other": "en"},
    "en": {"title": "Log in — redline", "user": "User name", "password": "Password", "login": "Log in",
           "switch": "中文", "other": "zh"},
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
        page = _LOGIN.render(t=_TEXT[lang], lang=lang, next=nxt, next_q=quote(nxt), error=exc.detail)
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
