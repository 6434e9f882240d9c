"""redline — territorial-spatial constraint analysis for China on CGCS2000.

The functions a notebook user needs::

    import redline
    gdf, report = redline.read_layer("data/qianjiang/eco_redline.gpkg", geometry="polygon")
    redline.ellipsoidal_area(gdf)           # m² per feature, on the CGCS2000 ellipsoid
    redline.covered_area(gdf)               # m² of the dissolved layer
    redline.convert(1e6, "mu")              # 1500.0
"""

__version__ = "0.1.0"

from .analyses.change import ChangeResult, change
from .analyses.conflicts import ConflictResult, conflicts
from .analyses.indicators import (
    PreparedLayer,
    check_quotas,
    landuse_indicators,
    layer_shares,
    ledger,
    load_class_map,
    prepare_layer,
)
from .analyses.landcover import landcover_areas
from .analyses.monitor import MonitorResult, load_transitions, monitor
from .analyses.scorecard import evaluate, load_recipe
from .analyses.screening import ScreeningResult, load_rules, screen
from .area import UNITS, convert, covered_area, dissolve, ellipsoidal_area, plane_area
from .catalog import LayerKind, load_catalog
from .crs import CGCS2000, describe_crs, gk_crs, guess_crs
from .errors import (
    CatalogError,
    CRSError,
    FieldError,
    GeometryError,
    LayerNotFoundError,
    LayerReadError,
    OutputError,
    RedlineError,
)
from .io import LayerRead, ReadReport, list_layers, open_raster, read_layer, reproject, write_layer
from .workspace import load_workspace, run_indicators

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
    "ledger",
    "prepare_layer",
    "PreparedLayer",
    "landuse_indicators",
    "load_class_map",
    "check_quotas",
    "landcover_areas",
    "load_recipe",
    "evaluate",
    "load_workspace",
    "run_indicators",
    "open_raster",
    "FieldError",
    "screen",
    "load_rules",
    "ScreeningResult",
    "conflicts",
    "ConflictResult",
    "change",
    "ChangeResult",
    "monitor",
    "MonitorResult",
    "load_transitions",
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
