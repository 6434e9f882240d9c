"""Plan scorecards: targets from a recipe compared with indicators measured from data.

The recipe itself (``analyses/qianjiang-2025.toml``: indicators, each with a ``metric`` naming a measured
figure, a ``target``, a ``comparator`` and the ``unit`` and ``decimals`` the plan prints) is a spec, loaded and
checked by :mod:`redline.specs.recipe`; its names stay importable here. Values are compared as printed
(rounded to ``decimals``), the way a plan's table is read.
"""

from __future__ import annotations

import pandas as pd

from ..geometry.area import UNIT_LABELS, UNITS
from ..specs.catalog import load_catalog
from ..specs.recipe import (
    AREA_METRICS,
    COMPARATORS,
    LANDCOVER_METRICS,
    PERCENT_METRICS,
    RECIPE_SCHEMA,
    UNIT_ALIASES,
    Recipe,
    check_metric,
    is_area_metric,
    load_recipe,
)
from ..text import check_lang, t

__all__ = ["Recipe", "load_recipe", "check_metric", "evaluate", "metrics_from", "COMPARATORS", "PERCENT_METRICS",
           "AREA_METRICS", "LANDCOVER_METRICS", "RECIPE_SCHEMA"]

#: The status key of an indicator met (True), not met (False) or not measured (None): ``scorecard.status.*``.
_STATUS = {True: "met", False: "not_met", None: "no_data"}


def metrics_from(
    shares: pd.DataFrame | None = None, landuse: dict | None = None, landcover_groups: pd.DataFrame | None = None
) -> dict[str, float | None]:
    """Collect measured figures under their metric names (``share:KIND`` %, ``area:KIND`` m², ``landuse:…``,
    ``landcover:…``).

    A layer measured by zone also gives ``share:KIND:ZONE`` and ``area:KIND:ZONE`` for each zone of its
    catalog entry (by its Chinese name; the attribute values a zone matches added up, 0 for a zone the
    layer doesn't have).
    """
    metrics: dict[str, float | None] = {}
    if shares is not None:
        whole = shares[shares["zone"].isna()]
        for rec in whole.itertuples(index=False):
            metrics[f"share:{rec.kind}"] = float(rec.share_pct)
            metrics[f"area:{rec.kind}"] = float(rec.area_m2)
        zoned = shares[shares["zone"].notna()]
        catalog = load_catalog() if len(zoned) else {}
        for kind in dict.fromkeys(zoned["kind"]):
            for name in catalog[kind].zone_names() if kind in catalog else []:
                metrics[f"share:{kind}:{name}"] = metrics[f"area:{kind}:{name}"] = 0.0
        for rec in zoned.itertuples(index=False):
            zone = catalog[rec.kind].match_zone(rec.zone) if rec.kind in catalog else None
            if zone is not None:
                metrics[f"share:{rec.kind}:{zone['name_zh']}"] += float(rec.share_pct)
                metrics[f"area:{rec.kind}:{zone['name_zh']}"] += float(rec.area_m2)
    if landuse is not None:
        for metric, key in {**PERCENT_METRICS, **AREA_METRICS}.items():
            metrics[metric] = landuse.get(key)
    if landcover_groups is not None:
        groups = landcover_groups.set_index("unit")
        for metric, (unit, column) in LANDCOVER_METRICS.items():
            if unit in groups.index:
                metrics[metric] = float(groups.loc[unit, column])
    return metrics


def _printed(ind: dict, raw: float | None) -> float | None:
    """The measured value as the plan prints it: in the indicator's unit, rounded to its decimals."""
    if raw is None:
        return None
    value = raw / UNITS[UNIT_ALIASES[ind["unit"]]] if is_area_metric(ind["metric"]) else raw
    return round(float(value), ind.get("decimals", 2))


def _met(comp: str, value: float | None, target, decimals: int) -> bool | None:
    """Whether ``value`` meets ``target`` under the comparator (None when nothing was measured)."""
    if value is None:
        return None
    return {
        ">=": value >= target,
        "<=": value <= target,
        "==": value == round(float(target), decimals),
        "no_decrease": value >= target,
    }[comp]


def evaluate(recipe: Recipe, metrics: dict[str, float | None], lang: str = "zh") -> pd.DataFrame:
    """The scorecard table: one row per indicator with target, measured value and status.

    Columns: ``id, name, metric, unit, comparator, target, value, met, status``.
    ``met`` is None (status 无数据 / no data) when the metric was not measured —
    e.g. no land-use layer was given.

    Examples
    --------
    >>> r = Recipe("t", "", ({"id": "x", "name_zh": "红线占比", "metric": "share:eco_redline", "unit": "%",
    ...                       "comparator": ">=", "target": 25.76, "decimals": 2},))
    >>> evaluate(r, {"share:eco_redline": 25.7600049})[["value", "status"]].values.tolist()
    [[25.76, '达标']]
    """
    lang = check_lang(lang)
    rows = []
    for ind in recipe.indicators:
        value = _printed(ind, metrics.get(ind["metric"]))
        comp = ind["comparator"]
        target = ind.get("baseline") if comp == "no_decrease" else ind.get("target")
        met = _met(comp, value, target, ind.get("decimals", 2))
        code = UNIT_ALIASES.get(ind["unit"])
        rows.append(
            {
                "id": ind["id"],
                "name": ind.get(f"name_{lang}", ind["name_zh"]),
                "metric": ind["metric"],
                "unit": UNIT_LABELS[lang][code] if code else ind["unit"],
                "comparator": comp,
                "target": target,
                "value": value,
                "met": met,
                "status": t(f"scorecard.status.{_STATUS[met]}", lang),
            }
        )
    return pd.DataFrame(rows, columns=["id", "name", "metric", "unit", "comparator", "target", "value", "met", "status"])
