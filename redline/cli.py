"""The ``redline`` command line: thin commands over the library API.

Every command turns :class:`~redline.errors.RedlineError` into one line on
stderr and exit code 1; anything else is a bug and shows its traceback.
Every result is also available as JSON (``--json``).
"""

from __future__ import annotations

from contextlib import contextmanager

import errno
import json
import re
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .__main__ import interrupted
from .errors import InputError, RedlineError

__all__ = ["main", "cli"]

_err = Console(stderr=True, highlight=False)

LABELS = {
    "zh": {
        "file": "文件",
        "features": "要素数",
        "crs": "坐标系",
                "encoding": "编码",
        "types": "几何类型",
        "fixes": "修复/剔除",
        "area_km2": "面积(平方公里)",
        "layer": "图层",
        "area_ha": "面积(公顷)",
        "area_wanmu": "面积(万亩)",
        "share": "占比(%)",
        "outside": "界外(公顷)",
        "district": "{name} 面积 {km2:.2f} 平方公里 (CGCS2000 椭球面积)",
        "shares_title": "各控制线占辖区面积比例",
        "check_title": "图层检查",
        "written": "结果已写入",
    },
    "en": {
        "file": "file",
        "features": "features",
        "crs": "CRS",
                "encoding": "encoding",
        "types": "geometry",
        "fixes": "fixed/dropped",
        "area_km2": "area (km²)",
        "layer": "layer",
        "area_ha": "area (ha)",
        "area_wanmu": "area (10⁴ mu)",
        "share": "share (%)",
        "outside": "outside (ha)",
        "district": "{name}: {km2:.2f} km² (ellipsoidal, CGCS2000)",
        "shares_title": "Share of the district covered by each control line",
        "check_title": "Layer check",
        "written": "results written to",
    },
}

lang_option = click.option(
    "--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Label language."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _console() -> Console:
    """Standard output; when piped to a file, wide enough that tables are not cut."""
    con = Console(highlight=False)
    return con if con.is_terminal else Console(highlight=False, width=160)


def _progress(disable: bool = False):
    """A progress bar on stderr, shown only on a terminal (in a log or a pipe it would leave blank lines)."""
    from rich.progress import Progress

    return Progress(transient=True, console=_err, disable=disable or not _err.is_terminal)


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)


class RedlineGroup(click.Group):
    """A click group that prints RedlineError as one line and exits 1.

    While a command runs, every file it reads is protected: no output may overwrite it
    (:func:`redline.io.protect_inputs`). Messages never show a secret (:func:`redline.errors.redact`).
    """

    def invoke(self, ctx):
        from .io import protect_inputs

        try:
            with protect_inputs():
                return super().invoke(ctx)
        except RedlineError as exc:
            _fail(str(exc))
        except MemoryError:
            _fail("out of memory: the layers are too large for the in-memory engine; "
                  "split the layer by county (or tile) and use partitioned inputs")
        except KeyboardInterrupt:  # outputs under way have removed their temporary files by now
            interrupted()


class RedlineCommandLine(RedlineGroup):
    """The ``redline`` group: besides :class:`RedlineGroup`, every refusal of the argument parser (a bad option
    value, an unknown option or command, a missing argument) is the same one line and exit code 1 as any other bad
    input, instead of click's usage block and exit code 2. ``--help`` is unchanged."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            _fail(_usage_message(exc), exit=True)
        except click.ClickException as exc:
            _fail(exc.format_message(), exit=True)
        except (click.Abort, KeyboardInterrupt, EOFError):
            interrupted()
        except OSError as exc:
            if exc.errno != errno.EPIPE:  # output piped into e.g. `head`, which has closed it: not an error
                raise
            sys.stdout = None  # nothing more to print there, and the flush at exit must not fail again
            code = 0
        sys.exit(code if isinstance(code, int) else 0)


def _usage_message(exc: click.UsageError) -> str:
    """``<command> <what was refused>; see 'redline <command> --help'`` on one line."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    message = message.replace(". Did you mean", " (did you mean").replace("?", "?)") if ". Did you mean" in message \
        else message
    match = re.match(r"Invalid value for '([^']+)': (.*)$", message)
    if match:  # click's "Invalid value for '--buffers': '-500,1000': …" → "--buffers '-500,1000': …"
        option, reason = match.groups()
        message = f"{option} {reason}" if reason.startswith("'") else f"{option}: {reason}"
    message = message[0].lower() + message[1:] if message[:1].isupper() and message[1:2].islower() else message
    path = exc.ctx.command_path if exc.ctx is not None else "redline"
    command = path.partition(" ")[2]
    return f"{command + ': ' if command else ''}{message}; see '{path} --help'"


def _fail(message: str, exit: bool = False) -> None:
    """Print ``redline: error: <message>`` as one line on stderr and exit with code 1."""
    _err.print(f"redline: error: {one_line(message)}", markup=False, soft_wrap=True)
    if exit:
        sys.exit(1)
    click.get_current_context().exit(1)


def one_line(message: str) -> str:
    """A message as one line a planner can read: secrets masked, line breaks joined, runaway numbers shortened.

    Examples
    --------
    >>> one_line("x up to " + "9" * 40 + " metres\\nre-run with --crs")
    'x up to 1e+40 metres; re-run with --crs'
    >>> one_line("project ids repeated (500114001001000001 ×2)")
    'project ids repeated (500114001001000001 ×2)'
    >>> one_line("recipe.toml: 2 problems:\\n- unknown kind 'x'\\n- no target")
    "recipe.toml: 2 problems: unknown kind 'x'; no target"
    """
    from .errors import redact

    parts = [part.strip().removeprefix("- ") for part in redact(str(message)).splitlines() if part.strip()]
    text = "".join(part + ("" if i == len(parts) - 1 else " " if part.endswith(":") else "; ")
                   for i, part in enumerate(parts))
    return _LONG_NUMBER.sub(lambda m: f"{float(m.group().replace(',', '')):.6g}", text)


