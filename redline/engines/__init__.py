"""Where an analysis runs: on this machine (:mod:`.local`) or spread over a Dask cluster (:mod:`.dask`).

The library's entry points take layers as paths (files, ``postgresql://`` URIs, partitioned directories) or
GeoDataFrames, open and check every input before any work, and run the analysis on the engine asked for::

    >>> import redline
    >>> result = redline.screen("data/qianjiang/projects.geojson", {"eco_redline": "data/qianjiang/eco_redline.gpkg"},
    ...                         boundary="data/qianjiang/boundary.gpkg")  # doctest: +SKIP
    >>> result = redline.screen(projects, layers, engine="dask", workers=4)  # doctest: +SKIP

``engine="dask"`` connects to ``scheduler`` (``tcp://host:8786``) or starts a local cluster of ``workers``
processes, closed at the end; a ``client`` given is used as it is and left open.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from ..analyses.screening import ScreeningResult
from ..errors import InputError
from .dask import close_client, conflicts_dask, dask_client, dask_measure, screen_dask
from .local import conflicts_local, open_extras, open_screening, screen_local

__all__ = ["ENGINES", "check_engine", "conflicts", "engine_client", "measure_for", "screen"]

#: The engines an analysis runs on.
ENGINES: tuple[str, ...] = ("local", "dask")


def check_engine(engine: str, workers=None, scheduler=None, client=None) -> None:
    """Refuse an unknown engine, and Dask's options with the local one."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine != "dask" and (workers or scheduler or client is not None):
        raise InputError("--workers and --scheduler go with --engine dask")


@contextmanager
def engine_client(engine: str = "local", workers: int | None = None, scheduler: str | None = None,
                  client=None) -> Iterator[object | None]:
    """The Dask client of ``engine="dask"``: ``client`` itself, or one made from ``workers``/``scheduler`` and
    closed after; None for the local engine, which takes none of them
    (:class:`~redline.errors.InputError`)."""
    check_engine(engine, workers, scheduler, client)
    if engine != "dask" or client is not None:
        yield client
        return
    made = dask_client(workers, scheduler)
    try:
        yield made
    finally:
        close_client(made)


def screen(projects, layers: Mapping[str, object], *, engine: str = "local", workers: int | None = None,
           scheduler: str | None = None, client=None, progress=None, **options) -> ScreeningResult:
    """Screen project footprints against control-line layers: overlaps, distances, rings and verdicts.

    Parameters
    ----------
    projects : GeoDataFrame or path
        Polygons, lines (with ``width_m``) and points (with ``radius_m``), in any CRS; a path is read with
        :func:`redline.read_layer` (invalid geometries repaired and flagged).
    layers : mapping of kind -> GeoDataFrame or path
        Catalog kinds (``eco_redline``, ``basic_farmland``, ``urban_boundary`` …), each in any CRS; a PostGIS
        table or a partitioned layer is read only near the projects (:mod:`redline.engines.local`).
    engine : {"local", "dask"}
        ``"dask"``: chunks of projects screened on a Dask cluster (:func:`redline.engines.dask.screen_dask`, the
        same result) — ``client``, or one made from ``workers``/``scheduler`` and closed after;
        ``progress(done, total)`` is called as chunks finish.
    boundary : GeoDataFrame or path, optional
        The district: the part of each footprint outside it is reported (``outside_boundary_m2``).
    id_field, category_field : str, optional
        Default: first of ``project_id, id, name, 编号, 名称`` / ``category, 类别, 项目类别, type``.
    buffers : iterable of float, optional
        Ring distances in metres (default: the rule set's, 500, 1000, 5000); empty for none.
    line_width, point_radius : float, optional
        Width (m) of lines and radius (m) of points without a ``width_m`` / ``radius_m``.
    rules : RuleSet or path, optional
        Screening rule set (categories, rings, safety distances); default the bundled one.
    catalog : mapping, optional
        The layer catalog; default :func:`redline.load_catalog`.
    lang : {"zh", "en"}
        Language of the messages.
    repaired : iterable or mapping, optional
        Index values of projects already repaired upstream, to flag them; a mapping gives what was done to each.
    crs : optional
        The metric CRS the work is done in (default: the CGCS2000 Gauss-Krüger zone of the projects).
    landuse : GeoDataFrame or path, optional
        A 三调 land-use layer: what land each footprint occupies (``result.landuse``), by class
        (``landuse_field``, default ``DLBM``) and, with ``ownership_field`` (``QSXZ``), by 国有 / 集体.

    Every input — the rule set, the kinds, the projects, the boundary and every layer — is opened and checked
    before the first overlay, so a broken layer fails at once with its one-line error
    (:class:`~redline.errors.CatalogError`, :class:`~redline.errors.LayerReadError`, ``GeometryError``,
    ``CRSError``; :class:`~redline.errors.InputError` for Dask's options with the local engine).
    """
    check_engine(engine, workers, scheduler, client)
    if engine == "local":
        return screen_local(projects, layers, **options)
    inputs = open_screening(projects, layers, lazy=True, **options)
    land = {k: inputs.options.pop(k, None) for k in ("landuse", "landuse_field", "ownership_field")}
    with engine_client(engine, workers, scheduler, client) as dask:
        result = screen_dask(inputs.projects, inputs.layers, client=dask, progress=progress, **inputs.options)
    if land["landuse"] is not None:  # one overlay of the footprints, on this machine, after the cluster's work
        result.landuse = land_take_of(inputs.projects, inputs.options, land)
        result.notes += result.landuse.notes
    return result


