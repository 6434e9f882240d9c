"""``redline screen``: project footprints against the control lines, a verdict per project."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..options import engine_options, json_option, lang_option, parse_buffers, parse_layer_specs, read_options
from ..output import console, dumps, job_progress, landuse_table, print_notes, print_written, say, verdict_table

#: Exit code of ``redline screen --fail-on`` when a project's verdict reaches the threshold.
SCREEN_FAIL_EXIT = 3


@click.command()
@click.argument("projects", type=click.Path(path_type=Path))
@click.option("--layer", "layer_specs", multiple=True, required=True, callback=parse_layer_specs, metavar="KIND=PATH",
              help="A control-line layer of a catalog kind (repeat), e.g. eco_redline=data/eco_redline.gpkg.")
@click.option("--boundary", type=click.Path(path_type=Path), help="District boundary: report footprints outside it.")
@click.option("--id-field", help="Project id field (default: project_id, id, name, 编号, 名称).")
@click.option("--category-field", help="Project category field (default: category, 类别, 项目类别, type).")
@click.option("--category", help="The category of every project (a rule-set code or label, e.g. energy or 能源), "
                                 "for files without a category field (a 国土TXT).")
@click.option("--buffers", callback=parse_buffers, metavar="M,M,...",
              help="Buffer rings in metres (default from the rule set: 500,1000,5000; 0 for none).")
@click.option("--line-width", type=click.FloatRange(min=0, min_open=True),
              help="Width (m) of line projects without width_m.")
@click.option("--point-radius", type=click.FloatRange(min=0, min_open=True),
              help="Radius (m) of point projects without radius_m.")
@click.option("--rules", type=click.Path(path_type=Path), help="Screening rule set (TOML); default the bundled one.")
@click.option("--landuse", type=click.Path(path_type=Path),
              help="三调 land-use layer: what land each project occupies (农用地/建设用地/未利用地, 耕地).")
@click.option("--landuse-field", help="Class-code field of --landuse (default: DLBM, dlbm, 地类编码).")
@click.option("--ownership-field", help="权属性质 field of --landuse (e.g. QSXZ): the land split by 国有/集体.")
@click.option("--out", type=click.Path(path_type=Path),
              help="GeoPackage with the layers projects, encroachments, buffers.")
@click.option("--table", "table_path", type=click.Path(path_type=Path), help="Table of project × kind (.csv or .xlsx).")
@click.option("--fail-on", type=click.Choice(["prohibited", "conditional", "restricted"]),
              help=f"Exit with code {SCREEN_FAIL_EXIT} when a verdict is this severe or worse.")
@engine_options("dask: chunks of projects screened on a Dask cluster (same results).")
@read_options()
@lang_option
@json_option
def screen(projects, layer_specs, boundary, id_field, category_field, category, buffers, line_width, point_radius,
           rules, landuse, landuse_field, ownership_field, out, table_path, fail_on, engine, workers, scheduler, read,
           lang, as_json):
    """Screen project footprints against control lines: overlaps, distances, rings and verdicts.

    \b
    PROJECTS: GeoPackage, Shapefile, GeoJSON, 国土TXT (.txt), DXF, KML/KMZ, a coordinate table (.csv, .xlsx),
    FileGDB (PATH.gdb:LAYER) …

    \b
    Example:
      redline screen data/qianjiang/projects.geojson \\
        --layer eco_redline=data/qianjiang/eco_redline.gpkg \\
        --layer basic_farmland=data/qianjiang/basic_farmland.gpkg \\
        --layer urban_boundary=data/qianjiang/urban_boundary.gpkg --out screening.gpkg
    """
    from ...jobs.screen import screen_job  # the job loads GDAL: only when the command runs

    with job_progress(as_json, "screening") as progress:
        run = screen_job(projects, layer_specs, boundary=boundary, id_field=id_field, category_field=category_field,
                         buffers=buffers, line_width=line_width, point_radius=point_radius, rules=rules, out=out,
                         table_path=table_path, fail_on=fail_on, engine=engine, workers=workers, scheduler=scheduler,
                         lang=lang, progress=progress, read=read, landuse=landuse, landuse_field=landuse_field,
                         ownership_field=ownership_field, category=category)
    if as_json:
        data = run.result.to_json()
        if fail_on:
            data.update(failed=run.failure is not None, failure=run.failure)
        click.echo(dumps(data))
    else:
        con = console()
        con.print(verdict_table(run.result, lang))
        if run.result.landuse is not None:
            con.print(landuse_table(run.result, lang))
        print_notes(con, run.result.notes)
        print_written(con, run.written, lang)
    if run.failure is not None:
        say(f"redline: {run.failure}")
        sys.exit(SCREEN_FAIL_EXIT)
