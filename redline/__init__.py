"""redline — territorial-spatial constraint analysis for China on CGCS2000.

The functions a notebook user needs::

    import redline
    gdf, report = redline.read_layer("data/qianjiang/eco_redline.gpkg", geometry="polygon")
    redline.ellipsoidal_area(gdf)           # m² per feature, on the CGCS2000 ellipsoid
    redline.covered_area(gdf)               # m² of the dissolved layer
    redline.convert(1e6, "mu")              # 1500.0
"""

__version__ = "0.1.0"

from .analyses.indicators import layer_shares
from .analyses.screening import ScreeningResult, load_rules, screen
from .area import UNITS, convert, covered_area, dissolve, ellipsoidal_area, plane_area
from .catalog import LayerKind, load_catalog
from .crs import CGCS2000, describe_crs, gk_crs, guess_crs
from .errors import (
    CatalogError,
    CRSError,
    GeometryError,
    LayerNotFoundError,
    LayerReadError,
    OutputError,
    RedlineError,
)
from .io import LayerRead, ReadReport, list_layers, read_layer, reproject, write_layer

__all__ = [
    "__version__",
    "CGCS2000",
    "UNITS",
    "convert",
    "covered_area",
    "dissolve",
    "ellipsoidal_area",
    "plane_area",
    "describe_crs",
    "gk_crs",
    "guess_crs",
    "LayerKind",
    "load_catalog",
    "layer_shares",
    "screen",
    "load_rules",
    "ScreeningResult",
    "LayerRead",
    "ReadReport",
    "list_layers",
    "read_layer",
    "reproject",
    "write_layer",
    "RedlineError",
    "LayerReadError",
    "LayerNotFoundError",
    "CRSError",
    "GeometryError",
    "CatalogError",
    "OutputError",
]
