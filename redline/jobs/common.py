"""What every job shares: output targets checked before any work, polygon layers read with their notes, and the
short listing of what tripped a gate (the engines, :mod:`redline.engines`, give the Dask client).

A job reports how far it is through one optional callable, ``progress(description, done, total)`` (``total`` None
while unknown).
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from ..errors import CatalogError, OutputError
from ..io import check_output, read_layer, source_files, write_tables
from ..specs import workspace as workspaces
from ..specs.catalog import kind_problems, load_catalog
from ..specs.workspace import Workspace

__all__ = ["refuse_overwrite", "read_polygons", "listed", "write_result", "district_workspace", "check_layer_kinds",
           "counted", "json_text"]

def refuse_overwrite(targets, inputs, folder: bool = False) -> None:
    """Fail before any work when an output would overwrite an input (a shapefile's parts count) or cannot be
    written (:func:`redline.io.check_output`; ``folder``: the outputs are folders)."""
    ins = {q.resolve() for p in inputs if p is not None for q in source_files(Path(p))}
    for target in targets:
        if target is not None and Path(target).resolve() in ins:
            raise OutputError(f"{target}: refusing to overwrite an input file; choose another output path")
        if target is not None:
            check_output(target, folder=folder)


def read_polygons(items: dict, progress=None) -> tuple[dict, list[str]]:
    """Read ``name -> path`` as polygon layers; the notes of the reads, each prefixed with its name.

    ``progress(description, done, total)`` (optional) is called before each read."""
    read, notes = {}, []
    for done, (name, path) in enumerate(items.items()):
        if progress is not None:
            progress(f"read {Path(path).name}", done, len(items))
        gdf, report = read_layer(path, geometry="polygon")
        notes.extend(f"{name}: {n}" for n in report.notes)
        read[name] = gdf
    return read, notes


def listed(items, limit: int = 10) -> str:
    """``items`` joined by commas, the first ``limit`` of them (then ``… +N more``): what tripped a gate."""
    items = [str(i) for i in items]
    more = f", … +{len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def write_result(result, out, table_path, lang: str) -> list[Path]:
    """A result's layers to ``out`` (GeoPackage) and its tables to ``table_path`` (.xlsx, .md; a .csv holds the
    first table): the paths written."""
    written = []
    if out is not None:
        written.append(result.to_file(out))
    if table_path is not None:
        tables = result.tables(lang)
        if Path(table_path).suffix.lower() == ".csv":
            tables = dict([next(iter(tables.items()))])
        written.append(write_tables(tables, table_path))
    return written


def district_workspace(workspace=None, *, layers=None, **options) -> Workspace:
    """A district's files: the workspace TOML (if any) with the command-line ``options`` over it.

    Looked up as ``redline.specs.workspace.load_workspace`` when called (a test replaces it there)."""
    ws = workspaces.load_workspace(workspace) if workspace else Workspace()
    return ws.merged(layers={k: Path(v) for k, v in (layers or {}).items()}, **options)


def check_layer_kinds(ws: Workspace) -> None:
    """Every layer of the workspace names a kind of the catalog (all unknown kinds listed at once)."""
    unknown = kind_problems(ws.layers, load_catalog())
    if unknown:
        raise CatalogError("; ".join(unknown))


def counted(progress, total: int):
    """A ``step(name)`` callback that advances ``progress(description, done, total)`` by one step of ``total``
    (None without ``progress``)."""
    if progress is None:
        return None
    done = iter(range(1, total + 1))
    return lambda name: progress(name, next(done, total), total)


_ORJSON = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def json_text(data) -> str:
    """``data`` as the JSON of ``--json`` and of the service: indented, keys sorted, Chinese text as it is, what
    JSON has no type for as text (``str``); NaN and infinities as ``null`` (JSON has no NaN).

    orjson writes it (a city's 10 000 projects with their rings: 0.03 s, where ``json.dumps`` took 0.3–1.2 s);
    what orjson refuses (an integer beyond 64 bits) goes to ``json.dumps``.

    >>> print(json_text({"b": 1, "a": ["红线", float("nan")]}))
    {
      "a": [
        "红线",
        null
      ],
      "b": 1
    }
    """
    try:
        return orjson.dumps(data, option=_ORJSON, default=str).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)
