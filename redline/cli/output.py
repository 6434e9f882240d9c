"""What the command line prints: the consoles, JSON, the tables, progress bars, and errors as one line.

Only light modules are imported when this module loads (``redline --help`` imports every command's module, and
each of them this one): rich, and the modules of a result, are imported when something is printed.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import redact
from ..text import labels, t

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["err_console", "say", "console", "progress_bar", "job_progress", "dumps", "fail", "one_line", "cell",
           "print_tables", "print_notes", "print_files", "print_written", "check_table", "check_details",
           "verdict_table"]

_VERDICT_STYLE = {"prohibited": "bold red", "conditional": "dark_orange", "restricted": "yellow", "clear": "green"}
_RIGHT = ("features", "fixes", "area_km2")


@cache
def err_console() -> Console:
    """Standard error: progress, the one-line errors, what tripped a gate."""
    from rich.console import Console  # rich is slow to import: not for --help

    return Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """``message`` as one line on stderr, as it is (no markup, no wrapping)."""
    err_console().print(message, markup=False, soft_wrap=True)


def console() -> Console:
    """Standard output; when piped to a file, wide enough that tables are not cut."""
    from rich.console import Console

    con = Console(highlight=False)
    return con if con.is_terminal else Console(highlight=False, width=160)


def progress_bar(disable: bool = False):
    """A progress bar on stderr, shown only on a terminal (in a log or a pipe it would leave blank lines)."""
    from rich.progress import Progress  # rich's progress module is slow to import: only when a command runs

    err = err_console()
    return Progress(transient=True, console=err, disable=disable or not err.is_terminal)


@contextmanager
def job_progress(quiet: bool, what: str):
    """A job's ``progress(description, done, total)`` drawn as one bar (None when ``quiet``: JSON goes out)."""
    if quiet:
        yield None
        return
    with progress_bar() as bar:
        task = bar.add_task(what, total=None)

        def progress(description: str, done: int | None, total: int | None) -> None:
            bar.update(task, description=description, completed=done or 0, total=total)

        yield progress


def dumps(data) -> str:
    """``data`` as indented JSON, keys sorted, Chinese text as it is."""
    from ..jobs.common import json_text  # orjson: only when JSON goes out

    return json_text(data)


def fail(message: str, exit: bool = False) -> None:
    """Print ``redline: error: <message>`` as one line on stderr and exit with code 1."""
    say(f"redline: error: {one_line(message)}")
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
    parts = [part.strip().removeprefix("- ") for part in redact(str(message)).splitlines() if part.strip()]
    text = "".join(part + ("" if i == len(parts) - 1 else " " if part.endswith(":") else "; ")
                   for i, part in enumerate(parts))
    return _LONG_NUMBER.sub(lambda m: f"{float(m.group().replace(',', '')):.6g}", text)


# a runaway measurement: 16 or more digits grouped in thousands, or 30 or more in a row. Codes are left alone —
# 行政区划代码, 地块编号 and 统一社会信用代码 run to 12–20 digits and must be shown as they are
_LONG_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3}){5,}(?:\.\d+)?|-?\d{30,}(?:\.\d+)?")


def cell(value) -> str:
    """A table cell: empty for a missing value, numbers as :func:`redline.io.format_number` shows them."""
    from ..io import format_number  # redline.io loads GDAL: only once there is a table to print

    if value is None or (isinstance(value, float) and value != value):
        return ""
    return format_number(value) if isinstance(value, float) else str(value)


def print_tables(tables: dict, notes, lang: str, outputs=()) -> None:
    """Each table (numbers right-aligned), then the notes, then ``结果已写入 <path>`` for each output."""
    from rich.table import Table

    con = console()
    for name, df in tables.items():
        table = Table(title=name)
        for col in df.columns:
            table.add_column(str(col), justify="right" if df[col].dtype.kind in "if" else "left")
        for row in df.itertuples(index=False):
            table.add_row(*[cell(v) for v in row])
        con.print(table)
    print_notes(con, notes)
    for path in outputs:
        con.print(f"{t('cli.written', lang)} {path}", markup=False)


