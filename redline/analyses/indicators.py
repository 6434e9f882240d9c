"""Area indicators: what share of a district each control line covers."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd
import shapely

from ..area import UNITS, dissolve, ellipsoidal_area, polygonal

__all__ = ["layer_shares"]


def layer_shares(boundary: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Area and share of the boundary covered by each layer.

    For each layer: dissolve (overlaps inside the layer count once), clip to
    the dissolved boundary, and measure ellipsoidally on CGCS2000. The part of
    a layer that lies outside the boundary is reported, never counted.

    Parameters
    ----------
    boundary : GeoDataFrame
        The district (any number of polygons; dissolved first).
    layers : mapping of name -> GeoDataFrame
        Layers in any CRS; each is reprojected to the boundary's CRS.

    Returns
    -------
    DataFrame indexed by layer name with ``area_m2, area_km2, area_ha, area_mu,
    area_wanmu, share_pct, outside_m2``; ``attrs["boundary_m2"]`` holds the boundary's area.

    Examples
    --------
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame(geometry=[box(108.0, 29.0, 108.1, 29.1)], crs="EPSG:4490")
    >>> lyr = gpd.GeoDataFrame(geometry=[box(108.0, 29.0, 108.05, 29.1), box(108.0, 29.0, 108.05, 29.1)], crs="EPSG:4490")
    >>> round(float(layer_shares(b, {"red": lyr}).loc["red", "share_pct"]), 2)
    50.0
    """
    crs = boundary.crs
    district = dissolve(boundary.geometry.values)
    boundary_m2 = float(ellipsoidal_area([district], crs=crs)[0])
    rows = []
    for name, gdf in layers.items():
        merged = dissolve(gdf.to_crs(crs).geometry.values)
        inside = polygonal([shapely.intersection(merged, district)])[0]
        outside = polygonal([shapely.difference(merged, district)])[0]
        inside_m2, outside_m2 = ellipsoidal_area([inside, outside], crs=crs)
        row = {"layer": name, "area_m2": inside_m2}
        row.update({f"area_{u}": inside_m2 / f for u, f in UNITS.items() if u != "m2"})
        row["share_pct"] = 100.0 * inside_m2 / boundary_m2 if boundary_m2 else float("nan")
        row["outside_m2"] = outside_m2
        rows.append(row)
    table = pd.DataFrame(rows).set_index("layer") if rows else pd.DataFrame()
    table.attrs["boundary_m2"] = boundary_m2
    return table
