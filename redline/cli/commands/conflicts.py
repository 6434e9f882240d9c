"""``redline conflicts``: three-line conflicts (三条控制线不交叉不重叠), the overlaps between pairs of layers."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import (engine_options, json_option, lang_option, need_by, parse_layer_specs, parse_pairs,
                       units_options)
from ..output import dumps, job_progress, print_tables


@click.command()
@click.option("--layer", "layer_specs", multiple=True, required=True, callback=parse_layer_specs, metavar="KIND=PATH",
              help="A control-line layer of a catalog kind (repeat; at least two).")
@click.option("--pair", "pairs", multiple=True, callback=parse_pairs, metavar="KIND,KIND",
              help="A pair to check (repeat); default: eco_redline × basic_farmland, eco_redline × urban_boundary, "
                   "basic_farmland × urban_boundary (those given).")
@click.option("--boundary", type=click.Path(path_type=Path), help="District boundary: conflicts are clipped to it.")
@units_options
@click.option("--min-area", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Pieces below this ellipsoidal area (m²) are slivers.")
@click.option("--min-width", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Pieces thinner than this (m) are slivers (digitising noise).")
@click.option("--out", type=click.Path(path_type=Path), help="GeoPackage with the layers conflicts and slivers.")
@click.option("--table", "table_path", type=click.Path(path_type=Path), help="Tables to .xlsx, .md or .csv.")
@engine_options("dask: the overlaps found cell by cell on a Dask cluster (the same pieces).",
                cell_help="Dask: cell size; a piece larger than a cell is found whole in a box grown around it.")
@lang_option
@json_option
def conflicts(layer_specs, pairs, boundary, units, by, min_area, min_width, out, table_path, engine, workers, scheduler,
              cell_km, lang, as_json):
    """Three-line conflicts (三条控制线不交叉不重叠): every overlap between pairs of layers.

    \b
    Example:
      redline conflicts --layer eco_redline=data/qianjiang/eco_redline.gpkg \\
        --layer basic_farmland=data/qianjiang/basic_farmland.gpkg \\
        --layer urban_boundary=data/qianjiang/urban_boundary.gpkg \\
        --units data/qianjiang/townships.gpkg --by name --out conflicts.gpkg
      redline conflicts --layer eco_redline=eco_redline.parts --layer basic_farmland=farmland.parts \\
        --engine dask --workers 2 --cell-km 20
    """
    from ...jobs.conflicts import conflicts_job  # the job loads GDAL: only when the command runs

    need_by(units, by)
    if len(layer_specs) < 2:
        raise click.UsageError("give at least two --layer KIND=PATH")
    with job_progress(as_json, "reading") as progress:
        run = conflicts_job(layer_specs, pairs, boundary=boundary, units=units, by=by, min_area=min_area,
                            min_width=min_width, out=out, table_path=table_path, engine=engine, workers=workers,
                            scheduler=scheduler, cell_km=cell_km, lang=lang, progress=progress)
    if as_json:
        click.echo(dumps(run.result.to_json()))
    else:
        print_tables(run.result.tables(lang), run.result.notes, lang, run.written)
