"""``redline indicators``: shares of each control line, the ledger by unit, land-use indicators, quotas."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import engine_options, indicator_inputs
from ..output import dumps, job_progress, print_tables


def refuse_csv_without_scorecard(outputs, recipe) -> None:
    """A CSV holds the scorecard only: refused before any work when there is no recipe to make one."""
    for path in outputs:
        if path.suffix.lower() == ".csv" and not recipe:
            raise click.UsageError(f"{path}: a CSV holds the scorecard only; give --recipe, or use .xlsx/.md")


@click.command()
@indicator_inputs
@click.option("--recipe", type=click.Path(path_type=Path), help="Scorecard recipe TOML (targets), e.g. analyses/qianjiang-2025.toml.")
@engine_options("dask: the control-line areas taken cell by cell on a Dask cluster (same figures).",
                cell_help="Dask: cell size; units at most this wide are measured whole.")
def indicators(workspace, boundary, layer_specs, units, by, landuse, landuse_field, quotas, landcover, landcover_classes,
               outputs, lang, as_json, recipe, engine, workers, scheduler, cell_km):
    """Area indicators: shares of each control line, the ledger by unit, land-use indicators, quotas.

    \b
    Examples:
      redline indicators --boundary data/qianjiang/boundary.gpkg \\
          --layer eco_redline=data/qianjiang/eco_redline.gpkg --layer nature_reserve=data/qianjiang/nature_reserve.gpkg
      redline indicators --workspace data/qianjiang/workspace.toml --recipe analyses/qianjiang-2025.toml --out ledger.xlsx
    """
    from ...jobs.indicators import indicators_job  # the job loads GDAL: only when the command runs

    refuse_csv_without_scorecard(outputs, recipe)
    with job_progress(as_json, "measuring") as progress:
        report = indicators_job(workspace, recipe=recipe, outputs=outputs, lang=lang, engine=engine, workers=workers,
                                scheduler=scheduler, cell_km=cell_km, progress=progress, boundary=boundary,
                                layers=layer_specs, units=units, by=by,
                                landuse=landuse, landuse_field=landuse_field, quotas=quotas, landcover=landcover,
                                landcover_classes=landcover_classes)
    if as_json:
        click.echo(dumps(report.to_json()))
    else:
        print_tables(report.tables(lang), report.notes, lang, outputs)
