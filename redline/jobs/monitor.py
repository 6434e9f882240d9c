"""``redline monitor``: human activity in a protected layer from two land-cover rasters (人类活动遥感监测)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..analyses.landcover import load_raster_classes
from ..analyses.monitor import MonitorResult, load_transitions, monitor
from ..io import open_raster
from .common import read_polygons, refuse_overwrite, write_result

__all__ = ["MonitorRun", "monitor_job"]


@dataclass
class MonitorRun:
    """What a monitoring run gave: the result and the files written."""

    result: MonitorResult
    written: list[Path] = field(default_factory=list)


def monitor_job(before, after, kind: str, within, *, class_map=None, transitions=None, min_patch: float = 0.0,
                units=None, by=None, out=None, table_path=None, lang: str = "zh", progress=None) -> MonitorRun:
    """Check the outputs, the class map and the transitions, read the protected layer ``within`` (of ``kind``)
    and the units, compare the rasters and write ``out`` (GeoPackage) and ``table_path``.

    ``progress(description, done, total)`` (optional) follows the reads and says when the rasters are compared."""
    refuse_overwrite([out, table_path], [before, after, within, units])
    cmap = load_raster_classes(class_map) if class_map is not None else None
    rules = load_transitions(transitions, classes=cmap or load_raster_classes())
    items = {kind: within, **({"(units)": units} if units is not None else {})}
    read, notes = read_polygons(items, progress)
    with open_raster(before) as b, open_raster(after) as a:
        options = dict(transitions=rules, class_map=cmap, units=read.get("(units)"), by=by, min_patch=min_patch)
        if progress is not None:
            progress("comparing rasters and vectorising patches", None, None)
        result = monitor(b, a, read[kind], **options)
    result.notes[:0] = notes
    return MonitorRun(result, write_result(result, out, table_path, lang))
