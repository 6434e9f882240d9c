"""The layer catalog: one TOML file per kind of control line in ``layers/``.

Rules are data, not code: a province with other rules edits the TOML. Every
file is validated before use and all problems are reported at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ._resources import resource_dir
from .errors import CatalogError, FieldError
from .io import read_toml

__all__ = ["LayerKind", "Rule", "SEVERITIES", "SEVERITY_RANK", "load_catalog", "validate_kind", "find_field"]

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")

#: Severities of a rule, most severe first.
SEVERITIES: tuple[str, ...] = ("prohibited", "conditional", "restricted", "allowed")
#: Rank of each severity (higher is more severe); ``clear`` is the verdict when nothing is flagged.
SEVERITY_RANK: dict[str, int] = {"prohibited": 3, "conditional": 2, "restricted": 1, "allowed": 0, "clear": 0}
_RULE_LISTS = ("permitted_categories", "permitted_linear_categories", "prohibited_categories")


@dataclass(frozen=True)
class Rule:
    """What the catalog says about building in one kind (or one zone of it).

    ``severity`` applies to every project category, except that the
    ``permitted_categories`` (and, for linear footprints, the
    ``permitted_linear_categories``) turn ``prohibited`` into ``conditional``,
    and the ``prohibited_categories`` are ``prohibited`` whatever the severity.
    """

    severity: str = "allowed"
    legal_basis: str = ""
    permitted_categories: tuple[str, ...] = ()
    permitted_linear_categories: tuple[str, ...] = ()
    prohibited_categories: tuple[str, ...] = ()

    def assess(self, category: str | None, linear: bool = False) -> tuple[str, bool]:
        """Severity for a project of ``category``, and whether a permitted-category exception applied.

        Examples
        --------
        >>> r = Rule("prohibited", permitted_categories=("research_monitoring",), permitted_linear_categories=("road",))
        >>> r.assess("mining"), r.assess("research_monitoring"), r.assess("road", linear=True), r.assess("road")
        (('prohibited', False), ('conditional', True), ('conditional', True), ('prohibited', False))
        """
        if category in self.prohibited_categories:
            return "prohibited", False
        if self.severity == "prohibited" and (
            category in self.permitted_categories or (linear and category in self.permitted_linear_categories)
        ):
            return "conditional", True
        return self.severity, False

    def permitted(self, linear: bool | None = None) -> tuple[str, ...]:
        """The categories that may apply (linear ones listed when ``linear`` is not False)."""
        extra = () if linear is False else self.permitted_linear_categories
        return tuple(dict.fromkeys(self.permitted_categories + extra))


def _rule_from(data: dict, default: Rule | None = None) -> Rule:
    base = default or Rule()
    return Rule(
        severity=data.get("severity", base.severity),
        legal_basis=data.get("legal_basis", base.legal_basis),
        **{key: tuple(data.get(key, getattr(base, key))) for key in _RULE_LISTS},
    )


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer (``eco_redline``, ``basic_farmland`` …) as the catalog describes it."""

    kind: str
    name_zh: str
    name_en: str
    description: str = ""
    zone_fields: tuple[str, ...] = ()
    zones: tuple[dict, ...] = ()
    style: dict = field(default_factory=dict)
    source: str = ""
    rule: Rule = field(default_factory=Rule)
    inverted: bool = False
    applies_to: tuple[str, ...] = ()

    def label(self, lang: str = "zh") -> str:
        """The kind's name in ``lang`` (``zh`` or ``en``)."""
        return self.name_en if lang == "en" else self.name_zh

    def match_zone(self, value) -> dict | None:
        """The catalog zone an attribute value names, or ``None``.

        A value matches a zone by its ``name_zh``, ``name_en`` or one of its
        ``aliases`` (case-insensitive), else when it contains the zone's
        Chinese name or a Chinese alias (``饮用水水源一级保护区`` → ``一级``,
        ``示例湿地公园`` → ``自然公园``; the longest name wins).

        Examples
        --------
        >>> load_catalog()["water_source"].match_zone("一级保护区")["name_zh"]
        '一级'
        >>> load_catalog()["nature_reserve"].match_zone("Core protection zone")["name_zh"]
        '核心保护区'
        """
        if value is None or not self.zones:
            return None
        text = str(value).strip()
        if not text or text.lower() in ("nan", "none"):
            return None
        low = text.lower()
        for zone in self.zones:
            names = [zone.get("name_zh", ""), zone.get("name_en", ""), *zone.get("aliases", [])]
            if any(low == str(n).strip().lower() for n in names if n):
                return zone
        # containment: Chinese names and aliases only (an ASCII alias such as "I" would match too much)
        best, best_len = None, 0
        for zone in self.zones:
            for name in [zone.get("name_zh", ""), *zone.get("aliases", [])]:
                if name and not name.isascii() and name in text and len(name) > best_len:
                    best, best_len = zone, len(name)
        return best

    def zone_rule(self, zone: dict | None) -> Rule:
        """The rule of ``zone`` (its own keys over the kind's), or the kind's rule for ``None``."""
        return self.rule if zone is None else _rule_from(zone, self.rule)

    def zone_field(self, columns) -> str | None:
        """The first of ``zone_fields`` present in ``columns`` (exact, then case-insensitive)."""
        cols = [str(c) for c in columns]
        for name in self.zone_fields:
            if name in cols:
                return name
        lower = {c.lower(): c for c in cols}
        for name in self.zone_fields:
            if name.lower() in lower:
                return lower[name.lower()]
        return None


