"""Transitions that count as human activity: the before → after land-cover changes a monitor run looks for.

A transitions TOML (``analyses/classes/human_activity.toml``, ``--transitions``) lists ``[[transition]]`` tables,
each with an ``id``, names and the class codes it goes ``from`` (``"*"``: any) and ``to``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .._resources import resource_dir
from .classes import ClassMap
from .schema import read_toml
from .schema import Key, check, spec_error, unknown_name

__all__ = ["Transition", "TRANSITIONS_SCHEMA", "load_transitions"]


@dataclass(frozen=True)
class Transition:
    """A land-cover transition that counts as human activity: ``from`` codes (``*`` = any) → ``to`` codes."""

    id: str
    name_zh: str
    name_en: str
    from_codes: tuple[str, ...]
    to_codes: tuple[str, ...]

    def label(self, lang: str = "zh") -> str:
        """The transition's name in ``lang`` (Chinese unless English is asked for)."""
        return {"en": self.name_en}.get(lang, self.name_zh)

    def matches(self, before: str, after: str) -> bool:
        """Whether a cell going from class ``before`` to class ``after`` is this transition."""
        return before != after and after in self.to_codes and ("*" in self.from_codes or before in self.from_codes)


def _codes(value) -> tuple[str, ...] | None:
    if value == "*":
        return ("*",)
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, (str, int)) and str(v) for v in value):
        return tuple(str(v) for v in value)
    return None


def _transition_label(i: int, item) -> str:
    tid = item.get("id") if isinstance(item, dict) else None
    return f"[[transition]] {i + 1}" + (f" ({tid})" if isinstance(tid, str) and tid else "")


#: The keys of a transitions TOML (``analyses/classes/human_activity.toml``, ``--transitions``).
TRANSITIONS_SCHEMA = {
    "name": Key("string"),
    "name_en": Key("string"),
    "transition": Key("tables", label=_transition_label, what="[[transition]] tables"),
}
_TRANSITION_SCHEMA = {
    "id": Key("string", required=True, nonempty=True),
    "name_zh": Key("string"),
    "name_en": Key("string"),
    "from": Key("any", required=True, what='"*" or a list of class codes ("10")'),
    "to": Key("any", required=True, what='a list of class codes ("50")'),
}


def _item_problems(i: int, item: dict, seen: set, classes: ClassMap | None) -> list[str]:
    """Every problem of the ``i``-th ``[[transition]]`` table (its id is added to ``seen``)."""
    where = _transition_label(i, item) + ": "
    found = check(item, _TRANSITION_SCHEMA, where)
    tid = item.get("id")
    if isinstance(tid, str) and tid in seen:
        found.append(f"{where}duplicate id {tid!r}")
    if isinstance(tid, str):
        seen.add(tid)
    src, dst = _codes(item.get("from")), _codes(item.get("to"))
    if "from" in item and src is None:
        found.append(f"{where}'from' must be \"*\" or a list of class codes (\"10\"), not {item['from']!r}")
    if "to" in item and (dst is None or dst == ("*",)):
        found.append(f"{where}'to' must be a list of class codes (\"50\"), not {item['to']!r}")
    known = list(classes.names) if classes is not None and classes.names else None
    for key, codes in (("from", src), ("to", dst)):
        for code in [c for c in codes or () if c != "*" and known is not None and c not in known]:
            found.append(f"{where}{key}: " + unknown_name("class code", code, known, f"classes of {classes.name}"))
    return found


def _transition(item: dict) -> Transition:
    tid = item["id"]
    return Transition(tid, str(item.get("name_zh", tid)), str(item.get("name_en", item.get("name_zh", tid))),
                      _codes(item["from"]), _codes(item["to"]))


def load_transitions(path: str | os.PathLike | None = None, classes: ClassMap | None = None) -> tuple[Transition, ...]:
    """Load the transitions that count as human activity (default ``analyses/classes/human_activity.toml``).

    With ``classes`` (the rasters' class map) every code a transition names must be one of its
    classes (when the map names its classes). Raises :class:`CatalogError` listing every problem
    of the file on one line.

    Examples
    --------
    >>> [t.id for t in load_transitions()]
    ['built_up', 'bare_quarry', 'forest_to_cropland']
    """
    path = Path(path) if path is not None else resource_dir("analyses") / "classes" / "human_activity.toml"
    data = read_toml(path, "transitions TOML")
    items = data.get("transition")
    if items is None or items == []:
        raise spec_error(path, "transitions file", ["no [[transition]] tables"])
    problems = check(data, TRANSITIONS_SCHEMA)
    out, seen = [], set()
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue  # the schema said so
        found = _item_problems(i, item, seen, classes)
        problems += found
        if not found:
            out.append(_transition(item))
    if problems:
        raise spec_error(path, "transitions file", problems)
    return tuple(out)
