"""``redline scorecard``: each indicator of a recipe, target against measured value, 达标 / 未达标."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import indicator_inputs
from ..output import dumps, job_progress, print_tables


@click.command()
@indicator_inputs
@click.option("--recipe", type=click.Path(path_type=Path), required=True, help="Scorecard recipe TOML (targets).")
def scorecard(workspace, boundary, layer_specs, units, by, landuse, landuse_field, quotas, landcover, landcover_classes,
              outputs, lang, as_json, recipe):
    """Plan scorecard: each indicator of a recipe, target vs measured value, 达标 / 未达标.

    \b
    Example:
      redline scorecard --recipe analyses/qianjiang-2025.toml --workspace data/qianjiang/workspace.toml --out scorecard.xlsx
    """
    from ...jobs.indicators import indicators_job, scorecard_key  # the job loads GDAL: only when the command runs

    with job_progress(as_json, "measuring") as progress:
        report = indicators_job(workspace, recipe=recipe, outputs=outputs, lang=lang, per_unit=False,
                                progress=progress, boundary=boundary, layers=layer_specs, landuse=landuse,
                                landuse_field=landuse_field, landcover=landcover, landcover_classes=landcover_classes)
    if as_json:
        click.echo(dumps({"scorecard": report.to_json()["scorecard"], "recipe": report.recipe.title}))
        return
    key = scorecard_key(lang)
    print_tables({key: report.tables(lang)[key]}, report.notes, lang, outputs)
