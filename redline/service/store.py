"""The bureau's store: accounts, sessions, uploads, jobs, the control lines' versions and the audit trail.

One code path for both deployments (SQLAlchemy Core): ``sqlite:///PATH`` keeps everything in one file with the
layers as GeoPackages in a folder beside it (nothing else to install); ``postgresql://…`` keeps the tables in
PostgreSQL and the layers in PostGIS tables with GiST indexes (:func:`redline.io.postgis.write_postgis`). Uploads,
job results and reports are files under the store's folder in both (``--store``'s directory, or ``files`` beside
the SQLite file).

The audit trail is append-only: each entry holds the SHA-256 of the one before, so an edited or deleted entry
breaks the chain (:meth:`Store.verify_audit`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from ..errors import InputError, redact

__all__ = ["Store", "ROLES", "default_store_url", "utcnow", "beijing_time"]

#: The roles, least first: each may do what the ones before it may.
ROLES = ("viewer", "reviewer", "admin")

_META = sa.MetaData()
_USERS = sa.Table(
    "users", _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("pw_hash", sa.String(255), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)
_TOKENS = sa.Table(
    "tokens", _META,
    sa.Column("digest", sa.String(64), primary_key=True),  # SHA-256 of the token: a leaked table opens nothing
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # bearer | session
    sa.Column("csrf", sa.String(64)),
    sa.Column("expires_at", sa.String(32), nullable=False),
)
_FAILURES = sa.Table(
    "login_failures", _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, index=True),
    sa.Column("client", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.String(32), nullable=False),
)
_UPLOADS = sa.Table(
    "uploads", _META,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),  # the name the file came with (shown, never a path)
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)
_JOBS = sa.Table(
    "jobs", _META,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False, index=True),  # the order jobs came in (queued ones resume by it)
    sa.Column("process", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("progress", sa.Integer, nullable=False, default=0),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("project", sa.String(255), nullable=False, default=""),  # the project the history groups by
    sa.Column("layers", sa.Text, nullable=False, default="{}"),  # kind → version screened against
    sa.Column("input_sha256", sa.String(64), nullable=False, default=""),
    sa.Column("result_sha256", sa.String(64), nullable=False, default=""),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("started_at", sa.String(32)),
    sa.Column("finished_at", sa.String(32)),
)
_LAYERS = sa.Table(
    "layers", _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),  # a GeoPackage path or a PostGIS URI read_layer reads
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("features", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("user_id", sa.Integer),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("change", sa.Text, nullable=False, default=""),  # the change report against the previous version
    sa.Column("bbox", sa.Text, nullable=False, default=""),  # "west,south,east,north" in lon/lat
    sa.UniqueConstraint("kind", "version"),
)
_SETTINGS = sa.Table(
    "settings", _META,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
_AUDIT = sa.Table(
    "audit", _META,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("user", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.String(255), nullable=False, default=""),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
    sa.Column("prev", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
)


def utcnow() -> str:
    """Now, in UTC, as ISO 8601 to the second (``2026-12-04T01:02:03Z``): sortable as text in both databases."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def beijing_time(stamp: str | None) -> str:
    """A stored UTC time as the bureau reads it: Beijing time to the minute (``2026-12-04 09:56``)."""
    if not stamp:
        return ""
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return when.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")


