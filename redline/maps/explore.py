"""A quick look at a screening in a notebook: geopandas' ``explore`` of the footprints, coloured by verdict, and
of the encroachment pieces (the one map, :func:`redline.maps.build_map`, is the full one).
"""

from __future__ import annotations

from ..analyses.screening import ScreeningResult
from ..geometry.crs import CGCS2000

__all__ = ["VERDICT_COLOURS", "explore_screening"]

#: The colour of each verdict.
VERDICT_COLOURS = {"prohibited": "#c62828", "conditional": "#ef6c00", "restricted": "#f9a825", "clear": "#2e7d32"}


def explore_screening(result: ScreeningResult, **kwargs):
    """An interactive folium map of the footprints (by verdict) and the encroachment pieces;
    ``kwargs`` go to ``GeoDataFrame.explore``. Needs ``folium`` and ``mapclassify``."""
    layers = result.file_layers()
    proj = layers["projects"].to_crs(CGCS2000)
    present = sorted(proj["verdict"].unique())
    m = proj.explore(column="verdict", cmap=[VERDICT_COLOURS[v] for v in present],
                     tooltip=["project_id", "category", "verdict", "findings"], **kwargs)
    if len(layers["encroachments"]):
        layers["encroachments"].to_crs(CGCS2000).explore(m=m, color="#000000",
                                                         tooltip=["project_id", "kind", "zone", "area_ha"])
    return m
