"""The report a planner hands on: one content model, rendered to self-contained HTML (jinja2) and Word (.docx).

:func:`report_sections` turns the results (scorecard, ledger, screening,
static maps, provenance) into sections; :func:`render_html` and
:func:`render_docx` draw the same sections, so the two documents never
disagree. Every value reaches HTML through jinja2's autoescaping.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__
from ..io import format_number
from ..text import labels, t
from .preexam import project_sections

__all__ = ["Section", "ReportData", "report_sections", "report_text", "render_html", "render_docx"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"


def report_text(lang: str) -> dict:
    """The report's words in ``lang`` (the template's ``t``): section titles and columns by name, ``method_text``,
    ``verdicts`` by code and ``bad`` (the statuses shown as failures)."""
    return {**labels("report.label", lang), "method_text": t("report.method_text", lang),
            "verdicts": labels("report.verdict", lang), "bad": tuple(labels("report.bad", lang).values())}


@dataclass
class Table:
    columns: list[str]
    rows: list[list[dict]]


@dataclass
class Section:
    """One section: a title, optional text, image (PNG bytes), table, and sub-items (title, text, image)."""

    title: str
    text: str = ""
    image: bytes | None = None
    table: Table | None = None
    items: list[dict] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything a report shows."""

    title: str
    lang: str = "zh"
    district: str = ""
    indicators: object | None = None        # workspace.IndicatorReport
    screening: object | None = None         # analyses.screening.ScreeningResult
    overview_png: bytes | None = None
    project_pngs: dict[str, bytes] = field(default_factory=dict)
    provenance: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    date: str = field(default_factory=lambda: date.today().isoformat())
    #: each project's 用地预审 analysis (:class:`redline.report.preexam.ProjectCase`), a section of the HTML report
    cases: list = field(default_factory=list)


def _cell(value, bad: tuple[str, ...] = ()) -> dict:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return {"text": ""}
    if isinstance(value, (float, np.floating)):
        return {"text": format_number(value), "cls": "num"}
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return {"text": f"{value:,}", "cls": "num"}
    text = str(value)
    return {"text": text, "cls": "status-bad" if text in bad else ""}


def _table(df: pd.DataFrame, bad: tuple[str, ...] = ()) -> Table:
    return Table([str(c) for c in df.columns], [[_cell(v, bad) for v in row] for row in df.itertuples(index=False)])


def report_sections(data: ReportData) -> list[Section]:
    """The report's sections, in order, for both renderers."""
    text = report_text(data.lang)
    sections: list[Section] = []
    if data.overview_png:
        sections.append(Section(text["overview"], image=data.overview_png))
    if data.indicators is not None:
        sections += _indicator_sections(data.indicators.tables(data.lang), text, data.lang)
    if data.screening is not None:
        sections += _screening_sections(data.screening.projects, data.project_pngs, text)
    sections.append(_methods(data, text))
    return sections


_INDICATOR_TABLES = ("scorecard", "shares", "ledger", "quotas", "landuse")  # in the report's order


def _indicator_sections(tables: dict, text: dict, lang: str) -> list[Section]:
    """A section per indicator table there is (scorecard, shares, ledger, quotas, land use)."""
    names = labels("indicators.table", lang)
    return [Section(text[key], table=_table(tables[names[key]], text["bad"]))
            for key in _INDICATOR_TABLES if names[key] in tables]


def _screening_sections(p, project_pngs: dict, text: dict) -> list[Section]:
    """The screening table (a row per project) and, for each project not clear, its findings and map."""
    names = p["name"] if "name" in p.columns else [""] * len(p)
    rows = pd.DataFrame({
        text["project"]: p["project_id"], text["name"]: names, text["category"]: p["category_label"],
        text["area"]: p["footprint_ha"].round(2), text["verdict"]: [text["verdicts"][v] for v in p["verdict"]],
    })
    table = _table(rows)
    for row, verdict in zip(table.rows, p["verdict"]):
        row[4]["cls"] = f"verdict-{verdict}"
    sections = [Section(text["screening"], table=table)]
    items = []
    for r in p.itertuples(index=False):
        if r.verdict == "clear":
            continue
        name = getattr(r, "name", "") or ""
        items.append({"title": f"{r.project_id} {name} — {text['verdicts'][r.verdict]}".strip(),
                      "text": r.findings or "", "image": project_pngs.get(r.project_id)})
    if items:
        sections.append(Section(text["findings"], items=items))
    return sections


