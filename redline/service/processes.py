"""The processes the service offers (OGC API - Processes): their descriptions, and how a worker runs them.

Each process is the job the command line runs, with the bureau's current control lines (the store's layers)
in place of ``--layer`` options, so ``GET /jobs/ID/results`` is the JSON of the command's ``--json``:

- ``screen``: an uploaded project footprint (``{"projects": {"href": "/uploads/ID"}}``) against the control
  lines and the 三调 land use: verdicts, encroachments, rings, 占用地类 (``redline screen``), with the GeoPackage
  and the table to download;
- ``indicators``: the district's scorecard and shares (``redline indicators``);
- ``conflicts``: where the control lines contradict each other (``redline conflicts``);
- ``change``: what changed between two versions of a layer (``redline change``).

:func:`run` is what a worker calls; the server resolves uploads and layers into ``inputs`` beforehand
(:func:`redline.service.app.resolve_job`), so a worker never touches the database.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

from ..errors import InputError
from ..io import atomic_output
from ..jobs.common import json_text

__all__ = ["PROCESSES", "describe", "check_inputs", "run", "warm_up"]

_LANG = {"type": "string", "enum": ["zh", "en"], "default": "zh"}

#: id → (title zh, title en, description, inputs (JSON schema per input), required inputs)
PROCESSES: dict[str, dict] = {
    "screen": {
        "title": {"zh": "建设项目选址审查", "en": "Project siting screening"},
        "description": "An uploaded project red line (国土TXT, DXF, KML/KMZ, zipped shapefile, GeoJSON, GPKG) against "
                       "the bureau's control lines and 三调 land use: the verdict per project, encroachments with "
                       "the rule that applies, buffer rings and the land classes it takes.",
        "inputs": {
            "projects": {"type": "object", "properties": {"href": {"type": "string"}}, "required": ["href"],
                         "description": "the upload: {\"href\": \"/uploads/ID\"} (POST /uploads gives the id)"},
            "category": {"type": "string", "description": "the category of every project in the file (a code or "
                                                          "label of the rule set, e.g. energy or 能源); default: the "
                                                          "file's category field"},
            "buffers": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0},
                        "description": "buffer rings in metres (default the rule set's; [] for none)"},
            "id_field": {"type": "string"}, "category_field": {"type": "string"},
            "report": {"type": "boolean", "default": False,
                       "description": "also write the 用地预审 analysis: one Word document per project, the report "
                                      "(Word and HTML) and the map (a few seconds more)"},
            "lang": _LANG,
        },
        "required": ["projects"],
    },
    "indicators": {
        "title": {"zh": "规划指标核算", "en": "Planning indicators"},
        "description": "The district's control-line areas and shares, per township when the bureau's layers have "
                       "them (redline indicators).",
        "inputs": {"lang": _LANG},
        "required": [],
    },
    "change": {
        "title": {"zh": "红线版本变化", "en": "Layer version change"},
        "description": "What changed between two versions of one of the bureau's layers: area added, removed and "
                       "net, per township when the bureau has them, each feature's status (redline change).",
        "inputs": {"kind": {"type": "string", "description": "the layer kind, e.g. eco_redline"},
                   "from": {"type": "integer", "minimum": 1, "description": "the older version (default: the one "
                                                                               "before 'to')"},
                   "to": {"type": "integer", "minimum": 1, "description": "the newer version (default: the "
                                                                             "current one)"},
                   "lang": _LANG},
        "required": ["kind"],
    },
    "conflicts": {
        "title": {"zh": "三条控制线冲突检查", "en": "Control-line conflicts"},
        "description": "Where the bureau's control lines contradict each other, with the rule that applies "
                       "(redline conflicts).",
        "inputs": {"lang": _LANG},
        "required": [],
    },
}


def describe(process_id: str, lang: str = "zh", full: bool = False) -> dict:
    """The OGC API - Processes summary (or, with ``full``, description) of a process."""
    spec = PROCESSES[process_id]
    out = {"id": process_id, "title": spec["title"].get(lang, spec["title"]["en"]), "version": "1.0.0",
           "description": spec["description"], "jobControlOptions": ["sync-execute", "async-execute", "dismiss"],
           "outputTransmission": ["value"],
           "links": [{"href": f"/processes/{process_id}", "rel": "self", "type": "application/json"},
                     {"href": f"/processes/{process_id}/execution", "rel": "http://www.opengis.net/def/rel/ogc/1.0/"
                                                                           "execute", "type": "application/json"}]}
    if full:
        out["inputs"] = {name: {"title": name, "schema": schema, "minOccurs": int(name in spec["required"]),
                                "maxOccurs": 1} for name, schema in spec["inputs"].items()}
        out["outputs"] = {"result": {"title": "the command's --json", "schema": {"type": "object",
                                                                                  "contentMediaType":
                                                                                      "application/json"}}}
    return out


def check_inputs(process_id: str, inputs: dict) -> dict:
    """The inputs, checked against the process's description: every problem listed at once in one
    :class:`~redline.errors.InputError`."""
    spec = PROCESSES[process_id]
    if not isinstance(inputs, dict):
        raise InputError("inputs: expected an object of name → value")
    problems = [f"unknown input {k!r} (this process takes {', '.join(spec['inputs']) or 'none'})"
                for k in inputs if k not in spec["inputs"]]
    problems += [f"input {k!r} is required" for k in spec["required"] if k not in inputs]
    if "projects" in inputs:
        ref = inputs["projects"]
        if not (isinstance(ref, dict) and isinstance(ref.get("href"), str) and ref["href"].startswith("/uploads/")):
            problems.append('input "projects": expected {"href": "/uploads/ID"} (POST /uploads gives the id)')
    if "buffers" in inputs:
        b = inputs["buffers"]
        if not (isinstance(b, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0
                                            for x in b)):
            problems.append('input "buffers": expected a list of distances in metres, e.g. [500, 1000]')
    for name in ("category", "id_field", "category_field"):
        if name in inputs and not isinstance(inputs[name], str):
            problems.append(f"input {name!r}: expected text")
    for name in ("from", "to"):
        if name in inputs and not (isinstance(inputs[name], int) and not isinstance(inputs[name], bool)
                                   and inputs[name] >= 1):
            problems.append(f"input {name!r}: expected a version number (1, 2, …)")
    if "kind" in inputs and not isinstance(inputs["kind"], str):
        problems.append('input "kind": expected a layer kind, e.g. eco_redline')
    if "report" in inputs and not isinstance(inputs["report"], bool):
        problems.append('input "report": expected true or false')
    if inputs.get("lang", "zh") not in ("zh", "en"):
        problems.append('input "lang": expected "zh" or "en"')
    if problems:
        raise InputError("; ".join(problems))
    return inputs


def warm_up() -> None:
    """Import what the jobs use, once per worker (a job then starts without the second of imports)."""
    for name in ("screen", "indicators", "conflicts", "change"):
        importlib.import_module(f"redline.jobs.{name}")


def _write(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` whole or not at all; its SHA-256."""
    data = text.encode("utf-8")
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def run(process_id: str, inputs: dict, folder: str, progress) -> str:
    """Run a process in ``folder`` (``inputs`` resolved by the server: ``projects_path``, ``sources``, ``record``);
    write ``result.json`` and the downloads there; return the result's SHA-256. A screening's 用地预审 analysis
    (``report``) is written after the result, so that it names the result's SHA-256 in its record."""
    folder = Path(folder)
    lang = inputs.get("lang", "zh")
    progress(5, "reading")
    if process_id == "screen":
        result = _screen(inputs, folder, lang, progress)
        data = result.to_json()
    elif process_id == "indicators":
        data = _indicators(inputs, folder, lang)
    elif process_id == "conflicts":
        data = _conflicts(inputs, folder, lang)
    elif process_id == "change":
        data = _change(inputs, folder, lang)
    else:
        raise InputError(f"no process {process_id!r}")
    progress(70 if inputs.get("report") else 95, "writing")
    digest = _write(folder / "result.json", json_text(data))
    if process_id == "screen" and inputs.get("report"):
        progress(75, "report")
        _report(inputs, folder, lang, result, digest)
    return digest


