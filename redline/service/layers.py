"""The bureau's layers (一张图): versions in the store, read for jobs and served as OGC API - Features.

Besides the catalog's kinds (``eco_redline``, ``basic_farmland`` …) three roles hold a district's context:
``boundary`` (the district), ``units`` (townships, their name field ``by``) and ``landuse`` (三调). Each new
version is read and checked like any input (:func:`redline.io.read_layer`: CRS, repairs reported), then kept as
``layers/KIND/KIND_vN.gpkg`` (SQLite store) or the PostGIS table ``redline_layers.KIND_vN`` (PostGIS store).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
import shapely

from ..errors import InputError
from ..io import atomic_output, read_layer, source_files
from ..jobs.common import json_text
from ..specs.catalog import load_catalog
from ..specs.workspace import load_workspace
from .store import Store

__all__ = ["CONTEXT_KINDS", "add_version", "import_workspace", "job_sources", "FeatureCache", "known_kinds"]

#: the roles of a district's context layers, besides the catalog's kinds
CONTEXT_KINDS = ("boundary", "units", "landuse")


def known_kinds() -> list[str]:
    """The kinds a layer may be stored as: the catalog's and the context roles."""
    return [*load_catalog(), *CONTEXT_KINDS]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for part in sorted(source_files(path)):
        with open(part, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def add_version(store: Store, kind: str, path: Path, user: str, user_id: int | None = None,
                name: str | None = None) -> dict:
    """Read ``path`` as the next version of ``kind`` and keep it; returns its store row (with the read's notes)."""
    if kind not in known_kinds():
        raise InputError(f"layer kind {kind!r}: expected one of {', '.join(known_kinds())}")
    gdf, report = read_layer(path, geometry="polygon")
    version = store.next_layer_version(kind)
    previous = {r["kind"]: r for r in store.layers()}.get(kind)
    change = _change(previous["source"], gdf) if previous is not None else ""
    if store.is_postgis:
        from ..io.postgis import write_postgis

        source = f"{store.postgis_uri}?table=redline_layers.{kind}_v{version}"
        _ensure_schema(store)
        write_postgis(gdf, source)
    else:
        target = store.files / "layers" / kind / f"{kind}_v{version}.gpkg"  # the name reports cite
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(target) as tmp:
            gdf.to_file(tmp, driver="GPKG", layer=kind)
        source = str(target)
    row = {"kind": kind, "source": source, "name": name or Path(path).name, "features": len(gdf),
           "sha256": _file_sha256(Path(path)), "user_id": user_id, "change": change,
           "bbox": ",".join(f"{v:.6f}" for v in gdf.to_crs(4326).total_bounds) if len(gdf) else ""}
    row["version"] = store.add_layer(row)
    store.audit(user, "layer", f"{kind} v{row['version']}", name=row["name"], sha256=row["sha256"],
                features=row["features"], repaired=len(report.repaired), notes=report.notes)
    return {**row, "notes": report.notes}


def _change(old, new):
    """The change report of ``redline change`` from the previous version (a source) to the new one (read): the
    totals, the counts per status and whether the area decreased, as JSON text (not every feature's row)."""
    from ..analyses.change import change

    old_gdf, _ = read_layer(old, geometry="polygon")
    report = change(old_gdf, new).to_json()
    return json_text({k: report[k] for k in ("totals", "counts", "decreased", "notes")})


def _ensure_schema(store: Store) -> None:
    import sqlalchemy as sa

    with store.engine.begin() as c:
        c.execute(sa.text("CREATE SCHEMA IF NOT EXISTS redline_layers"))


def import_workspace(store: Store, workspace: Path, user: str = "system") -> list[dict]:
    """Keep a workspace's layers as version 1 of each (when the store has none yet): its boundary, units, land use
    and control lines; the units' name field and the land use's class field as settings."""
    if store.layers():
        return []
    ws = load_workspace(workspace)
    items = [("boundary", ws.boundary), ("units", ws.units), ("landuse", ws.landuse), *ws.layers.items()]
    rows = [add_version(store, kind, Path(path), user) for kind, path in items if path is not None]
    store.set_setting("by", ws.by or "")
    store.set_setting("landuse_field", ws.landuse_field or "")
    store.audit(user, "workspace", str(workspace), kinds=[r["kind"] for r in rows])
    return rows


def job_sources(store: Store) -> tuple[dict, dict]:
    """What a job reads — ``{"layers": {kind: source}, "boundary", "units", "by", "landuse", "landuse_field"}`` —
    and the versions it reads (kind → version), for the audit trail."""
    current = {r["kind"]: r for r in store.layers()}
    order = list(load_catalog())  # the catalog's order, as the command line's --layer options usually give them
    kinds = sorted((k for k in current if k not in CONTEXT_KINDS), key=lambda k: order.index(k) if k in order else 99)
    src = {"layers": {k: current[k]["source"] for k in kinds}}
    for kind in CONTEXT_KINDS:
        if kind in current:
            src[kind] = current[kind]["source"]
    src["by"] = store.setting("by") or None
    src["landuse_field"] = store.setting("landuse_field") or None
    return src, {k: r["version"] for k, r in current.items()}


class FeatureCache:
    """Current layers held in WGS84 (lon/lat) with a spatial index, for ``/collections/KIND/items?bbox=``; a layer
    is read on first use and again when a new version arrives."""

    def __init__(self, store: Store):
        self.store = store
        self._held: dict[str, tuple[int, object, shapely.STRtree]] = {}
        self._lock = threading.Lock()

    def layer(self, kind: str):
        """(row, GeoDataFrame in EPSG:4326, its STRtree) of the current version of ``kind``; KeyError without one."""
        row = {r["kind"]: r for r in self.store.layers()}[kind]
        with self._lock:
            held = self._held.get(kind)
            if held is None or held[0] != row["version"]:
                gdf, _ = read_layer(row["source"], geometry="polygon")
                gdf = gdf.to_crs(4326)
                held = (row["version"], gdf, shapely.STRtree(gdf.geometry.values))
                self._held[kind] = held
        return row, held[1], held[2]

    def items(self, kind: str, bbox: tuple[float, float, float, float] | None, limit: int, offset: int) -> dict:
        """A GeoJSON FeatureCollection page of ``kind`` (features meeting ``bbox``, lon/lat), with the counts."""
        row, gdf, tree = self.layer(kind)
        idx = np.arange(len(gdf)) if bbox is None else np.sort(tree.query(shapely.box(*bbox), "intersects"))
        page = gdf.iloc[idx[offset:offset + limit]]
        props = page.drop(columns=page.geometry.name)
        features = [{"type": "Feature", "id": str(fid), "geometry": shapely.geometry.mapping(g),
                     "properties": {k: _plain(v) for k, v in p.items()}}
                    for fid, g, p in zip(page.index, page.geometry.values, props.to_dict("records"))]
        return {"type": "FeatureCollection", "features": features, "numberMatched": int(len(idx)),
                "numberReturned": len(features), "version": row["version"]}


def _plain(value):
    """An attribute as JSON holds it (numpy scalars as numbers, NaN and missing as null, the rest as text)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and value != value else value
    return value if isinstance(value, (str, int, float, bool)) else str(value)
