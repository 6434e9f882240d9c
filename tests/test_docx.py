"""Word documents that open right in Word and WPS: A4 with official-document margins, Chinese fonts with East Asian
language zh-CN, a PAGE field in the footer, table headers repeated, numbers that don't wrap, captions, the
properties; and the same document converted to PDF by LibreOffice: A4 pages, page numbers printed."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm

from conftest import in_ci
from redline.report.docx import MARGINS_CM, WordDocument, text_width_cm


def _png(w: int = 400, h: int = 300) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), "white").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def document() -> bytes:
    doc = WordDocument("示例报告", "zh", subject="黔江区")
    doc.title("示例报告", "生成于 2026-12-02")
    doc.heading("项目问题与位置图")
    doc.paragraph("QJ-2026-01 占用生态保护红线。", keep_with_next=True)
    doc.picture(_png(), caption="QJ-2026-01 位置图")
    rows = [[f"示例街道{i:02d}", f"{i * 1234.5678:,.2f}", f"{i * 3.3:.2f}"] for i in range(1, 80)]
    doc.table(["单位", "面积(公顷)", "占比(%)"], rows, [False, True, True], caption="乡镇(街道)台账")
    wide = [[f"示例镇{i:02d}", *[f"{i * 9876.54:,.2f}"] * 11] for i in range(1, 5)]
    doc.table(["单位", *[f"指标{j}" for j in range(11)]], wide, [False, *[True] * 11], caption="宽表",
              heading="宽表")
    return doc.to_bytes()


def test_page_fonts_and_properties(document):
    doc = Document(io.BytesIO(document))
    first = doc.sections[0]
    assert abs(first.page_width - Cm(21)) < Cm(0.01) and abs(first.page_height - Cm(29.7)) < Cm(0.01)
    assert abs(first.top_margin - Cm(MARGINS_CM[0])) < Cm(0.01) and abs(first.left_margin - Cm(MARGINS_CM[2])) < Cm(0.01)
    normal = doc.styles["Normal"].element.rPr
    assert normal.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋"
    assert normal.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    props = doc.core_properties
    assert props.title == "示例报告" and props.author == "redline" and props.created is not None
    assert "python-docx" not in (props.comments or "") + (props.author or "")


def test_footer_has_a_page_field(document):
    doc = Document(io.BytesIO(document))
    xml = doc.sections[0].footer._element.xml
    assert "PAGE" in xml and 'w:fldCharType="begin"' in xml


def test_tables_repeat_headers_and_numbers_do_not_wrap(document):
    doc = Document(io.BytesIO(document))
    table = doc.tables[0]
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    widths = [c.width for c in table.columns]
    assert abs(sum(widths) - Cm(text_width_cm())) < Cm(0.05)
    number_cell = table.rows[1].cells[1]._tc
    assert number_cell.tcPr.find(qn("w:noWrap")) is not None
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert captions == ["图1 QJ-2026-01 位置图", "表1 乡镇(街道)台账", "表2 宽表"]


def test_heading_kept_with_its_map(document):
    doc = Document(io.BytesIO(document))
    heading = next(p for p in doc.paragraphs if p.text == "项目问题与位置图")
    assert heading.style.paragraph_format.keep_with_next
    text = next(p for p in doc.paragraphs if p.text.startswith("QJ-2026-01 占用"))
    assert text.paragraph_format.keep_with_next


def test_wide_table_gets_a_landscape_page(document):
    doc = Document(io.BytesIO(document))
    orientations = [s.page_width > s.page_height for s in doc.sections]
    assert orientations == [False, True, False]


def test_libreoffice_renders_a4_with_page_numbers(document, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice or not shutil.which("pdftotext"):
        if in_ci():
            pytest.fail("LibreOffice and poppler-utils are needed (.ci/run installs them)")
        pytest.skip("LibreOffice (soffice) or pdftotext not installed")
    path = tmp_path / "doc.docx"
    path.write_bytes(document)
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=300)
    pdf = tmp_path / "doc.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "A4" in info
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    import re

    assert re.search(r"—\s*1\s*—", pages[0]) and re.search(r"—\s*2\s*—", pages[1])
    assert "示例街道" in text and "1,234.57" in text and "39,506.16" in text and "示例镇04" in text.replace(" ", "")  # on one line, not cut mid-digit
    assert "示例报告" in text


def test_report_docx_is_in_house_style(tmp_path):
    """The report of ``redline report`` is written through WordDocument."""
    import redline
    from redline.report import build_outputs

    ws = redline.load_workspace("data/qianjiang/workspace.toml")
    build_outputs(ws, tmp_path / "rep", projects="data/qianjiang/sites.txt", basemap="none")
    doc = Document(tmp_path / "rep" / "report.docx")
    assert doc.core_properties.author == "redline"
    assert any(p.style.name == "Caption" and p.text.startswith("表1") for p in doc.paragraphs)
    assert all(t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None for t in doc.tables)
    with zipfile.ZipFile(tmp_path / "rep" / "report.docx") as z:
        assert 'w:eastAsia="zh-CN"' in z.read("word/styles.xml").decode()
