"""One project's 用地预审 / 规划选址 analysis, as a bureau files it: 基本情况表, 土地利用现状表, 三线协调, the
map, 综合结论 and the data sources — in Word (:func:`render_project_docx`) and as a section of the HTML report
(:func:`project_sections`). Chinese by default, English with ``lang="en"``; the processing notes (in English)
go to an annex, never into the body.

The 土地利用现状表 is laid out vertically (地类 down the side, 公顷 and 亩 across, 国有/集体 with the ownership
split): the horizontal layout of thirteen columns does not fit an A4 portrait page without a type too small to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .. import __version__
from ..geometry.area import UNITS
from ..text import labels, t

__all__ = ["ProjectCase", "render_project_docx", "project_sections", "landuse_rows"]

#: the rows of the 土地利用现状表: (key, indent)
_LANDUSE_ROWS = (("total", 0), ("agricultural", 0), ("farmland", 1), ("paddy", 2), ("irrigated", 2), ("dry", 2),
                 ("garden", 1), ("forest", 1), ("grassland", 1), ("other", 1), ("construction", 0), ("unused", 0),
                 ("uncovered", 0))
#: below this (m²) a part inside or outside a line is the rounding of the overlay, not land
_SLIVER_M2 = 0.01
#: the kinds asked about in 三线协调, in order (those given): the urban boundary is asked the other way round
_LINE_KINDS = ("basic_farmland", "eco_redline", "nature_reserve", "water_source")


@dataclass
class ProjectCase:
    """Everything one project's analysis shows (assembled by :mod:`redline.jobs.report`)."""

    project_id: str
    name: str
    category: str
    verdict: str
    footprint_m2: float
    townships: list[str]
    outside_m2: float
    source: str
    hits: pd.DataFrame                      # this project's rows of ScreeningResult.hits
    kind_labels: dict[str, str]
    landuse: dict | None = None             # {row key: m²} (and "state"/"collective": {row key: m²})
    png: bytes | None = None
    sources: list[dict] = field(default_factory=list)   # {"name", "date", "crs", "sha256"}
    notes: list[str] = field(default_factory=list)
    date: str = ""
    lang: str = "zh"
    record: list = field(default_factory=list)  # (label, value) rows of the screening's audit record (the service)


def landuse_rows(take, pid: str) -> dict:
    """The 现状表 figures (m²) of project ``pid`` from a :class:`redline.analyses.landtake.LandTake`: the rows of
    :data:`_LANDUSE_ROWS`, and with the ownership split ``state`` / ``collective`` the same rows each."""
    pieces = take.pieces[take.pieces["project_id"] == pid]

    def rows(p: pd.DataFrame) -> dict:
        cls = take.classes
        col = p["code"].map(lambda c: cls.column(c) if c != "uncovered" else None)
        out = {"total": float(p["area_m2"].sum()),
               "uncovered": float(p.loc[p["code"] == "uncovered", "area_m2"].sum())}
        for group in ("agricultural", "construction", "unused"):
            out[group] = float(p.loc[p["group"] == group, "area_m2"].sum())
        for key in ("farmland", "garden", "forest", "grassland", "other"):
            out[key] = float(p.loc[col == key, "area_m2"].sum())
        for key in ("paddy", "irrigated", "dry"):
            out[key] = float(p.loc[p["code"] == cls.farmland[key], "area_m2"].sum())
        return out

    result = rows(pieces)
    if take.by_ownership:
        for who in ("state", "collective"):
            result[who] = rows(pieces[pieces["ownership"] == who])
    return result


def _ha(m2: float) -> str:
    return f"{m2 / UNITS['ha']:,.4f}"


def _mu(m2: float) -> str:
    return f"{m2 / UNITS['mu']:,.2f}"


