"""``redline screen``: project footprints screened against the control lines, the results written, the gate.

:func:`screen_job` checks the outputs, the rule set, the layer kinds and the engine options, reads the projects,
screens them (:func:`screen_with_engine`) and writes the GeoPackage and the table; :func:`gate_failure` says which
projects trip ``--fail-on``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import engines
from ..analyses.screening import SEVERITY_LABELS, VERDICTS, ScreeningResult, load_rules
from ..errors import CatalogError
from ..io import prepare_projects, read_layer
from ..specs.catalog import SEVERITY_RANK, kind_problems, load_catalog
from .common import listed, refuse_overwrite

__all__ = ["ScreenRun", "screen_job", "gate_failure"]

@dataclass
class ScreenRun:
    """What a screening run gave: the result, the files written, and why the gate failed (None: it passed)."""

    result: ScreeningResult
    written: list[Path] = field(default_factory=list)
    failure: str | None = None


def gate_failure(result: ScreeningResult, fail_on: str, lang: str) -> str | None:
    """Which projects trip ``--fail-on``, said on one line (None when none does).

    ``"5 projects 禁止 (P-04, …)"``, or per verdict: ``"9 projects: 5 禁止 (…), 4 有条件准入 (…)"``."""
    p = result.projects
    hit = p[p["verdict"].map(SEVERITY_RANK) >= SEVERITY_RANK[fail_on]]
    groups = [f"{(hit['verdict'] == v).sum()} {SEVERITY_LABELS[lang][v]} "
              f"({listed(hit.loc[hit['verdict'] == v, 'project_id'].astype(str))})"
              for v in VERDICTS if (hit["verdict"] == v).any()]
    if not groups:
        return None
    n = f"{len(hit)} project{'s' if len(hit) > 1 else ''}"
    return f"--fail-on {fail_on}: " + (f"{n} {groups[0].split(' ', 1)[1]}" if len(groups) == 1
                                       else f"{n}: {', '.join(groups)}")


def _category_code(rules, category: str) -> str:
    """The rule set's code for ``category`` (a code or a label); refused, with the codes, when it has none."""
    code = rules.normalise_category(category)
    if code not in rules.categories:
        raise CatalogError(f"category {category!r}: not in the rule set; use one of {', '.join(rules.categories)}")
    return code


def screen_job(projects, layer_specs: dict, *, boundary=None, id_field=None, category_field=None, buffers=None,
               line_width=None, point_radius=None, rules=None, out=None, table_path=None, fail_on=None,
               engine: str = "local", workers=None, scheduler=None, lang: str = "zh", progress=None,
               read: dict | None = None, landuse=None, landuse_field=None, ownership_field=None,
               category: str | None = None) -> ScreenRun:
    """Check every input and output, read and screen the projects, write ``out`` (GeoPackage) and ``table_path``.

    ``progress(description, done, total)`` (optional) follows the Dask tasks; ``read`` holds the keywords of
    :func:`redline.io.read_layer` for the projects (``crs``, ``options``); ``category`` (a code or label of the rule
    set) is the category of every project, in place of a category field (a 国土TXT has none)."""
    refuse_overwrite([out, table_path], [projects, boundary, rules, landuse, *layer_specs.values()])
    rule_set = load_rules(rules)  # the specs checked before anything is read
    unknown = kind_problems(layer_specs, load_catalog())
    if unknown:
        raise CatalogError("; ".join(unknown))
    engines.check_engine(engine, workers, scheduler)
    code = _category_code(rule_set, category) if category is not None else None
    proj, rep = read_layer(projects, geometry="any", **(read or {}))
    proj = prepare_projects(proj, rep, id_field)
    if code is not None:
        proj, category_field = proj.assign(category=code), "category"
    tasks = (lambda done, total: progress("screening", done, total)) if progress is not None else None
    result = engines.screen(proj, layer_specs, engine=engine, workers=workers, scheduler=scheduler,
                                progress=tasks, boundary=boundary, id_field=id_field, category_field=category_field,
                                buffers=buffers, line_width=line_width, point_radius=point_radius, rules=rule_set,
                                lang=lang, repaired={r["id"]: r.get("repair", "") for r in rep.repaired},
                                landuse=landuse, landuse_field=landuse_field, ownership_field=ownership_field)
    result.notes[:0] = [f"projects: {n}" for n in rep.notes]
    run = ScreenRun(result)
    if out is not None:
        run.written.append(result.to_file(out))
    if table_path is not None:
        run.written.append(result.to_table(table_path))
    run.failure = gate_failure(result, fail_on, lang) if fail_on else None
    return run
