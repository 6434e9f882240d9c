"""From a workspace to everything a planner hands on: tables, map, static maps, report, styled GeoPackage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


from ..analyses.screening import ScreeningResult, load_rules, screen
from ..specs.catalog import load_catalog
from ..io import LayerCache, atomic_folder, atomic_output, prepare_projects, write_styled_gpkg, write_tables
from ..maps import build_map, render_html as render_map
from ..maps.qgis import categorized_qml, fill_qml, outline_qml
from ..maps.static import FontCheck, overview_png, project_png
from ..maps.theme import load_theme
from ..specs.workspace import IndicatorReport, Workspace, run_indicators
from ..report.document import ReportData, render_docx, render_html

__all__ = ["Outputs", "build_outputs", "SCREEN_KINDS"]

#: Kinds screened by default when a workspace has them.
SCREEN_KINDS = ("eco_redline", "basic_farmland", "urban_boundary", "nature_reserve", "water_source",
                "control_unit", "build_zone")
_VERDICT_LABELS = {"zh": {"prohibited": "禁止", "conditional": "有条件准入", "restricted": "限制", "clear": "无冲突"},
                   "en": {"prohibited": "prohibited", "conditional": "conditional", "restricted": "restricted",
                          "clear": "clear"}}


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
) -> Outputs:
    """Measure, screen, draw and write: ``indicators.xlsx``, ``map.html``, ``maps/*.png``, ``report.html``,
    ``report.docx`` and ``results.gpkg`` (styled for QGIS) into ``out``.

    Results already computed (``indicators``, ``screening``) are used as they are. The files are built in
    a hidden folder and moved into ``out`` together at the end (:func:`redline.io.atomic_folder`): a run
    that fails leaves ``out`` as it was, and ``out`` naming a file fails before any work.
    """
    final = Path(out)
    with atomic_folder(final) as out:  # the staging folder: every file below is written there
        step = progress or (lambda name: None)
        cache = cache or LayerCache()
        catalog, theme = load_catalog(), load_theme()
        rules = load_rules(catalog=catalog) if screening is None and projects is not None else None  # before any read
        zh = lang != "en"
        if indicators is None:
            indicators = run_indicators(ws, recipe, lang, reader=cache)
        step("indicators")
        boundary = cache(ws.boundary, geometry="polygon").gdf
        layers = {k: cache(p, geometry="polygon").gdf for k, p in ws.layers.items()}
        units = cache(ws.units, geometry="polygon").gdf if ws.units else None
        if screening is None and projects is not None:
            screen_layers = {k: layers[k] for k in SCREEN_KINDS if k in layers}
            proj, report = cache(projects, geometry="any")
            proj = prepare_projects(proj, report)
            screening = screen(proj, screen_layers, boundary=boundary, lang=lang, rules=rules,
                               repaired={r["id"]: r.get("repair", "") for r in report.repaired})
        step("screening")
        district = str(boundary.iloc[0].get("name", "")) if "name" in boundary.columns else ""
        title = title or (f"{district} 国土空间管控分析报告" if zh else f"{district} territorial-spatial constraint report")
        files: list[Path] = []
        notes = list(indicators.notes)

        files.append(write_tables(indicators.tables(lang), out / "indicators.xlsx"))
        result = build_map(layers, boundary=boundary, units=units, units_by=ws.by, screening=screening, catalog=catalog,
                           theme=theme, lang=lang, basemap=basemap, tianditu_key=tianditu_key,
                           title=f"{district} 三区三线“一张图”" if zh else f"{district}: one map")
        notes += result.notes
        files.append(_write(out / "map.html", render_map(result.map)))
        step("map")

        fonts = FontCheck()  # characters drawn as boxes in any of the maps: said once, in the notes and on stderr
        overview = overview_png(layers, boundary, screening=screening, title=title, catalog=catalog, theme=theme, lang=lang,
                                fonts=fonts)
        files.append(_write(out / "maps" / "overview.png", overview))
        pngs = {}
        if screening is not None:
            for pid in screening.projects.loc[screening.projects["verdict"] != "clear", "project_id"]:
                pngs[pid] = project_png(pid, layers, screening, catalog=catalog, theme=theme, lang=lang, fonts=fonts)
                files.append(_write(out / "maps" / f"{_safe(pid)}.png", pngs[pid]))
        if fonts.note():
            notes.append(fonts.note())
            fonts.warn()
        step("static maps")

        data = ReportData(title=title, lang=lang, district=district, indicators=indicators, screening=screening,
                          overview_png=overview, project_pngs=pngs, provenance=cache.provenance(), notes=notes)
        files.append(_write(out / "report.html", render_html(data)))
        files.append(_write(out / "report.docx", render_docx(data)))
        step("report")

        styled = []
        for kind_name, gdf in layers.items():
            kind = catalog[kind_name]
            st = kind.style
            styled.append((kind_name, gdf, kind.label(lang), fill_qml(st.get("fill", "#888888"), st.get("stroke", "#444444"),
                                                                      st.get("fill_opacity", 0.4))))
        styled.append(("boundary", boundary, "行政边界" if zh else "boundary", outline_qml(theme.boundary["stroke"], 0.8)))
        if units is not None:
            styled.append(("units", units, "乡镇(街道)" if zh else "units", outline_qml(theme.units["stroke"], 0.3)))
        if screening is not None:
            labels = _VERDICT_LABELS["en" if lang == "en" else "zh"]
            cats = [(v, labels[v], theme.verdicts[v]) for v in ("prohibited", "conditional", "restricted", "clear")]
            projects_out = screening.projects.copy()
            for col in projects_out.columns:
                if projects_out[col].map(lambda v: isinstance(v, (list, tuple))).any():
                    projects_out[col] = projects_out[col].map(lambda v: "、".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
            styled.append(("projects", projects_out, "建设项目" if zh else "projects", categorized_qml("verdict", cats)))
            if len(screening.encroachments):
                styled.append(("encroachments", screening.encroachments, "占用图斑" if zh else "encroachments",
                               fill_qml(theme.encroachment["fill"], theme.encroachment["stroke"], 0.6)))
        files.append(write_styled_gpkg(styled, out / "results.gpkg"))
        step("gpkg")
    files = [final / f.relative_to(out) for f in files]
    return Outputs(files, indicators, screening, notes)


def _safe(name: str) -> str:
    """A file name from a project id (no path separators or reserved characters)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)) or "project"