def _basic(case: ProjectCase) -> list[list[str]]:
    row = labels("preexam.basic.rows", case.lang)
    area = t("preexam.basic.area", case.lang, ha=_ha(case.footprint_m2), mu=_mu(case.footprint_m2))
    if case.outside_m2 > 0:
        area += "；" if case.lang == "zh" else "; "
        area += t("preexam.basic.outside", case.lang, ha=_ha(case.outside_m2))
    none = t("preexam.basic.none", case.lang)
    return [[row["id"], case.project_id], [row["name"], case.name or none], [row["category"], case.category or none],
            [row["townships"], "、".join(case.townships) or none], [row["area"], area],
            [row["source"], case.source or none]]


def _landuse(case: ProjectCase) -> tuple[list[str], list[list[str]]]:
    head = labels("preexam.landuse.head", case.lang)
    row = labels("preexam.landuse.row", case.lang)
    columns = ["", row["ha"], row["mu"]]
    owned = "state" in case.landuse
    if owned:
        columns += [row["state"], row["collective"]]
    out = []
    for key, indent in _LANDUSE_ROWS:
        if key == "uncovered" and case.landuse["uncovered"] <= 0:
            continue
        cells = ["\u3000" * indent + head[key], _ha(case.landuse[key]), _mu(case.landuse[key])]
        if owned:
            cells += [_ha(case.landuse["state"][key]), _ha(case.landuse["collective"][key])]
        out.append(cells)
    return columns, out


def _lines(case: ProjectCase) -> list[list[str]]:
    """三线协调: 耕地, then each control line given (占用 or not, the area, the zones or the distance), and whether
    the project lies inside the urban development boundary."""
    w = labels("preexam.lines", case.lang)
    rows = []
    if case.landuse is not None:
        farm = case.landuse["farmland"]
        rows.append([w["farmland"], w["yes"] if farm > 0 else w["no"], _ha(farm), ""])
    else:
        rows.append([w["farmland"], w["not_given"], "", ""])
    hits = case.hits.set_index("kind") if len(case.hits) else case.hits
    for kind in _LINE_KINDS:
        if kind not in getattr(hits, "index", []):
            continue
        h = hits.loc[kind]
        took = float(h["overlap_m2"]) > 0
        note = (t("preexam.lines.zones", case.lang, zones="、".join(map(str, h["zones"]))) if took and len(h["zones"])
                else t("preexam.lines.distance", case.lang, m=f"{float(h['distance_m']):,.0f}")
                if not took and pd.notna(h["distance_m"]) else "")
        rows.append([t("preexam.lines.kind", case.lang, kind=case.kind_labels.get(kind, kind)),
                     w["yes"] if took else w["no"], _ha(float(h["overlap_m2"])), note])
    if "urban_boundary" in getattr(hits, "index", []):
        outside = float(hits.loc["urban_boundary", "outside_m2"])
        outside = outside if outside > _SLIVER_M2 else 0.0
        inside = case.footprint_m2 - outside
        inside = inside if inside > _SLIVER_M2 else 0.0
        answer = w["yes"] if not outside else w["no"] if not inside else w["partly"]
        rows.append([w["urban"], answer, _ha(inside),
                     t("preexam.lines.outside", case.lang, ha=_ha(outside)) if outside > 0 else ""])
    return rows


def _conclusion(case: ProjectCase) -> str:
    verdicts = labels("report.verdict", case.lang)
    flagged = case.hits[case.hits["severity"].isin(tuple(verdicts))] if len(case.hits) else case.hits
    flagged = flagged[flagged["severity"] != "clear"]
    issues = "、".join(f"{case.kind_labels.get(h.kind, h.kind)}（{verdicts.get(h.severity, h.severity)}）"
                      for h in flagged.itertuples(index=False))
    text = t(f"preexam.conclusion.{case.verdict}", case.lang, id=case.project_id, issues=issues)
    if case.landuse is not None and case.landuse["farmland"] > 0:
        text += t("preexam.conclusion.farmland", case.lang, ha=_ha(case.landuse["farmland"]),
                  mu=_mu(case.landuse["farmland"]))
    return text