def _methods(data: ReportData, text: dict) -> Section:
    """Methods and provenance: the method text, a row per input file, and the notes (all of them in an English
    report; a Chinese one shows the warnings and points to ``notes.txt`` for the rest)."""
    methods = Section(text["methods"], text=text["method_text"])
    if data.provenance:
        prov = pd.DataFrame({
            text["file"]: [Path(e["path"]).name for e in data.provenance],
            text["sha"]: [e["sha256"] for e in data.provenance],
            text["features"]: [e["features"] for e in data.provenance],
            text["crs"]: [f"{e['crs']} ({e['crs_source']})" for e in data.provenance],
            text["repaired"]: [e["repaired"] for e in data.provenance],
            text["dropped"]: [e["dropped"] for e in data.provenance],
        })
        methods.table = _table(prov)
    if data.lang == "en":
        methods.items = [{"title": "", "text": n, "image": None} for n in data.notes]
    elif data.notes:  # the processing notes are English: in a Chinese document the warnings a reader needs (a map
        # drawn without its characters, a datum shift) and where to find the rest
        shown = [n for n in data.notes if n.startswith(_READER_NOTES) or ": warning:" in n]
        methods.items = [{"title": "", "text": n, "image": None} for n in shown]
        methods.items.append({"title": "", "text": t("report.notes_file", data.lang, n=len(data.notes)),
                              "image": None})
    return methods


#: notes a reader of the report needs whatever its language: what its maps could not draw, and warnings
_READER_NOTES = ("static maps:", "warning:")


def _b64(png: bytes | None) -> str | None:
    return base64.b64encode(png).decode() if png else None


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML document (images embedded, no external reference)."""
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    sections = report_sections(data)
    view = [
        {"title": s.title, "text": s.text, "image": _b64(s.image), "table": s.table,
         "entries": [{**i, "image": _b64(i.get("image"))} for i in s.items]}
        for s in sections
    ]
    return env.get_template("report.html.j2").render(
        title=data.title, lang=data.lang, date=data.date, version=__version__, district=data.district,
        t=report_text(data.lang),
        sections=view,
        cases=[project_sections(c) for c in data.cases],
        cases_title=t("preexam.section.all", data.lang),
    )


def render_docx(data: ReportData) -> bytes:
    """The report as a Word document (.docx bytes) in the house style of :class:`redline.report.docx.WordDocument`:
    A4, Chinese fonts, page numbers, captions, headers repeated, each project's heading kept with its map."""
    from .docx import WordDocument

    words = report_text(data.lang)
    doc = WordDocument(data.title, data.lang, subject=data.district)
    doc.title(data.title, f"{words['generated']} {data.date} · redline {__version__}"
              + (f" · {data.district}" if data.district else ""))
    for section in report_sections(data):
        if section.table is not None and not section.image:  # the heading goes where the table goes
            _docx_table(doc, section, heading=section.title, text=section.text)
        else:
            doc.heading(section.title, level=1)
            if section.text:
                doc.paragraph(section.text)
            if section.image:
                doc.picture(section.image, caption=section.title, max_height_cm=14.0)
            if section.table is not None:
                _docx_table(doc, section)
        for item in section.items:
            if item["title"]:
                doc.heading(item["title"], level=2)
            if item["text"]:
                doc.paragraph(item["text"], keep_with_next=bool(item.get("image")))
            if item.get("image"):
                doc.picture(item["image"], caption=item["title"], max_height_cm=12.0)
    return doc.to_bytes()


def _docx_table(doc, section: Section, heading: str = "", text: str = "") -> None:
    """A section's table in the Word document, its number columns (every cell a number) right-aligned on one line."""
    table = section.table
    numeric = [bool(table.rows) and all(r[j].get("cls") == "num" or not r[j]["text"] for r in table.rows)
               for j in range(len(table.columns))]
    doc.table(table.columns, [[c["text"] for c in r] for r in table.rows], numeric, caption=section.title,
              heading=heading, text=text)
