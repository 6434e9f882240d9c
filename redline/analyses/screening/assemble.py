"""The tables of a screening result, built from the findings of each kind: the hits (project × kind), the projects
layer with its verdicts, and the encroachment pieces (their geometry dissolved only when asked for).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ...geometry.area import UNITS, dissolve, ellipsoidal_area
from ...geometry.clean import polygonal
from ...specs.catalog import SEVERITY_RANK, LayerKind
from ...specs.rules import RuleSet
from .inputs import ScreenedProjects
from .result import VERDICTS
from .verdicts import Findings

__all__ = ["HIT_COLUMNS", "hits_table", "projects_layer", "encroachments"]

#: The columns of :attr:`ScreeningResult.hits`.
HIT_COLUMNS = ["project_id", "kind", "kind_label", "overlap_m2", "overlap_ha", "overlap_mu", "overlap_pct",
               "outside_m2", "distance_m", "zones", "severity", "message"]
_ENCROACHMENT_COLUMNS = ["project_id", "kind", "kind_label", "zone", "severity", "area_m2", "area_ha", "area_mu",
                         "pct", "geometry"]


def hits_table(found: list[Findings], proj: ScreenedProjects, catalog: Mapping[str, LayerKind],
               lang: str) -> pd.DataFrame:
    """One row per kind × project (kind-major: row ``k * n + p``)."""
    rows = [{"project_id": proj.ids[p], "kind": f.kind, "kind_label": catalog[f.kind].label(lang),
             "overlap_m2": f.overlap_m2[p], "overlap_ha": f.overlap_m2[p] / UNITS["ha"],
             "overlap_mu": f.overlap_m2[p] / UNITS["mu"], "overlap_pct": f.pct[p], "outside_m2": f.outside_m2[p],
             "distance_m": f.distance_m[p], "zones": f.zones[p], "severity": f.severity[p], "message": f.messages[p]}
            for f in found for p in range(len(proj))]
    return pd.DataFrame(rows, columns=HIT_COLUMNS)


def _verdicts(hits: pd.DataFrame, kinds: int, n: int) -> tuple[list[str], list[str]]:
    """Each project's verdict (its most severe hit) and findings (the messages of what was flagged)."""
    if not n:
        return [], []
    ranks = hits["severity"].map(SEVERITY_RANK).to_numpy().reshape(kinds, n)
    messages = hits["message"].to_numpy().reshape(kinds, n)
    flagged = ranks > 0
    return [VERDICTS[3 - r] for r in ranks.max(axis=0)], [" | ".join(messages[flagged[:, p], p]) for p in range(n)]


def projects_layer(proj: ScreenedProjects, found: list[Findings], hits: pd.DataFrame, rules: RuleSet,
                   boundary: gpd.GeoDataFrame | None, notes: list[str], lang: str) -> gpd.GeoDataFrame:
    """The projects with their footprint, category, verdict, findings and per kind ``<kind>_m2``, ``_pct``,
    ``_distance_m``, ``_severity`` (and ``outside_boundary_m2``/``_pct`` with a ``boundary``), in their CRS."""
    source, kinds = proj.source, [f.kind for f in found]
    keep_cols = [c for c in source.columns if c != source.geometry.name]
    reserved = {"project_id", "category", "verdict", "findings", "repaired", "buffer_m"}
    reserved |= {c for c in keep_cols if c.startswith("footprint_") or c.startswith(tuple(kinds))}
    out = pd.DataFrame(source[[c for c in keep_cols if c not in reserved]]).reset_index(drop=True)
    out.insert(0, "project_id", proj.ids)
    out["category"] = proj.categories
    out["category_label"] = [rules.category_label(c, lang) if c is not None else "" for c in proj.categories]
    m2 = proj.m2
    out["footprint_m2"], out["footprint_ha"], out["footprint_mu"] = m2, m2 / UNITS["ha"], m2 / UNITS["mu"]
    out["buffer_m"] = proj.footprints["buffer_m"].to_numpy()
    out["repaired"] = proj.footprints["repaired"].to_numpy()
    out["verdict"], out["findings"] = _verdicts(hits, len(found), len(proj))
    for f in found:
        for key, values in (("m2", f.overlap_m2), ("pct", f.pct), ("distance_m", f.distance_m),
                            ("severity", f.severity)):
            out[f"{f.kind}_{key}"] = values
    if boundary is not None:
        _outside_boundary(out, proj, boundary, notes)
    geometry = gpd.GeoSeries(proj.geoms, crs=proj.crs).to_crs(source.crs).values
    return gpd.GeoDataFrame(out, geometry=geometry, crs=source.crs)


def _outside_boundary(out: pd.DataFrame, proj: ScreenedProjects, boundary: gpd.GeoDataFrame, notes: list[str]) -> None:
    """The part of each footprint outside the district (``outside_boundary_m2``/``_pct``), noted per project."""
    district = dissolve(boundary.to_crs(proj.crs).geometry.values)
    outside = ellipsoidal_area(polygonal(shapely.difference(proj.geoms, district)), crs=proj.crs)
    m2 = proj.m2
    out["outside_boundary_m2"] = outside
    out["outside_boundary_pct"] = 100.0 * outside / m2
    for p in np.flatnonzero(outside > 0.5):
        notes.append(f"{proj.ids[p]}: {100.0 * outside[p] / m2[p]:.1f} % of the footprint lies outside the boundary "
                     "(layers may not cover it)")


def encroachments(found: list[Findings], proj: ScreenedProjects, catalog: Mapping[str, LayerKind], lang: str):
    """A function building :attr:`ScreeningResult.encroachments`: the pieces' table now, their geometries
    dissolved only when it is called (the numbers never need them)."""
    rows = [piece for f in found for piece in f.pieces]
    enc = pd.DataFrame(rows, columns=["p", "kind", "zone", "severity", "geometry", "area_m2"])
    enc.insert(0, "project_id", [proj.ids[p] for p in enc["p"]])
    enc["kind_label"] = [catalog[k].label(lang) for k in enc["kind"]]
    enc["area_ha"] = enc["area_m2"] / UNITS["ha"]
    enc["area_mu"] = enc["area_m2"] / UNITS["mu"]
    enc["pct"] = 100.0 * enc["area_m2"] / proj.m2[enc["p"].to_numpy(int)] if len(enc) else []
    enc = enc.drop(columns="p")[_ENCROACHMENT_COLUMNS]
    crs, out_crs = proj.crs, proj.source.crs

    def layer() -> gpd.GeoDataFrame:
        geoms = [g[0].group_geoms[g[1]] if isinstance(g, tuple) else g for g in enc["geometry"]]
        table = enc.drop(columns="geometry")
        return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs=crs).to_crs(out_crs).values, crs=out_crs)

    return layer
