"""Every label and message redline shows, in one catalog: ``redline/text/<domain>.toml``.

Each entry is a table with one string per language, side by side, so that a translation is never missing or
out of step (``tests/test_text.py`` checks that every entry has both languages and the same placeholders)::

    [verdict.inside]
    zh = "{pid} 位于{name}内"
    en = "{pid} lies inside the {name}"

Code asks for a message by its dotted key, the first part naming the file::

    >>> t("common.language", "en")
    'English'
    >>> t("common.language", "zh")
    '中文'

Placeholders are ``str.format`` fields, with their format spec (``{area_ha:.2f}``) in the catalog, so that the
number format is part of the text a translator sees.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

from ..errors import InputError

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"
_HERE = Path(__file__).resolve().parent


def check_lang(lang: str) -> str:
    """``lang`` if redline speaks it, else :class:`~redline.errors.InputError` naming the choices."""
    if lang not in LANGS:
        raise InputError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")
    return lang


@cache
def _domain(name: str) -> dict:
    path = _HERE / f"{name}.toml"
    if not path.is_file():
        raise KeyError(f"no message catalog {path.name} in {_HERE}")
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _entry(key: str) -> dict:
    domain, _, rest = key.partition(".")
    node = _domain(domain)
    for part in rest.split(".") if rest else ():
        node = node[part]
    return node


def t(key: str, lang: str = DEFAULT_LANG, /, **values) -> str:
    """The message ``key`` in ``lang``, its placeholders filled from ``values``."""
    text = _entry(key)[check_lang(lang)]
    return text.format_map(values) if values else text


def labels(key: str, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Every entry directly under ``key`` in ``lang``: ``labels("change.status", "en")`` → ``{"added": …}``."""
    check_lang(lang)
    return {name: entry[lang] for name, entry in _entry(key).items() if is_entry(entry)}


def is_entry(node) -> bool:
    """A leaf of the catalog: a table holding one string per language."""
    return isinstance(node, dict) and all(isinstance(node.get(lang), str) for lang in LANGS)


def entries(domain: str | None = None):
    """``(key, entry)`` for every leaf of the catalog (or of one file): for the parity test and translators."""
    names = [domain] if domain else sorted(p.stem for p in _HERE.glob("*.toml"))

    def walk(prefix: str, node: dict):
        for name, child in node.items():
            key = f"{prefix}.{name}"
            if is_entry(child):
                yield key, child
            elif isinstance(child, dict):
                yield from walk(key, child)
            else:
                yield key, child  # a malformed leaf: the test names it

    for name in names:
        yield from walk(name, _domain(name))


def placeholders(text: str) -> set[str]:
    """The field names of a message: ``{"pid", "name"}`` for ``"{pid} lies inside the {name}"``."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