# a runaway measurement: 16 or more digits grouped in thousands, or 30 or more in a row. Codes are left alone —
# 行政区划代码, 地块编号 and 统一社会信用代码 run to 12–20 digits and must be shown as they are
_LONG_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3}){5,}(?:\.\d+)?|-?\d{30,}(?:\.\d+)?")


@click.group(cls=RedlineCommandLine, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="redline")
def cli():
    """redline — territorial-spatial constraint analysis (三区三线) on CGCS2000."""


# ---------------------------------------------------------------------------
# layers


@cli.group(cls=RedlineGroup)
def layers():
    """Inspect layer files."""


def _check_crs(value):
    """An option naming a CRS, refused before any file is read when it names none."""
    if value is None:
        return None
    from .geometry.crs import to_crs

    try:
        to_crs(value)
    except RedlineError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _check_table(results: list[dict], lang: str) -> Table:
    t = LABELS[lang]
    table = Table(title=t["check_title"])
    for key in ("file", "features", "crs", "encoding", "types", "fixes", "area_km2"):
        table.add_column(t[key], justify="right" if key in ("features", "fixes", "area_km2") else "left",
                         overflow="fold")
    for r in results:
        name = Path(r["path"]).name
        if "error" in r:
            table.add_row(name, "—", "[red]error[/red]", *[""] * 5)
            continue
        table.add_row(
            name,
            str(r["features"]),
            f"{r['crs']}\n({r['crs_source']})",
            r["encoding"],
            ", ".join(f"{k}×{v}" for k, v in r["geometry_types"].items()),
            f"{len(r['repaired'])}/{len(r['dropped'])}",
            f"{r['area_km2']:,.2f}",
        )
    return table


def _check_details(con: Console, results: list[dict], lang: str) -> None:
    for r in results:
        if "error" in r:
            continue
        sample = ", ".join(f"{k}={v}" for k, v in list(r["sample"].items())[:4])
        con.print(f"  {Path(r['path']).name}: {r['crs_name']}; encoding {r['encoding']} "
                  f"({r['encoding_source']}); e.g. {sample}", markup=False)
        for note in r["notes"]:
            con.print(f"    {note}", markup=False)


@layers.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--crs", callback=lambda ctx, param, value: _check_crs(value),
              help="CRS to use when the file has none or a wrong one, e.g. EPSG:4524.")
@click.option("--encoding", help="Attribute encoding (GBK, GB18030, UTF-8); default: detected from the .dbf "
              "bytes (the .cpg when they agree).")
@click.option("--engine", type=click.Choice(["pyogrio", "fiona"]), default="pyogrio", show_default=True)
@click.option("--swap-xy", is_flag=True, help="Swap x and y (files written as lat/lon).")
@lang_option
@json_option
def layers_check(paths, crs, encoding, engine, swap_xy, lang, as_json):
    """Read each layer and report what is in it and what was repaired.

    \b
    Example:
      redline layers check data/qianjiang/eco_redline.gpkg
      redline layers check data/qianjiang/townships_gk_gbk/townships_gk.shp --json
    """
    from .jobs.check import summarize_layer
    from .errors import redact
    from .io import read_layer

    results, failed = [], False
    for path in paths:
        try:
            gdf, report = read_layer(path, crs=crs, encoding=encoding, engine=engine, detect_crs=True, swap_xy=swap_xy)
            results.append(summarize_layer(gdf, report))
        except RedlineError as exc:
            failed = True
            results.append({"path": redact(str(path)), "error": redact(str(exc))})
            if not as_json:
                _err.print(f"redline: error: {one_line(str(exc))}", markup=False, soft_wrap=True)
    if as_json:
        click.echo(_dumps(results))
    else:
        out = _console()
        out.print(_check_table(results, lang))
        _check_details(out, results, lang)
    if failed:
        sys.exit(1)


# ---------------------------------------------------------------------------
# screen

_SCREEN_LABELS = {
    "zh": {"title": "项目选址筛查", "id": "项目", "category": "类别", "footprint": "用地(公顷)", "verdict": "结论",
           "findings": "问题", "repaired": "(已修复)"},
    "en": {"title": "Project siting screening", "id": "project", "category": "category", "footprint": "area (ha)",
           "verdict": "verdict", "findings": "findings", "repaired": "(repaired)"},
}
_VERDICT_STYLE = {"prohibited": "bold red", "conditional": "dark_orange", "restricted": "yellow", "clear": "green"}
#: Exit code of ``redline screen --fail-on`` when a project's verdict reaches the threshold.
SCREEN_FAIL_EXIT = 3


def _listed(items, limit: int = 10) -> str:
    """``items`` joined by commas, the first ``limit`` of them (then ``… +N more``): what tripped a gate."""
    items = [str(i) for i in items]
    more = f", … +{len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _layer_specs(ctx, param, values) -> dict[str, str]:
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


def _buffer_list(ctx, param, value) -> tuple[float, ...] | None:
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


