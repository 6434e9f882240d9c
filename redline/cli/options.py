"""The options several commands share, each checked as it is parsed (before any file is read).

``--lang``, ``--json``, ``--layer KIND=PATH``, ``--buffers``, ``--pair``, ``--crs``, the engine options
(``--engine``, ``--workers``, ``--scheduler``, ``--cell-km``), the district's inputs (a workspace and the files
over it) and the units (``--units``, ``--by``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import click

from ..errors import RedlineError

__all__ = ["lang_option", "json_option", "parse_layer_specs", "parse_buffers", "parse_pairs", "check_crs",
           "engine_options", "read_options",
           "workspace_options", "indicator_inputs", "map_inputs", "units_options", "need_by", "BASEMAPS"]

#: Basemaps of the maps: OpenStreetMap, Tianditu (vector, imagery; a key), or none (offline).
BASEMAPS = ["osm", "tianditu_vec", "tianditu_img", "none"]

#: Where the language given before the command (``redline --lang en screen …``) is kept for the command's own.
ROOT_LANG = "redline.lang"


def default_lang() -> str:
    """A command's label language when its ``--lang`` is not given: the one given before the command, else
    ``REDLINE_LANG``, else Chinese."""
    ctx = click.get_current_context(silent=True)
    given = ctx.find_root().meta.get(ROOT_LANG) if ctx is not None else None
    if given in ("zh", "en"):
        return given
    return os.environ["REDLINE_LANG"] if os.environ.get("REDLINE_LANG") in ("zh", "en") else "zh"


lang_option = click.option(
    "--lang", type=click.Choice(["zh", "en"]), default=default_lang, show_default=False,
    help="Label language (default: zh; `redline --lang en COMMAND` or REDLINE_LANG=en sets it for every command)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def parse_layer_specs(ctx, param, values) -> dict[str, str]:
    """``--layer KIND=PATH`` (repeated) as ``{kind: path}``; a kind given twice with two paths is refused."""
    specs = {}
    for value in values:
        kind, sep, path = value.partition("=")
        if not sep or not kind or not path:
            raise click.BadParameter(f"{value!r}: expected KIND=PATH, e.g. eco_redline=redline.gpkg")
        kind = kind.strip()
        if kind in specs and specs[kind] != path:  # the second would silently replace the first
            raise click.BadParameter(f"{kind!r} given twice ({specs[kind]} and {path}); give one layer per kind — "
                                     f"merge the files first, or use another kind")
        specs[kind] = path
    return specs


def parse_buffers(ctx, param, value) -> tuple[float, ...] | None:
    """``--buffers 500,1000,5000`` as increasing positive distances; ``0``/``none`` for no rings."""
    if value is None:
        return None
    if value.strip().lower() in ("", "0", "none"):
        return ()
    try:
        rings = tuple(float(x) for x in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected distances in metres, e.g. 500,1000,5000") from None
    if any(r <= 0 for r in rings) or list(rings) != sorted(set(rings)):
        raise click.BadParameter(f"{value!r}: distances must be positive and increasing, e.g. 500,1000,5000")
    return rings


def parse_pairs(ctx, param, values):
    """``--pair KIND,KIND`` (repeated) as a list of pairs; None when none is given (the default pairs)."""
    found = []
    for value in values:
        a, sep, b = value.partition(",")
        if not sep or not a.strip() or not b.strip():
            raise click.BadParameter(f"{value!r}: expected KIND,KIND, e.g. eco_redline,basic_farmland")
        found.append((a.strip(), b.strip()))
    return found or None


def check_crs(ctx, param, value):
    """An option naming a CRS, refused before any file is read when it names none."""
    if value is None:
        return None
    from ..geometry.crs import to_crs  # pyproj loads its database: only when the option is given

    try:
        to_crs(value)
    except RedlineError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def engine_options(engine_help: str, cell_help: str | None = None):
    """The options ``--engine local|dask``, ``--workers``, ``--scheduler`` (and ``--cell-km`` with ``cell_help``)."""
    def decorate(func):
        if cell_help is not None:
            func = click.option("--cell-km", type=click.FloatRange(min=0, min_open=True), default=20.0,
                                show_default=True, help=cell_help)(func)
        func = click.option("--scheduler", metavar="ADDR",
                            help="Dask: an existing cluster's scheduler, e.g. tcp://10.0.0.5:8786.")(func)
        func = click.option("--workers", type=click.IntRange(min=1),
                            help="Dask: processes of the local cluster (default: cores).")(func)
        return click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
                            help=engine_help)(func)
    return decorate


def _apply(f, options: list):
    for option in reversed(options):
        f = option(f)
    return f


def workspace_options(units_help: str) -> list:
    """The options naming a district's files, shared by indicators, scorecard, map and report."""
    path = click.Path(path_type=Path)
    return [
        click.option("--workspace", type=path, help="Workspace TOML naming the inputs (options below override it)."),
        click.option("--boundary", type=path, help="District boundary (polygons)."),
        click.option("--layer", "layer_specs", multiple=True, callback=parse_layer_specs, metavar="KIND=PATH",
                     help="A control-line layer by catalog kind; repeat for each layer."),
        click.option("--units", type=path, help=units_help),
        click.option("--by", "by", help="Unit id/name field of --units."),
    ]


