"""What a layer is without reading its features: CRS, extent and attribute columns, for a GeoDataFrame, a
partitioned directory, a PostGIS URI or a file (a file's extent from GDAL's header).

Engines use it to plan work (the Dask engine's grid of cells) and to check that every layer opens before any
work starts.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS

from ..errors import LayerReadError
from .encoding import read_info
from .partition import is_partitioned, read_index
from .postgis import is_postgis, source_info

__all__ = ["layer_info"]


def layer_info(layer) -> tuple[CRS, tuple[float, float, float, float], list[str]]:
    """CRS, extent (in that CRS) and attribute columns of a layer — a GeoDataFrame, a partitioned directory, a
    PostGIS URI or a file — without reading its features (a file's extent comes from GDAL's header)."""
    if isinstance(layer, gpd.GeoDataFrame):
        return CRS.from_user_input(layer.crs), tuple(layer.total_bounds), list(layer.columns.drop(layer.geometry.name))
    if is_postgis(layer):
        crs, box, cols = source_info(str(layer))
    elif is_partitioned(layer):
        import pyarrow.parquet as pq

        index = read_index(layer)
        boxes = np.array([p.bbox for p in index["partitions"]]) if index["partitions"] else np.zeros((0, 4))
        box = (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()) if len(boxes) else None
        crs = index["crs"]
        first = index["partitions"][0].path if index["partitions"] else None
        cols = [c for c in pq.read_schema(f"{layer}/{first}").names if c != "geometry"] if first else []
    elif str(layer).lower().endswith((".parquet", ".geoparquet")):
        try:
            gdf = gpd.read_parquet(layer)  # one file: its extent needs the geometries
        except Exception as exc:
            raise LayerReadError(f"{layer}: not a readable GeoParquet file ({str(exc).splitlines()[0]})") from None
        crs = CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
        box, cols = tuple(gdf.total_bounds), list(gdf.columns.drop(gdf.geometry.name))
    else:
        try:
            info = read_info(layer, force_total_bounds=True)  # field names decoded as read_layer does
        except LayerReadError:
            raise
        except Exception as exc:
            raise LayerReadError(f"{layer}: cannot read ({str(exc).splitlines()[0]})") from None
        crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
        box, cols = tuple(info["total_bounds"]), [str(f) for f in info["fields"]]
    if crs is None:
        raise LayerReadError(f"{layer}: no CRS; the Dask engine needs layers with a CRS")
    return crs, box, cols
