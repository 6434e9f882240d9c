"""Map themes: the loader lives in :mod:`redline.specs.theme` (a theme is a spec); its names stay importable here."""

from __future__ import annotations

from ..specs.theme import GCJ02_HOSTS, THEME_SCHEMA, Theme, load_theme

__all__ = ["Theme", "load_theme", "GCJ02_HOSTS", "THEME_SCHEMA"]
