"""Word documents that open right in Word and WPS: A4 with the margins of Chinese official documents, 仿宋/宋体/黑体
with East Asian language zh-CN, page numbers in the footer, table headers repeated on every page, columns fitted
to their content (numbers never wrap), captions (表1 …, 图1 …), headings kept with what follows, and the title,
author and date in the document's properties.

:class:`WordDocument` wraps a python-docx ``Document`` with these defaults; the report (and each project's
用地预审 analysis) is written through it.
"""

from __future__ import annotations

import io
import struct
import unicodedata
from datetime import datetime

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from ..text import t

__all__ = ["WordDocument", "PAGE_CM", "MARGINS_CM", "text_width_cm"]

#: A4, portrait.
PAGE_CM = (21.0, 29.7)
#: Top, bottom, left, right margins of GB/T 9704-2012 (党政机关公文格式): 37 mm, 35 mm, 28 mm, 26 mm.
MARGINS_CM = (3.7, 3.5, 2.8, 2.6)
_BODY_FONT, _TABLE_FONT, _HEADING_FONT, _LATIN_FONT = "仿宋", "宋体", "黑体", "Times New Roman"
_BODY_PT, _TABLE_PT = 12, 9


def text_width_cm() -> float:
    """The width between the margins (15.6 cm)."""
    return PAGE_CM[0] - MARGINS_CM[2] - MARGINS_CM[3]


