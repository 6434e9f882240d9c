"""Reading, validating, repairing and writing layers: the only room that opens files.

One module per concern:

- :mod:`~redline.io.sources` — paths, layer names, the checks of a source before it is opened, GDAL's messages;
- :mod:`~redline.io.encoding` — the attribute encoding (``.dbf`` bytes, ``.cpg``, GBK GeoJSON);
- :mod:`~redline.io.limits` — how much a read may load into memory;
- :mod:`~redline.io.read` — :func:`read_layer`: CRS, dropped and repaired features, all in a :class:`ReadReport`;
- :mod:`~redline.io.write` — atomic outputs, protected inputs, stale temporaries, :func:`write_layer`;
- :mod:`~redline.io.tables`, :mod:`~redline.io.raster`, :mod:`~redline.io.provenance`;
- :mod:`~redline.io.postgis` and :mod:`~redline.io.partition` — PostGIS tables and partitioned layers.

The names below are the room's API, importable from ``redline.io`` as before the split.
"""

from ..geometry.footprints import check_project_ids, prepare_projects
from ..specs.schema import read_toml
from .encoding import detect_encoding, read_info
from .info import layer_info
from .limits import MAX_FEATURES_ENV, MAX_MEMORY_ENV, estimate_memory
from .provenance import file_sha256
from .raster import open_raster
from .read import LayerCache, LayerRead, ReadReport, dropped_note, read_layer, reproject
from .sources import list_layers, split_layer_spec  # noqa: F401
from .tables import format_number, read_table, write_tables
from .write import (
    atomic_folder,
    atomic_output,
    atomic_page,
    check_output,
    clean_stale_temporaries,
    output_error,
    protect_inputs,
    register_input,
    source_files,
    write_layer,
    write_layers,
    write_styled_gpkg,
)

# helpers the tests call
from .write import _host, _process_start  # noqa: E402,F401

__all__ = [
    "ReadReport",
    "LayerRead",
    "read_layer",
    "list_layers",
    "detect_encoding",
    "reproject",
    "write_layer",
    "atomic_output",
    "atomic_page",
    "atomic_folder",
    "check_output",
    "output_error",
    "clean_stale_temporaries",
    "read_table",
    "read_toml",
    "open_raster",
    "write_tables",
    "format_number",
    "write_styled_gpkg",
    "write_layers",
    "file_sha256",
    "LayerCache",
    "protect_inputs",
    "register_input",
    "check_project_ids",
    "dropped_note",
    "prepare_projects",
    "MAX_FEATURES_ENV",
    "MAX_MEMORY_ENV",
    "estimate_memory",
    "layer_info",
    "read_info",
    "source_files",
]
