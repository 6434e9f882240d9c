"""The report a planner hands on: one content model, rendered to self-contained HTML (jinja2) and Word (.docx).

:func:`report_sections` turns the results (scorecard, ledger, screening,
static maps, provenance) into sections; :func:`render_html` and
:func:`render_docx` draw the same sections, so the two documents never
disagree. Every value reaches HTML through jinja2's autoescaping.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__
from ..io import format_number

__all__ = ["Section", "ReportData", "report_sections", "render_html", "render_docx"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_T = {
    "zh": {
        "generated": "生成于", "scorecard": "规划指标评价", "shares": "控制线面积与占比", "ledger": "乡镇(街道)台账",
        "landuse": "地类面积", "quotas": "耕地与永久基本农田指标核查", "overview": "总图",
        "screening": "建设项目选址筛查", "findings": "项目问题与位置图", "methods": "方法与数据来源",
        "inputs": "输入数据", "project": "项目", "name": "名称", "category": "类别", "area": "用地(公顷)",
        "verdict": "结论", "issues": "问题", "file": "文件", "sha": "SHA-256", "features": "要素数", "crs": "坐标系",
        "repaired": "修复", "dropped": "剔除", "none": "无",
        "method_text": ("面积为 CGCS2000 (GRS80) 椭球面积：坐标一次性转换为经纬度后，以 GeographicLib 大地线多边形面积"
                        "算法 (pyproj.Geod) 逐环计算，与输入坐标系无关。占比 = 面积(融合后的图层 ∩ 行政边界) ÷ 面积(行政边界)；"
                        "同一图层内的重叠只计一次，越出边界的部分单列、不计入。项目结论取各控制线中最严重的一项"
                        "(禁止 > 有条件准入 > 限制 > 无冲突)，规则见图层目录 (layers/*.toml)。"),
        "verdicts": {"prohibited": "禁止", "conditional": "有条件准入", "restricted": "限制", "clear": "无冲突"},
        "bad": ("未达标", "缺口"),
    },
    "en": {
        "generated": "Generated on", "scorecard": "Plan scorecard", "shares": "Control lines: area and share",
        "ledger": "Ledger by township", "landuse": "Land-use classes", "quotas": "Farmland quota check",
        "overview": "Overview map", "screening": "Project siting screening", "findings": "Findings and maps by project",
        "methods": "Methods and provenance", "inputs": "Input data", "project": "project", "name": "name",
        "category": "category", "area": "area (ha)", "verdict": "verdict", "issues": "findings", "file": "file",
        "sha": "SHA-256", "features": "features", "crs": "CRS", "repaired": "repaired", "dropped": "dropped",
        "none": "none",
        "method_text": ("Areas are ellipsoidal areas on CGCS2000 (GRS80): coordinates are transformed to lon/lat and each "
                        "ring is measured with GeographicLib's geodesic polygon area (pyproj.Geod), whatever the input "
                        "CRS. Share = area(dissolved layer ∩ boundary) ÷ area(boundary); overlaps within a layer count "
                        "once, spill-over beyond the boundary is listed and not counted. A project's verdict is its most "
                        "severe finding (prohibited > conditional > restricted > clear) under the catalog rules "
                        "(layers/*.toml)."),
        "verdicts": {"prohibited": "prohibited", "conditional": "conditional", "restricted": "restricted",
                     "clear": "clear"},
        "bad": ("not met", "shortfall"),
    },
}


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
    t = _T["en" if data.lang == "en" else "zh"]
    sections: list[Section] = []
    if data.overview_png:
        sections.append(Section(t["overview"], image=data.overview_png))
    if data.indicators is not None:
        tables = data.indicators.tables(data.lang)
        keys = {"zh": ("评价表", "控制线占比", "台账", "指标核查", "地类面积"),
                "en": ("scorecard", "shares", "ledger", "quotas", "land use")}["en" if data.lang == "en" else "zh"]
        titles = (t["scorecard"], t["shares"], t["ledger"], t["quotas"], t["landuse"])
        for key, title in zip(keys, titles):
            if key in tables:
                sections.append(Section(title, table=_table(tables[key], t["bad"])))
    if data.screening is not None:
        p = data.screening.projects
        names = p["name"] if "name" in p.columns else [""] * len(p)
        rows = pd.DataFrame({
            t["project"]: p["project_id"], t["name"]: names, t["category"]: p["category_label"],
            t["area"]: p["footprint_ha"].round(2), t["verdict"]: [t["verdicts"][v] for v in p["verdict"]],
        })
        table = _table(rows)
        for row, verdict in zip(table.rows, p["verdict"]):
            row[4]["cls"] = f"verdict-{verdict}"
        sections.append(Section(t["screening"], table=table))
        items = []
        for r in p.itertuples(index=False):
            if r.verdict == "clear":
                continue
            name = getattr(r, "name", "") or ""
            items.append({"title": f"{r.project_id} {name} — {t['verdicts'][r.verdict]}".strip(),
                          "text": r.findings or "", "image": data.project_pngs.get(r.project_id)})
        if items:
            sections.append(Section(t["findings"], items=items))
    methods = Section(t["methods"], text=t["method_text"])
    if data.provenance:
        prov = pd.DataFrame({
            t["file"]: [Path(e["path"]).name for e in data.provenance],
            t["sha"]: [e["sha256"] for e in data.provenance],
            t["features"]: [e["features"] for e in data.provenance],
            t["crs"]: [f"{e['crs']} ({e['crs_source']})" for e in data.provenance],
            t["repaired"]: [e["repaired"] for e in data.provenance],
            t["dropped"]: [e["dropped"] for e in data.provenance],
        })
        methods.table = _table(prov)
    methods.items = [{"title": "", "text": n, "image": None} for n in data.notes]
    sections.append(methods)
    return sections


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
    t = _T["en" if data.lang == "en" else "zh"]
    return env.get_template("report.html.j2").render(
        title=data.title, lang=data.lang, date=data.date, version=__version__, district=data.district, t=t,
        sections=view,
    )


def render_docx(data: ReportData) -> bytes:
    """The report as a Word document (.docx bytes): headings, tables, images, with a Chinese font set."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(10.5)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    t = _T["en" if data.lang == "en" else "zh"]
    doc.add_heading(data.title, level=0)
    doc.add_paragraph(f"{t['generated']} {data.date} · redline {__version__}" + (f" · {data.district}" if data.district else ""))
    for section in report_sections(data):
        doc.add_heading(section.title, level=1)
        if section.text:
            doc.add_paragraph(section.text)
        if section.image:
            doc.add_picture(io.BytesIO(section.image), width=Cm(15))
        if section.table is not None:
            tbl = doc.add_table(rows=1, cols=len(section.table.columns))
            tbl.style = "Table Grid"
            tbl.alignment = WD_TABLE_ALIGNMENT.CENTER
            for cell, col in zip(tbl.rows[0].cells, section.table.columns):
                cell.text = col
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row in section.table.rows:
                cells = tbl.add_row().cells
                for cell, value in zip(cells, row):
                    cell.text = value["text"]
        for item in section.items:
            if item["title"]:
                doc.add_heading(item["title"], level=2)
            if item["text"]:
                doc.add_paragraph(item["text"])
            if item.get("image"):
                doc.add_picture(io.BytesIO(item["image"]), width=Cm(14))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
