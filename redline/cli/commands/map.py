"""``redline map``: the one map (一张图) as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import click

from ...errors import register_secret
from ..options import map_inputs, read_options
from ..output import console, job_progress, print_notes
from ...text import t


def district_workspace(workspace, boundary, layer_specs, units, by, **more):
    """The district's files from the workspace and the options; a boundary is needed (else a usage error)."""
    from ...jobs.common import district_workspace as merged  # the jobs load GDAL: only when the command runs

    ws = merged(workspace, boundary=boundary, layers=layer_specs, units=units, by=by, **more)
    if ws.boundary is None:
        raise click.UsageError("no boundary given: use --boundary PATH or a workspace with 'boundary'")
    return ws


@click.command("map")
@map_inputs
@click.option("--out", type=click.Path(path_type=Path), default=Path("map.html"), show_default=True,
              help="The map: one self-contained HTML file (large layers as image tiles in OUT's stem + _files/).")
@read_options()
def map_(workspace, boundary, layer_specs, units, by, projects, basemap, tianditu_key, title, lang, out, read):
    """The one map (一张图): control lines styled from the catalog, projects by verdict, as one HTML file.

    \b
    Examples:
      redline map --workspace data/qianjiang/workspace.toml --projects data/qianjiang/projects.geojson --out map.html
      redline map --boundary data/qianjiang/boundary.gpkg --layer eco_redline=data/qianjiang/eco_redline.gpkg \\
          --basemap none --out redline-offline.html
    """
    from ...jobs.map import map_job

    register_secret(tianditu_key)
    ws = district_workspace(workspace, boundary, layer_specs, units, by)
    with job_progress(False, "map") as progress:
        run = map_job(ws, out, projects=projects, basemap=basemap, tianditu_key=tianditu_key, title=title,
                      lang=lang, read_projects=read, progress=progress)
    con = console()
    print_notes(con, run.notes)
    con.print(f"{t('cli.written', lang)} {out} ({run.size / 1e6:.1f} MB)", markup=False)
