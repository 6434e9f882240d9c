"""``redline change``: a layer's version-to-version change (面积不减少、性质不改变)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..options import json_option, lang_option, need_by, units_options
from ..output import dumps, job_progress, print_tables, say

#: Exit code of ``redline change --no-decrease`` when the area decreased (1 = bad input, 3 = screen --fail-on).
CHANGE_DECREASE_EXIT = 4


def check_gate_options(units, by, no_decrease, strict) -> None:
    """``--strict`` goes with ``--no-decrease`` and needs the units; ``--units`` needs ``--by``."""
    need_by(units, by)
    if strict and not no_decrease:
        raise click.UsageError("--strict goes with --no-decrease")
    if strict and units is None:
        raise click.UsageError("--strict needs --units and --by (it checks every unit)")


@click.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--key", help="Feature id field in both versions: features matched as new/removed/reshaped/attributes.")
@units_options
@click.option("--tolerance", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="m²: smaller geometry differences are no reshape, smaller losses no decrease.")
@click.option("--no-decrease", is_flag=True,
              help=f"Exit with code {CHANGE_DECREASE_EXIT} when the total area decreased (面积不减少).")
@click.option("--strict", is_flag=True, help="With --no-decrease: also when any unit's area decreased.")
@click.option("--out", type=click.Path(path_type=Path), help="GeoPackage with the layers added and removed.")
@click.option("--table", "table_path", type=click.Path(path_type=Path), help="Tables to .xlsx, .md or .csv.")
@lang_option
@json_option
def change(old, new, key, units, by, tolerance, no_decrease, strict, out, table_path, lang, as_json):
    """Version-to-version change of a layer (面积不减少、性质不改变): area added, removed, unchanged.

    \b
    Example:
      redline change data/qianjiang/eco_redline.gpkg data/qianjiang/eco_redline_v2.gpkg --key hx_id \\
        --units data/qianjiang/townships.gpkg --by name --no-decrease --out change.gpkg
    """
    from ...jobs.change import change_job  # the job loads GDAL: only when the command runs

    check_gate_options(units, by, no_decrease, strict)
    with job_progress(as_json, "reading") as progress:
        run = change_job(old, new, key=key, units=units, by=by, tolerance=tolerance, no_decrease=no_decrease,
                         strict=strict, out=out, table_path=table_path, lang=lang, progress=progress)
    if as_json:
        data = run.result.to_json()
        if no_decrease:
            data.update(failed=run.failure is not None, failure=run.failure)
        click.echo(dumps(data))
    else:
        print_tables(run.result.tables(lang), run.result.notes, lang, run.written)
    if run.failure is not None:
        say(f"redline: {run.failure}")
        sys.exit(CHANGE_DECREASE_EXIT)