def land_take_of(projects, options: dict, land: dict):
    """The 占用地类 of the projects' footprints (made as the screening makes them) over ``land["landuse"]``."""
    from ..analyses.landtake import land_take
    from ..analyses.screening import project_footprints

    proj = project_footprints(projects, options["rules"], **{k: options.get(k) for k in (
        "id_field", "category_field", "line_width", "point_radius", "repaired", "crs")})
    return land_take(proj.geoms, proj.ids, proj.crs, land["landuse"], code_field=land["landuse_field"],
                     ownership_field=land["ownership_field"])


def conflicts(layers: Mapping[str, object], pairs=None, *, engine: str = "local", workers: int | None = None,
              scheduler: str | None = None, client=None, progress=None, **options):
    """Every overlap between pairs of layers (:func:`redline.analyses.conflicts.conflicts`), layers given as
    GeoDataFrames or paths; ``boundary`` and ``units`` too. ``engine="dask"`` cuts the plane into cells, one
    task each (:func:`redline.engines.dask.conflicts_dask`, ``cell_km``; the workers read the layers), with
    ``progress(done, total)`` as tasks finish."""
    check_engine(engine, workers, scheduler, client)
    if engine == "local":
        options.pop("cell_km", None)  # the local engine cuts nothing
        return conflicts_local(layers, pairs, **options)
    extras, notes = open_extras(options.pop("boundary", None), options.pop("units", None))
    with engine_client(engine, workers, scheduler, client) as dask:
        result = conflicts_dask(layers, pairs, client=dask, progress=progress, **extras, **options)
    result.notes[:0] = notes
    return result


@contextmanager
def measure_for(engine: str = "local", workers: int | None = None, scheduler: str | None = None, client=None,
                cell_km: float = 20.0) -> Iterator[object | None]:
    """The ``measure`` hook of :func:`redline.layer_shares` and :func:`redline.ledger` for ``engine``: None on
    this machine (the caller reads the layers and measures them in memory), :func:`redline.engines.dask.dask_measure`
    on a Dask cluster (its client closed after when made here)."""
    with engine_client(engine, workers, scheduler, client) as dask:
        if dask is None:
            yield None
            return
        yield dask_measure(dask, cell_km)
