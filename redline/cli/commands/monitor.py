"""``redline monitor``: human activity in a protected layer from two land-cover rasters (人类活动遥感监测)."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import json_option, lang_option, need_by, parse_layer_specs, units_options
from ..output import dumps, job_progress, print_tables


@click.command()
@click.option("--before", type=click.Path(path_type=Path), required=True, help="Classified raster, earlier date.")
@click.option("--after", type=click.Path(path_type=Path), required=True, help="Classified raster, later date.")
@click.option("--within", "within_spec", required=True, metavar="KIND=PATH",
              help="The protected layer, e.g. eco_redline=data/qianjiang/eco_redline.gpkg.")
@click.option("--class-map", type=click.Path(path_type=Path), help="Class names of the rasters (default: ESA WorldCover).")
@click.option("--transitions", type=click.Path(path_type=Path),
              help="Transitions that count as human activity (TOML; default: to built-up, to bare, forest to cropland).")
@click.option("--min-patch", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Patches below this area (m²) are dropped and counted.")
@units_options
@click.option("--out", type=click.Path(path_type=Path), help="GeoPackage of the patches.")
@click.option("--table", "table_path", type=click.Path(path_type=Path), help="Tables to .xlsx, .md or .csv.")
@lang_option
@json_option
def monitor(before, after, within_spec, class_map, transitions, min_patch, units, by, out, table_path, lang, as_json):
    """Human activity inside a protected layer from two land-cover rasters (人类活动遥感监测).

    \b
    Example:
      redline monitor --before data/qianjiang/landcover_2020.tif --after data/qianjiang/landcover_2024.tif \\
        --within eco_redline=data/qianjiang/eco_redline.gpkg --min-patch 5000 --out patches.gpkg
    """
    from ...jobs.monitor import monitor_job  # the job loads GDAL: only when the command runs

    need_by(units, by)
    kind, within = next(iter(parse_layer_specs(None, None, [within_spec]).items()))
    with job_progress(as_json, "reading") as progress:
        run = monitor_job(before, after, kind, within, class_map=class_map, transitions=transitions,
                          min_patch=min_patch, units=units, by=by, out=out, table_path=table_path, lang=lang,
                          progress=progress)
    if as_json:
        data = run.result.to_json()
        data.update({"within": kind})
        click.echo(dumps(data))
    else:
        print_tables(run.result.tables(lang), run.result.notes, lang, run.written)
