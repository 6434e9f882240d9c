"""Classified rasters, opened with rasterio and checked to have a CRS."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import CRSError, LayerReadError
from .sources import _gdal_message
from .write import register_input


def open_raster(path: str | os.PathLike):
    """Open a classified raster with rasterio (caller closes it, or use it as a context manager)."""
    import rasterio

    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"{path}: file not found")
    register_input(path)
    try:
        raster = rasterio.open(path)
    except Exception as exc:
        raise LayerReadError(f"{path}: not a readable raster ({_gdal_message(exc, path)}); give a classified "
                             f"GeoTIFF (or another raster GDAL reads) — if it is one, copy or export it again") from None
    if raster.crs is None:
        raster.close()
        raise CRSError(f"{path}: the raster has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:4490)")
    return raster
