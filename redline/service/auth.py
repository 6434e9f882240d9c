"""Who is asking, and may they: passwords (argon2), bearer tokens and browser sessions, roles, CSRF, login limits.

- API clients get a bearer token from ``POST /auth/token`` (OAuth2's password flow) and send
  ``Authorization: Bearer …``; browsers log in at ``/login`` and carry a session cookie (HttpOnly, SameSite=Strict)
  plus a CSRF token that every form and script sends back (``csrf_token`` field or ``X-CSRF-Token`` header) on
  anything but GET/HEAD.
- Tokens are random (256 bits); the store keeps only their SHA-256, with an expiry.
- Roles nest: a reviewer may do what a viewer may, an admin what a reviewer may (:data:`~.store.ROLES`).
- Login failures are counted per name and per client address: beyond ``LOGIN_LIMIT`` in ``LOGIN_WINDOW_S`` seconds
  the answer is 429 with ``Retry-After``, right password or not.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request

from .store import ROLES, Store

__all__ = ["User", "hash_password", "check_login", "issue", "authenticate", "require", "LOGIN_LIMIT",
           "LOGIN_WINDOW_S", "SESSION_COOKIE", "TOKEN_S"]

LOGIN_LIMIT = 5        # failed logins per name or client ...
LOGIN_WINDOW_S = 600   # ... in ten minutes, then 429
TOKEN_S = 8 * 3600     # a token or session lasts a working day
SESSION_COOKIE = "redline_session"
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not a password")  # a login for an unknown name costs as much as for a known one


@dataclass(frozen=True)
class User:
    """The account a request acts for; ``csrf`` is set for browser sessions (None for bearer tokens)."""

    id: int
    name: str
    role: str
    csrf: str | None = None

    def may(self, role: str) -> bool:
        """Whether this account holds ``role`` or one above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (refused when shorter than 8 characters)."""
    if len(password) < 8:
        raise ValueError("the password is shorter than 8 characters; choose a longer one")
    return _HASHER.hash(password)


def check_login(store: Store, name: str, password: str, client: str) -> User:
    """The account ``name`` when ``password`` is its own; 429 after too many failures, 401 otherwise (the same
    answer for an unknown name, a wrong password and a disabled account)."""
    if store.recent_failures(name, client, LOGIN_WINDOW_S) >= LOGIN_LIMIT:
        raise HTTPException(429, "too many failed logins: wait ten minutes and try again",
                            headers={"Retry-After": str(LOGIN_WINDOW_S)})
    row = store.user(name=name)
    try:
        _HASHER.verify(row["pw_hash"] if row else _DUMMY, password)
        ok = row is not None and not row["disabled"]
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        store.login_failed(name, client)
        raise HTTPException(401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    if _HASHER.check_needs_rehash(row["pw_hash"]):
        store.update_user(name, pw_hash=_HASHER.hash(password))
    return User(row["id"], row["name"], row["role"])


def issue(store: Store, user: User, kind: str) -> tuple[str, str | None]:
    """A new token for ``user`` (``kind`` bearer or session) and, for a session, its CSRF token."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32) if kind == "session" else None
    store.add_token(token, user.id, kind, TOKEN_S, csrf=csrf)
    return token, csrf


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(request: Request) -> User | None:
    """The account behind the request's bearer token or session cookie (None when neither is valid)."""
    store: Store = request.app.state.store
    token = _bearer(request)
    kind = "bearer"
    if token is None:
        token, kind = request.cookies.get(SESSION_COOKIE), "session"
    if not token:
        return None
    row = store.token(token)
    if row is None or row["kind"] != kind:
        return None
    return User(row["id"], row["name"], row["role"], row["csrf"] if kind == "session" else None)


def require(role: str):
    """A FastAPI dependency: the request's account, which must hold ``role`` (401 without one, 403 below it).
    A browser session must also send its CSRF token on anything but GET, HEAD and OPTIONS."""

    async def dependency(request: Request) -> User:
        user = authenticate(request)
        if user is None:
            raise HTTPException(401, "log in first (POST /auth/token, or the login page)",
                                headers={"WWW-Authenticate": "Bearer"})
        if user.csrf is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get("x-csrf-token")
            if sent is None and request.headers.get("content-type", "").startswith(
                    ("application/x-www-form-urlencoded", "multipart/form-data")):
                sent = (await request.form()).get("csrf_token")
            if not isinstance(sent, str) or not hmac.compare_digest(sent, user.csrf):
                raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page")
        if not user.may(role):
            raise HTTPException(403, f"this needs the role {role} (you are {user.role})")
        request.state.user = user
        return user

    return dependency
