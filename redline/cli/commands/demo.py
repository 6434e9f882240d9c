"""``redline demo``: the main job on the bundled sample county (黔江区, synthetic control lines)."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import BASEMAPS, json_option, lang_option
from ..output import check_table, console, dumps, landuse_table, print_files, print_tables, verdict_table
from ...text import t


def print_demo(result, files, lang: str) -> None:
    """The layer checks, the district, the scorecard and shares, the verdicts, the first table of each of the
    conflicts, change and monitoring, then the files written."""
    con = console()
    con.print(check_table(result.checks, lang))
    con.print(t("cli.district", lang, name=result.district_name, km2=result.boundary_m2 / 1e6))
    tables = result.indicators.tables(lang)
    shown = (t("jobs.tables.scorecard", lang), t("jobs.tables.shares", lang))
    print_tables({k: tables[k] for k in shown if k in tables}, [], lang)
    if getattr(result, "screening", None) is not None:
        con.print(verdict_table(result.screening, lang, brief=True))
    if getattr(result, "sites", None) is not None:
        from ...jobs.demo import SAMPLE_SITES

        con.print(verdict_table(result.sites, lang, brief=True, title=t("cli.screen.title_sites", lang,
                                                                          file=SAMPLE_SITES)))
        if result.sites.landuse is not None:
            con.print(landuse_table(result.sites, lang))
    extra = {}
    for part in ("conflicts", "change", "monitor"):  # issue 6: the first table of each
        res = getattr(result, part, None)
        if res is not None:
            extra.update(dict([next(iter(res.tables(lang).items()))]))
    if extra:
        print_tables(extra, [], lang)
    print_files(files, result.notes, lang)


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("redline-demo"), show_default=True,
              help="Directory for the results.")
@lang_option
@json_option
@click.option("--basemap", type=click.Choice(BASEMAPS), default="osm",
              show_default=True, help="Basemap of map.html; 'none' for offline use.")
def demo(out, lang, as_json, basemap):
    """Run the main job on the bundled sample county (黔江区, synthetic control lines).

    Checks the sample layers, measures the indicators and the plan scorecard, screens the sample
    projects, and writes the map, the static maps, the report (HTML and Word), the tables and a
    QGIS-styled GeoPackage into the output folder.

    \b
    Example:
      redline demo --out demo-results
    """
    from ...jobs.demo import demo_job  # the job loads GDAL: only when the command runs

    result, files = demo_job(out, lang, basemap=basemap, progress=not as_json)
    if as_json:
        click.echo(dumps(result.to_json()))
        return
    print_demo(result, files, lang)
