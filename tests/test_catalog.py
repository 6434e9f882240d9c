"""The layer catalog: bundled files load, bad files report every problem."""

from __future__ import annotations

import pytest

from redline._resources import resource_dir
from redline.specs.catalog import load_catalog
from redline.errors import CatalogError

KINDS = {"eco_redline", "basic_farmland", "urban_boundary", "nature_reserve", "water_source", "control_unit", "build_zone"}


def test_bundled_catalog_loads():
    cat = load_catalog()
    assert set(cat) == KINDS
    assert cat["eco_redline"].label("zh") == "生态保护红线"
    assert cat["basic_farmland"].label("en") == "Permanent basic farmland"
    assert [z["name_zh"] for z in cat["nature_reserve"].zones] == ["核心保护区", "一般控制区", "自然公园"]


def test_resources_are_found():
    for name in ("layers", "sample"):
        assert resource_dir(name).is_dir()
    with pytest.raises(ValueError):
        resource_dir("nothing")


def test_invalid_catalog_lists_every_problem(tmp_path):
    (tmp_path / "a.toml").write_text('kind = "Bad Kind"\nname_zh = ""\n[style]\nfill = "green"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text("kind = [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    text = str(err.value)
    for expected in ("'name_zh' is required", "'name_en' is required", "lower_snake_case", "style.fill 'green'",
                     "b.toml: not a valid catalog file (TOML)"):
        assert expected in text


def test_duplicate_kind(tmp_path):
    body = 'kind = "x"\nname_zh = "甲"\nname_en = "X"\n'
    (tmp_path / "a.toml").write_text(body, encoding="utf-8")
    (tmp_path / "b.toml").write_text(body, encoding="utf-8")
    with pytest.raises(CatalogError, match="defined twice"):
        load_catalog(tmp_path)


def test_empty_catalog_dir(tmp_path):
    with pytest.raises(CatalogError, match="no catalog files"):
        load_catalog(tmp_path)


def test_rule_fields_validated(tmp_path):
    (tmp_path / "a.toml").write_text(
        'kind = "x"\nname_zh = "甲"\nname_en = "X"\nseverity = "forbidden"\nlegal_basis = "line one\\nline two"\n'
        'permitted_categories = ["Road"]\ninverted = true\n'
        '[[zones]]\nname_zh = "一级"\nseverity = "maybe"\naliases = "一级保护区"\n'
        'prohibited_categories = "mining"\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    text = str(err.value)
    for expected in ("severity 'forbidden' is not one of prohibited, conditional, restricted, allowed",
                     "legal_basis must be a one-line string", "permitted_categories: 'Road' must be lower_snake_case",
                     "an inverted kind needs 'applies_to'", "zones[0].severity 'maybe'", "zones[0].aliases must be a list",
                     "zones[0].prohibited_categories must be a list"):
        assert expected in text


def test_bundled_rules_complete():
    """Every bundled kind and zone states a severity and a legal basis."""
    import tomllib

    for kind in load_catalog().values():
        data = tomllib.loads(open(kind.source, encoding="utf-8").read())
        assert data.get("severity") and data.get("legal_basis"), kind.kind
        for zone in data.get("zones", []):
            assert zone.get("severity") and zone.get("legal_basis"), (kind.kind, zone["name_zh"])
