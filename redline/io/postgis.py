"""PostGIS as a layer source and a results sink.

A layer is named by a URI: ``postgresql://user@host:5432/db?table=schema.name`` (a table or view) or
``postgresql://user@host/db?sql=SELECT …`` (any query), with ``&geometry=COLUMN`` when the geometry column
must be named. Libpq options (``sslmode=…``) pass through; the password comes from the URI, ``PGPASSWORD``
or ``~/.pgpass`` and never appears in a message (:func:`redline.errors.redact`).

Reading with a bounding box filters on the server (``geom && ST_MakeEnvelope(…)``, which a GiST index
answers), so only candidate rows travel. Writing replaces the table in one transaction: a failed write
leaves the old table as it was, never half a table.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..geometry.crs import transform_bbox
from ..errors import LayerReadError, OutputError, redact

__all__ = ["PostgisSource", "is_postgis", "parse_uri", "read_postgis", "source_info", "write_postgis"]

# a URI that went through pathlib.Path has lost a slash ("postgresql:/user@host/db"): accepted too
_SCHEME = re.compile(r"^(postgres|postgresql):/+", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def is_postgis(path) -> bool:
    """Whether ``path`` is a PostGIS URI (``postgresql://…``)."""
    return bool(_SCHEME.match(str(path)))


@dataclass
class PostgisSource:
    """A parsed PostGIS URI: the libpq connection string and what to read or write."""

    conninfo: str
    table: str | None = None
    sql: str | None = None
    geometry: str | None = None

    @property
    def where(self) -> str:
        """How messages name the source (password masked)."""
        what = f"table {self.table}" if self.table else "query"
        return f"{redact(self.conninfo)} ({what})"


def parse_uri(uri: str) -> PostgisSource:
    """Split a PostGIS URI into the connection string and ``table``/``sql``/``geometry``.

    Examples
    --------
    >>> s = parse_uri("postgresql://planner:pw@db:5432/gis?table=public.farmland&sslmode=require")
    >>> s.conninfo, s.table
    ('postgresql://planner:pw@db:5432/gis?sslmode=require', 'public.farmland')
    >>> s.where
    'postgresql://planner:***@db:5432/gis?sslmode=require (table public.farmland)'
    """
    parts = urlsplit(_SCHEME.sub(lambda m: f"{m.group(1).lower()}://", str(uri)))
    params = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in params if k in ("table", "sql", "geometry")}
    rest = [(k, v) for k, v in params if k not in ours]
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), ""))
    src = PostgisSource(conninfo, ours.get("table") or None, ours.get("sql") or None, ours.get("geometry") or None)
    if src.table and src.sql:
        raise LayerReadError(f"{src.where}: give either ?table= or ?sql=, not both")
    for name in filter(None, [*(src.table or "").split("."), src.geometry]):
        if not _NAME.match(name):
            raise LayerReadError(f"{redact(conninfo)}: {name!r} is not a plain table or column name")
    return src


def _connect(src: PostgisSource):
    try:
        import psycopg
    except ImportError:  # pragma: no cover - a dependency, but say what to install if it is missing
        raise LayerReadError("PostGIS sources need psycopg: pip install 'psycopg[binary]'") from None
    try:
        return psycopg.connect(src.conninfo, connect_timeout=10)
    except psycopg.Error as exc:
        raise LayerReadError(f"{src.where}: cannot connect: {_message(exc)}; {_CONNECT_HINT}") from None


_CONNECT_HINT = "check the host, port, database, user and password, and that the server is running"


def _message(exc: Exception) -> str:
    """The first line of a driver error, secrets masked."""
    text = str(exc).strip()
    return redact(text.splitlines()[0] if text else type(exc).__name__)


def _ident(name: str) -> str:
    return ".".join(f'"{part}"' for part in name.split("."))