def find_field(columns: Iterable, wanted: str | None, candidates: Iterable[str], what: str, where: str = "projects") -> str | None:
    """The field to use: ``wanted`` (must exist), else the first of ``candidates`` present (case-insensitive).

    Examples
    --------
    >>> find_field(["name", "project_id"], None, ["project_id", "id", "name"], "id")
    'project_id'
    """
    cols = [str(c) for c in columns if str(c) != "geometry"]
    if wanted is not None:
        if wanted not in cols:
            raise FieldError(f"{where}: no {what} field {wanted!r}; fields: {', '.join(cols) or 'none'}")
        return wanted
    lower = {c.lower(): c for c in cols}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    return None


def validate_kind(data: dict, source: str) -> list[str]:
    """Every problem of one catalog entry, as ``source: problem`` lines (empty when valid)."""
    problems = []
    for key in ("kind", "name_zh", "name_en"):
        if not isinstance(data.get(key), str) or not data.get(key):
            problems.append(f"{source}: '{key}' is required and must be a non-empty string")
    kind = data.get("kind")
    if isinstance(kind, str) and not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        problems.append(f"{source}: kind {kind!r} must be lower_snake_case")
    zf = data.get("zone_fields", [])
    if not isinstance(zf, list) or not all(isinstance(x, str) for x in zf):
        problems.append(f"{source}: 'zone_fields' must be a list of field names")
    zones = data.get("zones", [])
    if not isinstance(zones, list):
        problems.append(f"{source}: 'zones' must be an array of tables ([[zones]])")
    else:
        for i, zone in enumerate(zones):
            if not isinstance(zone, dict) or not zone.get("name_zh"):
                problems.append(f"{source}: zones[{i}] needs 'name_zh'")
    problems += _validate_rule(data, source, "")
    if isinstance(zones, list):
        for i, zone in enumerate(zones):
            if isinstance(zone, dict):
                problems += _validate_rule(zone, source, f"zones[{i}].")
                aliases = zone.get("aliases", [])
                if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                    problems.append(f"{source}: zones[{i}].aliases must be a list of strings")
    inverted = data.get("inverted", False)
    if not isinstance(inverted, bool):
        problems.append(f"{source}: 'inverted' must be true or false, got {inverted!r}")
    applies = data.get("applies_to", [])
    if not isinstance(applies, list) or not all(isinstance(x, str) and _CODE.match(x) for x in applies):
        problems.append(f"{source}: 'applies_to' must be a list of lower_snake_case project categories")
    elif inverted is True and not applies:
        problems.append(f"{source}: an inverted kind needs 'applies_to' (the project categories flagged outside it)")
    style = data.get("style", {})
    if not isinstance(style, dict):
        problems.append(f"{source}: [style] must be a table")
    else:
        for key in ("fill", "stroke"):
            if key in style and not (isinstance(style[key], str) and _COLOUR.match(style[key])):
                problems.append(f"{source}: style.{key} {style[key]!r} is not a #rrggbb colour")
        opacity = style.get("fill_opacity", 0.5)
        if not isinstance(opacity, (int, float)) or not 0 <= opacity <= 1:
            problems.append(f"{source}: style.fill_opacity must be a number in [0, 1]")
    return problems


def _validate_rule(data: dict, source: str, where: str) -> list[str]:
    problems = []
    sev = data.get("severity")
    if sev is not None and sev not in SEVERITIES:
        problems.append(f"{source}: {where}severity {sev!r} is not one of {', '.join(SEVERITIES)}")
    basis = data.get("legal_basis")
    if basis is not None and (not isinstance(basis, str) or "\n" in basis.strip()):
        problems.append(f"{source}: {where}legal_basis must be a one-line string")
    for key in _RULE_LISTS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            problems.append(f"{source}: {where}{key} must be a list of project category codes")
            continue
        bad = [x for x in value if not _CODE.match(x)]
        if bad:
            problems.append(f"{source}: {where}{key}: {', '.join(map(repr, bad))} must be lower_snake_case codes")
    return problems


def load_catalog(directory: str | os.PathLike | None = None) -> dict[str, LayerKind]:
    """Load and validate every ``*.toml`` in ``directory`` (default: the bundled ``layers/``).

    Raises
    ------
    CatalogError
        Listing every problem found, one per line.

    Examples
    --------
    >>> cat = load_catalog()
    >>> cat["eco_redline"].label("zh")
    '生态保护红线'
    """
    directory = Path(directory) if directory is not None else resource_dir("layers")
    kinds: dict[str, LayerKind] = {}
    problems: list[str] = []
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise CatalogError(f"{directory}: no catalog files (*.toml)")
    for path in files:
        try:
            data = read_toml(path, "catalog file (TOML)")
        except CatalogError as exc:
            problems.append(str(exc))
            continue
        found = validate_kind(data, str(path))
        if data.get("kind") in kinds:
            found.append(f"{path}: kind {data['kind']!r} is defined twice")
        problems += found
        if found:
            continue
        kinds[data["kind"]] = LayerKind(
            kind=data["kind"],
            name_zh=data["name_zh"],
            name_en=data["name_en"],
            description=data.get("description", ""),
            zone_fields=tuple(data.get("zone_fields", ())),
            zones=tuple(data.get("zones", ())),
            style=dict(data.get("style", {})),
            source=str(path),
            rule=_rule_from(data),
            inverted=data.get("inverted", False),
            applies_to=tuple(data.get("applies_to", ())),
        )
    if problems:
        raise CatalogError("invalid layer catalog:\n" + "\n".join(problems))
    return kinds
