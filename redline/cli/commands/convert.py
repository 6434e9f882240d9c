"""``redline convert``: a layer into another format (国土TXT, Shapefile, GeoPackage, DXF, KML, GeoJSON …)."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import json_option, lang_option, read_options
from ..output import console, dumps, print_notes
from ...text import t


@click.command()
@click.argument("src", metavar="IN", type=click.Path(path_type=Path))
@click.argument("out", metavar="OUT", type=click.Path(path_type=Path))
@click.option("--id-field", help="Column that becomes each feature's id (地块编号 of a TXT, the name in a KML).")
@click.option("--encoding", help="Text encoding of IN when it is not detected right (GBK, GB18030, UTF-8).")
@click.option("--out-encoding", help="Text encoding of OUT (国土TXT and Shapefile: GBK unless given).")
@read_options("IN")
@lang_option
@json_option
def convert(src, out, id_field, encoding, out_encoding, read, lang, as_json):
    """Convert a layer between formats: 国土TXT (.txt), Shapefile (GBK .cpg), GeoPackage, DXF, KML/KMZ, GeoJSON,
    FlatGeobuf, GeoParquet.

    The layer is read and checked as every command reads it (CRS, repair, the 国土TXT's declared areas); the
    output's format follows its suffix. A 国土TXT is written in its Gauss-Krüger zone (X = northing, Y = easting
    with the 带号 prefix), GBK, with each 地块's ellipsoidal area in 公顷.

    \b
    Examples:
      redline convert data/qianjiang/sites.txt sites.gpkg
      redline convert screening.gpkg:encroachments encroachments.txt
      redline convert drawing.dxf redline.kml --crs EPSG:4524
    """
    from ...jobs.convert import convert_job  # the job loads GDAL: only when the command runs

    run = convert_job(src, out, read=read, encoding=encoding, out_encoding=out_encoding, id_field=id_field)
    if as_json:
        click.echo(dumps({"out": str(run.out), "features": run.features, "notes": run.notes}))
        return
    con = console()
    print_notes(con, run.notes)
    con.print(f"{t('cli.written', lang)} {run.out} ({run.features:,} features)", markup=False)