def _findings(case: ProjectCase) -> list[str]:
    """The rules' sentences on what was flagged (符合性说明)."""
    if not len(case.hits):
        return []
    return [m for m, s in zip(case.hits["message"], case.hits["severity"]) if s not in ("clear",) and m]


def render_project_docx(case: ProjectCase) -> bytes:
    """The project's analysis as a Word document (:class:`redline.report.docx.WordDocument`)."""
    from .docx import WordDocument

    lang = case.lang
    title = t("preexam.title", lang, id=case.project_id, name=case.name).strip()
    doc = WordDocument(title, lang, subject=case.project_id)
    doc.title(title, t("preexam.subtitle", lang, version=__version__, date=case.date))
    sec = labels("preexam.section", lang)
    doc.table(["", ""], _basic(case), [False, False], caption=t("preexam.basic.caption", lang), heading=sec["basic"],
              header=False)
    if case.landuse is not None:
        columns, rows = _landuse(case)
        doc.table(columns, rows, [False] + [True] * (len(columns) - 1), caption=t("preexam.landuse.caption", lang),
                  heading=sec["landuse"])
    else:
        doc.heading(sec["landuse"])
        doc.paragraph(t("preexam.landuse.missing", lang))
    head = labels("preexam.lines.head", lang)
    doc.table([head["item"], head["answer"], head["area"], head["note"]], _lines(case), [False, False, True, False],
              caption=t("preexam.lines.caption", lang), heading=sec["lines"])
    findings = _findings(case)
    if findings:
        doc.paragraph(t("preexam.lines.compliance", lang) + ("：" if lang == "zh" else ":"), keep_with_next=True)
        for text in findings:
            doc.paragraph(text)
    doc.heading(sec["map"])
    if case.png:
        doc.picture(case.png, caption=t("preexam.map.caption", lang, id=case.project_id), max_height_cm=13.0)
    else:
        doc.paragraph(t("preexam.map.missing", lang))
    doc.heading(sec["conclusion"])
    doc.paragraph(_conclusion(case))
    _annexes(doc, case, sec)
    return doc.to_bytes()


def _annexes(doc, case: ProjectCase, sec: dict) -> None:
    """Data sources (each layer with its file date and SHA-256), the screening's record (who, when, the input's
    and the result's SHA-256, the layer versions: from the service) and the processing notes."""
    if case.sources:
        head = labels("preexam.sources.head", case.lang)
        doc.table([head["file"], head["date"], head["crs"], head["sha"]],
                  [[s["name"], s["date"], s["crs"], s["sha256"]] for s in case.sources], [False] * 4,
                  caption=t("preexam.sources.caption", case.lang), heading=sec["sources"])
    if case.record:
        doc.table(["", ""], [list(r) for r in case.record], [False, False], caption=t("preexam.record.caption",
                                                                                       case.lang),
                  heading=sec["record"], header=False)
    if case.notes and case.lang == "en":  # the processing notes are English: in a Chinese document, the JSON has them
        doc.heading(sec["notes"])
        for note in case.notes:
            doc.paragraph(note)


def project_sections(case: ProjectCase) -> dict:
    """The same analysis for the HTML report: ``{"title", "tables": [(caption, columns, rows, numeric)], "findings",
    "conclusion"}`` (the map is the report's own)."""
    lang = case.lang
    head = labels("preexam.lines.head", lang)
    tables = [(t("preexam.basic.caption", lang), ["", ""], _basic(case), [False, False])]
    if case.landuse is not None:
        columns, rows = _landuse(case)
        tables.append((t("preexam.landuse.caption", lang), columns, rows, [False] + [True] * (len(columns) - 1)))
    tables.append((t("preexam.lines.caption", lang), [head["item"], head["answer"], head["area"], head["note"]],
                   _lines(case), [False, False, True, False]))
    return {"title": t("preexam.title", lang, id=case.project_id, name=case.name).strip(), "tables": tables,
            "findings": _findings(case), "conclusion": _conclusion(case)}