def _fonts(element, east_asia: str, latin: str = _LATIN_FONT) -> None:
    """Set a run's or a style's fonts, East Asian and Latin, and its East Asian language (zh-CN)."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for key, value in (("w:ascii", latin), ("w:hAnsi", latin), ("w:eastAsia", east_asia), ("w:cs", latin)):
        fonts.set(qn(key), value)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")


def _chars(text: str) -> float:
    """Width of ``text`` in Latin character widths (CJK and full-width count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of a PNG."""
    return struct.unpack(">II", png[16:24])


class WordDocument:
    """A python-docx document with the defaults of a Chinese planning document (module docstring)."""

    def __init__(self, title: str, lang: str = "zh", subject: str = ""):
        self.doc = Document()
        self.lang = lang
        self.tables = 0
        self.figures = 0
        self._page()
        self._styles()
        self._footer()
        props = self.doc.core_properties
        props.title, props.author, props.last_modified_by = title, "redline", "redline"
        props.subject, props.comments = subject, ""
        props.created = props.modified = datetime.now().replace(microsecond=0)
        props.language = "zh-CN" if lang == "zh" else "en-US"

    def _page(self) -> None:
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
        top, bottom, left, right = MARGINS_CM
        section.top_margin, section.bottom_margin = Cm(top), Cm(bottom)
        section.left_margin, section.right_margin = Cm(left), Cm(right)
        section.footer_distance = Cm(2.0)

    def _styles(self) -> None:
        styles = self.doc.styles
        normal = styles["Normal"]
        normal.font.size = Pt(_BODY_PT)
        _fonts(normal.element, _BODY_FONT)
        normal.paragraph_format.line_spacing = 1.25
        normal.paragraph_format.space_after = Pt(4)
        for name, size in (("Title", 20), ("Heading 1", 15), ("Heading 2", 13), ("Heading 3", 12)):
            style = styles[name]
            style.font.size, style.font.bold = Pt(size), True
            style.font.color.rgb = RGBColor(0, 0, 0)
            _fonts(style.element, _HEADING_FONT)
            style.paragraph_format.keep_with_next = True
        styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        caption = styles["Caption"]
        caption.font.size, caption.font.bold, caption.font.italic = Pt(10.5), True, False
        caption.font.color.rgb = RGBColor(0, 0, 0)
        _fonts(caption.element, _HEADING_FONT)
        caption.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def _footer(self) -> None:
        """Page numbers, centred: ``— 1 —`` (a PAGE field, so Word and WPS count the pages)."""
        paragraph = self.doc.sections[0].footer.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run("— ")
        run = paragraph.add_run()
        for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
            if kind:
                char = OxmlElement("w:fldChar")
                char.set(qn("w:fldCharType"), kind)
                run._r.append(char)
            else:
                instr = OxmlElement("w:instrText")
                instr.set(qn("xml:space"), "preserve")
                instr.text = text
                run._r.append(instr)
        paragraph.add_run(" —")

    def heading(self, text: str, level: int = 1):
        """A heading (kept with the next paragraph: a project's heading stays with its map)."""
        return self.doc.add_heading(text, level=level)

    def title(self, text: str, subtitle: str = "") -> None:
        self.doc.add_heading(text, level=0)
        if subtitle:
            p = self.doc.add_paragraph(subtitle)
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def paragraph(self, text: str, keep_with_next: bool = False):
        p = self.doc.add_paragraph(text)
        p.paragraph_format.keep_with_next = keep_with_next
        return p

    def caption(self, kind: str, text: str):
        """``表N text`` before a table or ``图N text`` after a figure, numbered in order."""
        if kind == "table":
            self.tables += 1
            label = t("report.caption.table", self.lang, n=self.tables)
        else:
            self.figures += 1
            label = t("report.caption.figure", self.lang, n=self.figures)
        p = self.doc.add_paragraph(f"{label} {text}".strip(), style="Caption")
        p.paragraph_format.keep_with_next = kind == "table"
        return p

    def picture(self, png: bytes, caption: str = "", max_height_cm: float = 16.0) -> None:
        """A figure fitted into the text width and ``max_height_cm``, its caption below, kept on one page with it."""
        w, h = _png_size(png)
        width = min(text_width_cm(), max_height_cm * w / h) if h else text_width_cm()
        self.doc.add_picture(io.BytesIO(png), width=Cm(width))
        picture = self.doc.paragraphs[-1]
        picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture.paragraph_format.keep_with_next = bool(caption)
        if caption:
            self.caption("figure", caption)

    def table(self, columns: list[str], rows: list[list[str]], numeric: list[bool] | None = None, caption: str = "",
              heading: str = "", text: str = "", header: bool = True):
        """A table with its caption above (after ``heading`` and ``text``, if given); header repeated on each page,
        columns as wide as their content needs (numbers on one line), the whole as
        wide as the text — on a landscape page, heading and all, when its numbers alone are wider than the page."""
        numeric = numeric or [False] * len(columns)
        need = _needs(columns if header else [""] * len(columns), rows, numeric)
        wide = sum(n for n, num in zip(need, numeric) if num) > text_width_cm()  # numbers alone don't fit
        if wide:
            self._orient(landscape=True)
        if heading:
            self.heading(heading, level=1)
        if text:
            self.paragraph(text, keep_with_next=True)
        if caption:
            self.caption("table", caption)
        tbl = self.doc.add_table(rows=1 if header else 0, cols=len(columns))
        tbl.style = "Table Grid"
        tbl.alignment = WD_TABLE_ALIGNMENT.CENTER
        tbl.autofit = False
        total = self._text_width()
        shrink = min(1.0, total / sum(need))  # too wide even so: a smaller type, down to 6.5 pt
        size = max(6.5, _TABLE_PT * shrink)
        widths = _widths([n * size / _TABLE_PT for n in need], numeric, total)
        for column, width in zip(tbl.columns, widths):  # the grid: what LibreOffice and WPS lay out by
            column.width = Cm(width)
        if header:
            self._row(tbl.rows[0], columns, widths, numeric, size, header=True)
        for values in rows:
            self._row(tbl.add_row(), values, widths, numeric, size)
        layout = OxmlElement("w:tblLayout")
        layout.set(qn("w:type"), "fixed")
        tbl._tbl.tblPr.append(layout)
        if len(tbl.rows) <= _KEEP_TOGETHER:  # a short table stays on one page: each row kept with the next
            for row in list(tbl.rows)[:-1]:
                for cell in row.cells:
                    for paragraph in cell.paragraphs:
                        paragraph.paragraph_format.keep_with_next = True
        if wide:
            self._orient(landscape=False)
        return tbl

    def _text_width(self) -> float:
        section = self.doc.sections[-1]
        return (section.page_width - section.left_margin - section.right_margin) / 360000

    def _orient(self, landscape: bool) -> None:
        """A new section, landscape (a table too wide for the page) or back to portrait; page numbers go on."""
        from docx.enum.section import WD_SECTION

        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        top, bottom, left, right = MARGINS_CM
        if landscape:
            section.orientation = WD_ORIENT.LANDSCAPE
            section.page_width, section.page_height = Cm(PAGE_CM[1]), Cm(PAGE_CM[0])
            section.top_margin, section.bottom_margin = Cm(left), Cm(right)
            section.left_margin, section.right_margin = Cm(top), Cm(bottom)
        else:
            section.orientation = WD_ORIENT.PORTRAIT
            section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
            section.top_margin, section.bottom_margin = Cm(top), Cm(bottom)
            section.left_margin, section.right_margin = Cm(left), Cm(right)

    def _row(self, row, values, widths, numeric, size: float = _TABLE_PT, header: bool = False) -> None:
        trpr = row._tr.get_or_add_trPr()
        # no w:cantSplit: LibreOffice drops the rows after a page break when both it and a repeated header are set
        if header:
            repeat = OxmlElement("w:tblHeader")
            trpr.append(repeat)
        for cell, value, width, num in zip(row.cells, values, widths, numeric):
            cell.width = Cm(width)
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            paragraph.paragraph_format.line_spacing = 1.0
            paragraph.alignment = (WD_ALIGN_PARAGRAPH.CENTER if header else
                                   WD_ALIGN_PARAGRAPH.RIGHT if num else WD_ALIGN_PARAGRAPH.LEFT)
            run = paragraph.add_run(str(value))
            run.font.size = Pt(size)
            run.bold = header
            _fonts(run._r, _HEADING_FONT if header else _TABLE_FONT)
            if num and not header:
                tcpr = cell._tc.get_or_add_tcPr()
                tcpr.append(OxmlElement("w:noWrap"))

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.doc.save(buf)
        return buf.getvalue()


#: tables of at most this many rows are kept on one page
_KEEP_TOGETHER = 15
#: centimetres per Latin character at the table's size (9 pt: a CJK character is 0.32 cm, its fallback fonts a
#: little more), plus the cell's margins
_CM_PER_CHAR, _PAD_CM = 0.19, 0.6
#: a text column wider than this many Latin characters wraps (a hash, a long name) rather than crowd the others
_TEXT_CAP = 34


def _needs(columns: list[str], rows: list[list[str]], numeric: list[bool]) -> list[float]:
    """Each column's width (cm) to show its content unwrapped: its longest cell (text capped at
    :data:`_TEXT_CAP`), or its header's longest word pair, at least four characters."""
    need = []
    for j, head in enumerate(columns):
        longest = max([_chars(str(r[j])) for r in rows] or [0])
        if not numeric[j]:
            longest = min(longest, _TEXT_CAP)
        head_min = min(_chars(head), max(4, (_chars(head) + 1) // 2))  # a header may take two lines
        need.append(max(longest, head_min, 4) * _CM_PER_CHAR + _PAD_CM)
    return need


def _widths(need: list[float], numeric: list[bool], total: float) -> list[float]:
    """Widths adding up to ``total``: every column its need, what is left shared in proportion to the needs; when
    the needs exceed it, numbers keep theirs and text columns share the rest (never below 1.5 cm)."""
    if sum(need) <= total:
        extra = total - sum(need)
        return [n + extra * n / sum(need) for n in need]
    fixed = sum(n for n, num in zip(need, numeric) if num)
    free = sum(n for n, num in zip(need, numeric) if not num)
    left = max(total - fixed, 0.0)
    if not free:
        return [n * total / fixed for n in need]
    return [n if num else max(1.5, n * left / free) for n, num in zip(need, numeric)]
