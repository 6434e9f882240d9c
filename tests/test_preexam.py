"""Each project's 用地预审 analysis: ``redline report --projects … --landuse …`` writes projects/<id>.docx with
the 基本情况表, the 土地利用现状表 (adding up to the footprint), 三线协调, the map and the conclusion — in Chinese,
and in English with --lang en; the same tables in the HTML report."""

from __future__ import annotations

import subprocess
import sys

import pytest
from docx import Document

from redline._resources import resource_dir

SAMPLE = resource_dir("sample")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("preexam") / "rep"
    done = subprocess.run([sys.executable, "-m", "redline", "report", "--workspace", str(SAMPLE / "workspace.toml"),
                           "--projects", str(SAMPLE / "sites.txt"), "--basemap", "none", "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def _tables(path):
    doc = Document(path)
    return doc, [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]


def test_one_document_per_project(report):
    assert sorted(p.name for p in (report / "projects").iterdir()) == [
        "QJ-2026-01.docx", "QJ-2026-02.docx", "QJ-2026-03.docx"]


def test_basic_table(report):
    doc, tables = _tables(report / "projects" / "QJ-2026-03.docx")
    basic = dict(tables[0])
    assert basic["项目编号"] == "QJ-2026-03" and basic["项目名称"] == "示例灌区配套工程" and basic["项目类别"] == "水利"
    assert basic["所在乡镇(街道)"]
    assert "公顷" in basic["用地面积"] and "亩" in basic["用地面积"] and "区界外" in basic["用地面积"]
    assert basic["坐标来源"].startswith("sites.txt（国土TXT，2000国家大地坐标系 3度带 第36带")
    assert doc.core_properties.title.startswith("QJ-2026-03") and doc.core_properties.author == "redline"


def test_landuse_table_adds_up(report):
    _, tables = _tables(report / "projects" / "QJ-2026-03.docx")
    rows = {r[0].strip("\u3000"): r for r in tables[1][1:]}
    ha = {k: float(v[1].replace(",", "")) for k, v in rows.items()}
    total = ha["合计"]
    assert ha["农用地小计"] + ha["建设用地"] + ha["未利用地"] + ha["无三调数据"] == pytest.approx(total, abs=2e-4)
    assert ha["水田"] + ha["水浇地"] + ha["旱地"] == pytest.approx(ha["耕地"], abs=2e-4)
    assert ha["水田"] > 0 and ha["水浇地"] > 0 and ha["无三调数据"] > 0
    mu = float(rows["合计"][2].replace(",", ""))
    assert mu == pytest.approx(total * 15, abs=0.01)


def test_lines_and_conclusion(report):
    doc, tables = _tables(report / "projects" / "QJ-2026-03.docx")
    lines = {r[0]: r[1:] for r in tables[2][1:]}
    assert lines["是否占用永久基本农田"][0] == "是" and "0102" in lines["是否占用永久基本农田"][2]
    assert lines["是否占用生态保护红线"][0] == "否" and "最近距离" in lines["是否占用生态保护红线"][2]
    assert lines["是否位于城镇开发边界内"][0] == "否"
    assert lines["是否占用耕地"][0] == "是"
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "有条件准入" in text and "国务院" in text and "占补平衡" in text
    assert "图1 QJ-2026-03 项目位置图" in text
    assert "reprojected" not in text  # the English processing notes stay out of a Chinese document
    quarry = {r[0]: r[1:] for r in _tables(report / "projects" / "QJ-2026-01.docx")[1][2][1:]}
    assert quarry["是否占用生态保护红线"][0] == "是"


def test_html_report_has_the_same_tables(report):
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "建设项目用地预审与选址分析" in html and "土地利用现状表" in html and "三线协调情况表" in html
    assert html.count("基本情况表") == 3


def test_english(tmp_path):
    out = tmp_path / "en"
    done = subprocess.run([sys.executable, "-m", "redline", "report", "--workspace", str(SAMPLE / "workspace.toml"),
                           "--projects", str(SAMPLE / "sites.txt"), "--basemap", "none", "--lang", "en", "--out",
                           str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    doc, tables = _tables(out / "projects" / "QJ-2026-02.docx")
    assert dict(tables[0])["Project id"] == "QJ-2026-02"
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Conclusion" in text and "Location map" in text