def _verdict_table(result, lang: str, brief: bool = False) -> Table:
    """The verdict per project (shared by ``screen`` and ``demo``; ``brief``: flagged kinds, not messages)."""
    from .analyses.screening import SEVERITY_LABELS
    from .specs.catalog import SEVERITY_RANK, load_catalog

    catalog = load_catalog()
    flagged = result.hits[result.hits["severity"].map(SEVERITY_RANK) > 0]
    kinds_of = {pid: "\n".join(f"{catalog[h.kind].label(lang)}: {SEVERITY_LABELS[lang][h.severity]}"
                                for h in grp.itertuples()) for pid, grp in flagged.groupby("project_id")}

    t = _SCREEN_LABELS[lang]
    table = Table(title=t["title"])
    for key in ("id", "category", "footprint", "verdict", "findings"):
        table.add_column(t[key], justify="right" if key == "footprint" else "left", overflow="fold")
    for row in result.projects.itertuples(index=False):
        verdict = SEVERITY_LABELS[lang][row.verdict]
        style = _VERDICT_STYLE[row.verdict]
        table.add_row(
            f"{row.project_id}{' ' + t['repaired'] if row.repaired else ''}",
            str(row.category_label if lang == result.lang else row.category),
            f"{row.footprint_ha:,.2f}",
            f"[{style}]{verdict}[/{style}]",
            kinds_of.get(row.project_id, "—") if brief else (row.findings or "—").replace(" | ", "\n"),
        )
    return table


def _engine_options(engine_help: str, cell_help: str | None = None):
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


@cli.command()
@click.argument("projects", type=click.Path(path_type=Path))
@click.option("--layer", "layer_specs", multiple=True, required=True, callback=_layer_specs, metavar="KIND=PATH",
              help="A control-line layer of a catalog kind (repeat), e.g. eco_redline=data/eco_redline.gpkg.")
@click.option("--boundary", type=click.Path(path_type=Path), help="District boundary: report footprints outside it.")
@click.option("--id-field", help="Project id field (default: project_id, id, name, 编号, 名称).")
@click.option("--category-field", help="Project category field (default: category, 类别, 项目类别, type).")
@click.option("--buffers", callback=_buffer_list, metavar="M,M,...",
              help="Buffer rings in metres (default from the rule set: 500,1000,5000; 0 for none).")
@click.option("--line-width", type=click.FloatRange(min=0, min_open=True),
              help="Width (m) of line projects without width_m.")
@click.option("--point-radius", type=click.FloatRange(min=0, min_open=True),
              help="Radius (m) of point projects without radius_m.")
@click.option("--rules", type=click.Path(path_type=Path), help="Screening rule set (TOML); default the bundled one.")
@click.option("--out", type=click.Path(path_type=Path),
              help="GeoPackage with the layers projects, encroachments, buffers.")
@click.option("--table", "table_path", type=click.Path(path_type=Path), help="Table of project × kind (.csv or .xlsx).")
@click.option("--fail-on", type=click.Choice(["prohibited", "conditional", "restricted"]),
              help=f"Exit with code {SCREEN_FAIL_EXIT} when a verdict is this severe or worse.")
@_engine_options("dask: chunks of projects screened on a Dask cluster (same results).")
@lang_option
@json_option
def screen(projects, layer_specs, boundary, id_field, category_field, buffers, line_width, point_radius, rules, out,
           table_path, fail_on, engine, workers, scheduler, lang, as_json):
    """Screen project footprints against control lines: overlaps, distances, rings and verdicts.

    \b
    Example:
      redline screen data/qianjiang/projects.geojson \\
        --layer eco_redline=data/qianjiang/eco_redline.gpkg \\
        --layer basic_farmland=data/qianjiang/basic_farmland.gpkg \\
        --layer urban_boundary=data/qianjiang/urban_boundary.gpkg --out screening.gpkg
    """
    from .analyses.screening import load_rules
    from .engines.local import screen_local as run_screen
    from .specs.catalog import SEVERITY_RANK, kind_problems, load_catalog
    from .errors import CatalogError
    from .io import prepare_projects, read_layer

    _refuse_overwrite([out, table_path], [projects, boundary, rules, *layer_specs.values()])
    rules = load_rules(rules)  # the specs checked before anything is read
    unknown = kind_problems(layer_specs, load_catalog())
    if unknown:
        raise CatalogError("; ".join(unknown))
    proj, rep = read_layer(projects, geometry="any")
    proj = prepare_projects(proj, rep, id_field)
    options = dict(boundary=boundary, id_field=id_field, category_field=category_field, buffers=buffers,
                   line_width=line_width, point_radius=point_radius, rules=rules, lang=lang,
                   repaired={r["id"]: r.get("repair", "") for r in rep.repaired})
    with _engine_client(engine, workers, scheduler) as client:
        if client is not None:
            from .engines.dask import screen_dask

            result = _with_bar(as_json, "screening", lambda progress: screen_dask(
                proj, layer_specs, client=client, progress=progress, **options))
        else:
            result = run_screen(proj, layer_specs, **options)
    result.notes[:0] = [f"projects: {n}" for n in rep.notes]
    written = []
    if out is not None:
        written.append(result.to_file(out))
    if table_path is not None:
        written.append(result.to_table(table_path))
    failure = None
    if fail_on:  # which projects trip the gate, said on stderr (and in --json as failed/failure)
        from .analyses.screening import SEVERITY_LABELS, VERDICTS

        p = result.projects
        hit = p[p["verdict"].map(SEVERITY_RANK) >= SEVERITY_RANK[fail_on]]
        groups = [f"{(hit['verdict'] == v).sum()} {SEVERITY_LABELS[lang][v]} "
                  f"({_listed(hit.loc[hit['verdict'] == v, 'project_id'].astype(str))})"
                  for v in VERDICTS if (hit["verdict"] == v).any()]
        if groups:  # "5 projects 禁止 (P-04, …)", or per verdict: "9 projects: 5 禁止 (…), 4 有条件准入 (…)"
            n = f"{len(hit)} project{'s' if len(hit) > 1 else ''}"
            failure = f"--fail-on {fail_on}: " + (f"{n} {groups[0].split(' ', 1)[1]}" if len(groups) == 1
                                                  else f"{n}: {', '.join(groups)}")
    if as_json:
        data = result.to_json()
        if fail_on:
            data.update(failed=failure is not None, failure=failure)
        click.echo(_dumps(data))
    else:
        con = _console()
        con.print(_verdict_table(result, lang))
        for note in result.notes:
            con.print(f"  {note}", markup=False)
        if written:
            con.print(f"{LABELS[lang]['written']}: " + ", ".join(str(p) for p in written), markup=False)
    if failure is not None:
        _err.print(f"redline: {failure}", markup=False, soft_wrap=True)
        sys.exit(SCREEN_FAIL_EXIT)


