"""Plan scorecards: targets from a recipe TOML compared with indicators measured from data.

A recipe (``analyses/qianjiang-2025.toml``) lists indicators, each with a
``metric`` naming a measured figure, a ``target``, a ``comparator`` and the
``unit`` and ``decimals`` the plan prints. Values are compared as printed
(rounded to ``decimals``), the way a plan's table is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..area import UNIT_LABELS, UNITS
from ..errors import CatalogError
from ..io import read_toml

__all__ = ["Recipe", "load_recipe", "evaluate", "metrics_from", "COMPARATORS", "PERCENT_METRICS", "AREA_METRICS",
           "LANDCOVER_METRICS"]

COMPARATORS = (">=", "<=", "==", "no_decrease")
#: metric -> key in the land-use indicators (percentages)
PERCENT_METRICS = {
    "landuse:forest_coverage": "forest_coverage_pct",
    "landuse:wetland_protection_rate": "wetland_protection_rate_pct",
    "landuse:green_coverage": "green_coverage_pct",
    "landuse:park_service_coverage": "park_service_coverage_pct",
}
#: metric -> (unit row, column) of the land-cover group shares (percentages)
LANDCOVER_METRICS = {
    "landcover:forest_coverage": ("(全区)", "forest_pct"),
    "landcover:green_coverage": ("(建成区)", "vegetation_pct"),
}
#: metric -> key in the land-use indicators (areas in m²)
AREA_METRICS = {"landuse:farmland": "farmland_m2", "landuse:wetland": "wetland_m2", "landuse:forest": "forest_m2"}
_UNIT_ALIASES = {"平方公里": "km2", "公顷": "ha", "亩": "mu", "万亩": "wanmu", "平方米": "m2", **{u: u for u in UNITS}}


@dataclass(frozen=True)
class Recipe:
    """A validated scorecard recipe."""

    title: str
    source: str
    indicators: tuple[dict, ...]
    path: str = ""


def _is_area_metric(metric: str) -> bool:
    return metric.startswith("area:") or metric in AREA_METRICS


def _validate(data: dict, where: str) -> list[str]:
    problems = []
    items = data.get("indicator")
    if not isinstance(items, list) or not items:
        return [f"{where}: no [[indicator]] entries"]
    seen = set()
    for i, ind in enumerate(items):
        at = f"{where}: indicator[{i}]" + (f" ({ind.get('id')})" if isinstance(ind, dict) and ind.get("id") else "")
        if not isinstance(ind, dict):
            problems.append(f"{at}: must be a table")
            continue
        for key in ("id", "name_zh", "metric", "unit", "comparator"):
            if not isinstance(ind.get(key), str) or not ind.get(key):
                problems.append(f"{at}: '{key}' is required (a string)")
        if ind.get("id") in seen:
            problems.append(f"{at}: id {ind['id']!r} is used twice")
        seen.add(ind.get("id"))
        metric, unit, comp = ind.get("metric", ""), ind.get("unit", ""), ind.get("comparator", "")
        if isinstance(metric, str) and metric:
            known = (metric.startswith(("share:", "area:")) or metric in PERCENT_METRICS or metric in AREA_METRICS
                     or metric in LANDCOVER_METRICS)
            if not known:
                problems.append(
                    f"{at}: unknown metric {metric!r}; use share:KIND, area:KIND, "
                    + ", ".join([*PERCENT_METRICS, *AREA_METRICS, *LANDCOVER_METRICS])
                )
            elif _is_area_metric(metric) and unit not in _UNIT_ALIASES:
                problems.append(f"{at}: unit {unit!r} is not an area unit (平方公里, 公顷, 亩, 万亩, km2, ha, mu, wanmu)")
            elif not _is_area_metric(metric) and unit != "%":
                problems.append(f"{at}: metric {metric!r} is a percentage: unit must be '%'")
        if comp and comp not in COMPARATORS:
            problems.append(f"{at}: comparator {comp!r} is not one of {', '.join(COMPARATORS)}")
        key = "baseline" if comp == "no_decrease" else "target"
        if not isinstance(ind.get(key), (int, float)) or isinstance(ind.get(key), bool):
            problems.append(f"{at}: '{key}' is required (a number)" + (" for no_decrease" if key == "baseline" else ""))
        dec = ind.get("decimals", 2)
        if not isinstance(dec, int) or not 0 <= dec <= 6:
            problems.append(f"{at}: decimals must be an integer 0–6")
    return problems


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Load and validate a scorecard recipe, listing every problem at once.

    Examples
    --------
    >>> from redline._resources import resource_dir
    >>> r = load_recipe(resource_dir("analyses") / "qianjiang-2025.toml")
    >>> r.indicators[0]["metric"]
    'share:eco_redline'
    """
    path = Path(path)
    data = read_toml(path, "recipe TOML")
    problems = _validate(data, str(path))
    if problems:
        raise CatalogError("invalid recipe:\n" + "\n".join(problems))
    return Recipe(str(data.get("title", path.stem)), str(data.get("source", "")), tuple(data["indicator"]), str(path))


def metrics_from(
    shares: pd.DataFrame | None = None, landuse: dict | None = None, landcover_groups: pd.DataFrame | None = None
) -> dict[str, float | None]:
    """Collect measured figures under their metric names (``share:KIND`` %, ``area:KIND`` m², ``landuse:…``,
    ``landcover:…``)."""
    metrics: dict[str, float | None] = {}
    if shares is not None:
        whole = shares[shares["zone"].isna()]
        for rec in whole.itertuples(index=False):
            metrics[f"share:{rec.kind}"] = float(rec.share_pct)
            metrics[f"area:{rec.kind}"] = float(rec.area_m2)
    if landuse is not None:
        for metric, key in {**PERCENT_METRICS, **AREA_METRICS}.items():
            metrics[metric] = landuse.get(key)
    if landcover_groups is not None:
        groups = landcover_groups.set_index("unit")
        for metric, (unit, column) in LANDCOVER_METRICS.items():
            if unit in groups.index:
                metrics[metric] = float(groups.loc[unit, column])
    return metrics


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
    status_text = {True: ("达标", "met"), False: ("未达标", "not met"), None: ("无数据", "no data")}
    rows = []
    for ind in recipe.indicators:
        raw = metrics.get(ind["metric"])
        dec = ind.get("decimals", 2)
        value = None
        if raw is not None:
            value = raw / UNITS[_UNIT_ALIASES[ind["unit"]]] if _is_area_metric(ind["metric"]) else raw
            value = round(float(value), dec)
        comp = ind["comparator"]
        target = ind.get("baseline") if comp == "no_decrease" else ind.get("target")
        met = None
        if value is not None:
            met = {
                ">=": value >= target,
                "<=": value <= target,
                "==": value == round(float(target), dec),
                "no_decrease": value >= target,
            }[comp]
        code = _UNIT_ALIASES.get(ind["unit"])
        unit = UNIT_LABELS["en" if lang == "en" else "zh"][code] if code else ind["unit"]
        rows.append(
            {
                "id": ind["id"],
                "name": ind.get("name_en", ind["name_zh"]) if lang == "en" else ind["name_zh"],
                "metric": ind["metric"],
                "unit": unit,
                "comparator": comp,
                "target": target,
                "value": value,
                "met": met,
                "status": status_text[met][1 if lang == "en" else 0],
            }
        )
    return pd.DataFrame(rows, columns=["id", "name", "metric", "unit", "comparator", "target", "value", "met", "status"])
