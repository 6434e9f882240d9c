"""Project purposes: the words of a 国土TXT's 地块用途 that name a screening category (``analyses/classes/
project_purposes.toml``), matched longest word first."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from .._resources import resource_dir
from .schema import Key, check, read_toml, spec_error

__all__ = ["Purposes", "load_purposes"]

_SCHEMA = {
    "name": Key("string"),
    "name_en": Key("string"),
    "purposes": Key("table", values=Key("list", items="string", what="a list of words"), required=True,
                    what="a table of category = [words]"),
}


@dataclass(frozen=True)
class Purposes:
    """Words → category codes, longest word first (a 用途 that is a category code itself is that category)."""

    words: tuple[tuple[str, str], ...]
    codes: frozenset = frozenset()

    def category(self, text) -> str | None:
        """The category whose longest word ``text`` contains, or None.

        Examples
        --------
        >>> load_purposes().category("光伏发电项目用地"), load_purposes().category("水电站"), load_purposes().category("林地")
        ('energy', 'energy', None)
        """
        if not isinstance(text, str) or not text.strip():
            return None
        if text.strip() in self.codes:
            return text.strip()
        return next((code for word, code in self.words if word in text), None)


@lru_cache(maxsize=4)
def load_purposes(path: str | os.PathLike | None = None) -> Purposes:
    """Read a purposes TOML (default: the bundled ``analyses/classes/project_purposes.toml``)."""
    path = path or resource_dir("analyses") / "classes" / "project_purposes.toml"
    data = read_toml(path, "purposes file")
    problems = check(data, _SCHEMA)
    if problems:
        raise spec_error(path, "purposes file", problems)
    pairs = [(word, code) for code, words in data["purposes"].items() for word in words]
    return Purposes(tuple(sorted(pairs, key=lambda p: -len(p[0]))), frozenset(data["purposes"]))
