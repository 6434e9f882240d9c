"""Plan scorecards: targets from a recipe TOML compared with indicators measured from data.

A recipe (``analyses/qianjiang-2025.toml``) lists indicators, each with a
``metric`` naming a measured figure, a ``target``, a ``comparator`` and the
``unit`` and ``decimals`` the plan prints. Values are compared as printed
(rounded to ``decimals``), the way a plan's table is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..geometry.area import UNIT_LABELS, UNITS
from ..specs.catalog import load_catalog
from ..io import read_toml
from ..specs.schema import Key, check, spec_error, suggest, unknown_name

__all__ = ["Recipe", "load_recipe", "check_metric", "evaluate", "metrics_from", "COMPARATORS", "PERCENT_METRICS",
           "AREA_METRICS", "LANDCOVER_METRICS", "RECIPE_SCHEMA"]

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


def _indicator_label(i: int, ind) -> str:
    name = ind.get("id") if isinstance(ind, dict) else None
    return f"[[indicator]] {i + 1}" + (f" ({name})" if isinstance(name, str) and name else "")


_INDICATOR_SCHEMA = {
    "id": Key("string", required=True, nonempty=True),
    "name_zh": Key("string", required=True, nonempty=True),
    "name_en": Key("string"),
    "metric": Key("string", required=True, nonempty=True),
    "unit": Key("string", required=True, nonempty=True),
    "comparator": Key("string", required=True, nonempty=True),
    "target": Key("number"),
    "baseline": Key("number"),
    "decimals": Key("integer", what="an integer 0–6"),
}
#: The keys of a recipe TOML and of each of its ``[[indicator]]`` tables.
RECIPE_SCHEMA = {
    "title": Key("string"),
    "source": Key("string"),
    "indicator": Key("tables", label=_indicator_label, what="[[indicator]] tables"),
}
_FIXED_METRICS = (*PERCENT_METRICS, *AREA_METRICS, *LANDCOVER_METRICS)


def check_metric(metric: str, catalog: Mapping) -> tuple[str | None, str | None]:
    """The metric in its canonical form (a zone by its Chinese name), or the problem with it.

    ``share:KIND`` and ``area:KIND`` name a catalog kind, ``share:KIND:ZONE`` and ``area:KIND:ZONE`` one of
    its zones (by ``name_zh``, ``name_en`` or an alias); the others are fixed names.

    Examples
    --------
    >>> from redline.specs.catalog import load_catalog
    >>> check_metric("share:water_source:Level 1", load_catalog())
    ('share:water_source:一级', None)
    >>> check_metric("share:eco_redlin", load_catalog())[1]
    "metric 'share:eco_redlin': unknown kind 'eco_redlin' — did you mean eco_redline?"
    """
    if metric in _FIXED_METRICS:
        return metric, None
    prefix, sep, rest = metric.partition(":")
    if sep and prefix in ("share", "area"):
        kind, sep, zone = rest.partition(":")
        if kind not in catalog:
            return None, f"metric {metric!r}: {unknown_name('kind', kind, catalog, 'catalog kinds')}"
        if not sep:
            return f"{prefix}:{kind}", None
        entry = catalog[kind]
        if not entry.zones:
            return None, f"metric {metric!r}: {kind} has no zones in the catalog (use {prefix}:{kind})"
        found = entry.find_zone(zone)
        if found is None:
            what = unknown_name("zone", zone, entry.zone_names(), "zones", of=f" of {kind}")
            return None, f"metric {metric!r}: {what}"
        return f"{prefix}:{kind}:{found['name_zh']}", None
    close = suggest(metric, [*_FIXED_METRICS, *(f"{p}:{k}" for p in ("share", "area") for k in catalog)])
    if close is not None:
        return None, f"unknown metric {metric!r} — did you mean {close}?"
    return None, (f"unknown metric {metric!r} (metrics: share:KIND, share:KIND:ZONE, area:KIND, area:KIND:ZONE, "
                  + ", ".join(_FIXED_METRICS) + ")")


def _validate(data: dict, catalog: Mapping) -> tuple[list[str], list[dict]]:
    """Every problem of a recipe (none when valid), and its indicators with canonical metrics."""
    items = data.get("indicator")
    if items is None or items == []:
        problems = ["no [[indicator]] tables (a recipe lists each indicator as an [[indicator]] table)"]
        return problems + check({k: v for k, v in data.items() if k != "indicator"}, RECIPE_SCHEMA), []
    problems = check(data, RECIPE_SCHEMA)
    if not isinstance(items, list):
        return problems, []
    seen, out = set(), []
    for i, ind in enumerate(items):
        if not isinstance(ind, dict):
            continue  # the schema said so
        at = _indicator_label(i, ind) + ": "
        problems += check(ind, _INDICATOR_SCHEMA, at)
        ind = dict(ind)
        if isinstance(ind.get("id"), str) and ind["id"] in seen:
            problems.append(f"{at}id {ind['id']!r} is used twice")
        if isinstance(ind.get("id"), str):
            seen.add(ind["id"])
        metric, unit, comp = ind.get("metric"), ind.get("unit"), ind.get("comparator")
        if isinstance(metric, str) and metric:
            canonical, problem = check_metric(metric, catalog)
            if problem:
                problems.append(at + problem)
            else:
                ind["metric"] = canonical
            form = canonical or (metric if metric.startswith(("share:", "area:")) else None)
            if form is not None and isinstance(unit, str) and unit:  # the unit goes with the metric's form
                if _is_area_metric(form) and unit not in _UNIT_ALIASES:
                    problems.append(f"{at}unit {unit!r} is not an area unit (平方公里, 公顷, 亩, 万亩, km2, ha, mu, wanmu)")
                elif not _is_area_metric(form) and unit != "%":
                    problems.append(f"{at}metric {metric!r} is a percentage: unit must be '%', not {unit!r}")
        if isinstance(comp, str) and comp and comp not in COMPARATORS:
            close = suggest(comp, COMPARATORS)
            problems.append(f"{at}comparator {comp!r} is not one of {', '.join(COMPARATORS)}"
                            + (f" — did you mean {close}?" if close else ""))
        key = "baseline" if comp == "no_decrease" else "target"
        if key not in ind:
            problems.append(f"{at}'{key}' is required (a number)" + (" for no_decrease" if key == "baseline" else ""))
        dec = ind.get("decimals", 2)
        if isinstance(dec, int) and not isinstance(dec, bool) and not 0 <= dec <= 6:
            problems.append(f"{at}decimals must be an integer 0–6, not {dec}")
        out.append(ind)
    return problems, out


def load_recipe(path: str | os.PathLike, catalog: Mapping | None = None) -> Recipe:
    """Load and validate a scorecard recipe, listing every problem at once (on one line).

    Every value is checked by type, every key against the recipe's keys, and every kind and
    zone a metric names against ``catalog`` (default: the bundled layer catalog), with the
    closest valid name — before anything is read or measured.

    Examples
    --------
    >>> from redline._resources import resource_dir
    >>> r = load_recipe(resource_dir("analyses") / "qianjiang-2025.toml")
    >>> r.indicators[0]["metric"]
    'share:eco_redline'
    """
    path = Path(path)
    data = read_toml(path, "recipe TOML")
    problems, indicators = _validate(data, load_catalog() if catalog is None else catalog)
    if problems:
        raise spec_error(path, "recipe", problems)
    return Recipe(str(data.get("title", path.stem)), str(data.get("source", "")), tuple(indicators), str(path))


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
