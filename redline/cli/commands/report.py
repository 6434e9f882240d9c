"""``redline report``: everything to hand on, in one folder."""

from __future__ import annotations

from pathlib import Path

import click

from ...errors import register_secret
from ..options import json_option, map_inputs, read_options
from ..output import dumps, job_progress, print_files
from .map import district_workspace


@click.command()
@map_inputs
@click.option("--landuse", type=click.Path(path_type=Path), help="Land-use layer with 三调 class codes.")
@click.option("--quotas", type=click.Path(path_type=Path), help="CSV of per-unit quotas.")
@click.option("--recipe", type=click.Path(path_type=Path), help="Scorecard recipe TOML.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("redline-report"), show_default=True,
              help="Output folder.")
@read_options()
@json_option
def report(workspace, boundary, layer_specs, units, by, projects, basemap, tianditu_key, title, lang, landuse, quotas,
           recipe, out, read, as_json):
    """Everything to hand on: report.html, report.docx, map.html, maps/*.png, indicators.xlsx, results.gpkg.

    \b
    Example:
      redline report --workspace data/qianjiang/workspace.toml --projects data/qianjiang/projects.geojson \\
          --recipe analyses/qianjiang-2025.toml --out report-qianjiang
    """
    from ...jobs.report import report_job  # the job loads GDAL: only when the command runs

    register_secret(tianditu_key)
    ws = district_workspace(workspace, boundary, layer_specs, units, by, landuse=landuse, quotas=quotas)
    with job_progress(as_json, "building") as progress:
        built = report_job(ws, out, projects=projects, recipe=recipe, lang=lang, basemap=basemap,
                           tianditu_key=tianditu_key, title=title, progress=progress, read_projects=read)
    if as_json:
        click.echo(dumps({"files": [str(p) for p in built.files], "notes": built.notes}))
        return
    print_files(built.files, built.notes, lang)