@contextmanager
def _engine_client(engine: str, workers: int | None, scheduler: str | None):
    """For ``--engine dask``: a Dask client (a local cluster of ``--workers``, or ``--scheduler``), closed after;
    None for the local engine, which takes neither option."""
    if engine != "dask":
        if workers or scheduler:
            raise InputError("--workers and --scheduler go with --engine dask")
        yield None
        return
    from .engines.dask import close_client, dask_client

    client = dask_client(workers, scheduler)
    try:
        yield client
    finally:
        close_client(client)


# ---------------------------------------------------------------------------
# indicators and scorecard


def _workspace_options(units_help: str) -> list:
    """The options naming a district's files, shared by indicators, scorecard, map and report."""
    path = click.Path(path_type=Path)
    return [
        click.option("--workspace", type=path, help="Workspace TOML naming the inputs (options below override it)."),
        click.option("--boundary", type=path, help="District boundary (polygons)."),
        click.option("--layer", "layer_specs", multiple=True, callback=_layer_specs, metavar="KIND=PATH",
                     help="A control-line layer by catalog kind; repeat for each layer."),
        click.option("--units", type=path, help=units_help),
        click.option("--by", "by", help="Unit id/name field of --units."),
    ]


def _indicator_inputs(f):
    """The input options shared by ``indicators`` and ``scorecard``."""
    path = click.Path(path_type=Path)
    options = [
        *_workspace_options("Units for the ledger (台账), e.g. townships."),
        click.option("--landuse", type=path, help="Land-use layer with 三调 class codes."),
        click.option("--landuse-field", help="Class-code field of --landuse (default: DLBM, dlbm, 地类编码)."),
        click.option("--quotas", type=path, help="CSV of per-unit quotas: unit, indicator, quota, quota_unit."),
        click.option("--landcover", type=path, help="Classified land-cover raster (e.g. ESA WorldCover GeoTIFF)."),
        click.option("--landcover-classes", type=path, help="Class map TOML of the raster (default: ESA WorldCover)."),
        click.option("--out", "outputs", multiple=True, type=path,
                     help="Write the tables to .xlsx (one sheet each), .md or .csv (scorecard only); repeatable."),
        lang_option,
        json_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _run_indicators(workspace, boundary, layer_specs, units, by, landuse, landuse_field, quotas, landcover,
                    landcover_classes, recipe, lang, quiet, per_unit=True, client=None, cell_km=20.0):
    from dataclasses import replace

    from .analyses.scorecard import load_recipe
    from .specs.workspace import Workspace, load_workspace, run_indicators

    ws = load_workspace(workspace) if workspace else Workspace()
    ws = ws.merged(boundary=boundary, layers={k: Path(v) for k, v in layer_specs.items()}, units=units, by=by,
                   landuse=landuse, landuse_field=landuse_field, quotas=quotas, landcover=landcover,
                   landcover_classes=landcover_classes)
    if not per_unit:  # the scorecard needs district figures only: no ledger, no quotas
        ws = replace(ws, units=None, by=None, quotas=None)
    rec = load_recipe(recipe) if recipe else None
    measure = None
    if client is not None:
        from .engines.dask import dask_measure

        measure = dask_measure(client, cell_km)
    if quiet:
        return run_indicators(ws, rec, lang, measure=measure)
    steps = 2 + len(ws.layers) + (ws.units is not None) + (ws.landuse is not None) + (ws.landcover is not None)
    with _progress() as bar:
        task = bar.add_task("measuring", total=steps)
        return run_indicators(ws, rec, lang, progress=lambda name: bar.update(task, advance=1, description=name),
                              measure=measure)


def _print_tables(tables: dict, notes, lang: str, outputs=()) -> None:
    con = _console()
    for name, df in tables.items():
        table = Table(title=name)
        for col in df.columns:
            table.add_column(str(col), justify="right" if df[col].dtype.kind in "if" else "left")
        for row in df.itertuples(index=False):
            table.add_row(*[_cell(v) for v in row])
        con.print(table)
    for note in notes:
        con.print(f"  {note}", markup=False)
    for path in outputs:
        con.print(f"{LABELS[lang]['written']} {path}", markup=False)


def _cell(value) -> str:
    from .io import format_number

    if value is None or (isinstance(value, float) and value != value):
        return ""
    return format_number(value) if isinstance(value, float) else str(value)


def _write_outputs(report, lang: str, outputs, only_scorecard: bool = False) -> None:
    from .io import write_tables

    tables = report.tables(lang)
    for path in outputs:
        chosen = tables
        if path.suffix.lower() == ".csv" or only_scorecard:
            key = "评价表" if lang == "zh" else "scorecard"
            if path.suffix.lower() == ".csv" and key not in tables:
                raise click.UsageError(f"{path}: a CSV holds the scorecard only; give --recipe, or use .xlsx/.md")
            chosen = {key: tables[key]} if key in tables else tables
        write_tables(chosen, path)


@cli.command()
@_indicator_inputs
@click.option("--recipe", type=click.Path(path_type=Path), help="Scorecard recipe TOML (targets), e.g. analyses/qianjiang-2025.toml.")
@_engine_options("dask: the control-line areas taken cell by cell on a Dask cluster (same figures).",
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
    with _engine_client(engine, workers, scheduler) as client:
        report = _run_indicators(workspace, boundary, layer_specs, units, by, landuse, landuse_field, quotas, landcover,
                                 landcover_classes, recipe, lang, quiet=as_json, client=client, cell_km=cell_km)
    _write_outputs(report, lang, outputs)
    if as_json:
        click.echo(_dumps(report.to_json()))
    else:
        _print_tables(report.tables(lang), report.notes, lang, outputs)


@cli.command()
@_indicator_inputs
@click.option("--recipe", type=click.Path(path_type=Path), required=True, help="Scorecard recipe TOML (targets).")
def scorecard(workspace, boundary, layer_specs, units, by, landuse, landuse_field, quotas, landcover, landcover_classes,
              outputs, lang, as_json, recipe):
    """Plan scorecard: each indicator of a recipe, target vs measured value, 达标 / 未达标.

    \b
    Example:
      redline scorecard --recipe analyses/qianjiang-2025.toml --workspace data/qianjiang/workspace.toml --out scorecard.xlsx
    """
    report = _run_indicators(workspace, boundary, layer_specs, None, None, landuse, landuse_field, None, landcover,
                             landcover_classes, recipe, lang, quiet=as_json, per_unit=False)
    _write_outputs(report, lang, outputs, only_scorecard=True)
    if as_json:
        click.echo(_dumps({"scorecard": report.to_json()["scorecard"], "recipe": report.recipe.title}))
        return
    key = "评价表" if lang == "zh" else "scorecard"
    _print_tables({key: report.tables(lang)[key]}, report.notes, lang, outputs)


# ---------------------------------------------------------------------------
# map and report


def _map_inputs(f):
    """Inputs of ``map`` and ``report``: a workspace and/or the files, the projects, the basemap."""
    path = click.Path(path_type=Path)
    options = [
        *_workspace_options("Townships, drawn as outlines (and the ledger in a report)."),
        click.option("--projects", type=path, help="Project footprints to screen and draw by verdict."),
        click.option("--basemap", type=click.Choice(["osm", "tianditu_vec", "tianditu_img", "none"]), default="osm",
                     show_default=True, help="Basemap; Tianditu needs a key, 'none' works offline."),
        click.option("--tianditu-key", envvar="TIANDITU_KEY", help="Tianditu key (or the TIANDITU_KEY variable)."),
        click.option("--title", help="Map / report title (default: from the boundary's name)."),
        lang_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _workspace_from(workspace, boundary, layer_specs, units, by, **more):
    from .specs.catalog import kind_problems, load_catalog
    from .errors import CatalogError
    from .specs.workspace import Workspace, load_workspace

    ws = load_workspace(workspace) if workspace else Workspace()
    ws = ws.merged(boundary=boundary, layers={k: Path(v) for k, v in layer_specs.items()}, units=units, by=by, **more)
    if ws.boundary is None:
        raise click.UsageError("no boundary given: use --boundary PATH or a workspace with 'boundary'")
    unknown = kind_problems(ws.layers, load_catalog())
    if unknown:
        raise CatalogError("; ".join(unknown))
    return ws


@cli.command("map")
@_map_inputs
@click.option("--out", type=click.Path(path_type=Path), default=Path("map.html"), show_default=True,
              help="The map: one self-contained HTML file.")
def map_(workspace, boundary, layer_specs, units, by, projects, basemap, tianditu_key, title, lang, out):
    """The one map (一张图): control lines styled from the catalog, projects by verdict, as one HTML file.

    \b
    Examples:
      redline map --workspace data/qianjiang/workspace.toml --projects data/qianjiang/projects.geojson --out map.html
      redline map --boundary data/qianjiang/boundary.gpkg --layer eco_redline=data/qianjiang/eco_redline.gpkg \\
          --basemap none --out redline-offline.html
    """
    from .analyses.screening import load_rules, screen
    from .errors import register_secret
    from .io import LayerCache, atomic_output, check_output, prepare_projects
    from .maps import build_map, load_theme, render_html

    register_secret(tianditu_key)
    check_output(out)
    ws = _workspace_from(workspace, boundary, layer_specs, units, by)
    theme = load_theme()  # the specs checked before any layer is read
    rules = load_rules() if projects is not None else None
    read = LayerCache()
    layers = {k: read(p, geometry="polygon").gdf for k, p in ws.layers.items()}
    district = read(ws.boundary, geometry="polygon").gdf
    towns = read(ws.units, geometry="polygon").gdf if ws.units else None
    roles = {**{k: (p, "polygon") for k, p in ws.layers.items()}, "boundary": (ws.boundary, "polygon"),
             **({"units": (ws.units, "polygon")} if ws.units else {}),
             **({"projects": (projects, "any")} if projects is not None else {})}
    read_notes = [f"{name}: {n}" for name, (p, kind) in roles.items() for n in read(p, geometry=kind).report.notes
                  if " dropped — " in n or " repaired: " in n]  # what happened to features is worth saying
    result = None
    if projects is not None:
        proj, rep = read(projects, geometry="any")
        proj = prepare_projects(proj, rep)
        result = screen(proj, layers, boundary=district, buffers=[], lang=lang, rules=rules,
                        repaired={r["id"]: r.get("repair", "") for r in rep.repaired})
    if title is None and "name" in district.columns:
        name = district.iloc[0]["name"]
        title = f"{name} 三区三线“一张图”" if lang != "en" else f"{name}: one map"
    built = build_map(layers, boundary=district, units=towns, units_by=ws.by, screening=result, lang=lang,
                      basemap=basemap, tianditu_key=tianditu_key, title=title, theme=theme)
    page = render_html(built.map)
    with atomic_output(out, inputs=[ws.boundary, *ws.layers.values()]) as tmp:
        tmp.write_text(page, encoding="utf-8")
    con = _console()
    for note in [*read_notes, *built.notes]:
        con.print(f"  {note}", markup=False)
    con.print(f"{LABELS[lang]['written']} {out} ({len(page) / 1e6:.1f} MB)", markup=False)


@cli.command()
@_map_inputs
@click.option("--landuse", type=click.Path(path_type=Path), help="Land-use layer with 三调 class codes.")
@click.option("--quotas", type=click.Path(path_type=Path), help="CSV of per-unit quotas.")
@click.option("--recipe", type=click.Path(path_type=Path), help="Scorecard recipe TOML.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("redline-report"), show_default=True,
              help="Output folder.")
@json_option
def report(workspace, boundary, layer_specs, units, by, projects, basemap, tianditu_key, title, lang, landuse, quotas,
           recipe, out, as_json):
    """Everything to hand on: report.html, report.docx, map.html, maps/*.png, indicators.xlsx, results.gpkg.

    \b
    Example:
      redline report --workspace data/qianjiang/workspace.toml --projects data/qianjiang/projects.geojson \\
          --recipe analyses/qianjiang-2025.toml --out report-qianjiang
    """
    from .analyses.scorecard import load_recipe
    from .errors import register_secret
    from .report import build_outputs

    register_secret(tianditu_key)
    ws = _workspace_from(workspace, boundary, layer_specs, units, by, landuse=landuse, quotas=quotas)
    rec = load_recipe(recipe) if recipe else None
    steps = ["indicators", "screening", "map", "static maps", "report", "gpkg"]
    with _progress(disable=as_json) as bar:
        task = bar.add_task("building", total=len(steps))
        built = build_outputs(ws, out, projects=projects, recipe=rec, lang=lang, basemap=basemap,
                              tianditu_key=tianditu_key, title=title,
                              progress=lambda s: bar.update(task, advance=1, description=s))
    if as_json:
        click.echo(_dumps({"files": [str(p) for p in built.files], "notes": built.notes}))
        return
    _print_files(built.files, built.notes, lang)


def _print_files(files, notes, lang: str) -> None:
    con = _console()
    for note in notes:
        con.print(f"  {note}", markup=False)
    con.print(LABELS[lang]["written"] + ":", markup=False)
    for path in files:
        con.print(f"  {path}", markup=False)


# ---------------------------------------------------------------------------
# conflicts, change, monitor (三线冲突, 版本变化, 人类活动监测)

#: Exit code of ``redline change --no-decrease`` when the area decreased (1 = bad input, 3 = screen --fail-on).
CHANGE_DECREASE_EXIT = 4


def _refuse_overwrite(targets, inputs, folder: bool = False) -> None:
    """Fail before any work when an output would overwrite an input (a shapefile's parts count) or cannot be
    written (:func:`redline.io.check_output`; ``folder``: the outputs are folders)."""
    from .errors import OutputError
    from .io import check_output, source_files as _parts

    ins = {q.resolve() for p in inputs if p is not None for q in _parts(Path(p))}
    for target in targets:
        if target is not None and Path(target).resolve() in ins:
            raise OutputError(f"{target}: refusing to overwrite an input file; choose another output path")
        if target is not None:
            check_output(target, folder=folder)


def _with_bar(quiet: bool, what: str, run):
    """``run(progress)`` with a progress bar of its tasks (``progress(done, total)``) unless quiet."""
    if quiet:
        return run(None)
    with _progress() as bar:
        task = bar.add_task(what, total=None)
        return run(lambda done, total: bar.update(task, completed=done, total=total))


def _read_polygons(items: dict, quiet: bool) -> tuple[dict, list[str]]:
    """Read ``name -> path`` as polygon layers (progress bar unless quiet); notes of the reads."""
    from .io import read_layer

    read, notes = {}, []

    def one(name, path):
        gdf, report = read_layer(path, geometry="polygon")
        notes.extend(f"{name}: {n}" for n in report.notes)
        read[name] = gdf

    if quiet:
        for name, path in items.items():
            one(name, path)
        return read, notes
    with _progress() as bar:
        task = bar.add_task("reading", total=len(items))
        for name, path in items.items():
            bar.update(task, description=f"read {Path(path).name}")
            one(name, path)
            bar.advance(task)
    return read, notes


def _pairs(ctx, param, values):
    pairs = []
    for value in values:
        a, sep, b = value.partition(",")
        if not sep or not a.strip() or not b.strip():
            raise click.BadParameter(f"{value!r}: expected KIND,KIND, e.g. eco_redline,basic_farmland")
        pairs.append((a.strip(), b.strip()))
    return pairs or None


def _units_options(f):
    f = click.option("--by", help="Unit id/name field of --units.")(f)
    return click.option("--units", type=click.Path(path_type=Path), help="Units for per-unit rows, e.g. townships.")(f)


def _need_by(units, by) -> None:
    if units is not None and not by:
        raise click.UsageError("--units needs --by FIELD (the unit id/name field)")


def _finish(result, out, table_path, lang, as_json, extra=None) -> None:
    from .io import write_tables

    written = []
    if out is not None:
        written.append(result.to_file(out))
    if table_path is not None:
        tables = result.tables(lang)
        if Path(table_path).suffix.lower() == ".csv":
            tables = dict([next(iter(tables.items()))])
        written.append(write_tables(tables, table_path))
    if as_json:
        data = result.to_json()
        data.update(extra or {})
        click.echo(_dumps(data))
    else:
        _print_tables(result.tables(lang), result.notes, lang, written)


@cli.command()
@click.option("--layer", "layer_specs", multiple=True, required=True, callback=_layer_specs, metavar="KIND=PATH",
              help="A control-line layer of a catalog kind (repeat; at least two).")
@click.option("--pair", "pairs", multiple=True, callback=_pairs, metavar="KIND,KIND",
              help="A pair to check (repeat); default: eco_redline × basic_farmland, eco_redline × urban_boundary, "
                   "basic_farmland × urban_boundary (those given).")
@click.option("--boundary", type=click.Path(path_type=Path), help="District boundary: conflicts are clipped to it.")
@_units_options
@click.option("--min-area", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Pieces below this ellipsoidal area (m²) are slivers.")
@click.option("--min-width", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Pieces thinner than this (m) are slivers (digitising noise).")
@click.option("--out", type=click.Path(path_type=Path), help="GeoPackage with the layers conflicts and slivers.")
@click.option("--table", "table_path", type=click.Path(path_type=Path), help="Tables to .xlsx, .md or .csv.")
@_engine_options("dask: the overlaps found cell by cell on a Dask cluster (the same pieces).",
                 cell_help="Dask: cell size; a piece larger than a cell is found whole in a box grown around it.")
@lang_option
@json_option
def conflicts(layer_specs, pairs, boundary, units, by, min_area, min_width, out, table_path, engine, workers, scheduler,
              cell_km, lang, as_json):
    """Three-line conflicts (三条控制线不交叉不重叠): every overlap between pairs of layers.

    \b
    Example:
      redline conflicts --layer eco_redline=data/qianjiang/eco_redline.gpkg \\
        --layer basic_farmland=data/qianjiang/basic_farmland.gpkg \\
        --layer urban_boundary=data/qianjiang/urban_boundary.gpkg \\
        --units data/qianjiang/townships.gpkg --by name --out conflicts.gpkg
      redline conflicts --layer eco_redline=eco_redline.parts --layer basic_farmland=farmland.parts \\
        --engine dask --workers 2 --cell-km 20
    """
    from .analyses.conflicts import conflicts as run_conflicts

    _need_by(units, by)
    if len(layer_specs) < 2:
        raise click.UsageError("give at least two --layer KIND=PATH")
    _refuse_overwrite([out, table_path], [*layer_specs.values(), boundary, units])
    items = {} if engine == "dask" else dict(layer_specs)  # on Dask the workers read the layers, each a part
    items.update({k: v for k, v in (("(boundary)", boundary), ("(units)", units)) if v is not None})
    read, notes = _read_polygons(items, as_json)
    options = dict(boundary=read.get("(boundary)"), units=read.get("(units)"), by=by, min_area=min_area,
                   min_width=min_width)
    with _engine_client(engine, workers, scheduler) as client:
        if client is not None:
            from .engines.dask import conflicts_dask

            result = _with_bar(as_json, "conflicts", lambda progress: conflicts_dask(
                layer_specs, pairs, client=client, cell_km=cell_km, progress=progress, **options))
        else:
            result = run_conflicts({k: read[k] for k in layer_specs}, pairs, **options)
    result.notes[:0] = notes
    _finish(result, out, table_path, lang, as_json)


@cli.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--key", help="Feature id field in both versions: features matched as new/removed/reshaped/attributes.")
@_units_options
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
    from .analyses.change import change as run_change

    _need_by(units, by)
    if strict and not no_decrease:
        raise click.UsageError("--strict goes with --no-decrease")
    if strict and units is None:
        raise click.UsageError("--strict needs --units and --by (it checks every unit)")
    _refuse_overwrite([out, table_path], [old, new, units])
    items = {"old": old, "new": new, **({"units": units} if units is not None else {})}
    read, notes = _read_polygons(items, as_json)
    result = run_change(read["old"], read["new"], key=key, units=read.get("units"), by=by, tolerance=tolerance)
    result.notes[:0] = notes
    failure = None
    if no_decrease and result.decreased(strict):  # what trips the gate, said as screen --fail-on says it
        from .io import format_number

        ha = "公顷" if lang == "zh" else "ha"
        parts = []
        if result.decreased():
            t = result.totals
            parts.append(f"by {format_number(-t['net_m2'] / 1e4)} {ha} ({format_number(t['old_m2'] / 1e4)} → "
                         f"{format_number(t['new_m2'] / 1e4)} {ha})")
        if strict:
            u = result.by_unit[result.by_unit["net_m2"] < -result.tolerance]
            if len(u):
                parts.append(f"in {len(u)} unit{'s' if len(u) > 1 else ''} (" + _listed(
                    f"{name} {format_number(net / 1e4)} {ha}" for name, net in zip(u["unit"], u["net_m2"])) + ")")
        failure = (f"--no-decrease{' --strict' if strict else ''}: the area decreased (面积减少) "
                   + " and ".join(parts))
    _finish(result, out, table_path, lang, as_json,
            extra={"failed": failure is not None, "failure": failure} if no_decrease else None)
    if failure is not None:
        _err.print(f"redline: {failure}", markup=False, soft_wrap=True)
        sys.exit(CHANGE_DECREASE_EXIT)


@cli.command()
@click.option("--before", type=click.Path(path_type=Path), required=True, help="Classified raster, earlier date.")
@click.option("--after", type=click.Path(path_type=Path), required=True, help="Classified raster, later date.")
@click.option("--within", "within_spec", required=True, metavar="KIND=PATH",
              help="The protected layer, e.g. eco_redline=data/qianjiang/eco_redline.gpkg.")
@click.option("--class-map", type=click.Path(path_type=Path), help="Class names of the rasters (default: ESA WorldCover).")
@click.option("--transitions", type=click.Path(path_type=Path),
              help="Transitions that count as human activity (TOML; default: to built-up, to bare, forest to cropland).")
@click.option("--min-patch", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Patches below this area (m²) are dropped and counted.")
@_units_options
@click.option("--out", type=click.Path(path_type=Path), help="GeoPackage of the patches.")
@click.option("--table", "table_path", type=click.Path(path_type=Path), help="Tables to .xlsx, .md or .csv.")
@lang_option
@json_option
def monitor(before, after, within_spec, class_map, transitions, min_patch, units, by, out, table_path, lang, as_json):
    """Human activity inside a protected layer from two land-cover rasters (人类活动遥感监测).

    \b
    Example:
      redline monitor --before data/qianjiang/landcover_2020.tif --after data/qianjiang/landcover_2024.tif \\
        --within eco_redline=data/qianjiang/eco_redline.gpkg --min-patch 5000 --out patches.gpkg
    """
    from .analyses.landcover import load_raster_classes
    from .analyses.monitor import load_transitions, monitor as run_monitor
    from .io import open_raster

    _need_by(units, by)
    kind, path = next(iter(_layer_specs(None, None, [within_spec]).items()))
    _refuse_overwrite([out, table_path], [before, after, path, units])
    cmap = load_raster_classes(class_map) if class_map is not None else None
    rules = load_transitions(transitions, classes=cmap or load_raster_classes())
    items = {kind: path, **({"(units)": units} if units is not None else {})}
    read, notes = _read_polygons(items, as_json)
    with open_raster(before) as b, open_raster(after) as a:
        if as_json:
            result = run_monitor(b, a, read[kind], transitions=rules, class_map=cmap, units=read.get("(units)"),
                                 by=by, min_patch=min_patch)
        else:
            with _err.status("comparing rasters and vectorising patches"):
                result = run_monitor(b, a, read[kind], transitions=rules, class_map=cmap,
                                     units=read.get("(units)"), by=by, min_patch=min_patch)
    result.notes[:0] = notes
    _finish(result, out, table_path, lang, as_json, extra={"within": kind})


# ---------------------------------------------------------------------------
# partition


@cli.command()
@click.argument("layer", type=click.Path(path_type=Path))
@click.option("--by", "by_field", metavar="FIELD", help="One file per value of this field, e.g. a county code.")
@click.option("--grid", "grid_km", type=click.FloatRange(min=0, min_open=True), metavar="KM",
              help="One file per KM × KM tile of the features' box centres (in the layer's CRS).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="New directory for the partitions.")
@click.option("--batch-size", type=click.IntRange(min=1), default=65_536, show_default=True,
              help="Features read at a time: memory stays bounded by it.")
@json_option
def partition(layer, by_field, grid_km, out, batch_size, as_json):
    """Split a large layer into a directory of GeoParquet files (one per county or grid tile), streaming.

    The directory then stands for the layer anywhere a layer path goes; screening reads only the
    partitions near the projects.

    \b
    Example:
      redline partition farmland.gpkg --by XZQDM --out farmland.parts
      redline partition farmland.gpkg --grid 10 --out farmland.parts
    """
    from .io.partition import check_target, partition_layer

    if (by_field is None) == (grid_km is None):
        raise InputError("give --by FIELD or --grid KM (one of the two)")
    _refuse_overwrite([out], [layer], folder=True)
    check_target(out)
    total = None
    if not as_json:
        try:
            import pyogrio

            total = pyogrio.read_info(layer).get("features")
        except Exception:  # GeoParquet, or GDAL can't count: a bar without a total
            total = None
    if as_json:
        parts = partition_layer(layer, out, by=by_field, grid_km=grid_km, batch_size=batch_size)
        click.echo(_dumps({"out": str(out), "rows": sum(p.rows for p in parts),
                           "partitions": [vars(p) for p in parts]}))
        return
    with _progress() as bar:
        task = bar.add_task(f"partition {layer.name}", total=total)
        parts = partition_layer(layer, out, by=by_field, grid_km=grid_km, batch_size=batch_size,
                                progress=lambda n: bar.update(task, completed=n))
    con = _console()
    rows = sum(p.rows for p in parts)
    con.print(f"{out}: {rows:,} features in {len(parts)} partitions "
              f"(largest {max((p.rows for p in parts), default=0):,})", markup=False)


# ---------------------------------------------------------------------------
# demo


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("redline-demo"), show_default=True,
              help="Directory for the results.")
@lang_option
@json_option
@click.option("--basemap", type=click.Choice(["osm", "tianditu_vec", "tianditu_img", "none"]), default="osm",
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
    from .jobs.demo import run_demo, write_demo
    from .io import check_output

    check_output(out, folder=True)
    result = run_demo(progress=not as_json, lang=lang)
    files = write_demo(result, out, lang, basemap=basemap)
    if as_json:
        click.echo(_dumps(result.to_json()))
        return
    t = LABELS[lang]
    con = _console()
    con.print(_check_table(result.checks, lang))
    con.print(t["district"].format(name=result.district_name, km2=result.boundary_m2 / 1e6))
    tables = result.indicators.tables(lang)
    shown = ("评价表", "控制线占比") if lang == "zh" else ("scorecard", "shares")
    _print_tables({k: tables[k] for k in shown if k in tables}, [], lang)
    if getattr(result, "screening", None) is not None:
        con.print(_verdict_table(result.screening, lang, brief=True))
    extra = {}
    for part in ("conflicts", "change", "monitor"):  # issue 6: the first table of each
        res = getattr(result, part, None)
        if res is not None:
            extra.update(dict([next(iter(res.tables(lang).items()))]))
    if extra:
        _print_tables(extra, [], lang)
    _print_files(files, result.notes, lang)


def main(argv=None):
    """Console-script entry point."""
    cli.main(args=argv, prog_name="redline")


if __name__ == "__main__":  # pragma: no cover
    main()
