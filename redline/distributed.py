"""The Dask engine: screening spread over the workers of a Dask cluster, a local one or any other.

Projects are ordered along a Hilbert curve and cut into chunks of neighbours; each chunk is screened by one task
on a worker, which reads only what its projects reach: the partitions of a partitioned layer
(:mod:`redline.partition`) or the rows of a PostGIS table (:mod:`redline.postgis`) within the reach of the chunk
(10 km, or the widest ring or safety distance). Nothing is shuffled: a task needs its chunk and the layer paths.
Every chunk works in the same metric CRS as a single run would, so the results are the same as
:func:`redline.screen` on one machine, row for row.

The code path is the same on a laptop (``LocalCluster``, ``workers=N``) and on a real cluster
(``scheduler="tcp://host:8786"`` — dask-kubernetes, dask-jobqueue …): the workers need redline installed and
access to the layer paths (a shared file system, object storage mounted, or a PostGIS server).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from .analyses.screening import ScreeningResult, screen
from .crs import working_crs
from .errors import CatalogError

__all__ = ["dask_client", "screen_dask"]


def dask_client(workers: int | None = None, scheduler: str | None = None):
    """A ``dask.distributed.Client``: connected to ``scheduler`` (``tcp://host:8786``) when given, else to a new
    local cluster of ``workers`` processes (default: one per core), one thread each, no dashboard."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a dependency; say what to install if it is missing
        raise CatalogError("the dask engine needs dask.distributed: pip install 'dask[distributed]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except OSError as exc:
            raise CatalogError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=50)
    return Client(cluster)


def _screen_chunk(chunk: gpd.GeoDataFrame, layers: Mapping[str, object], crs: str, options: dict) -> dict:
    """One task: screen a chunk of projects; plain frames back (the encroachments built here)."""
    result = screen(chunk, layers, crs=crs, **options)
    return {"projects": result.projects, "hits": result.hits, "encroachments": result.encroachments,
            "buffers": result.buffers, "rings": result.rings, "kinds": result.kinds, "crs": result.crs,
            "notes": result.notes}


def screen_dask(projects: gpd.GeoDataFrame, layers: Mapping[str, object], *, client=None, workers: int | None = None,
                scheduler: str | None = None, chunk_size: int = 2_000, progress=None, **options) -> ScreeningResult:
    """:func:`redline.screen` on a Dask cluster, chunk by chunk; the same result.

    ``layers`` are best given as paths: partitioned directories or PostGIS URIs, which each task reads only near
    its chunk (GeoDataFrames are sent to the workers once). ``client`` reuses a ``dask.distributed.Client``;
    otherwise one is made (:func:`dask_client`) and closed at the end. ``progress(done, total)`` is called as
    chunks finish. Other keywords go to :func:`redline.screen`.
    """
    from dask.distributed import as_completed

    if not len(projects):
        raise ValueError("no projects to screen")
    crs = working_crs(projects)
    # neighbours together: a chunk's box, and so what it reads, stays small
    order = np.argsort(projects.geometry.envelope.hilbert_distance(), kind="stable")
    chunks = [projects.iloc[order[lo:lo + chunk_size]] for lo in range(0, len(projects), chunk_size)]
    own = client is None
    client = dask_client(workers, scheduler) if own else client
    try:
        shipped = {k: client.scatter(v, broadcast=True) if isinstance(v, gpd.GeoDataFrame) else v
                   for k, v in layers.items()}
        futures = [client.submit(_screen_chunk, c, shipped, crs, options, pure=False) for c in chunks]
        positions = [order[lo:lo + chunk_size] for lo in range(0, len(projects), chunk_size)]
        parts: list[dict | None] = [None] * len(futures)
        position = {f.key: i for i, f in enumerate(futures)}
        for done, future in enumerate(as_completed(futures), 1):
            i = position[future.key]
            parts[i] = {**future.result(), "positions": positions[i]}
            if progress is not None:
                progress(done, len(futures))
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    return _merge(parts, projects, layers, options.get("lang", "zh"))


def _merge(parts: list[dict], projects: gpd.GeoDataFrame, layers: Mapping[str, object], lang: str) -> ScreeningResult:
    """The chunks' results as one, in the order a single run gives them: projects as given; hits and pieces per
    kind, then project; rings per kind, ring, project; buffers per ring, project."""
    kind_rank = {k: i for i, k in enumerate(layers)}
    # a chunk's projects come back in its input order: their input positions, by id, chunk by chunk
    at = [dict(zip(p["projects"]["project_id"], p["positions"])) for p in parts]

    def ordered(name: str, keys: list[str]):
        frames = [p[name] for p in parts]
        frame = pd.concat(frames, ignore_index=True)
        if len(frame):
            pos = np.concatenate([f["project_id"].map(a).to_numpy(float) for f, a in zip(frames, at)])
            sort = pd.DataFrame({k: frame["kind"].map(kind_rank) if k == "kind" else
                                 pos if k == "p" else frame[k] for k in keys})
            frame = frame.loc[sort.sort_values(keys, kind="stable").index].reset_index(drop=True)
        if isinstance(frames[0], gpd.GeoDataFrame):
            frame = gpd.GeoDataFrame(frame, geometry=frames[0].geometry.name, crs=frames[0].crs)
        return frame

    notes = list(dict.fromkeys(n for p in parts for n in p["notes"]))
    return ScreeningResult(ordered("projects", ["p"]), ordered("hits", ["kind", "p"]),
                           ordered("encroachments", ["kind", "p"]), ordered("buffers", ["inner_m", "p"]),
                           ordered("rings", ["kind", "inner_m", "p"]), parts[0]["kinds"], parts[0]["crs"], lang, notes)
