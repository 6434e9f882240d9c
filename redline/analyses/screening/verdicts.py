"""From what a footprint meets to a severity: the catalog rule of each zone hit, the inverted kinds (a project
must lie inside the urban development boundary) and the rule set's safety distances.

Per project and kind the most severe finding wins (``prohibited`` > ``conditional`` > ``restricted`` >
``allowed`` > ``clear``); a safety distance not kept raises it to the rule's severity and adds its message.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from ...geometry.clean import polygonal
from ...geometry.overlay import Overlaps
from ...specs.catalog import SEVERITY_RANK, LayerKind
from ...specs.rules import RuleSet
from .distances import geodesic_nearest
from .inputs import ScreenedProjects
from .messages import OUTSIDE_TOLERANCE_PCT, Finding, message, outside_zone, safety_message

__all__ = ["Findings", "assess", "keep_safety_distances", "zone_labels"]


@dataclass
class Findings:
    """What each project meets in one kind and what the rules say of it (arrays aligned with the projects).

    ``pieces`` are the rows of the encroachments: ``(project, kind, zone, severity, geometry, m²)``, the
    geometry given as ``(overlaps, group)`` when it is to be dissolved only on first use."""

    kind: str
    overlap_m2: np.ndarray
    pct: np.ndarray
    distance_m: np.ndarray
    severity: np.ndarray
    basis: list[str]
    permitted: list[tuple]
    exception: np.ndarray
    zones: list[list[str]]
    outside_m2: np.ndarray
    outside_pct: np.ndarray
    applies: np.ndarray
    pieces: list[tuple]
    messages: list[str] | None = None

    def finding(self, p: int) -> Finding:
        """Project ``p``'s finding, as its message tells it (an unflagged one told as ``allowed``)."""
        sev = self.severity[p] if self.severity[p] != "clear" else "allowed"
        return Finding(self.overlap_m2[p], self.pct[p], self.distance_m[p], self.zones[p], sev, self.basis[p],
                       self.permitted[p], bool(self.exception[p]), self.outside_m2[p], self.outside_pct[p],
                       bool(self.applies[p]))

    def tell(self, proj: ScreenedProjects, kind: LayerKind, rules: RuleSet, lang: str) -> None:
        """Write the message of each project (:attr:`messages`)."""
        linear = proj.linear
        self.messages = [message(lang, proj.ids[p], kind, rules, proj.categories[p], bool(linear[p]), self.finding(p))
                         for p in range(len(proj))]


def zone_labels(gdf: gpd.GeoDataFrame, kind: LayerKind, notes: list[str]) -> tuple[np.ndarray, dict]:
    """Zone label per feature, and the catalog zone (or None) per label."""
    fieldname = kind.zone_field(gdf.columns)
    if fieldname is None:
        if kind.zones:
            notes.append(f"{kind.kind}: no zone field ({', '.join(kind.zone_fields)}); the kind's rule applies to all")
        return np.full(len(gdf), "", dtype=object), {"": None}
    raw = gdf[fieldname].astype("string").fillna("").str.strip()
    zones = {value: kind.match_zone(value) if kind.zones else None for value in raw.unique()}
    labels = raw.map(lambda v: zones[v]["name_zh"] if zones[v] is not None else v).to_numpy(dtype=object)
    by_label = {zone["name_zh"] if zone else value: zone for value, zone in zones.items()}
    if kind.zones:
        unknown = sorted(v for v, z in zones.items() if z is None and v)
        if unknown:
            notes.append(f"{kind.kind}: zone values not in the catalog ({', '.join(unknown)}): the kind's rule applies")
    return labels, by_label


def assess(name: str, kind: LayerKind, proj: ScreenedProjects, ov: Overlaps, overlap_m2: np.ndarray,
           distance_m: np.ndarray, zone_of: dict, lang: str) -> Findings:
    """The findings of every project against kind ``name``, from its overlaps ``ov`` (``overlap_m2`` capped at the
    footprint) and nearest distances."""
    n = len(proj)
    found = Findings(name, overlap_m2, 100.0 * overlap_m2 / proj.m2, distance_m, np.array(["clear"] * n, dtype=object),
                     [""] * n, [()] * n, np.zeros(n, bool), [[] for _ in range(n)], np.zeros(n), np.zeros(n),
                     np.zeros(n, bool), [])
    if kind.inverted:
        _assess_inside(found, kind, proj, ov, lang)
    else:
        _assess_zones(found, kind, proj, ov, zone_of)
    return found


