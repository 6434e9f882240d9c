"""The layer catalog: one TOML file per kind of control line in ``layers/``.

Rules are data, not code: a province with other rules edits the TOML. Every
file is validated before use and all problems are reported at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .._resources import resource_dir
from ..errors import CatalogError
from ..geometry.footprints import find_field  # noqa: F401  (documented here; it lives with the id fields)
from .schema import Key, check, read_toml, spec_error, suggest, unknown_name

__all__ = ["LayerKind", "Rule", "SEVERITIES", "SEVERITY_RANK", "KIND_SCHEMA", "load_catalog", "validate_kind",
           "kind_problems", "find_field"]

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

    def find_zone(self, name) -> dict | None:
        """The catalog zone called ``name`` (its ``name_zh``, ``name_en`` or an alias, case-insensitive), or ``None``.

        Unlike :meth:`match_zone` (for attribute values) a name is never matched by containment:
        a spec naming a zone must name it.

        Examples
        --------
        >>> ws = load_catalog()["water_source"]
        >>> ws.find_zone("Level 1")["name_zh"], ws.find_zone("一级区")
        ('一级', None)
        """
        low = str(name).strip().lower()
        for zone in self.zones:
            names = [zone.get("name_zh", ""), zone.get("name_en", ""), *zone.get("aliases", [])]
            if any(low == str(n).strip().lower() for n in names if n):
                return zone
        return None

    def zone_names(self) -> list[str]:
        """The zones' Chinese names, in catalog order."""
        return [z["name_zh"] for z in self.zones]

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


_CATEGORIES = Key("list", items="string", what="a list of project category codes")
_RULE_SCHEMA = {
    "severity": Key("string"),
    "legal_basis": Key("string", what="a one-line string"),
    **{key: _CATEGORIES for key in _RULE_LISTS},
}
_ZONE_SCHEMA = {
    "name_zh": Key("string", required=True, nonempty=True),
    "name_en": Key("string"),
    "aliases": Key("list", items="string"),
    "description": Key("string"),
    **_RULE_SCHEMA,
}
#: The keys of a catalog entry (``layers/*.toml``).
KIND_SCHEMA = {
    "kind": Key("string", required=True, nonempty=True),
    "name_zh": Key("string", required=True, nonempty=True),
    "name_en": Key("string", required=True, nonempty=True),
    "description": Key("string"),
    "zone_fields": Key("list", items="string", what="a list of field names"),
    "zones": Key("tables", keys=_ZONE_SCHEMA, what="an array of tables ([[zones]])"),
    "inverted": Key("boolean"),
    "applies_to": Key("list", items="string", what="a list of lower_snake_case project categories"),
    "style": Key("table", keys={"fill": Key("string"), "stroke": Key("string"), "fill_opacity": Key("number")}),
    **_RULE_SCHEMA,
}


def validate_kind(data: dict, source: str) -> list[str]:
    """Every problem of one catalog entry, as ``source: problem`` lines (empty when valid)."""
    problems = check(data, KIND_SCHEMA)
    kind = data.get("kind")
    if isinstance(kind, str) and kind and not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        problems.append(f"kind {kind!r} must be lower_snake_case")
    zones = data.get("zones", [])
    zones = [z for z in zones if isinstance(z, dict)] if isinstance(zones, list) else []
    problems += _validate_rule(data, "")
    for i, zone in enumerate(zones):
        problems += _validate_rule(zone, f"zones[{i}].")
    inverted = data.get("inverted", False)
    applies = data.get("applies_to", [])
    if isinstance(applies, list) and all(isinstance(x, str) for x in applies):
        bad = [x for x in applies if not _CODE.match(x)]
        if bad:
            problems.append(f"applies_to: {', '.join(map(repr, bad))} must be lower_snake_case project categories")
        elif inverted is True and not applies:
            problems.append("an inverted kind needs 'applies_to' (the project categories flagged outside it)")
    style = data.get("style", {})
    if isinstance(style, dict):
        for key in ("fill", "stroke"):
            if isinstance(style.get(key), str) and not _COLOUR.match(style[key]):
                problems.append(f"style.{key} {style[key]!r} is not a #rrggbb colour")
        opacity = style.get("fill_opacity", 0.5)
        if isinstance(opacity, (int, float)) and not isinstance(opacity, bool) and not 0 <= opacity <= 1:
            problems.append(f"style.fill_opacity must be a number in [0, 1], not {opacity!r}")
    return [f"{source}: {p}" for p in problems]


def _validate_rule(data: dict, where: str) -> list[str]:
    problems = []
    sev = data.get("severity")
    if isinstance(sev, str) and sev not in SEVERITIES:
        close = suggest(sev, SEVERITIES)
        problems.append(f"{where}severity {sev!r} is not one of {', '.join(SEVERITIES)}"
                        + (f" — did you mean {close}?" if close else ""))
    basis = data.get("legal_basis")
    if isinstance(basis, str) and "\n" in basis.strip():
        problems.append(f"{where}legal_basis must be a one-line string")
    for key in _RULE_LISTS:
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            continue  # absent, or a type problem the schema reports
        bad = [x for x in value if not _CODE.match(x)]
        if bad:
            problems.append(f"{where}{key}: {', '.join(map(repr, bad))} must be lower_snake_case codes")
    return problems


def kind_problems(kinds: Iterable[str], catalog: Mapping[str, "LayerKind"], at: str = "") -> list[str]:
    """One problem for each of ``kinds`` the catalog doesn't know, with the closest kind it does.

    ``at`` is put before each problem, ``{kind}`` in it replaced by the kind.

    Examples
    --------
    >>> kind_problems(["eco_redlin", "eco_redline"], load_catalog(), "layers.{kind}: ")
    ["layers.eco_redlin: unknown layer kind 'eco_redlin' — did you mean eco_redline?"]
    """
    return [at.format(kind=k) + unknown_name("layer kind", k, catalog, "catalog kinds") for k in kinds if k not in catalog]


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
        if isinstance(data.get("kind"), str) and data["kind"] in kinds:
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
        raise spec_error(directory, "layer catalog", problems)
    return kinds
