"""``redline partition``: a large layer split into a directory of GeoParquet files, streaming."""

from __future__ import annotations

from pathlib import Path

import pyogrio

from ..errors import InputError
from ..io.partition import Partition, check_target, partition_layer
from .common import refuse_overwrite

__all__ = ["partition_job", "feature_count"]


def feature_count(layer) -> int | None:
    """The number of features GDAL reports for ``layer`` (None for GeoParquet, or when GDAL can't count)."""
    try:
        return pyogrio.read_info(layer).get("features")
    except Exception:  # noqa: BLE001 — a bar without a total
        return None


def partition_job(layer, out, *, by=None, grid_km=None, batch_size: int = 65_536, progress=None) -> list[Partition]:
    """Check ``out`` (a new folder, not an input), then split ``layer`` by the field ``by`` or in ``grid_km``
    tiles; ``progress(description, done, total)`` (optional) counts the features written."""
    if (by is None) == (grid_km is None):
        raise InputError("give --by FIELD or --grid KM (one of the two)")
    refuse_overwrite([out], [layer], folder=True)
    check_target(out)
    if progress is None:
        return partition_layer(layer, out, by=by, grid_km=grid_km, batch_size=batch_size)
    total, what = feature_count(layer), f"partition {Path(layer).name}"
    return partition_layer(layer, out, by=by, grid_km=grid_km, batch_size=batch_size,
                           progress=lambda n: progress(what, n, total))
