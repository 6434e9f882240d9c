"""The runnable examples in the public docstrings."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["redline.geometry.area", "redline.geometry.clean", "redline.geometry.crs", "redline.specs.catalog",
           "redline.analyses.indicators", "redline.analyses.scorecard", "redline.analyses.landcover", "redline.io",
           "redline.io.read", "redline.io.tables", "redline.specs.classes", "redline.specs.recipe",
           "redline.specs.transitions", "redline.specs.theme", "redline.text"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