def indicator_inputs(f):
    """The input options shared by ``indicators`` and ``scorecard``."""
    path = click.Path(path_type=Path)
    return _apply(f, [
        *workspace_options("Units for the ledger (台账), e.g. townships."),
        click.option("--landuse", type=path, help="Land-use layer with 三调 class codes."),
        click.option("--landuse-field", help="Class-code field of --landuse (default: DLBM, dlbm, 地类编码)."),
        click.option("--quotas", type=path, help="CSV of per-unit quotas: unit, indicator, quota, quota_unit."),
        click.option("--landcover", type=path, help="Classified land-cover raster (e.g. ESA WorldCover GeoTIFF)."),
        click.option("--landcover-classes", type=path, help="Class map TOML of the raster (default: ESA WorldCover)."),
        click.option("--out", "outputs", multiple=True, type=path,
                     help="Write the tables to .xlsx (one sheet each), .md or .csv (scorecard only); repeatable."),
        lang_option,
        json_option,
    ])


def map_inputs(f):
    """Inputs of ``map`` and ``report``: a workspace and/or the files, the projects, the basemap."""
    path = click.Path(path_type=Path)
    return _apply(f, [
        *workspace_options("Townships, drawn as outlines (and the ledger in a report)."),
        click.option("--projects", type=path, help="Project footprints to screen and draw by verdict."),
        click.option("--basemap", type=click.Choice(BASEMAPS), default="osm",
                     show_default=True, help="Basemap; Tianditu needs a key, 'none' works offline."),
        click.option("--tianditu-key", envvar="TIANDITU_KEY", help="Tianditu key (or the TIANDITU_KEY variable)."),
        click.option("--title", help="Map / report title (default: from the boundary's name)."),
        lang_option,
    ])


def units_options(f):
    """``--units PATH --by FIELD``: per-unit rows (conflicts, change, monitor)."""
    f = click.option("--by", help="Unit id/name field of --units.")(f)
    return click.option("--units", type=click.Path(path_type=Path), help="Units for per-unit rows, e.g. townships.")(f)


def need_by(units, by) -> None:
    """``--units`` goes with ``--by``."""
    if units is not None and not by:
        raise click.UsageError("--units needs --by FIELD (the unit id/name field)")


def read_options(what: str = "the projects"):
    """The options saying how to read an input that needs more than its file: ``--crs`` (none in the file: DXF,
    a coordinate table without 带号), ``--gcj02``, ``--towgs84``, and a coordinate table's columns. The command
    receives them as one keyword ``read`` (keywords of :func:`redline.io.read_layer`)."""
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            from ..io.formats import CoordColumns, FormatOptions

            columns = CoordColumns(**{k: kwargs.pop(f"{k}_field") for k in ("x", "y", "point", "parcel", "ring")})
            crs = kwargs.pop("input_crs")
            options = FormatOptions(gcj02=kwargs.pop("gcj02"), towgs84=kwargs.pop("towgs84"), columns=columns)
            kwargs["read"] = {"crs": crs, "options": options} if crs else {"options": options}
            return func(*args, **kwargs)

        for option in reversed([
            click.option("--crs", "input_crs", callback=check_crs, metavar="CRS",
                         help=f"CRS of {what} when the file has none (DXF, coordinate tables), e.g. EPSG:4524."),
            click.option("--gcj02", is_flag=True,
                         help="Coordinates are GCJ-02 (奥维, 高德, Tencent maps): convert them to CGCS2000."),
            click.option("--towgs84", metavar="DX,DY,DZ,RX,RY,RZ,S", callback=_check_towgs84,
                         help="Seven parameters from Xi'an 1980 / Beijing 1954 to CGCS2000 (m, arc-seconds, ppm)."),
            click.option("--x-field", help="Coordinate table: the X (northing) or longitude column."),
            click.option("--y-field", help="Coordinate table: the Y (easting) or latitude column."),
            click.option("--point-field", help="Coordinate table: the point number (点号) column."),
            click.option("--parcel-field", help="Coordinate table: the parcel (地块) column, one polygon each."),
            click.option("--ring-field", help="Coordinate table: the ring (圈号) column."),
        ]):
            wrapper = option(wrapper)
        return wrapper
    return decorate


def _check_towgs84(ctx, param, value):
    if value is None:
        return None
    from ..geometry.crs import bind_towgs84

    try:
        bind_towgs84("EPSG:2383", value, "--towgs84")
    except RedlineError as exc:
        raise click.BadParameter(str(exc).removeprefix("--towgs84: ")) from None
    return value
