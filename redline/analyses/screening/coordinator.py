"""The screening, step by step: check every input, make the footprints, then per kind the overlaps, distances,
verdicts, safety distances and rings, and last the result's tables.

It takes GeoDataFrames and reads nothing: :func:`redline.screen` (:mod:`redline.engines`) opens paths, PostGIS
tables and partitioned layers, and says how far around the projects it read them (``within_m``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ...geometry.clean import polygonal, reproject
from ...geometry.overlay import overlap_areas
from ..landtake import land_take
from ...specs.catalog import LayerKind
from ...specs.rules import RuleSet
from ...text import Lang
from .assemble import encroachments, hits_table, projects_layer
from .distances import geodesic_nearest
from .inputs import ScreenedProjects, check_layer, check_request, project_footprints
from .result import ScreeningResult
from .rings import RING_COLUMNS, Rings
from .verdicts import Findings, assess, keep_safety_distances, zone_labels

__all__ = ["screen"]


def screen(
    projects: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    boundary: gpd.GeoDataFrame | None = None,
    id_field: str | None = None,
    category_field: str | None = None,
    buffers: Iterable[float] | None = None,
    line_width: float | None = None,
    point_radius: float | None = None,
    rules: RuleSet | str | os.PathLike | None = None,
    catalog: Mapping[str, LayerKind] | None = None,
    lang: Lang = "zh",
    repaired: Iterable | None = None,
    crs=None,
    within_m: Mapping[str, float] | None = None,
    notes: Iterable[str] = (),
    checked: Iterable[str] = (),
    landuse: gpd.GeoDataFrame | None = None,
    landuse_field: str | None = None,
    ownership_field: str | None = None,
) -> ScreeningResult:
    """Screen project footprints (GeoDataFrames) against control-line layers (GeoDataFrames).

    The options are those of :func:`redline.screen` (documented there), which takes paths as well; here
    ``within_m`` says, per kind, how far around the projects a layer was read (PostGIS, partitions): a
    nearest distance beyond it is not reported (NaN). ``notes`` (what reading said) start the result's notes;
    ``checked`` names the layers (kinds, ``"boundary"``) :func:`redline.read_layer` read, repaired and checked
    already, which are not checked again. ``landuse`` (a 三调 layer, its class field ``landuse_field``, its 权属性质
    ``ownership_field``) adds what land each footprint occupies (:func:`redline.analyses.landtake.land_take`).
    Every input is checked (rule set, kinds, rings, projects, each layer, the boundary) before the first overlay.

    Examples
    --------
    >>> from shapely import box
    >>> p = gpd.GeoDataFrame({"project_id": ["A"], "category": ["mining"]},
    ...                      geometry=[box(108.70, 29.50, 108.71, 29.51)], crs="EPSG:4490")
    >>> red = gpd.GeoDataFrame(geometry=[box(108.705, 29.49, 108.72, 29.52)], crs="EPSG:4490")
    >>> r = screen(p, {"eco_redline": red}, buffers=[])
    >>> r.projects.verdict.tolist(), round(float(r.hits.overlap_pct.iloc[0]), 1)
    (['prohibited'], 50.0)
    """
    rules, catalog, rings_m = check_request(layers, rules, catalog, buffers)
    notes = list(notes)
    proj = project_footprints(projects, rules, id_field=id_field, category_field=category_field,
                              line_width=line_width, point_radius=point_radius, repaired=repaired, crs=crs)
    notes += proj.notes
    done = set(checked)
    checked = {kind: gdf if kind in done else check_layer(gdf, kind, notes) for kind, gdf in layers.items()}
    if boundary is not None and "boundary" not in done:
        boundary = check_layer(boundary, "boundary", notes)
    rings = Rings(proj.geoms, rings_m)
    found, ring_rows = [], []
    for name, layer in checked.items():
        f, rows = _screen_kind(name, catalog[name], layer, proj, rules, rings, (within_m or {}).get(name), notes,
                               lang)
        found.append(f)
        ring_rows += rows
    hits = hits_table(found, proj, catalog, lang)
    ring_table = pd.DataFrame(ring_rows, columns=RING_COLUMNS)
    take = None
    if landuse is not None:
        take = land_take(proj.geoms, proj.ids, proj.crs, landuse, code_field=landuse_field,
                         ownership_field=ownership_field)
        notes += take.notes
    return ScreeningResult(projects_layer(proj, found, hits, rules, boundary, notes, lang), hits,
                           encroachments(found, proj, catalog, lang),
                           partial(rings.layer, proj.ids, list(checked), ring_table, proj.crs, projects.crs),
                           ring_table,
                           list(checked), str(proj.crs), lang, notes, landuse=take)


def _screen_kind(name: str, kind: LayerKind, layer: gpd.GeoDataFrame, proj: ScreenedProjects, rules: RuleSet,
                 rings: Rings, within: float | None, notes: list[str], lang: Lang) -> tuple[Findings, list[dict]]:
    """One kind: overlaps, nearest distances, verdicts and messages, safety distances, then the rings."""
    layer = reproject(layer, proj.crs, notes.append, name)
    labels, zone_of = zone_labels(layer, kind, notes)
    feats = polygonal(layer.geometry.values)
    keep = ~shapely.is_empty(feats)
    feats, labels = feats[keep], labels[keep]
    tree = shapely.STRtree(feats)
    ov = overlap_areas(proj.geoms, feats, labels, tree, proj.crs)
    overlap = np.minimum(ov.overlap_m2, proj.m2)
    dist = np.zeros(len(proj))
    apart = overlap <= 0
    dist[apart] = geodesic_nearest(proj.geoms[apart], feats, proj.crs, tree)  # 0 where they overlap
    if within is not None:  # a nearer feature beyond what was read cannot be ruled out
        dist[dist > within] = np.nan
    found = assess(name, kind, proj, ov, overlap, dist, zone_of, lang)
    found.tell(proj, kind, rules, lang)
    keep_safety_distances(found, kind, rules, proj, feats, labels, lang)
    # buffer rings: features counted in the ring holding their nearest point; area of the dissolved layer
    return found, rings.rows(proj.ids, name, feats, tree, proj.crs, ov.touching, overlap)
