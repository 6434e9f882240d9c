"""The local engine: every input of an analysis opened and checked on this machine, then the analysis run on it.

Inputs may be GeoDataFrames or anything :func:`redline.read_layer` reads (files, ``postgresql://`` URIs,
partitioned directories). A PostGIS table or a partitioned layer is read only near the projects: within the
widest ring or safety distance of its kind, and at least :data:`POSTGIS_REACH_M`; the screening is told so
(``within_m``), and reports no nearest distance beyond it. Every layer is opened before the first overlay runs,
so a broken one fails at once, with its one-line error. Conflicts read their layers, boundary and units first
the same way (:func:`conflicts_local`). :func:`local_measure` is the ``measure`` of :func:`layer_shares` and
:func:`ledger` here: a layer given by its path is read, then measured in memory as the analyses do
(:func:`redline.analyses.indicators.measure_in_memory`) — the analyses themselves never open a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from ..analyses import indicators, screening
from ..analyses.conflicts import conflicts as conflicts_analysis
from ..io import read_layer
from ..io.partition import is_partitioned
from ..io.postgis import is_postgis
from ..io.info import layer_info

__all__ = ["POSTGIS_REACH_M", "ScreeningInputs", "conflicts_local", "layer_shares", "ledger", "local_measure",
           "open_extras", "open_screening", "screen_local"]

#: PostGIS / partitioned layers: the rows (partitions) within this of the projects are read, at least.
POSTGIS_REACH_M = 10_000.0


@dataclass
class ScreeningInputs:
    """The inputs of a screening, opened and checked: GeoDataFrames (layers left as sources when ``lazy``), and
    the keyword options of :func:`redline.analyses.screening.screen` (``rules`` loaded, ``notes`` of the reads)."""

    projects: gpd.GeoDataFrame
    layers: dict[str, object]
    options: dict = field(default_factory=dict)


def _read(src, name: str, notes: list[str], geometry: str = "polygon", **read_options):
    """``src`` read (a GeoDataFrame passes), its read notes in ``notes`` under ``name``; and the read's report."""
    if isinstance(src, gpd.GeoDataFrame):
        return src, None
    gdf, report = read_layer(src, geometry=geometry, **read_options)
    notes.extend(f"{name}: {note}" for note in report.notes)
    return gdf, report


def _near(src) -> bool:
    """Whether a layer source is read only near the projects (a PostGIS table, a partitioned layer)."""
    return not isinstance(src, gpd.GeoDataFrame) and (is_postgis(src) or is_partitioned(src))


def _reach_m(kind: str, rules, rings_m: tuple[float, ...]) -> float:
    """How far around the projects a layer of ``kind`` is read: its widest ring or safety distance, 10 km at least."""
    return max([POSTGIS_REACH_M, *rings_m, *(r.min_distance_m for r in rules.safety if r.kind == kind)])


def _read_layers(layers: Mapping[str, object], proj: gpd.GeoDataFrame, rules, rings_m, options: dict,
                 notes: list[str]) -> tuple[dict, dict]:
    """Every layer read (PostGIS and partitions near the footprints only), and how far around them each was."""
    read, within = {}, {}
    fp = None
    for kind, src in layers.items():
        if not _near(src):
            read[kind] = _read(src, kind, notes)[0]
            continue
        if fp is None:  # the footprints' box, in the metric CRS the screening will work in
            fp = screening.project_footprints(proj, rules, **{k: options.get(k) for k in (
                "id_field", "category_field", "line_width", "point_radius", "repaired", "crs")})
        reach = within[kind] = _reach_m(kind, rules, rings_m)
        x0, y0, x1, y1 = shapely.total_bounds(fp.geoms)
        box = (x0 - reach, y0 - reach, x1 + reach, y1 + reach)
        read[kind] = _read(src, kind, notes, bbox=box, bbox_crs=fp.crs)[0]
        notes.append(f"{kind}: read within {reach / 1000:,.0f} km of the projects "
                     f"({'PostGIS' if is_postgis(src) else 'partitions'}); nearer distances are exact, larger "
                     f"ones are not reported")
    return read, within


