"""The message catalog: every entry in both languages, with the same placeholders."""

import pytest

from redline.errors import InputError
from redline.text import LANGS, entries, is_entry, labels, placeholders, t


def test_every_entry_has_every_language_and_the_same_placeholders():
    problems = []
    for key, entry in entries():
        if not is_entry(entry):
            problems.append(f"{key}: not a table with {', '.join(LANGS)} strings")
            continue
        fields = {lang: placeholders(entry[lang]) for lang in LANGS}
        if len({frozenset(f) for f in fields.values()}) > 1:
            problems.append(f"{key}: placeholders differ {fields}")
        extra = set(entry) - set(LANGS)
        if extra:
            problems.append(f"{key}: unknown languages {sorted(extra)}")
    assert not problems, "\n".join(problems)


def test_lookup_fills_placeholders_and_refuses_an_unknown_language():
    assert t("common.language", "zh") == "中文"
    assert labels("common", "en")["language"] == "English"
    with pytest.raises(InputError, match="unknown language 'fr'"):
        t("common.language", "fr")