def print_notes(con: Console, notes) -> None:
    """The notes of a run, indented, one a line."""
    for note in notes:
        con.print(f"  {note}", markup=False)


def print_written(con: Console, written, lang: str) -> None:
    """``结果已写入: a, b`` when anything was written."""
    if written:
        con.print(f"{t('cli.written', lang)}: " + ", ".join(str(p) for p in written), markup=False)


def print_files(files, notes, lang: str) -> None:
    """The notes, then every file written, one a line."""
    con = console()
    print_notes(con, notes)
    con.print(t("cli.written", lang) + ":", markup=False)
    for path in files:
        con.print(f"  {path}", markup=False)


def check_table(results: list[dict], lang: str) -> Table:
    """The table of ``layers check`` (and of the demo's layers): one row per layer."""
    from rich.table import Table

    table = Table(title=t("cli.check.title", lang))
    for key, header in labels("cli.check.columns", lang).items():
        table.add_column(header, justify="right" if key in _RIGHT else "left", overflow="fold")
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


def check_details(con: Console, results: list[dict]) -> None:
    """Under the table: each layer's CRS name, encoding, a sample of its attributes, and its notes."""
    for r in results:
        if "error" in r:
            continue
        sample = ", ".join(f"{k}={v}" for k, v in list(r["sample"].items())[:4])
        con.print(f"  {Path(r['path']).name}: {r['crs_name']}; encoding {r['encoding']} "
                  f"({r['encoding_source']}); e.g. {sample}", markup=False)
        for note in r["notes"]:
            con.print(f"    {note}", markup=False)


def verdict_table(result, lang: str, brief: bool = False, title: str | None = None) -> Table:
    """The verdict per project (shared by ``screen`` and ``demo``; ``brief``: flagged kinds, not messages)."""
    from ..analyses.screening import SEVERITY_LABELS  # the analyses load GDAL: only once there is a result
    from ..specs.catalog import SEVERITY_RANK, load_catalog
    from rich.table import Table

    catalog = load_catalog()
    flagged = result.hits[result.hits["severity"].map(SEVERITY_RANK) > 0]
    kinds_of = {pid: "\n".join(f"{catalog[h.kind].label(lang)}: {SEVERITY_LABELS[lang][h.severity]}"
                                for h in grp.itertuples()) for pid, grp in flagged.groupby("project_id")}
    repaired = t("cli.screen.repaired", lang)
    table = Table(title=title or t("cli.screen.title", lang))
    for key, header in labels("cli.screen.columns", lang).items():
        table.add_column(header, justify="right" if key == "footprint" else "left", overflow="fold")
    for row in result.projects.itertuples(index=False):
        style = _VERDICT_STYLE[row.verdict]
        table.add_row(
            f"{row.project_id}{' ' + repaired if row.repaired else ''}",
            str(row.category_label if lang == result.lang else row.category),
            f"{row.footprint_ha:,.2f}",
            f"[{style}]{SEVERITY_LABELS[lang][row.verdict]}[/{style}]",
            kinds_of.get(row.project_id, "—") if brief else (row.findings or "—").replace(" | ", "\n"),
        )
    return table


def landuse_table(result, lang: str) -> Table:
    """What land each project occupies, in 公顷: 合计 | 农用地 (其中耕地: 水田 水浇地 旱地) | 建设用地 | 未利用地 | 未覆盖."""
    from rich.table import Table

    summary = result.landuse.summary()
    totals = result.landuse.footprint_m2
    table = Table(title=t("cli.landuse.title", lang))
    columns = labels("cli.landuse.columns", lang)
    for key, header in columns.items():
        table.add_column(header, justify="left" if key == "id" else "right")
    for pid, row in summary.iterrows():
        values = {"total": totals.get(pid, float("nan")), **{k: row[f"{k}_m2"] for k in columns if k not in ("id", "total")}}
        table.add_row(str(pid), *(f"{values[k] / 1e4:,.4f}" for k in columns if k != "id"))
    return table
