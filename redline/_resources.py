"""Where the catalog, recipes, themes and sample data live — in a wheel or in a checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["resource_dir"]

_PKG = Path(__file__).resolve().parent
# name inside the wheel (redline/_data/NAME) -> path in a source checkout
_CHECKOUT = {"layers": "layers", "analyses": "analyses", "maps": "maps", "sample": "data/qianjiang"}


def resource_dir(name: str) -> Path:
    """Directory of a bundled resource: ``layers``, ``analyses``, ``maps`` or ``sample``.

    A wheel carries them under ``redline/_data/``; an editable install or a
    checkout reads them from the repository.
    """
    if name not in _CHECKOUT:
        raise ValueError(f"unknown resource {name!r}; one of {', '.join(_CHECKOUT)}")
    installed = _PKG / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PKG.parent / _CHECKOUT[name]
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"redline resource {name!r} not found (looked in {installed} and {checkout})")