def _assess_inside(found: Findings, kind: LayerKind, proj: ScreenedProjects, ov: Overlaps, lang: str) -> None:
    """An inverted kind: the part of each footprint outside it is flagged, for the categories it applies to."""
    n = len(proj)
    found.applies = np.array([c in kind.applies_to for c in proj.categories])
    covered = np.full(n, None, dtype=object)
    covered[:] = [shapely.Polygon()] * n
    pcodes, ppieces = ov.project_geometries()
    covered[pcodes] = ppieces
    out_geoms = polygonal(shapely.difference(proj.geoms, covered))
    found.outside_m2 = np.maximum(proj.m2 - found.overlap_m2, 0.0)
    found.outside_pct = 100.0 * found.outside_m2 / proj.m2
    gp, gl = ov.group_project, ov.group_label
    for p in range(n):
        found.zones[p] = sorted({str(ov.label_codes[lab]) for lab in gl[gp == p] if ov.label_codes[lab]})
        if found.applies[p] and found.outside_pct[p] > OUTSIDE_TOLERANCE_PCT:
            found.severity[p], found.basis[p] = kind.rule.severity, kind.rule.legal_basis
            found.pieces.append((p, found.kind, outside_zone(lang), kind.rule.severity, out_geoms[p],
                                 found.outside_m2[p]))
        elif found.overlap_m2[p] > 0 or found.outside_pct[p] > OUTSIDE_TOLERANCE_PCT:
            found.severity[p] = "allowed"


def _assess_zones(found: Findings, kind: LayerKind, proj: ScreenedProjects, ov: Overlaps, zone_of: dict) -> None:
    """Any other kind: each zone a footprint overlaps says what its rule says for the project's category."""
    linear = proj.linear
    for g in range(len(ov.group_project)):
        p, label = int(ov.group_project[g]), str(ov.label_codes[ov.group_label[g]])
        rule = kind.zone_rule(zone_of.get(label))
        sev, exc = rule.assess(proj.categories[p], bool(linear[p]))
        found.pieces.append((p, found.kind, label, sev, (ov, g), ov.group_m2[g]))
        if label:
            found.zones[p].append(label)
        if found.severity[p] == "clear" or SEVERITY_RANK[sev] > SEVERITY_RANK[found.severity[p]]:
            found.severity[p], found.basis[p] = sev, rule.legal_basis
            found.permitted[p], found.exception[p] = rule.permitted(bool(linear[p])), exc
    zone_order = {z["name_zh"]: i for i, z in enumerate(kind.zones)}
    for p in range(len(proj)):
        found.zones[p] = sorted(set(found.zones[p]), key=lambda z: (zone_order.get(z, 99), z))


def keep_safety_distances(found: Findings, kind: LayerKind, rules: RuleSet, proj: ScreenedProjects,
                          feats: np.ndarray, labels: np.ndarray, lang: str) -> None:
    """The rule set's safety distances from this kind: a project of the rule's categories nearer than the
    distance takes the rule's severity and its message."""
    n = len(proj)
    for rule in rules.safety:
        if rule.kind != found.kind:
            continue
        sel = np.array([c in rule.categories for c in proj.categories])
        if not sel.any():
            continue
        if rule.zones:
            mask = np.isin(labels.astype(str), list(rule.zones))
            d = geodesic_nearest(proj.geoms, feats[mask], proj.crs) if mask.any() else np.full(n, np.nan)
        else:
            d = found.distance_m
        for p in np.flatnonzero(sel & (d < rule.min_distance_m)):
            msg = safety_message(lang, kind, rules, proj.categories[p], d[p], rule)
            found.messages[p] = f"{found.messages[p]}; {msg}"
            if SEVERITY_RANK[rule.severity] >= SEVERITY_RANK[found.severity[p]]:
                found.severity[p] = rule.severity
