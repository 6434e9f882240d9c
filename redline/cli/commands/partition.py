"""``redline partition``: a large layer split into a directory of GeoParquet files (one per county or tile)."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import json_option
from ..output import console, dumps, job_progress


@click.command()
@click.argument("layer", type=click.Path(path_type=Path))
@click.option("--by", "by_field", metavar="FIELD", help="One file per value of this field, e.g. a county code.")
@click.option("--grid", "grid_km", type=click.FloatRange(min=0, min_open=True), metavar="KM",
              help="One file per KM × KM tile of the features' box centres (in the layer's CRS).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="New directory for the partitions.")
@click.option("--batch-size", type=click.IntRange(min=1), default=65_536, show_default=True,
              help="Features read at a time: memory stays bounded by it.")
@json_option
def partition(layer, by_field, grid_km, out, batch_size, as_json):
    """Split a large layer into a directory of GeoParquet files (one per county or grid tile), streaming.

    The directory then stands for the layer anywhere a layer path goes; screening reads only the
    partitions near the projects.

    \b
    Example:
      redline partition farmland.gpkg --by XZQDM --out farmland.parts
      redline partition farmland.gpkg --grid 10 --out farmland.parts
    """
    from ...jobs.partition import partition_job  # the job loads GDAL: only when the command runs

    with job_progress(as_json, f"partition {layer.name}") as progress:
        parts = partition_job(layer, out, by=by_field, grid_km=grid_km, batch_size=batch_size, progress=progress)
    rows = sum(p.rows for p in parts)
    if as_json:
        click.echo(dumps({"out": str(out), "rows": rows, "partitions": [vars(p) for p in parts]}))
        return
    console().print(f"{out}: {rows:,} features in {len(parts)} partitions "
                    f"(largest {max((p.rows for p in parts), default=0):,})", markup=False)
