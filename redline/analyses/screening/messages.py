"""The screening's words: severity labels and the message of each finding, from the catalog ``text/screening.toml``.

A message says, for one project and one layer kind, what the project occupies (or how far it stays), what the
rule says for its category and on what legal basis; a safety distance not kept adds its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ...specs.catalog import LayerKind
from ...specs.rules import RuleSet, SafetyRule
from ...text import LANGS, Lang, labels, t

__all__ = ["SEVERITY_LABELS", "OUTSIDE_TOLERANCE_PCT", "Finding", "message", "outside_zone", "safety_message"]

#: Labels of severities and verdicts: ``{lang: {severity: label}}``.
SEVERITY_LABELS: dict[str, dict[str, str]] = {lang: labels("screening.severity", lang) for lang in LANGS}
#: An inverted kind flags a footprint lying more than this share (%) outside it.
OUTSIDE_TOLERANCE_PCT = 0.01


class Finding(NamedTuple):
    """What one project meets in one layer kind, as a message tells it."""

    overlap_m2: float
    pct: float
    distance_m: float
    zones: list[str]
    severity: str
    basis: str
    permitted: tuple
    exception: bool
    outside_m2: float = 0.0
    outside_pct: float = 0.0
    applies: bool = False


def outside_zone(lang: Lang) -> str:
    """The zone name of the piece of a footprint outside an inverted kind (``界外``)."""
    return t("screening.outside_zone", lang)


def _in_text(kind: LayerKind, lang: Lang) -> str:
    """The kind's name inside a sentence: lower-case in English ("occupies 7.61 ha of the permanent basic
    farmland"), as a name is in Chinese."""
    name = kind.label(lang)
    return name[:1].lower() + name[1:] if lang == "en" else name


def _listed(items: Iterable[str], lang: Lang) -> str:
    return t("common.list_separator", lang).join(items)


def message(lang: Lang, pid, kind: LayerKind, rules: RuleSet, category, linear: bool, f: Finding) -> str:
    """The message of project ``pid`` (of ``category``) against ``kind``."""
    if kind.inverted:
        return _inverted_message(lang, pid, kind, rules, category, f)
    name = _in_text(kind, lang)
    if f.overlap_m2 <= 0:
        near = t("screening.overlap.nearest", lang, distance_m=f.distance_m) if np.isfinite(f.distance_m) else ""
        return t("screening.overlap.none", lang, pid=pid, name=name) + near
    zones = t("screening.overlap.zones", lang, zones=_listed(f.zones, lang)) if f.zones else ""
    text = t("screening.overlap.occupies", lang, pid=pid, name=name, zones=zones, area_ha=f.overlap_m2 / 1e4,
             pct=f.pct, severity=SEVERITY_LABELS[lang][f.severity])
    if f.exception:
        text += t("screening.overlap.exception", lang, category=rules.category_label(category, lang),
                  linear=t("screening.overlap.linear", lang) if linear else "")
    if f.basis:
        text += t("screening.overlap.basis", lang, basis=f.basis)
    permitted = _listed([rules.category_label(c, lang) for c in f.permitted], lang)
    if f.severity == "prohibited" and permitted:
        text += t("screening.overlap.permitted", lang, categories=permitted)
    return text


def _inverted_message(lang: Lang, pid, kind: LayerKind, rules: RuleSet, category, f: Finding) -> str:
    """The message against a kind projects must lie inside (the urban development boundary)."""
    name = _in_text(kind, lang)
    if f.outside_m2 <= 0 or f.outside_pct <= OUTSIDE_TOLERANCE_PCT:
        return t("screening.inverted.inside", lang, pid=pid, name=name)
    if not f.applies:
        part = t("screening.inverted.partly", lang) if f.overlap_m2 > 0 else ""
        return t("screening.inverted.not_restricted", lang, pid=pid, part=part, name=name,
                 outside_ha=f.outside_m2 / 1e4, category=rules.category_label(category, lang))
    where = t("screening.inverted.distance", lang, distance_m=f.distance_m) if f.overlap_m2 <= 0 else ""
    return t("screening.inverted.outside", lang, pid=pid, name=name, outside_ha=f.outside_m2 / 1e4,
             outside_pct=f.outside_pct, distance=where, severity=SEVERITY_LABELS[lang][f.severity], basis=f.basis)


def safety_message(lang: Lang, kind: LayerKind, rules: RuleSet, category, distance_m: float, rule: SafetyRule) -> str:
    """The message of a safety distance not kept: the project of ``category`` lies ``distance_m`` from ``kind``."""
    return t("screening.safety", lang, category=rules.category_label(category, lang), name=_in_text(kind, lang),
             distance_m=distance_m, min_distance_m=rule.min_distance_m,
             severity=SEVERITY_LABELS[lang][rule.severity], basis=rule.legal_basis)
