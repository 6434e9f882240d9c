"""The report: Word document with the tables, self-contained HTML, provenance with SHA-256."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest

from conftest import REPO, SAMPLE


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("报告")
    proc = subprocess.run(
        [sys.executable, "-m", "redline", "report", "--workspace", str(SAMPLE / "workspace.toml"), "--projects",
         str(SAMPLE / "projects.geojson"), "--recipe", str(REPO / "analyses" / "qianjiang-2025.toml"),
         "--basemap", "none", "--out", str(out), "--json"],
        capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def test_files_written(built):
    out, data = built
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"report.html", "report.docx", "map.html", "indicators.xlsx", "results.gpkg", "maps/overview.png",
            "maps/P-04.png"} <= names
    assert not [n for n in names if ".part" in n]  # no temporary file left behind


def test_docx_holds_the_tables(built):
    from docx import Document

    out, _ = built
    doc = Document(out / "report.docx")
    headers = [[c.text for c in t.rows[0].cells] for t in doc.tables]
    assert ["指标", "单位", "目标值", "现状值", "状态"] in headers
    assert any(h[:2] == ["项目", "名称"] for h in headers)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "方法与数据来源" in text and "CGCS2000" in text and "P-04" in text
    scorecard = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][0] == "指标")
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in scorecard.rows[1:]}
    assert rows["生态保护红线面积占比"][3:] == ["25.76", "达标"]
    assert rows["森林覆盖率"][4] == "未达标"
    assert len(doc.inline_shapes) >= 2  # the overview and the project maps


def test_html_report_is_self_contained(built):
    out, _ = built
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page)
    assert page.count("data:image/png;base64,") >= 2
    for heading in ("规划指标评价", "乡镇(街道)台账", "建设项目选址筛查", "方法与数据来源"):
        assert heading in page


def test_provenance_has_sha256(built):
    out, _ = built
    page = (out / "report.html").read_text(encoding="utf-8")
    expected = hashlib.sha256((SAMPLE / "eco_redline.gpkg").read_bytes()).hexdigest()
    assert expected in page


def test_report_escapes_untrusted_text(tmp_path):
    from redline.report import ReportData, render_html

    class Fake:
        def tables(self, lang):
            import pandas as pd

            return {"评价表": pd.DataFrame({"指标": ["<script>alert(1)</script>"], "状态": ["达标"]})}

    page = render_html(ReportData(title="<b>x</b>", indicators=Fake()))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page
