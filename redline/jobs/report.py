"""From a workspace to everything a planner hands on: tables, map, static maps, report, styled GeoPackage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..analyses.scorecard import load_recipe
from ..analyses.screening import ScreeningResult, load_rules, screen
from ..specs.catalog import load_catalog
from ..io import LayerCache, atomic_folder, atomic_output, prepare_projects, write_styled_gpkg, write_tables
from ..maps import TileTarget, build_map, render_html as render_map
from ..maps.qgis import categorized_qml, fill_qml, outline_qml
from ..maps.static import FontCheck, overview_png, project_png
from ..maps.theme import load_theme
from ..report.document import ReportData, render_docx, render_html
from ..specs.workspace import Workspace
from ..text import labels, t
from .common import check_layer_kinds, counted
from .indicators import IndicatorReport, display_lang, run_indicators
from .preexam import project_cases
from ..report.preexam import render_project_docx

__all__ = ["Outputs", "build_outputs", "report_job", "SCREEN_KINDS"]

#: Kinds screened by default when a workspace has them.
SCREEN_KINDS = ("eco_redline", "basic_farmland", "urban_boundary", "nature_reserve", "water_source",
                "control_unit", "build_zone")

#: The steps of :func:`build_outputs`, as its ``progress`` names them.
REPORT_STEPS = ("indicators", "screening", "map", "static maps", "report", "gpkg")


@dataclass
class Outputs:
    """What was built and where it was written."""

    files: list[Path]
    indicators: IndicatorReport
    screening: ScreeningResult | None
    notes: list[str] = field(default_factory=list)


def _write(path: Path, data: str | bytes) -> Path:
    with atomic_output(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
    return path


def build_outputs(
    ws: Workspace,
    out: str | Path,
    *,
    projects: str | Path | None = None,
    recipe=None,
    lang: str = "zh",
    basemap: str = "osm",
    tianditu_key: str | None = None,
    title: str | None = None,
    cache: LayerCache | None = None,
    progress=None,
    indicators: IndicatorReport | None = None,
    screening: ScreeningResult | None = None,
    read_projects: dict | None = None,
    record: list | None = None,
) -> Outputs:
    """Measure, screen, draw and write: ``indicators.xlsx``, ``map.html``, ``maps/*.png``, ``report.html``,
    ``report.docx`` and ``results.gpkg`` (styled for QGIS) into ``out``.

    Results already computed (``indicators``, ``screening``) are used as they are. The files are built in
    a hidden folder and moved into ``out`` together at the end (:func:`redline.io.atomic_folder`): a run
    that fails leaves ``out`` as it was, and ``out`` naming a file fails before any work. ``read_projects``:
    keywords of :func:`redline.io.read_layer` for the projects (``crs``, ``options``); ``record``: (label, value)
    rows of the screening's audit record, shown in each project's analysis (the service passes them).
    """
    final = Path(out)
    with atomic_folder(final) as out:  # the staging folder: every file below is written there
        step = progress or (lambda name: None)
        cache = cache or LayerCache()
        catalog, theme = load_catalog(), load_theme()
        rules = load_rules(catalog=catalog) if screening is None and projects is not None else None  # before any read
        if indicators is None:
            indicators = run_indicators(ws, recipe, lang, reader=cache)
        step("indicators")
        run = _Run(ws, cache, catalog, theme, lang, indicators)
        if screening is None and projects is not None:
            screening = _screen_projects(run, projects, rules, read_projects or {})
        elif projects is not None:  # screened already: where its coordinates came from, from the cache
            run.project_read = cache(projects, geometry="any", **(read_projects or {})).report
        run.screening = screening
        step("screening")
        text_lang = display_lang(lang)
        run.title = title or t("jobs.report.title", text_lang, district=run.district)
        files = [write_tables(indicators.tables(lang), out / "indicators.xlsx"),
                 *_write_map(run, out, basemap, tianditu_key)]
        step("map")
        files += _write_static_maps(run, out)
        step("static maps")
        provenance = cache.provenance()
        cases = project_cases(run, provenance)
        for case in cases:
            case.record = list(record or [])
        data = ReportData(title=run.title, lang=lang, district=run.district, indicators=indicators,
                          screening=screening, overview_png=run.overview, project_pngs=run.pngs,
                          provenance=provenance, notes=run.notes, cases=cases)
        files.append(_write(out / "report.html", render_html(data)))
        files.append(_write(out / "report.docx", render_docx(data)))
        files += [_write(out / "projects" / f"{_safe(case.project_id)}.docx", render_project_docx(case))
                  for case in cases]
        step("report")
        files.append(write_styled_gpkg(_styled_layers(run), out / "results.gpkg"))
        files.append(_write(out / "notes.txt", ("\n".join(run.notes) + "\n").encode("utf-8")))
        step("gpkg")
    files = [final / f.relative_to(out) for f in files]
    return Outputs(files, indicators, screening, run.notes)


class _Run:
    """What the steps of :func:`build_outputs` share: the inputs read, the specs, and what earlier steps made."""

    def __init__(self, ws: Workspace, cache: LayerCache, catalog, theme, lang: str, indicators: IndicatorReport):
        self.ws, self.cache, self.catalog, self.theme, self.lang = ws, cache, catalog, theme, lang
        self.boundary = cache(ws.boundary, geometry="polygon").gdf
        self.layers = {k: cache(p, geometry="polygon").gdf for k, p in ws.layers.items()}
        self.units = cache(ws.units, geometry="polygon").gdf if ws.units else None
        self.district = str(self.boundary.iloc[0].get("name", "")) if "name" in self.boundary.columns else ""
        self.notes = list(indicators.notes)
        self.screening: ScreeningResult | None = None
        self.title = ""
        self.overview: bytes = b""
        self.pngs: dict = {}
        self.project_read = None  # the ReadReport of the projects, when screened here

def _screen_projects(run: _Run, projects, rules, read_projects: dict) -> ScreeningResult:
    """The projects screened against the kinds of :data:`SCREEN_KINDS` the workspace has (the notes of their
    read first)."""
    screen_layers = {k: run.layers[k] for k in SCREEN_KINDS if k in run.layers}
    proj, report = run.cache(projects, geometry="any", **read_projects)
    run.project_read = report
    proj = prepare_projects(proj, report)
    landuse = run.cache(run.ws.landuse, geometry="polygon").gdf if run.ws.landuse else None
    result = screen(proj, screen_layers, boundary=run.boundary, lang=run.lang, rules=rules,
                    repaired={r["id"]: r.get("repair", "") for r in report.repaired}, landuse=landuse,
                    landuse_field=run.ws.landuse_field)
    result.notes[:0] = [f"projects: {n}" for n in report.notes]
    return result


def _write_map(run: _Run, out: Path, basemap: str, tianditu_key: str | None) -> list[Path]:
    """``map.html``: the one map of the district, with ``map_files/`` beside it when a layer is large enough to be
    drawn as tiles (written straight into the report's staging folder, which lands whole)."""
    result = build_map(run.layers, boundary=run.boundary, units=run.units, units_by=run.ws.by,
                       screening=run.screening, catalog=run.catalog, theme=run.theme, lang=run.lang, basemap=basemap,
                       tianditu_key=tianditu_key, tiles=TileTarget(out / "map_files", "map_files"),
                       title=t("jobs.map.title", display_lang(run.lang), district=run.district))
    run.notes += result.notes
    page = _write(out / "map.html", render_map(result.map))
    return [page, out / "map_files"] if any(ts.count for ts in result.tiles.values()) else [page]


def _write_static_maps(run: _Run, out: Path) -> list[Path]:
    """``maps/overview.png`` and one PNG per project; missing glyphs said once."""
    fonts = FontCheck()  # characters drawn as boxes in any of the maps: said once, in the notes and on stderr
    options = dict(catalog=run.catalog, theme=run.theme, lang=run.lang, fonts=fonts)
    run.overview = overview_png(run.layers, run.boundary, screening=run.screening, title=run.title, **options)
    files = [_write(out / "maps" / "overview.png", run.overview)]
    if run.screening is not None:
        projects = run.screening.projects
        for pid in projects["project_id"]:  # every project: each has its own analysis with its map
            run.pngs[pid] = project_png(pid, run.layers, run.screening, **options)
            files.append(_write(out / "maps" / f"{_safe(pid)}.png", run.pngs[pid]))
    if fonts.note():
        run.notes.append(fonts.note())
        fonts.warn()
    return files


def _joined(frame):
    """A copy whose list values are joined with 、 (a GeoPackage field holds no lists)."""
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].map(lambda v: isinstance(v, (list, tuple))).any():
            frame[col] = frame[col].map(lambda v: "、".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
    return frame


def _styled_layers(run: _Run) -> list[tuple]:
    """``(name, frame, label, QML style)`` of every layer of ``results.gpkg``."""
    theme, lang = run.theme, display_lang(run.lang)
    styled = []
    for kind_name, gdf in run.layers.items():
        kind = run.catalog[kind_name]
        st = kind.style
        styled.append((kind_name, gdf, kind.label(run.lang), fill_qml(st.get("fill", "#888888"),
                                                                      st.get("stroke", "#444444"),
                                                                      st.get("fill_opacity", 0.4))))
    name = labels("jobs.gpkg", lang)
    styled.append(("boundary", run.boundary, name["boundary"], outline_qml(theme.boundary["stroke"], 0.8)))
    if run.units is not None:
        styled.append(("units", run.units, name["units"], outline_qml(theme.units["stroke"], 0.3)))
    screening = run.screening
    if screening is not None:
        verdict = labels("jobs.verdicts", lang)
        cats = [(v, verdict[v], theme.verdicts[v]) for v in ("prohibited", "conditional", "restricted", "clear")]
        styled.append(("projects", _joined(screening.projects), name["projects"], categorized_qml("verdict", cats)))
        if screening.landuse is not None and len(screening.landuse.pieces):
            pieces = screening.landuse.pieces.to_crs(screening.projects.crs)
            styled.append(("landuse_pieces", pieces, name["landuse_pieces"],
                           fill_qml(theme.encroachment["fill"], theme.encroachment["stroke"], 0.3)))
        if len(screening.encroachments):
            styled.append(("encroachments", screening.encroachments, name["encroachments"],
                           fill_qml(theme.encroachment["fill"], theme.encroachment["stroke"], 0.6)))
    return styled


def _safe(name: str) -> str:
    """A file name from a project id (no path separators or reserved characters)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)) or "project"


def report_job(ws: Workspace, out, *, projects=None, recipe=None, lang: str = "zh", basemap: str = "osm",
               tianditu_key=None, title=None, progress=None, read_projects: dict | None = None) -> Outputs:
    """``redline report``: the layer kinds and the recipe checked, then :func:`build_outputs` into ``out``.

    ``progress(description, done, total)`` (optional) follows its six steps."""
    check_layer_kinds(ws)
    rec = load_recipe(recipe) if recipe else None
    return build_outputs(ws, out, projects=projects, recipe=rec, lang=lang, basemap=basemap,
                         tianditu_key=tianditu_key, title=title, progress=counted(progress, len(REPORT_STEPS)),
                         read_projects=read_projects)
