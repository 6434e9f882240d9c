"""Scorecard recipes: a plan's indicators as data, each a measured metric against a target.

A recipe (``analyses/qianjiang-2025.toml``) lists ``[[indicator]]`` tables, each with a ``metric`` naming a
measured figure, a ``target`` (or a ``baseline`` for ``no_decrease``), a ``comparator`` and the ``unit`` and
``decimals`` the plan prints. :func:`load_recipe` checks all of it — every kind and zone a metric names
against the layer catalog — before anything is read or measured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..geometry.area import UNITS
from .catalog import load_catalog
from .schema import read_toml
from .schema import Key, check, spec_error, suggest, unknown_name

__all__ = ["Recipe", "load_recipe", "check_metric", "is_area_metric", "COMPARATORS", "PERCENT_METRICS",
           "AREA_METRICS", "LANDCOVER_METRICS", "UNIT_ALIASES", "RECIPE_SCHEMA"]

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
#: The area units a recipe may print in (Chinese names and codes) -> unit code of :data:`redline.geometry.area.UNITS`.
UNIT_ALIASES = {"平方公里": "km2", "公顷": "ha", "亩": "mu", "万亩": "wanmu", "平方米": "m2", **{u: u for u in UNITS}}


@dataclass(frozen=True)
class Recipe:
    """A validated scorecard recipe."""

    title: str
    source: str
    indicators: tuple[dict, ...]
    path: str = ""


def is_area_metric(metric: str) -> bool:
    """Whether ``metric`` is an area (m², printed in an area unit) rather than a percentage."""
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


def _zoned_metric(metric: str, prefix: str, rest: str, catalog: Mapping) -> tuple[str | None, str | None]:
    """``share:KIND[:ZONE]`` / ``area:KIND[:ZONE]`` checked against the catalog (see :func:`check_metric`)."""
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
        return _zoned_metric(metric, prefix, rest, catalog)
    close = suggest(metric, [*_FIXED_METRICS, *(f"{p}:{k}" for p in ("share", "area") for k in catalog)])
    if close is not None:
        return None, f"unknown metric {metric!r} — did you mean {close}?"
    return None, (f"unknown metric {metric!r} (metrics: share:KIND, share:KIND:ZONE, area:KIND, area:KIND:ZONE, "
                  + ", ".join(_FIXED_METRICS) + ")")


def _metric_problems(ind: dict, at: str, catalog: Mapping) -> list[str]:
    """The problems of an indicator's metric and of its unit (which goes with the metric's form); the metric is
    made canonical in ``ind``."""
    metric, unit = ind.get("metric"), ind.get("unit")
    if not (isinstance(metric, str) and metric):
        return []
    problems = []
    canonical, problem = check_metric(metric, catalog)
    if problem:
        problems.append(at + problem)
    else:
        ind["metric"] = canonical
    form = canonical or (metric if metric.startswith(("share:", "area:")) else None)
    if form is not None and isinstance(unit, str) and unit:
        if is_area_metric(form) and unit not in UNIT_ALIASES:
            problems.append(f"{at}unit {unit!r} is not an area unit (平方公里, 公顷, 亩, 万亩, km2, ha, mu, wanmu)")
        elif not is_area_metric(form) and unit != "%":
            problems.append(f"{at}metric {metric!r} is a percentage: unit must be '%', not {unit!r}")
    return problems


def _indicator_problems(ind: dict, at: str, seen: set, catalog: Mapping) -> list[str]:
    """Every problem of one ``[[indicator]]`` table (``ind``, a copy, gets its canonical metric)."""
    problems = check(ind, _INDICATOR_SCHEMA, at)
    if isinstance(ind.get("id"), str) and ind["id"] in seen:
        problems.append(f"{at}id {ind['id']!r} is used twice")
    if isinstance(ind.get("id"), str):
        seen.add(ind["id"])
    problems += _metric_problems(ind, at, catalog)
    comp = ind.get("comparator")
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
    return problems


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
        ind = dict(ind)
        problems += _indicator_problems(ind, _indicator_label(i, ind) + ": ", seen, catalog)
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
