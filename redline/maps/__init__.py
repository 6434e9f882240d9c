"""Maps: the interactive one map (一张图), static PNG maps, and QGIS styles — the only writers of map HTML."""

from .interactive import BASEMAPS, MapResult, TileTarget, build_map, render_html, simplify_for_map
from .theme import Theme, load_theme

__all__ = ["BASEMAPS", "MapResult", "TileTarget", "build_map", "render_html", "simplify_for_map", "Theme", "load_theme"]