def _screen(inputs: dict, folder: Path, lang: str, progress):
    from ..jobs.screen import screen_job

    src = inputs["sources"]
    buffers = tuple(float(b) for b in inputs["buffers"]) if "buffers" in inputs else None
    run = screen_job(Path(inputs["projects_path"]), src["layers"], boundary=src.get("boundary"),
                     id_field=inputs.get("id_field"), category_field=inputs.get("category_field"),
                     category=inputs.get("category"), buffers=buffers, landuse=src.get("landuse"),
                     landuse_field=src.get("landuse_field"), out=folder / "screening.gpkg",
                     table_path=folder / "screening.xlsx", lang=lang,
                     progress=lambda what, done, total: progress(10 + int(55 * (done or 0) / (total or 1)), what))
    _pieces_txt(run.result, folder / "encroachments.txt")
    return run.result


def _report(inputs: dict, folder: Path, lang: str, result, digest: str) -> None:
    """The 用地预审 analysis of each project, the report and the map, with the screening's record in each."""
    from ..jobs.report import build_outputs
    from ..text import t

    rec = inputs.get("record") or {}
    versions = "，".join(f"{k} v{v}" for k, v in sorted((rec.get("layers") or {}).items()))
    rows = [(t(f"preexam.record.{key}", lang), str(value)) for key, value in (
        ("job", rec.get("job", "")), ("user", rec.get("user", "")), ("time", rec.get("time", "")),
        ("input", rec.get("input_sha256", "")), ("layers", versions), ("result", digest))]
    build_outputs(_workspace(inputs["sources"]), folder / "report", projects=Path(inputs["projects_path"]),
                  lang=lang, basemap="none", screening=result, record=rows)