def open_screening(projects, layers: Mapping[str, object], *, boundary=None, rules=None, catalog=None, buffers=None,
                   repaired=None, lazy: bool = False, **options) -> ScreeningInputs:
    """Open and check every input of a screening before any work: the rule set, the kinds and rings, the projects,
    the boundary and each layer — read, or with ``lazy`` (the Dask engine, whose workers read them) opened and
    checked without reading their features (:func:`redline.io.info.layer_info`)."""
    rules, catalog, rings_m = screening.check_request(layers, rules, catalog, buffers)
    notes: list[str] = []
    repaired = dict(repaired) if isinstance(repaired, Mapping) else dict.fromkeys(repaired or (), "")
    projects, report = _read(projects, "projects", notes, geometry="any")
    if report is not None:
        repaired.update({r["id"]: r.get("repair", "") for r in report.repaired})
    sources = {**layers, "boundary": boundary}
    boundary = _read(boundary, "boundary", notes)[0] if boundary is not None else None
    if options.get("landuse") is not None:  # the 三调 layer of the 占用地类 tables
        options["landuse"] = _read(options["landuse"], "landuse", notes)[0]
    options.update(boundary=boundary, rules=rules, catalog=catalog, buffers=rings_m, repaired=repaired)
    if lazy:
        for kind, src in layers.items():
            if isinstance(src, gpd.GeoDataFrame):
                screening.check_layer(src, kind, [])  # the workers note what it says
            else:
                layer_info(src)
        return ScreeningInputs(projects, dict(layers), {**options, "notes": notes})
    read, within = _read_layers(layers, projects, rules, rings_m, options, notes)
    # what read_layer read is repaired and checked already: the analysis need not check it again
    checked = [k for k, src in sources.items() if src is not None and not isinstance(src, gpd.GeoDataFrame)]
    return ScreeningInputs(projects, read, {**options, "within_m": within, "notes": notes, "checked": checked})


def screen_local(projects, layers: Mapping[str, object], **options) -> screening.ScreeningResult:
    """:func:`redline.screen` on this machine: every input opened and checked (:func:`open_screening`), then
    :func:`redline.analyses.screening.screen`. ``options`` may carry ``notes`` to start the result's notes with."""
    before = list(options.pop("notes", ()))
    inputs = open_screening(projects, layers, **options)
    inputs.options["notes"] = before + inputs.options["notes"]
    return screening.screen(inputs.projects, inputs.layers, **inputs.options)


def open_extras(boundary=None, units=None) -> tuple[dict[str, gpd.GeoDataFrame | None], list[str]]:
    """The ``boundary`` and ``units`` of an analysis read (GeoDataFrames pass; None stays None), and the notes of
    the reads, ``(boundary): note``."""
    notes: list[str] = []
    read = {name: _read(src, f"({name})", notes)[0] if src is not None else None
            for name, src in (("boundary", boundary), ("units", units))}
    return read, notes


def conflicts_local(layers: Mapping[str, object], pairs=None, *, boundary=None, units=None, **options):
    """:func:`redline.conflicts` on this machine, the layers, ``boundary`` and ``units`` read first."""
    extras, notes = open_extras(boundary, units)
    read = {kind: _read(src, kind, notes)[0] for kind, src in layers.items()}
    result = conflicts_analysis(read, pairs, **extras, **options)
    result.notes[:0] = notes
    return result


def local_measure(layer, zone_field: str | None, polys, crs, whole: bool = True
                  ) -> list[tuple[str | None, np.ndarray, float]]:
    """``measure`` on this machine: ``layer`` a GeoDataFrame, a :class:`~redline.analyses.indicators.PreparedLayer`
    or the path of a polygon layer (read whole)."""
    if not isinstance(layer, (gpd.GeoDataFrame, indicators.PreparedLayer)):
        layer = read_layer(layer, geometry="polygon")[0]
    return indicators.measure_in_memory(layer, zone_field, polys, crs, whole)


def layer_shares(*args, measure=None, **kwargs):
    """:func:`redline.analyses.indicators.layer_shares` run here, layers given by path read (``redline.layer_shares``)."""
    return indicators.layer_shares(*args, measure=measure or local_measure, **kwargs)


def ledger(*args, measure=None, **kwargs):
    """:func:`redline.analyses.indicators.ledger` run here, layers given by path read (``redline.ledger``)."""
    return indicators.ledger(*args, measure=measure or local_measure, **kwargs)
