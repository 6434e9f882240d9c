"""The one-machine engine for layers given by path: read, then measured in memory.

:func:`local_measure` is a ``measure`` for :func:`redline.layer_shares` and :func:`redline.ledger` that reads a
layer given by its path (:func:`redline.io.read_layer`) before measuring it as the analyses do in memory
(:func:`redline.analyses.indicators.measure_in_memory`) — the analyses themselves never open a file.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from ..analyses import indicators
from ..analyses.indicators import PreparedLayer, measure_in_memory
from ..io import read_layer

__all__ = ["layer_shares", "ledger", "local_measure"]


def local_measure(layer, zone_field: str | None, polys, crs, whole: bool = True
                  ) -> list[tuple[str | None, np.ndarray, float]]:
    """``measure`` on this machine: ``layer`` a GeoDataFrame, a :class:`~redline.analyses.indicators.PreparedLayer`
    or the path of a polygon layer (read whole)."""
    if not isinstance(layer, (gpd.GeoDataFrame, PreparedLayer)):
        layer = read_layer(layer, geometry="polygon")[0]
    return measure_in_memory(layer, zone_field, polys, crs, whole)


def layer_shares(*args, measure=None, **kwargs):
    """:func:`redline.analyses.indicators.layer_shares` run here, layers given by path read (``redline.layer_shares``)."""
    return indicators.layer_shares(*args, measure=measure or local_measure, **kwargs)


def ledger(*args, measure=None, **kwargs):
    """:func:`redline.analyses.indicators.ledger` run here, layers given by path read (``redline.ledger``)."""
    return indicators.ledger(*args, measure=measure or local_measure, **kwargs)