def _later(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_store_url() -> str:
    """``REDLINE_STORE``, else ``sqlite:///`` a file in the user's data folder (``$XDG_DATA_HOME/redline``)."""
    if os.environ.get("REDLINE_STORE"):
        return os.environ["REDLINE_STORE"]
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "redline"
    return f"sqlite:///{base / 'service.db'}"


def _engine(url: str) -> tuple[sa.Engine, Path]:
    """The database engine and the folder of the store's files."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):]).expanduser().resolve()
        if path.is_dir():
            raise InputError(f"--store {url}: is a folder; give the database file, e.g. sqlite:///{path}/redline.db")
        path.parent.mkdir(parents=True, exist_ok=True)
        eng = sa.create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(eng, "connect")
        def _pragmas(conn, _record):  # readers never wait for the one writer
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        return eng, path.with_name(path.stem + "-files")
    if url.split("://", 1)[0] in ("postgresql", "postgres"):
        eng = sa.create_engine("postgresql+psycopg://" + url.split("://", 1)[1], pool_pre_ping=True)
        folder = os.environ.get("REDLINE_FILES") or Path.home() / ".local" / "share" / "redline" / "files"
        return eng, Path(folder)
    raise InputError(f"--store {redact(url)}: expected sqlite:///PATH or postgresql://USER@HOST/DB")


class Store:
    """The service's tables and files (``url``: see the module's docstring; ``files``: where uploads, results and
    reports go, by default beside the SQLite file or ``REDLINE_FILES``)."""

    def __init__(self, url: str | None = None, files: str | os.PathLike | None = None):
        self.url = url or default_store_url()
        self.engine, folder = _engine(self.url)
        self.files = Path(files) if files is not None else folder
        self._audit_lock = threading.Lock()
        self.files.mkdir(parents=True, exist_ok=True)
        try:
            _META.create_all(self.engine)
        except sa.exc.OperationalError as exc:
            raise InputError(f"--store {redact(self.url)}: cannot open the database ({redact(str(exc.orig))}); "
                             f"check the URL, the server and the rights") from None

    def job_dir(self, job_id: str) -> Path:
        """The folder of a job's results and reports (the worker writes there)."""
        return self.files / "jobs" / job_id

    @property
    def is_postgis(self) -> bool:
        """Whether the layers live in PostGIS tables (else GeoPackage files)."""
        return self.engine.dialect.name == "postgresql"

    @property
    def postgis_uri(self) -> str:
        """The store's database as the ``postgresql://`` URI :mod:`redline.io.postgis` reads and writes."""
        return "postgresql://" + self.url.split("://", 1)[1].split("?", 1)[0]

    # --- users ---------------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, pw_hash: str) -> int:
        """A new account; refused when the name is taken or the role unknown."""
        if role not in ROLES:
            raise InputError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        with self.engine.begin() as c:
            if c.execute(sa.select(_USERS.c.id).where(_USERS.c.name == name)).first():
                raise InputError(f"user {name!r} exists already; choose another name")
            return c.execute(_USERS.insert().values(name=name, role=role, pw_hash=pw_hash, disabled=False,
                                                    created_at=utcnow())).inserted_primary_key[0]

    def user(self, name: str | None = None, user_id: int | None = None) -> dict | None:
        """An account by name or id (None when there is none)."""
        cond = _USERS.c.name == name if name is not None else _USERS.c.id == user_id
        with self.engine.connect() as c:
            row = c.execute(sa.select(_USERS).where(cond)).mappings().first()
        return dict(row) if row else None

    def users(self) -> list[dict]:
        """All accounts, by name (without their hashes)."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(_USERS).order_by(_USERS.c.name)).mappings().all()
        return [{k: v for k, v in r.items() if k != "pw_hash"} for r in rows]

    def update_user(self, name: str, **values) -> None:
        """Change an account (``role``, ``disabled``, ``pw_hash``); a disabled one loses its sessions and tokens."""
        with self.engine.begin() as c:
            row = c.execute(sa.select(_USERS.c.id).where(_USERS.c.name == name)).first()
            if row is None:
                raise InputError(f"user {name!r}: no such user (redline users list shows them)")
            c.execute(_USERS.update().where(_USERS.c.id == row[0]).values(**values))
            if values.get("disabled"):
                c.execute(_TOKENS.delete().where(_TOKENS.c.user_id == row[0]))

    # --- tokens and sessions ---------------------------------------------------------------------------------
    def add_token(self, token: str, user_id: int, kind: str, seconds: float, csrf: str | None = None) -> None:
        """Keep a token's digest (never the token) with its expiry."""
        with self.engine.begin() as c:
            c.execute(_TOKENS.delete().where(_TOKENS.c.expires_at < utcnow()))
            c.execute(_TOKENS.insert().values(digest=_sha(token), user_id=user_id, kind=kind, csrf=csrf,
                                              expires_at=_later(seconds)))

    def token(self, token: str) -> dict | None:
        """The unexpired token and its enabled account, joined (None otherwise)."""
        q = (sa.select(_TOKENS.c.kind, _TOKENS.c.csrf, _USERS.c.id, _USERS.c.name, _USERS.c.role)
             .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
             .where(_TOKENS.c.digest == _sha(token), _TOKENS.c.expires_at > utcnow(), _USERS.c.disabled.is_(False)))
        with self.engine.connect() as c:
            row = c.execute(q).mappings().first()
        return dict(row) if row else None

    def drop_token(self, token: str) -> None:
        with self.engine.begin() as c:
            c.execute(_TOKENS.delete().where(_TOKENS.c.digest == _sha(token)))

    def login_failed(self, name: str, client: str) -> None:
        with self.engine.begin() as c:
            c.execute(_FAILURES.insert().values(name=name[:64], client=client[:64], at=utcnow()))

    def recent_failures(self, name: str, client: str, seconds: float) -> int:
        """Failed logins in the last ``seconds`` for this name or from this client."""
        since = (datetime.now(timezone.utc) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        q = sa.select(sa.func.count()).select_from(_FAILURES).where(
            _FAILURES.c.at >= since, sa.or_(_FAILURES.c.name == name[:64], _FAILURES.c.client == client[:64]))
        with self.engine.connect() as c:
            return int(c.execute(q).scalar_one())

    # --- uploads ----------------------------------------------------------------------------------------------
    def add_upload(self, row: dict) -> None:
        with self.engine.begin() as c:
            c.execute(_UPLOADS.insert().values(**row, created_at=utcnow()))

    def upload(self, upload_id: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(_UPLOADS).where(_UPLOADS.c.id == upload_id)).mappings().first()
        return dict(row) if row else None

    # --- jobs -------------------------------------------------------------------------------------------------
    def add_job(self, row: dict) -> None:
        """A new job, numbered after the last one."""
        with self.engine.begin() as c:
            seq = c.execute(sa.select(sa.func.coalesce(sa.func.max(_JOBS.c.seq), 0))).scalar_one() + 1
            c.execute(_JOBS.insert().values(**row, seq=seq, progress=0, message="", created_at=utcnow()))

    def update_job(self, job_id: str, only_if: tuple[str, ...] | None = None, **values) -> bool:
        """Change a job (when its status is one of ``only_if``, if given); whether it changed."""
        q = _JOBS.update().where(_JOBS.c.id == job_id)
        if only_if:
            q = q.where(_JOBS.c.status.in_(only_if))
        with self.engine.begin() as c:
            return c.execute(q.values(**values)).rowcount > 0

    def drop_job(self, job_id: str) -> None:
        """Forget a job that was refused before it was queued."""
        with self.engine.begin() as c:
            c.execute(_JOBS.delete().where(_JOBS.c.id == job_id))

    def job(self, job_id: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(_JOBS).where(_JOBS.c.id == job_id)).mappings().first()
        return _job_row(row) if row else None

    def jobs(self, status: tuple[str, ...] | None = None, user_id: int | None = None, project: str | None = None,
             limit: int = 1000) -> list[dict]:
        """Jobs, newest first (oldest first when filtered by status: the order they are run in)."""
        q = sa.select(_JOBS)
        if status:
            q = q.where(_JOBS.c.status.in_(status)).order_by(_JOBS.c.seq)
        else:
            q = q.order_by(_JOBS.c.seq.desc())
        if user_id is not None:
            q = q.where(_JOBS.c.user_id == user_id)
        if project is not None:
            q = q.where(_JOBS.c.project == project)
        with self.engine.connect() as c:
            return [_job_row(r) for r in c.execute(q.limit(limit)).mappings()]

    def count_jobs(self, status: tuple[str, ...]) -> int:
        q = sa.select(sa.func.count()).select_from(_JOBS).where(_JOBS.c.status.in_(status))
        with self.engine.connect() as c:
            return int(c.execute(q).scalar_one())

    # --- layers -----------------------------------------------------------------------------------------------
    def add_layer(self, row: dict) -> int:
        """Record a new version of a kind's layer (the next number); returns it."""
        with self.engine.begin() as c:
            version = self._last_version(c, row["kind"]) + 1
            c.execute(_LAYERS.insert().values(**{**row, "version": version}, created_at=utcnow()))
        return version

    def next_layer_version(self, kind: str) -> int:
        """The number the next version of ``kind``'s layer will get."""
        with self.engine.connect() as c:
            return self._last_version(c, kind) + 1

    @staticmethod
    def _last_version(c, kind: str) -> int:
        return c.execute(sa.select(sa.func.coalesce(sa.func.max(_LAYERS.c.version), 0))
                         .where(_LAYERS.c.kind == kind)).scalar_one()

    def layers(self, current: bool = True) -> list[dict]:
        """The layers: the newest version of each kind (``current``) or every version, by kind then version."""
        with self.engine.connect() as c:
            rows = [dict(r) for r in c.execute(sa.select(_LAYERS).order_by(_LAYERS.c.kind, _LAYERS.c.version))
                    .mappings()]
        if current:
            rows = list({r["kind"]: r for r in rows}.values())
        return rows

    def setting(self, key: str) -> str | None:
        with self.engine.connect() as c:
            return c.execute(sa.select(_SETTINGS.c.value).where(_SETTINGS.c.key == key)).scalar()

    def set_setting(self, key: str, value: str) -> None:
        with self.engine.begin() as c:
            c.execute(_SETTINGS.delete().where(_SETTINGS.c.key == key))
            c.execute(_SETTINGS.insert().values(key=key, value=value))

    # --- the audit trail --------------------------------------------------------------------------------------
    def audit(self, user: str, action: str, target: str = "", **detail) -> None:
        """Append an entry; its digest covers the entry and the one before it. Appends are serialised (a lock in
        this process; on PostgreSQL also a transaction-level advisory lock), or two at once would both chain to
        the same entry and the trail would read as broken."""
        with self._audit_lock, self.engine.begin() as c:
            if self.is_postgis:
                c.execute(sa.text("SELECT pg_advisory_xact_lock(73530001)"))
            prev = c.execute(sa.select(_AUDIT.c.digest).order_by(_AUDIT.c.seq.desc()).limit(1)).scalar()
            row = {"at": utcnow(), "user": user, "action": action, "target": str(target)[:255],
                   "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
                   "prev": prev or "0" * 64}
            c.execute(_AUDIT.insert().values(**row, digest=_entry_digest(row)))

    def audit_log(self, since: int = 0) -> list[dict]:
        """The entries after ``since`` (a seq), oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(_AUDIT).where(_AUDIT.c.seq > since).order_by(_AUDIT.c.seq)).mappings()
            return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    def verify_audit(self) -> int | None:
        """The seq of the first entry whose chain is broken (edited, removed or inserted), None if intact."""
        prev = "0" * 64
        for row in self.audit_log():
            raw = {**row, "detail": json.dumps(row["detail"], ensure_ascii=False, sort_keys=True, default=str)}
            if row["prev"] != prev or row["digest"] != _entry_digest(raw):
                return row["seq"]
            prev = row["digest"]
        return None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry_digest(row: dict) -> str:
    return _sha(json.dumps([row["prev"], row["at"], row["user"], row["action"], row["target"], row["detail"]],
                           ensure_ascii=False))


def _job_row(row) -> dict:
    out = dict(row)
    out["inputs"] = json.loads(out["inputs"])
    out["layers"] = json.loads(out["layers"] or "{}")
    return out
