"""redline — territorial-spatial constraint analysis for China on CGCS2000.

The functions a notebook user needs::

    import redline
    gdf, report = redline.read_layer("data/qianjiang/eco_redline.gpkg", geometry="polygon")
    redline.ellipsoidal_area(gdf)           # m² per feature, on the CGCS2000 ellipsoid
    redline.covered_area(gdf)               # m² of the dissolved layer
    redline.convert(1e6, "mu")              # 1500.0
"""

__version__ = "0.1.0"

# The public names and the module each lives in. They are imported on first use (PEP 562), so that
# ``import redline`` and the command line start fast and Ctrl-C during start-up stops cleanly.
_EXPORTS = {
    "ChangeResult": ".analyses.change",
    "change": ".analyses.change",
    "ConflictResult": ".analyses.conflicts",
    "conflicts": ".engines",
    "PreparedLayer": ".analyses.indicators",
    "check_quotas": ".analyses.indicators",
    "landuse_indicators": ".analyses.indicators",
    "layer_shares": ".engines.local",
    "ledger": ".engines.local",
    "load_class_map": ".specs.classes",
    "prepare_layer": ".analyses.indicators",
    "landcover_areas": ".analyses.landcover",
    "MonitorResult": ".analyses.monitor",
    "load_transitions": ".specs.transitions",
    "monitor": ".analyses.monitor",
    "evaluate": ".analyses.scorecard",
    "load_recipe": ".specs.recipe",
    "ScreeningResult": ".analyses.screening",
    "load_rules": ".specs.rules",
    "screen": ".engines",
    "UNITS": ".geometry.area",
    "convert": ".geometry.area",
    "covered_area": ".geometry.area",
    "dissolve": ".geometry.area",
    "ellipsoidal_area": ".geometry.area",
    "plane_area": ".geometry.area",
    "LayerKind": ".specs.catalog",
    "load_catalog": ".specs.catalog",
    "CGCS2000": ".geometry.crs",
    "describe_crs": ".geometry.crs",
    "gk_crs": ".geometry.crs",
    "guess_crs": ".geometry.crs",
    "CatalogError": ".errors",
    "CRSError": ".errors",
    "FieldError": ".errors",
    "GeometryError": ".errors",
    "LayerNotFoundError": ".errors",
    "LayerReadError": ".errors",
    "OutputError": ".errors",
    "InputError": ".errors",
    "EngineError": ".errors",
    "RedlineError": ".errors",
    "LayerRead": ".io",
    "ReadReport": ".io",
    "list_layers": ".io",
    "open_raster": ".io",
    "read_layer": ".io",
    "reproject": ".io",
    "write_layer": ".io",
    "load_workspace": ".specs.workspace",
    "run_indicators": ".jobs.indicators",
}

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
    "InputError",
    "EngineError",
]


def __getattr__(name: str):
    from importlib import import_module
    from importlib.util import find_spec

    module = _EXPORTS.get(name)
    if module is None:  # a submodule used as an attribute: ``import redline; redline.maps.build_map``
        if not name.startswith("_") and find_spec(f"{__name__}.{name}") is not None:
            return import_module(f".{name}", __name__)
        raise AttributeError(f"module 'redline' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # the next lookup doesn't come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
