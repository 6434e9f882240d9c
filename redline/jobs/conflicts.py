"""``redline conflicts``: the overlaps between pairs of control lines (三条控制线不交叉不重叠), found and written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import engines
from ..analyses.conflicts import ConflictResult
from .common import read_polygons, refuse_overwrite, write_result

__all__ = ["ConflictsRun", "conflicts_job"]


@dataclass
class ConflictsRun:
    """What a conflicts run gave: the result and the files written."""

    result: ConflictResult
    written: list[Path] = field(default_factory=list)


def conflicts_job(layer_specs: dict, pairs=None, *, boundary=None, units=None, by=None, min_area: float = 1.0,
                  min_width: float = 2.0, out=None, table_path=None, engine: str = "local", workers=None,
                  scheduler=None, cell_km: float = 20.0, lang: str = "zh", progress=None) -> ConflictsRun:
    """Check the outputs and the engine options, read the layers (on Dask the workers read them, each a part), the
    boundary and the units, find the conflicts and write ``out`` (GeoPackage) and ``table_path``.

    ``progress(description, done, total)`` (optional) follows the reads and the Dask tasks."""
    refuse_overwrite([out, table_path], [*layer_specs.values(), boundary, units])
    engines.check_engine(engine, workers, scheduler)
    items = {} if engine == "dask" else dict(layer_specs)
    items.update({k: v for k, v in (("(boundary)", boundary), ("(units)", units)) if v is not None})
    read, notes = read_polygons(items, progress)
    options = dict(boundary=read.get("(boundary)"), units=read.get("(units)"), by=by, min_area=min_area,
                   min_width=min_width)
    layers = layer_specs if engine == "dask" else {k: read[k] for k in layer_specs}  # on Dask the workers read
    tasks = (lambda done, total: progress("conflicts", done, total)) if progress is not None else None
    result = engines.conflicts(layers, pairs, engine=engine, workers=workers, scheduler=scheduler, cell_km=cell_km,
                               progress=tasks, **options)
    result.notes[:0] = notes
    return ConflictsRun(result, write_result(result, out, table_path, lang))