def _pieces_txt(result, path: Path) -> None:
    """The encroachments (the pieces of control lines each project takes) as a 国土TXT, for 补划 and the
    design institute; none when nothing is taken."""
    from ..io import gtxt

    pieces = result.encroachments
    if pieces is not None and len(pieces):
        named = pieces.assign(name=pieces["project_id"].astype(str) + " " + pieces["kind"].astype(str))
        gtxt.write(named, path)


def _workspace(src: dict):
    from ..specs.workspace import Workspace

    return Workspace(boundary=src.get("boundary"), layers=src["layers"], units=src.get("units"), by=src.get("by"),
                     landuse=src.get("landuse"), landuse_field=src.get("landuse_field"))


def _indicators(inputs: dict, folder: Path, lang: str) -> dict:
    from ..jobs.indicators import run_indicators, write_indicator_tables

    if not inputs["sources"].get("boundary"):
        raise InputError("the bureau has no district boundary layer yet: an admin adds one (kind boundary)")
    report = run_indicators(_workspace(inputs["sources"]), lang=lang)
    write_indicator_tables(report, lang, [folder / "indicators.xlsx"])
    return report.to_json()


def _change(inputs: dict, folder: Path, lang: str) -> dict:
    from ..jobs.change import change_job

    src = inputs["sources"]
    run = change_job(inputs["old_source"], inputs["new_source"], units=src.get("units"), by=src.get("by"),
                     out=folder / "change.gpkg", table_path=folder / "change.xlsx", lang=lang)
    return {**run.result.to_json(), "kind": inputs["kind"], "from": inputs["from_version"],
            "to": inputs["to_version"]}


def _conflicts(inputs: dict, folder: Path, lang: str) -> dict:
    from ..jobs.conflicts import conflicts_job

    src = inputs["sources"]
    run = conflicts_job(src["layers"], boundary=src.get("boundary"), units=src.get("units"), by=src.get("by"),
                        out=folder / "conflicts.gpkg", table_path=folder / "conflicts.xlsx", lang=lang)
    return run.result.to_json()
