"""The three big classes (三大类: 农用地 / 建设用地 / 未利用地) of the 三调 land-use classes, and the columns of the
土地利用现状表 — data in ``analyses/classes/sandiao_three.toml`` (its sources are cited there)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from .._resources import resource_dir
from .schema import Key, check, read_toml, spec_error

__all__ = ["LandClasses", "load_land_classes", "GROUPS", "UNCLASSIFIED"]

#: The three big classes, in the order the tables show them.
GROUPS = ("agricultural", "construction", "unused")
#: The group of a code the class map does not know (reported, never dropped).
UNCLASSIFIED = "unclassified"

_CODES = Key("list", items="string", what='a list of code strings (quote them: "0101")')
_SCHEMA = {
    "name": Key("string"),
    "name_en": Key("string"),
    "code_fields": Key("list", items="string", what="a list of field names"),
    "ownership_fields": Key("list", items="string", what="a list of field names"),
    "groups": Key("table", required=True, keys={g: Key("list", items="string", required=True) for g in GROUPS}),
    "farmland": Key("table", required=True, keys={k: Key("string", required=True) for k in ("paddy", "irrigated", "dry")}),
    "agricultural_columns": Key("table", values=_CODES),
    "ownership": Key("table", keys={"state": _CODES, "collective": _CODES}),
    "names": Key("table", values=Key("string")),
}


@dataclass(frozen=True)
class LandClasses:
    """三调 codes → big class, name, 现状表 column; 权属性质 codes → 国有 / 集体."""

    name: str
    code_fields: tuple[str, ...]
    ownership_fields: tuple[str, ...]
    groups: dict[str, str]              # code → agricultural / construction / unused
    farmland: dict[str, str]            # paddy / irrigated / dry → code
    columns: dict[str, str]             # code → farmland / garden / forest / grassland / other (农用地 only)
    ownership: dict[str, str]           # 权属性质 code → state / collective
    names: dict[str, str]

    def _lookup(self, table: dict, code: str):
        code = str(code).strip()
        for key in (code, code[:4], code[:2]):
            if key in table:
                return table[key]
        return None

    def group(self, code) -> str:
        """The big class of a code (``0201K`` as ``0201``, ``0901`` as ``09``), or :data:`UNCLASSIFIED`.

        Examples
        --------
        >>> c = load_land_classes()
        >>> c.group("0101"), c.group("1006"), c.group("0201K"), c.group("0404"), c.group("1109"), c.group("9999")
        ('agricultural', 'agricultural', 'agricultural', 'unused', 'construction', 'unclassified')
        """
        return self._lookup(self.groups, code) or UNCLASSIFIED

    def class_name(self, code) -> str:
        """The class's Chinese name (``0101`` → ``水田``), or the code itself when unknown."""
        return self._lookup(self.names, code) or str(code)

    def column(self, code) -> str | None:
        """The 现状表 column under 农用地 (``farmland``, ``garden``, ``forest``, ``grassland``, ``other``)."""
        return self._lookup(self.columns, code)

    def owner(self, value) -> str | None:
        """``state`` (国有) or ``collective`` (集体) for a 权属性质 code or word, None when it says neither."""
        text = str(value).strip() if value is not None else ""
        if text in self.ownership:
            return self.ownership[text]
        if "国有" in text:
            return "state"
        if "集体" in text:
            return "collective"
        return None


@lru_cache(maxsize=4)
def load_land_classes(path: str | os.PathLike | None = None) -> LandClasses:
    """Read a three-big-classes TOML (default: the bundled ``analyses/classes/sandiao_three.toml``); every problem
    is listed at once, and a code in two groups is one of them."""
    path = path or resource_dir("analyses") / "classes" / "sandiao_three.toml"
    data = read_toml(path, "land-class file")
    problems = check(data, _SCHEMA)
    groups: dict[str, str] = {}
    for group in GROUPS:
        for code in data.get("groups", {}).get(group, []):
            if code in groups and groups[code] != group:
                problems.append(f"code {code!r} is in both groups.{groups[code]} and groups.{group}")
            groups[code] = group
    if problems:
        raise spec_error(path, "land-class file", problems)
    columns = {code: col for col, codes in data.get("agricultural_columns", {}).items() for code in codes}
    owners = {code: who for who, codes in data.get("ownership", {}).items() for code in codes}
    return LandClasses(data.get("name", ""), tuple(data.get("code_fields", ("DLBM",))),
                       tuple(data.get("ownership_fields", ("QSXZ",))), groups, dict(data["farmland"]), columns,
                       owners, dict(data.get("names", {})))