def _geometry_column(cur, src: PostgisSource, relation: str) -> str:
    """The geometry column: given, or the only/first column of type geometry."""
    cur.execute("SELECT oid FROM pg_type WHERE typname = 'geometry'")
    row = cur.fetchone()
    if row is None:
        raise LayerReadError(f"{src.where}: the PostGIS extension is not installed in this database")
    cur.execute(f"SELECT * FROM {relation} LIMIT 0")
    names = [d.name for d in cur.description]
    geo = [d.name for d in cur.description if d.type_code == row[0]]
    if src.geometry:
        if src.geometry not in names:
            raise LayerReadError(f"{src.where}: no column {src.geometry!r}; columns: {', '.join(names)}")
        return src.geometry
    if not geo:
        raise LayerReadError(f"{src.where}: no geometry column (columns: {', '.join(names)})")
    return geo[0]


def _source(uri: str) -> tuple[PostgisSource, str]:
    """The parsed URI and the relation it reads (a quoted table, or the query as a subquery)."""
    src = parse_uri(uri)
    if not (src.table or src.sql):
        raise LayerReadError(f"{src.where}: say what to read: add ?table=schema.name or ?sql=SELECT …")
    return src, _ident(src.table) if src.table else f"({src.sql.rstrip().rstrip(';')}) AS redline_q"


def source_info(uri: str) -> tuple[CRS | None, tuple[float, float, float, float] | None, list[str]]:
    """The CRS, extent (``ST_Extent``, in that CRS) and attribute columns of a PostGIS table or query, without
    reading its rows."""
    import psycopg

    src, relation = _source(uri)
    with _connect(src) as conn, conn.cursor() as cur:
        try:
            geom = _geometry_column(cur, src, relation)
            cur.execute(f"SELECT * FROM {relation} LIMIT 0")
            cols = [d.name for d in cur.description if d.name != geom]
            cur.execute(f'SELECT ST_SRID("{geom}") FROM {relation} WHERE "{geom}" IS NOT NULL LIMIT 1')
            srid = cur.fetchone()
            cur.execute(f'SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) '
                        f'FROM (SELECT ST_Extent("{geom}") AS e FROM {relation}) AS x')
            box = cur.fetchone()
        except psycopg.Error as exc:
            raise LayerReadError(f"{src.where}: {_message(exc)}") from None
    crs = CRS.from_epsg(srid[0]) if srid and srid[0] else None
    return crs, (tuple(float(v) for v in box) if box and box[0] is not None else None), cols


def read_postgis(uri: str, bbox: tuple[float, float, float, float] | None = None, bbox_crs=None) -> gpd.GeoDataFrame:
    """Read a PostGIS table or query as a GeoDataFrame (CRS from the geometries' SRID), indexed and ordered by
    the table's primary key when it has a one-column one (it stays a column too).

    ``bbox`` (in ``bbox_crs``, default the layer's) keeps the rows whose geometry's box meets it, filtered on
    the server. Raises :class:`~redline.errors.LayerReadError` with the reason (connection, missing table,
    SQL error, no geometry column, mixed SRIDs).
    """
    import psycopg

    src, relation = _source(uri)
    with _connect(src) as conn, conn.cursor() as cur:
        try:
            geom = _geometry_column(cur, src, relation)
            g = f'"{geom}"'
            cur.execute(f"SELECT DISTINCT ST_SRID({g}) FROM {relation} WHERE {g} IS NOT NULL LIMIT 2")
            srids = [r[0] for r in cur.fetchall()]
            if len(srids) > 1:
                raise LayerReadError(f"{src.where}: geometries in several SRIDs ({', '.join(map(str, srids))}); "
                                     f"select one with ?sql=… ST_Transform(…)")
            srid = srids[0] if srids else 0
            where, args = "", []
            if bbox is not None and srid:
                box = transform_bbox(bbox, bbox_crs, CRS.from_epsg(srid))
                where, args = f" WHERE {g} && ST_MakeEnvelope(%s, %s, %s, %s, {int(srid)})", list(box)
            cur.execute(f"SELECT * FROM {relation} LIMIT 0")
            cols = [d.name for d in cur.description if d.name != geom]
            key = _primary_key(cur, relation) if src.table else None
            select = ", ".join([f'"{c}"' for c in cols] + [f"ST_AsBinary({g})"])
            order = f' ORDER BY "{key}"' if key else ""
            cur.execute(f"SELECT {select} FROM {relation}{where}{order}", args or None)  # None: '%' in ?sql= is literal
            rows = cur.fetchall()
        except psycopg.Error as exc:
            raise LayerReadError(f"{src.where}: {_message(exc)}") from None
    data = pd.DataFrame([r[:-1] for r in rows], columns=cols)
    wkb = np.array([None if r[-1] is None else bytes(r[-1]) for r in rows], dtype=object)
    crs = CRS.from_epsg(srid) if srid else None
    gdf = gpd.GeoDataFrame(data, geometry=shapely.from_wkb(wkb), crs=crs)
    if not key:
        return gdf
    keyed = gdf.set_index(key, drop=False)  # the key stays a column; the index is named fid unless that is one
    return keyed.rename_axis(None if "fid" in keyed.columns else "fid")


