"""The Dask engine: screening spread over the workers of a Dask cluster, a local one or any other.

Projects are ordered along a Hilbert curve and cut into chunks of neighbours; each chunk is screened by one task
on a worker, which reads only what its projects reach: the partitions of a partitioned layer
(:mod:`redline.io.partition`) or the rows of a PostGIS table (:mod:`redline.io.postgis`) within the reach of the chunk
(10 km, or the widest ring or safety distance). Nothing is shuffled: a task needs its chunk and the layer paths.
Every chunk works in the same metric CRS as a single run would, so the results are the same as
:func:`redline.screen` on one machine, row for row.

The code path is the same on a laptop (``LocalCluster``, ``workers=N``) and on a real cluster
(``scheduler="tcp://host:8786"`` — dask-kubernetes, dask-jobqueue …): the workers need redline installed and
access to the layer paths (a shared file system, object storage mounted, or a PostGIS server).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..analyses.conflicts import (MIN_AREA_M2, MIN_WIDTH_M, assemble, clean_features, measure_pieces,
                                  overlap_pieces, resolve_pairs)
from ..analyses.indicators import prepare_layer
from ..analyses.screening import ScreeningResult
from ..errors import EngineError, FieldError
from ..geometry.area import dissolve
from ..geometry.clean import describe_repairs, polygonal
from ..geometry.crs import reproject_polygons, reproject_to, transform_bbox, working_crs
from ..geometry.overlay import dissolve_parts
from ..io import read_layer
from ..io.info import layer_info
from .local import screen_local

__all__ = ["close_client", "conflicts_dask", "dask_client", "dask_measure", "layer_info", "screen_dask"]


def dask_client(workers: int | None = None, scheduler: str | None = None):
    """A ``dask.distributed.Client``: connected to ``scheduler`` (``tcp://host:8786``) when given, else to a new
    local cluster of ``workers`` processes (default: one per core), one thread each, no dashboard."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a dependency; say what to install if it is missing
        raise EngineError("the dask engine needs dask.distributed: pip install 'dask[distributed]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except OSError as exc:
            raise EngineError(f"cannot reach the Dask scheduler {scheduler}: {exc}; check the address and that the "
                              f"scheduler is running") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=50)
    return Client(cluster)


def close_client(client) -> None:
    """Close ``client``, and the local cluster :func:`dask_client` made for it (a remote cluster stays up)."""
    cluster = getattr(client, "cluster", None)  # None when connected to a scheduler's address
    client.close()
    if cluster is not None:
        cluster.close()


def _screen_chunk(chunk: gpd.GeoDataFrame, layers: Mapping[str, object], crs: str, options: dict) -> dict:
    """One task: screen a chunk of projects (:func:`redline.engines.local.screen_local`, which reads what the
    chunk reaches); plain frames back (the encroachments built here)."""
    result = screen_local(chunk, layers, crs=crs, **options)
    return {"projects": result.projects, "hits": result.hits, "encroachments": result.encroachments,
            "buffers": result.buffers, "rings": result.rings, "kinds": result.kinds, "crs": result.crs,
            "notes": result.notes}


def screen_dask(projects: gpd.GeoDataFrame, layers: Mapping[str, object], *, client=None, workers: int | None = None,
                scheduler: str | None = None, chunk_size: int = 2_000, progress=None, **options) -> ScreeningResult:
    """:func:`redline.screen` on a Dask cluster, chunk by chunk; the same result.

    ``layers`` are best given as paths: partitioned directories or PostGIS URIs, which each task reads only near
    its chunk (GeoDataFrames are sent to the workers once). ``client`` reuses a ``dask.distributed.Client``;
    otherwise one is made (:func:`dask_client`) and closed at the end. ``progress(done, total)`` is called as
    chunks finish. Other keywords go to :func:`redline.engines.local.screen_local`.
    """
    from dask.distributed import as_completed

    if not len(projects):
        raise ValueError("no projects to screen")
    crs = working_crs(projects)
    # neighbours together: a chunk's box, and so what it reads, stays small
    order = np.argsort(projects.geometry.envelope.hilbert_distance(), kind="stable")
    positions = [order[lo:lo + chunk_size] for lo in range(0, len(projects), chunk_size)]
    own = client is None
    client = dask_client(workers, scheduler) if own else client
    try:
        shipped = {k: client.scatter(v, broadcast=True) if isinstance(v, gpd.GeoDataFrame) else v
                   for k, v in layers.items()}
        futures = [client.submit(_screen_chunk, projects.iloc[at], shipped, crs, options, pure=False)
                   for at in positions]
        parts: list[dict | None] = [None] * len(futures)
        position = {f.key: i for i, f in enumerate(futures)}
        for done, future in enumerate(as_completed(futures), 1):
            i = position[future.key]
            parts[i] = {**future.result(), "positions": positions[i]}
            if progress is not None:
                progress(done, len(futures))
    finally:
        if own:
            close_client(client)
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


# ---------------------------------------------------------------------------
# indicators: the plane cut into grid cells, one task per cell


def _cells(bounds: tuple[float, float, float, float], size: float) -> np.ndarray:
    """Square cells of ``size`` on a grid anchored at 0 covering ``bounds``, their edges densified (size/20)."""
    x0, y0, x1, y1 = bounds
    xs = np.arange(np.floor(x0 / size) * size, x1, size)
    ys = np.arange(np.floor(y0 / size) * size, y1, size)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    return shapely.segmentize(shapely.box(gx, gy, gx + size, gy + size), size / 20)


def _cell_task(layer, zone_field, cell, pieces: np.ndarray, crs) -> list[tuple]:
    """One task: the layer's features meeting ``cell`` (a cell of the grid, or the box of one polygon measured
    whole; only those features are read), dissolved; the area inside each of ``pieces`` and inside the cell
    itself (its share of the whole layer). ``[(zone, m² per piece, m² in the cell)]``."""
    box = shapely.bounds(cell)
    if isinstance(layer, gpd.GeoDataFrame):
        gdf = layer.iloc[layer.sindex.query(shapely.box(*box))]
    else:
        gdf = read_layer(layer, geometry="polygon", bbox=tuple(box), bbox_crs=crs)[0]
    if not len(gdf):
        return [(None, np.zeros(len(pieces)), 0.0)]
    areas = prepare_layer(gdf, zone_field).inside(np.r_[pieces, np.array([cell], dtype=object)], crs)
    return [(zone, inside[:-1], float(inside[-1])) for zone, inside, _ in areas]


def dask_measure(client, cell_km: float = 20.0):
    """A ``measure`` for :func:`redline.layer_shares` and :func:`redline.ledger` that spreads the work over a Dask
    cluster. A polygon at most ``cell_km`` across (a township) is one task, reading only the features near it;
    a larger one (the district) is cut into ``cell_km`` cells, one task per cell; the whole layer's area is summed
    over the cells covering it (only with ``whole=True``; :func:`redline.ledger` does not need it). A task reads
    only what meets its box (partitioned layers, PostGIS, files with a spatial index), so memory is bounded by a
    cell's features. Equal to one machine's areas to ~1e-9 (long lon/lat edges carry points along their
    geodesics from the read, :func:`redline.geometry.area.densify_geodesic`, so a cell's edge cuts them where the area sees
    them).
    """
    def measure(layer, zone_field, polys, crs, whole: bool = True):
        layer_crs, extent, _ = layer_info(layer)
        polys = reproject_polygons(np.asarray(polys, dtype=object), crs, layer_crs)
        size = cell_km / 111.32 if layer_crs.is_geographic else cell_km * 1000.0
        ok = ~(shapely.is_missing(polys) | shapely.is_empty(polys))
        b = np.full((len(polys), 4), np.nan)
        b[ok] = shapely.bounds(polys[ok])
        small = ok & (np.fmax(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) <= size)
        big = np.flatnonzero(ok & ~small)
        boxes = [box for box in [extent if whole else None, *[tuple(b[i]) for i in big]] if box is not None]
        shipped = client.scatter(layer, broadcast=True) if isinstance(layer, gpd.GeoDataFrame) else layer
        jobs = []  # (polygons the pieces belong to, counts toward the whole layer, future)
        if boxes:
            cells = _cells((min(x[0] for x in boxes), min(x[1] for x in boxes), max(x[2] for x in boxes),
                            max(x[3] for x in boxes)), size)
            ci, pi = shapely.STRtree(polys[big]).query(cells, predicate="intersects") if len(big) else ([], [])
            ci, pi = np.asarray(ci, int), np.asarray(pi, int)
            for c in range(len(cells)):
                mine = big[pi[ci == c]]
                if not whole and not len(mine):
                    continue  # only the whole layer's area would come of it
                pieces = shapely.intersection(polys[mine], cells[c]) if len(mine) else np.array([], dtype=object)
                jobs.append((mine, True, client.submit(_cell_task, shipped, zone_field, cells[c], pieces, layer_crs,
                                                       pure=False)))
        for i in np.flatnonzero(small):  # measured whole: a box around it reads what it needs
            jobs.append((np.array([i]), False, client.submit(_cell_task, shipped, zone_field,
                                                             shapely.box(*b[i]), polys[i:i + 1], layer_crs,
                                                             pure=False)))
        per_zone: dict = {}
        for mine, counts, future in jobs:
            for zone, inside, cell_m2 in future.result():
                acc = per_zone.setdefault(zone, [np.zeros(len(polys)), 0.0])
                np.add.at(acc[0], mine, inside)
                acc[1] += cell_m2 if counts else 0.0
        zones = sorted(z for z in per_zone if z is not None)
        whole = per_zone.get(None, [np.zeros(len(polys)), 0.0])
        return [(None, whole[0], whole[1])] + [(z, per_zone[z][0], per_zone[z][1]) for z in zones]

    return measure


# ---------------------------------------------------------------------------
# conflicts: the plane cut into cells; each overlap piece measured by the one task that owns it


def _near(layer, kind: str, box, crs, repairs: dict) -> tuple[np.ndarray, np.ndarray]:
    """The features of ``layer`` meeting ``box`` (in ``crs``), cleaned and in ``crs``, in the layer's order, and
    their ids; the ids of features repaired or dropped while reading go to ``repairs[kind]``."""
    valid = False
    if isinstance(layer, gpd.GeoDataFrame):
        near = layer.sindex.query(shapely.box(*transform_bbox(box, crs, layer.crs)))
        gdf = layer.iloc[np.sort(near)]
    else:
        gdf, report = read_layer(layer, geometry="polygon", bbox=tuple(box), bbox_crs=crs)
        seen = repairs.setdefault(kind, {"repaired": set(), "dropped": set()})
        seen["repaired"].update((str(r["id"]), r.get("repair", "")) for r in report.repaired)
        seen["dropped"].update(str(r["id"]) for r in report.dropped)
        valid = True  # repaired on read: make_valid would return the same geometries
    if not len(gdf):
        return np.array([], dtype=object), np.array([], dtype=object)
    moved = reproject_to(gdf, crs)
    if valid and moved is gdf:
        return np.asarray(gdf.geometry.values, dtype=object), np.asarray(gdf.index)
    return clean_features(moved, kind)


def _conflict_task(layers: Mapping[str, object], pairs: list[tuple[str, str]], box, crs, metric, district,
                   min_width: float, own=None, seeds=None) -> dict:
    """One task: the overlap pieces of each pair within the read ``box`` (in ``crs``; features clipped to it).

    A piece lying strictly inside ``box`` is complete (every feature that meets it was read). A piece is this
    task's when its lowest point (its lowest vertex; the westernmost of several) lies in the cell ``own`` (widened
    by a hair, so a point on a cell edge is never lost: the duplicates are dropped when merging) or, with
    ``seeds``, when it holds one of those points. The task measures its complete pieces; those cut by the box's
    edge come back open, to be found again in a box grown around them. The lowest point of the whole piece lies
    on the part of it that the cell holding that point sees, so every piece is some task's.
    """
    repairs: dict = {}
    feats = {kind: _clipped(layers[kind], kind, box, crs, metric, repairs)
             for kind in dict.fromkeys(k for p in pairs for k in p)}
    out = {}
    for a, b in pairs:
        pa, pb = (dissolve_parts(feats[k][0], crs, m2=np.zeros(len(feats[k][0]))).parts for k in (a, b))
        pieces = overlap_pieces(pa, pb)
        bounds = shapely.bounds(pieces) if len(pieces) else np.zeros((0, 4))
        x0, y0, x1, y1 = box
        inside = (bounds[:, 0] > x0) & (bounds[:, 1] > y0) & (bounds[:, 2] < x1) & (bounds[:, 3] < y1)
        mine = _owned(pieces, own, seeds)
        done = pieces[mine & inside]
        frame, outside = measure_pieces(done, crs, metric, district=district, min_width=min_width,
                                        a=feats[a][1:], b=feats[b][1:])
        cut = mine & ~inside
        out[(a, b)] = {"frame": frame, "bounds": bounds[mine & inside], "size": shapely.area(done),
                       "outside": outside, "open": (bounds[cut], shapely.point_on_surface(pieces[cut]))}
    return {"pairs": out, "repairs": repairs}


def _clipped(layer, kind: str, box, crs, metric, repairs: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The features of ``layer`` meeting ``box``: clipped to it, whole in the ``metric`` CRS, and their ids."""
    rect = shapely.box(*box)
    shapely.prepare(rect)
    geoms, ids = _near(layer, kind, box, crs, repairs)
    cut = geoms.copy()
    across = ~shapely.contains_properly(rect, geoms) if len(geoms) else np.array([], bool)
    cut[across] = polygonal(shapely.intersection(geoms[across], rect))
    cut = cut[~shapely.is_empty(cut)]
    in_metric = reproject_to(gpd.GeoSeries(geoms, crs=crs), metric).values if len(geoms) else geoms
    return cut, in_metric, ids


def _owned(pieces: np.ndarray, own, seeds) -> np.ndarray:
    """Which pieces are a task's: their lowest point in its cell ``own`` (widened by a hair), or holding a seed."""
    if own is not None:
        eps = 1e-6 * (own[2] - own[0])
        x, y = _lowest_points(pieces)
        return (x >= own[0] - eps) & (x < own[2] + eps) & (y >= own[1] - eps) & (y < own[3] + eps)
    mine = np.zeros(len(pieces), bool)
    if len(pieces):
        mine[np.unique(shapely.STRtree(pieces).query(seeds, predicate="intersects")[1])] = True
    return mine


def _lowest_points(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each polygon's lowest vertex (the westernmost of several): ``(x, y)``."""
    y = shapely.bounds(pieces)[:, 1] if len(pieces) else np.zeros(0)
    x = np.full(len(pieces), np.inf)
    if len(pieces):
        xy, at = shapely.get_coordinates(pieces, return_index=True)
        low = xy[:, 1] == y[at]
        np.minimum.at(x, at[low], xy[low, 0])
    return x, y


def _groups(seeds: np.ndarray, size: float) -> list[np.ndarray]:
    """Open pieces grouped by the grid cell holding their seed point: one task each."""
    xy = shapely.get_coordinates(seeds)
    keys = np.floor(xy / size).astype(np.int64)
    _, label = np.unique(keys, axis=0, return_inverse=True)
    label = np.asarray(label).ravel()
    return [np.flatnonzero(label == k) for k in range(label.max() + 1)]


def _distinct(bounds: np.ndarray, size: np.ndarray) -> np.ndarray:
    """A mask keeping the first of pieces found twice (the same box and area, to rounding): a piece whose
    corner lies on a cell edge, or that several tasks completed."""
    keep = np.ones(len(bounds), bool)
    if len(bounds) < 2:
        return keep
    tol = 1e-9 * max(1.0, float(np.abs(bounds).max()))
    i, j = shapely.STRtree(shapely.box(*bounds.T)).query(shapely.box(*bounds.T))
    same = (i < j) & (np.abs(bounds[i] - bounds[j]).max(axis=1) <= tol)
    same &= np.abs(size[i] - size[j]) <= 1e-6 * np.maximum(size[i], size[j])
    keep[j[same]] = False
    return keep


@dataclass
class _Grid:
    """The plane of a conflicts run on Dask: the CRS pieces are found in and the metric one they are measured in,
    each layer's extent, the district, the cell size and its margin, and the cells (anchored at the layers'
    south-west corner)."""

    crs: CRS
    metric: str
    extents: dict
    district: object
    size: float
    margin: float
    cells: np.ndarray

    def boxes(self, pairs: list[tuple[str, str]]):
        """``(cell, read box, pairs whose layers both reach the box)`` for every cell some pair reaches."""
        for cell in self.cells:
            box = (cell[0] - self.margin, cell[1] - self.margin, cell[2] + self.margin, cell[3] + self.margin)
            active = [p for p in pairs if _meets(box, self.extents[p[0]]) and _meets(box, self.extents[p[1]])]
            if active:
                yield cell, box, active


def _meets(box, other) -> bool:
    """Whether two boxes ``(xmin, ymin, xmax, ymax)`` meet."""
    return box[0] <= other[2] and other[0] <= box[2] and box[1] <= other[3] and other[1] <= box[3]


def _grid(layers: Mapping[str, object], pairs, boundary: gpd.GeoDataFrame | None, cell_km: float) -> _Grid:
    """The grid of a run: layers' extents from their headers (:func:`redline.io.info.layer_info`), in the
    boundary's CRS, else the first layer's; ``cell_km`` cells with a margin of a tenth of a cell."""
    info = {k: layer_info(layers[k]) for k in dict.fromkeys(k for p in pairs for k in p)}
    first_crs, first_box, _ = info[pairs[0][0]]
    crs = CRS.from_user_input(boundary.crs) if boundary is not None else first_crs
    metric = working_crs(boundary if boundary is not None else
                         gpd.GeoDataFrame(geometry=[shapely.box(*first_box)], crs=first_crs))
    extents = {k: transform_bbox(box, layer_crs, crs) for k, (layer_crs, box, _) in info.items()}
    district = dissolve(boundary.to_crs(crs).geometry.values) if boundary is not None else None
    size = cell_km / 111.32 if crs.is_geographic else cell_km * 1000.0
    reach = list(extents.values())
    x0, y0 = min(b[0] for b in reach), min(b[1] for b in reach)
    nx = max(1, int(np.ceil((max(b[2] for b in reach) - x0) / size)))
    ny = max(1, int(np.ceil((max(b[3] for b in reach) - y0) / size)))
    gx, gy = np.meshgrid(x0 + size * np.arange(nx), y0 + size * np.arange(ny))
    cells = np.c_[gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size]
    # a piece smaller than the margin is whole in the box of the cell holding its lowest point
    return _Grid(crs, metric, extents, district, size, size / 10, cells)


class _Progress:
    """``progress(done, total)`` as tasks finish; the total grows as tasks are added."""

    def __init__(self, callback):
        self.callback, self.done, self.total = callback, 0, 0

    def tick(self) -> None:
        """One task finished."""
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total)


def _gather(futures, found: dict, repairs: dict, progress: _Progress) -> dict:
    """The tasks' results: pieces into ``found`` per pair, repairs merged; the open pieces per pair."""
    from dask.distributed import as_completed

    opened: dict[tuple[str, str], list] = {}
    for future in as_completed(futures):
        result = future.result()
        for kind, seen in result["repairs"].items():
            mine = repairs.setdefault(kind, {"repaired": set(), "dropped": set()})
            for what in ("repaired", "dropped"):
                mine[what] |= seen[what]
        for pair, part in result["pairs"].items():
            found[pair].append(part)
            if len(part["open"][0]):
                opened.setdefault(pair, []).append(part["open"])
        progress.tick()
    return opened


def _regrown(opened: dict, grid: _Grid) -> list[tuple[tuple[str, str], tuple, np.ndarray]]:
    """Pieces reaching their box's edge: ``(pair, box, seeds)``, a box grown around each group of them."""
    tasks = []
    for pair, parts in opened.items():
        bounds = np.concatenate([b for b, _ in parts])
        seeds = np.concatenate([s for _, s in parts])
        grow = np.maximum(grid.margin, 0.5 * np.fmax(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]))
        boxes = bounds + np.c_[-grow, -grow, grow, grow]
        for group in _groups(seeds, grid.size):
            tasks.append((pair, (*boxes[group, :2].min(axis=0), *boxes[group, 2:].max(axis=0)), seeds[group]))
    return tasks


def _run_conflicts(client, layers: Mapping[str, object], pairs, grid: _Grid, min_width: float, progress: _Progress):
    """Every task of a run, round after round until no piece is left open: the pieces found per pair, and the
    repairs made while reading."""
    shipped = {k: client.scatter(v, broadcast=True) if isinstance(v, gpd.GeoDataFrame) else v
               for k, v in layers.items() if k in grid.extents}
    where = client.scatter(grid.district, broadcast=True) if grid.district is not None else None
    common = (grid.crs, grid.metric, where, min_width)
    futures = [client.submit(_conflict_task, shipped, active, box, *common, own=tuple(cell), pure=False)
               for cell, box, active in grid.boxes(pairs)]
    found: dict[tuple[str, str], list[dict]] = {p: [] for p in pairs}
    repairs: dict[str, dict[str, set]] = {}
    rounds = 0
    while futures:
        progress.total += len(futures)
        opened = _gather(futures, found, repairs, progress)
        rounds += 1
        if opened and rounds > 60:  # each round grows a box by half its piece at least: never in practice
            raise EngineError("conflicts on Dask: pieces still cut by their boxes after 60 rounds; give a larger "
                              "--cell-km, or run on one machine (--engine local)")
        futures = [client.submit(_conflict_task, shipped, [pair], box, *common, seeds=seeds, pure=False)
                   for pair, box, seeds in _regrown(opened, grid)]
    return found, repairs


def _measured(found: dict) -> dict:
    """Per pair, the measured pieces of every task (each piece once) and the area outside the district."""
    measured = {}
    for pair, parts in found.items():
        keep = _distinct(np.concatenate([p["bounds"] for p in parts]), np.concatenate([p["size"] for p in parts]))
        frames, outside, start = [], 0.0, 0
        for p in parts:
            mine = keep[start:start + len(p["bounds"])]
            start += len(p["bounds"])
            frames.append(p["frame"][mine[p["frame"]["parent"].to_numpy(int)]] if len(p["frame"]) else p["frame"])
            outside += float(p["outside"][mine].sum())
        measured[pair] = (pd.concat(frames, ignore_index=True), outside)
    return measured


def _repair_notes(repairs: dict) -> list[str]:
    """What reading repaired or dropped, per kind."""
    notes = []
    for kind, seen in repairs.items():
        if seen["repaired"]:
            notes.append(f"{kind}: {describe_repairs(fix for _, fix in seen['repaired'])}")
        if seen["dropped"]:
            notes.append(f"{kind}: {len(seen['dropped'])} features dropped (not polygons, empty, or with "
                         f"unusable coordinates: see redline layers check)")
    return notes


def conflicts_dask(layers: Mapping[str, object], pairs=None, *, boundary: gpd.GeoDataFrame | None = None,
                   units: gpd.GeoDataFrame | None = None, by: str | None = None, min_area: float | None = None,
                   min_width: float | None = None, client=None, workers: int | None = None,
                   scheduler: str | None = None, cell_km: float = 20.0, progress=None):
    """:func:`redline.conflicts` on a Dask cluster, cell by cell; the same result.

    The plane (in the boundary's CRS, else the first layer's) is cut into ``cell_km`` cells from the layers'
    south-west corner. A task reads the features of each pair's layers meeting its cell and a margin of a tenth
    of a cell (partitioned layers, PostGIS tables and files with a spatial index read only that), clips them to
    that box and finds the overlap pieces; it measures the pieces whose lowest point lies in its cell and which
    lie wholly inside the box (so every feature meeting them was read): every piece smaller than the margin.
    A larger piece is found again in a box grown around it, as often as it takes, so a conflict of any size is
    measured whole, once. Pieces are then numbered, summed per pair and per unit as on one machine.
    ``progress(done, total)`` is called as tasks finish (the total grows when pieces are found again).
    """
    min_area = MIN_AREA_M2 if min_area is None else min_area
    min_width = MIN_WIDTH_M if min_width is None else min_width
    pairs = resolve_pairs(list(layers), pairs)
    if units is not None and by is None:
        raise FieldError("units given without the unit id field (by=)")
    grid = _grid(layers, pairs, boundary, cell_km)
    own = client is None
    client = dask_client(workers, scheduler) if own else client
    try:
        found, repairs = _run_conflicts(client, layers, pairs, grid, min_width, _Progress(progress))
    finally:
        if own:
            close_client(client)
    result = assemble(_measured(found), pairs, grid.crs, units=units, by=by, min_area=min_area, min_width=min_width)
    result.notes += _repair_notes(repairs)
    return result
