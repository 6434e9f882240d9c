"""Screening rule sets (``analyses/screening-default.toml``, ``--rules``): project categories, buffer rings and
safety distances, loaded and checked against the layer catalog before any layer is read.

A rule set is a spec like the catalog: :func:`load_rules` lists every problem of the file at once
(:func:`redline.specs.schema.spec_error`), and the screening (:func:`redline.screen`) reads it before its layers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._resources import resource_dir
from ..text import LANGS, Lang
from .catalog import SEVERITIES, LayerKind, load_catalog, read_toml
from .schema import Key, check, spec_error, suggest, unknown_name

__all__ = ["SafetyRule", "RuleSet", "RULES_SCHEMA", "load_rules"]


@dataclass(frozen=True)
class SafetyRule:
    """Projects of ``categories`` must stay at least ``min_distance_m`` from ``kind`` (zones: optional filter)."""

    categories: tuple[str, ...]
    kind: str
    min_distance_m: float
    severity: str = "prohibited"
    legal_basis: str = ""
    zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    """A screening rule set: project categories with labels, buffer rings, safety distances."""

    name: str
    categories: dict[str, tuple[str, str]]
    buffers_m: tuple[float, ...] = (500.0, 1000.0, 5000.0)
    safety: tuple[SafetyRule, ...] = ()
    source: str = ""

    def category_label(self, code: str | None, lang: Lang = "zh") -> str:
        """Label of a category code (the code itself when unknown).

        Examples
        --------
        >>> load_rules().category_label("heavy_metal")
        '涉重金属'
        """
        if code in self.categories:
            return self.categories[code][LANGS.index(lang)]
        return str(code)

    def normalise_category(self, value) -> str | None:
        """The category code of a value given as a code or as a Chinese/English label.

        Examples
        --------
        >>> load_rules().normalise_category("工业")
        'industrial'
        """
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        text = str(value).strip()
        if text in self.categories:
            return text
        for code, (zh, en) in self.categories.items():
            if text == zh or text.lower() == en.lower() or text.lower() == code:
                return code
        return text or None


def _safety_label(i: int, rule) -> str:
    """How problems name the ``i``-th ``[[safety_distance]]`` table."""
    return f"[[safety_distance]] {i + 1}"


_SAFETY_SCHEMA = {
    "categories": Key("list", required=True, nonempty=True, items="string", what="a non-empty list of category codes"),
    "kind": Key("string", required=True, nonempty=True, what="a catalog kind (a string)"),
    "min_distance_m": Key("number", required=True, what="a positive number of metres"),
    "severity": Key("string", what="prohibited, conditional or restricted"),
    "legal_basis": Key("string"),
    "zones": Key("list", items="string", what="a list of zone names"),
}
#: The keys of a screening rule set (``analyses/screening-default.toml``, ``--rules``).
RULES_SCHEMA = {
    "name": Key("string"),
    "buffers_m": Key("list", items="number", what="a list of positive distances in metres"),
    "categories": Key("table", values=Key("list", what='["中文", "English"]'),
                      what='a table of code = ["中文", "English"]'),
    "safety_distance": Key("tables", label=_safety_label, what="an array of tables ([[safety_distance]])"),
}


def _validate_rules(data: dict, source: str, catalog: Mapping[str, LayerKind]) -> list[str]:
    """Every problem of a rule set (``source: problem`` for the catalog's, the rule set's own unprefixed)."""
    problems = check(data, RULES_SCHEMA)
    cats = data.get("categories")
    if cats is None or cats == {}:
        problems.append("[categories] must be a table of code = [\"中文\", \"English\"]")
    cats = cats if isinstance(cats, dict) else {}
    for code, labels in cats.items():
        if isinstance(labels, list) and not (len(labels) == 2 and all(isinstance(x, str) and x for x in labels)):
            problems.append(f"categories.{code} must be [\"中文\", \"English\"], not {labels!r}")
    buffers = data.get("buffers_m", [500, 1000, 5000])
    if isinstance(buffers, list) and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in buffers):
        if not all(b > 0 for b in buffers):
            problems.append(f"buffers_m must be a list of positive distances in metres, not {buffers}")
        elif list(buffers) != sorted(set(buffers)):
            problems.append(f"buffers_m must be increasing without repeats, got {buffers}")
    rules = data.get("safety_distance", [])
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue  # the schema said so
        where = _safety_label(i, rule) + ": "
        problems += check(rule, _SAFETY_SCHEMA, where)
        kind = rule.get("kind")
        if isinstance(kind, str) and kind and kind not in catalog:
            problems.append(f"{where}kind {kind!r} is not in the layer catalog: "
                            + unknown_name("kind", kind, catalog, "catalog kinds"))
        dist = rule.get("min_distance_m")
        if isinstance(dist, (int, float)) and not isinstance(dist, bool) and dist <= 0:
            problems.append(f"{where}min_distance_m must be a positive number of metres, got {dist!r}")
        sev = rule.get("severity", "prohibited")
        if isinstance(sev, str) and sev not in SEVERITIES[:3]:
            close = suggest(sev, SEVERITIES[:3])
            problems.append(f"{where}severity {sev!r} must be prohibited, conditional or restricted"
                            + (f" — did you mean {close}?" if close else ""))
        rc = rule.get("categories")
        unknown = [c for c in rc if isinstance(c, str) and c not in cats] if isinstance(rc, list) and cats else []
        if unknown:
            close = suggest(unknown[0], cats) if len(unknown) == 1 else None
            hint = f" — did you mean {close}?" if close else f" (the rule set's [categories]: {', '.join(cats)})"
            problems.append(f"{where}unknown categories {', '.join(map(repr, unknown))}{hint}")
        zones = rule.get("zones", [])
        entry = catalog.get(kind) if isinstance(kind, str) else None
        if entry is not None and entry.zones and isinstance(zones, list):
            problems += [f"{where}zones: " + unknown_name("zone", z, entry.zone_names(), "zones", of=f" of {kind}")
                         for z in zones if isinstance(z, str) and entry.find_zone(z) is None]
    # every category the catalog names must be known to the rule set
    for kind in catalog.values():
        rules_ = [("", kind.rule)] + [(f"zone {z.get('name_zh')}: ", kind.zone_rule(z)) for z in kind.zones]
        named = set(kind.applies_to)
        for _, r in rules_:
            named |= set(r.permitted_categories) | set(r.permitted_linear_categories) | set(r.prohibited_categories)
        unknown = sorted(c for c in named if c not in cats)
        if cats and unknown:
            problems.append(f"{kind.source}: categories not in the rule set's [categories]: {', '.join(unknown)}")
    return problems


def load_rules(path: str | os.PathLike | None = None, catalog: Mapping[str, LayerKind] | None = None) -> RuleSet:
    """Load and validate a screening rule set (default: the bundled ``analyses/screening-default.toml``).

    The categories named in the layer catalog (permitted, prohibited,
    ``applies_to``) are checked against the rule set's ``[categories]``.

    Raises
    ------
    CatalogError
        Listing every problem found.

    Examples
    --------
    >>> rules = load_rules()
    >>> rules.buffers_m
    (500.0, 1000.0, 5000.0)
    >>> rules.safety[0].categories, rules.safety[0].kind, rules.safety[0].min_distance_m
    (('heavy_metal',), 'urban_boundary', 500.0)
    """
    path = Path(path) if path is not None else resource_dir("analyses") / "screening-default.toml"
    catalog = load_catalog() if catalog is None else catalog
    data = read_toml(path, "screening rule set (TOML)")
    problems = _validate_rules(data, str(path), catalog)
    if problems:
        raise spec_error(path, "screening rule set", problems)

    def zone_names(kind: LayerKind, zones) -> tuple[str, ...]:  # as the screening labels features: by name_zh
        return tuple(kind.find_zone(z)["name_zh"] if kind.zones else z for z in zones)

    safety = tuple(
        SafetyRule(
            categories=tuple(r["categories"]),
            kind=r["kind"],
            min_distance_m=float(r["min_distance_m"]),
            severity=r.get("severity", "prohibited"),
            legal_basis=r.get("legal_basis", ""),
            zones=zone_names(catalog[r["kind"]], r.get("zones", ())),
        )
        for r in data.get("safety_distance", [])
    )
    return RuleSet(
        name=data.get("name", path.stem),
        categories={k: tuple(v) for k, v in data["categories"].items()},
        buffers_m=tuple(float(b) for b in data.get("buffers_m", (500, 1000, 5000))),
        safety=safety,
        source=str(path),
    )
