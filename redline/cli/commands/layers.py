"""``redline layers check``: what is in each layer file and what was repaired."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..main import RedlineGroup
from ..options import json_option, lang_option, read_options
from ..output import check_details, check_table, console, dumps, one_line, say


@click.group(cls=RedlineGroup)
def layers():
    """Inspect layer files."""


@layers.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--encoding", help="Attribute encoding (GBK, GB18030, UTF-8); default: detected from the .dbf "
              "bytes (the .cpg when they agree).")
@click.option("--engine", type=click.Choice(["pyogrio", "fiona"]), default="pyogrio", show_default=True)
@click.option("--swap-xy", is_flag=True, help="Swap x and y (files written as lat/lon).")
@read_options("the layers")
@lang_option
@json_option
def layers_check(paths, encoding, engine, swap_xy, read, lang, as_json):
    """Read each layer and report what is in it and what was repaired.

    \b
    Example:
      redline layers check data/qianjiang/eco_redline.gpkg
      redline layers check data/qianjiang/townships_gk_gbk/townships_gk.shp --json
    """
    from ...jobs.check import check_layers  # the job loads GDAL: only when the command runs

    results = check_layers(paths, encoding=encoding, engine=engine, swap_xy=swap_xy, **read)
    failed = [r for r in results if "error" in r]
    if as_json:
        click.echo(dumps(results))
    else:
        for r in failed:
            say(f"redline: error: {one_line(r['error'])}")
        out = console()
        out.print(check_table(results, lang))
        check_details(out, results)
    if failed:
        sys.exit(1)
