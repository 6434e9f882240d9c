"""The ``redline`` command line: thin commands over the library API.

Every command turns :class:`~redline.errors.RedlineError` into one line on
stderr and exit code 1; anything else is a bug and shows its traceback.
Every result is also available as JSON (``--json``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import RedlineError

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


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)


class RedlineGroup(click.Group):
    """A click group that prints RedlineError as one line and exits 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RedlineError as exc:
            _err.print(f"redline: error: {exc}", markup=False, soft_wrap=True)
            ctx.exit(1)


@click.group(cls=RedlineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="redline")
def cli():
    """redline — territorial-spatial constraint analysis (三区三线) on CGCS2000."""


# ---------------------------------------------------------------------------
# layers


@cli.group(cls=RedlineGroup)
def layers():
    """Inspect layer files."""


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
@click.option("--crs", help="CRS to use when the file has none or a wrong one, e.g. EPSG:4524.")
@click.option("--encoding", help="Attribute encoding (GBK, GB18030, UTF-8); default: .cpg, then detected.")
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
    from .check import summarize_layer
    from .io import read_layer

    results, failed = [], False
    for path in paths:
        try:
            gdf, report = read_layer(path, crs=crs, encoding=encoding, engine=engine, detect_crs=True, swap_xy=swap_xy)
            results.append(summarize_layer(gdf, report))
        except RedlineError as exc:
            failed = True
            results.append({"path": str(path), "error": str(exc)})
            if not as_json:
                _err.print(f"redline: error: {exc}", markup=False, soft_wrap=True)
    if as_json:
        click.echo(_dumps(results))
    else:
        out = _console()
        out.print(_check_table(results, lang))
        _check_details(out, results, lang)
    if failed:
        sys.exit(1)


# ---------------------------------------------------------------------------
# demo


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("redline-demo"), show_default=True,
              help="Directory for the results.")
@lang_option
@json_option
def demo(out, lang, as_json):
    """Run the main job on the bundled sample county (黔江区, synthetic control lines).

    \b
    Example:
      redline demo --out demo-results
    """
    from .demo import run_demo, write_demo

    result = run_demo(progress=not as_json)
    files = write_demo(result, out)
    if as_json:
        click.echo(_dumps(result.to_json()))
        return
    t = LABELS[lang]
    con = _console()
    con.print(_check_table(result.checks, lang))
    con.print(t["district"].format(name=result.district_name, km2=result.boundary_m2 / 1e6))
    table = Table(title=t["shares_title"])
    for key in ("layer", "area_km2", "area_ha", "area_wanmu", "share", "outside"):
        table.add_column(t[key], justify="left" if key == "layer" else "right")
    for kind, row in result.shares.iterrows():
        table.add_row(
            result.labels[kind][lang],
            f"{row.area_km2:,.2f}",
            f"{row.area_ha:,.2f}",
            f"{row.area_wanmu:,.4f}",
            f"{row.share_pct:.2f}",
            f"{row.outside_m2 / 1e4:,.2f}",
        )
    con.print(table)
    for note in result.notes:
        con.print(f"  {note}", markup=False)
    con.print(f"{t['written']} {out}: " + ", ".join(p.name for p in files), markup=False)


def main(argv=None):
    """Console-script entry point."""
    cli.main(args=argv, prog_name="redline")


if __name__ == "__main__":  # pragma: no cover
    main()