def _primary_key(cur, relation: str) -> str | None:
    """The table's primary key when it is one column: the features' ids, the same whichever rows are read."""
    cur.execute("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary", [relation])
    names = [r[0] for r in cur.fetchall()]
    return names[0] if len(names) == 1 else None


def _pg_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "bigint"
    if pd.api.types.is_float_dtype(series):
        return "double precision"
    return "text"


def write_postgis(data: gpd.GeoDataFrame | dict[str, gpd.GeoDataFrame], uri: str) -> list[str]:
    """Write results to PostGIS, replacing the tables, all in one transaction (a failure leaves the old tables
    as they were); returns the table names.

    ``data`` is one GeoDataFrame, written to the table of the URI (``?table=schema.name``), or several
    ``{suffix: GeoDataFrame}``, written to ``name_suffix`` (an empty suffix: ``name`` itself). Lists and dicts
    become JSON text; each geometry column is ``geom`` with the layer's SRID and a GiST index.
    """
    import psycopg

    src = parse_uri(uri)
    if not src.table or src.sql:
        raise OutputError(f"{src.where}: say which table to write: add ?table=schema.name")
    layers = data if isinstance(data, dict) else {"": data}
    names = {suffix: f"{src.table}_{suffix}" if suffix else src.table for suffix in layers}
    try:
        with psycopg.connect(src.conninfo, connect_timeout=10) as conn, conn.transaction(), conn.cursor() as cur:
            for suffix, gdf in layers.items():
                _write_table(cur, gdf, names[suffix], src.where)
    except psycopg.Error as exc:
        hint = _CONNECT_HINT if isinstance(exc, psycopg.OperationalError) else \
            "nothing was written (one transaction); check the table name and your rights on the schema"
        raise OutputError(f"{src.where}: cannot write: {_message(exc)}; {hint}") from None
    return list(names.values())


def _write_table(cur, gdf: gpd.GeoDataFrame, name: str, where: str) -> None:
    if gdf.crs is None or gdf.crs.to_epsg() is None:
        raise OutputError(f"{where}: {name}: the results need an EPSG CRS to be written to PostGIS")
    srid = int(gdf.crs.to_epsg())
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    table = _ident(name)
    ddl = ", ".join([f'"{c}" {_pg_type(gdf[c])}' for c in cols] + [f"geom geometry(Geometry, {srid})"])
    wkb = shapely.to_wkb(np.asarray(gdf.geometry.values, dtype=object), hex=True, include_srid=False)

    def cell(v):
        if isinstance(v, (list, tuple, dict)):
            return json.dumps(v, ensure_ascii=False)
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        return v.item() if isinstance(v, np.generic) else v

    cur.execute(f"DROP TABLE IF EXISTS {table}")
    cur.execute(f"CREATE TABLE {table} ({ddl})")
    columns = ", ".join([f'"{c}"' for c in cols] + ["geom"])
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for values, g in zip(gdf[cols].itertuples(index=False, name=None), wkb):
            copy.write_row([*(cell(v) for v in values), None if g is None else f"SRID={srid};{g}"])
    index = re.sub(r"\W", "_", name) + "_geom_idx"
    cur.execute(f'CREATE INDEX "{index}" ON {table} USING GIST (geom)')
