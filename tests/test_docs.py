"""The user guide (docs/): it builds with ``mkdocs build --strict``, and every command block of every page runs.

A page's ```bash blocks run in order in one shell (as a reader pastes them into one terminal: a variable set in
one block serves the next), in a folder of their own (the sample data and the benchmarks beside them,
``.venv/bin/redline`` and ``.venv/bin/python`` this interpreter's), each with ``bash -e``; the figures the page
states are checked: each ``<!-- expect: TEXT -->`` after a block must appear in what the block printed. A block
followed by ``<!-- skip: reason -->`` does not run (a server in the foreground); a page holding ``<!-- needs: serve
-->`` gets ``redline serve`` started in the background on port 8000 first. The README's install prefix
(``python3 -m venv .venv && .venv/bin/pip install . &&``) is the one thing left out: the tests run where redline is
installed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO, in_ci, wait_healthy

DOCS = REPO / "docs"
PAGES = sorted(p for p in DOCS.glob("*/**/*.md"))
_INSTALL = "python3 -m venv .venv && .venv/bin/pip install . && "


@dataclass
class Block:
    code: str
    expects: list[str] = field(default_factory=list)
    skip: str | None = None


def blocks(page: Path) -> list[Block]:
    """The page's bash blocks with the expectations and skips written after each."""
    text = page.read_text(encoding="utf-8")
    out: list[Block] = []
    for match in re.finditer(r"```bash\n(.*?)```\n((?:<!-- (?:expect|skip): .*? -->\n)*)", text, re.S):
        block = Block(match.group(1).replace(_INSTALL, ""))
        for kind, value in re.findall(r"<!-- (expect|skip): (.*?) -->", match.group(2)):
            if kind == "expect":
                block.expects.append(value)
            else:
                block.skip = value
        out.append(block)
    return out


def test_every_page_has_its_commands_checked():
    assert PAGES, "no pages in docs/"
    for page in PAGES:
        found = blocks(page)
        raw = page.read_text(encoding="utf-8").count("```bash")
        assert len(found) == raw, f"{page}: a bash block the parser missed (expect/skip lines must follow it)"


def _folder(tmp: Path) -> Path:
    for name in ("data", "benchmarks", "analyses", "layers", "maps"):
        (tmp / name).symlink_to(REPO / name)
    bin_ = tmp / ".venv" / "bin"
    bin_.mkdir(parents=True)
    for name, args in (("redline", '-m redline "$@"'), ("python", '"$@"')):
        (bin_ / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" {args}\n', encoding="utf-8")
        (bin_ / name).chmod(0o755)
    return tmp


def _serve(tmp: Path, env: dict) -> subprocess.Popen:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 8000)) == 0:
            if in_ci():
                pytest.fail("the service tutorial needs port 8000 free")
            pytest.skip("the service tutorial needs port 8000 free")
    log = open(tmp / "serve.log", "w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "redline", "serve"], cwd=tmp, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_healthy("http://127.0.0.1:8000")
    except AssertionError:
        proc.kill()
        raise
    return proc


def _map_picture(request, folder: Path, tmp_path: Path, lang: str) -> None:
    """The one-map page's map.html in Chromium, P-04's popup open: the page's picture (in docs/zh/images or
    docs/en/images)."""
    from conftest import doc_image
    from test_browser import CLICK

    browser = request.getfixturevalue("browser")
    browser.get((folder / "map.html").as_uri())
    time.sleep(2)
    text = browser.execute_script(CLICK, "P-04")
    assert text is not None and ("禁止" if lang == "zh" else "prohibited") in text[0], text
    time.sleep(1)  # the popup's fade-in
    browser.save_screenshot(str(tmp_path / "map.png"))
    if lang == "zh":
        doc_image("zh/images/map-popup.png", tmp_path / "map.png")
    else:
        doc_image("en/images/en-map-popup.png", tmp_path / "map.png")


def _preexam_picture(folder: Path, tmp_path: Path) -> None:
    """The English project-files page's 用地预审 document (``redline report --lang en``) through LibreOffice: its
    first page is the page's picture (docs/en/images)."""
    from conftest import doc_image, docx_first_page

    import zipfile

    docx = folder / "sites-report" / "projects" / "QJ-2026-01.docx"
    with zipfile.ZipFile(docx) as zf:
        assert "land pre-examination" in zf.read("word/document.xml").decode("utf-8")  # written in English
    (tmp_path / "pdf").mkdir()
    page = docx_first_page(docx, tmp_path / "pdf")
    if page is not None:
        doc_image("en/images/en-preexam-page1.png", page)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_the_pages_commands_run_and_say_what_the_page_says(page, tmp_path, request):
    if not shutil.which("curl") and "curl " in page.read_text(encoding="utf-8"):
        if in_ci():
            pytest.fail("the page's commands need curl")
        pytest.skip("the page's commands need curl")
    folder = _folder(tmp_path)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "COLUMNS": "200"}
    env.pop("REDLINE_STORE", None)
    server = _serve(folder, env) if "<!-- needs: serve -->" in page.read_text(encoding="utf-8") else None
    todo = [b for b in blocks(page) if not b.skip]
    script = "".join(f"echo '@@@ block {i} @@@'\n{b.code}\n" for i, b in enumerate(todo))
    try:
        run = subprocess.run(["bash", "-e", "-c", script], cwd=folder, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=1800)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    said = re.split(r"@@@ block \d+ @@@\n", run.stdout)[1:]
    assert run.returncode == 0, f"{page.name}: block {len(said) - 1} failed:\n{todo[len(said) - 1].code}\n" \
                                f"{said[-1][-3000:] if said else run.stdout[-3000:]}"
    for block, output in zip(todo, said):
        for text in block.expects:
            assert text in output, f"{page.name}: {block.code}\ndoes not say {text!r}:\n{output[-3000:]}"
    if page.relative_to(DOCS).as_posix() in ("zh/tutorials/one-map.md", "en/tutorials/one-map.md"):
        _map_picture(request, folder, tmp_path, page.relative_to(DOCS).parts[0])
    if page == DOCS / "en" / "tutorials" / "project-files.md":
        _preexam_picture(folder, tmp_path)



@pytest.mark.parametrize("config", ["mkdocs.yml", "mkdocs.en.yml"])
def test_the_guide_builds_strictly(config, tmp_path):
    if shutil.which("mkdocs") is None and not (Path(sys.executable).parent / "mkdocs").exists():
        if in_ci():
            pytest.fail("the guide must build in CI: pip install mkdocs mkdocs-material (the test extra)")
        pytest.skip("needs mkdocs and mkdocs-material (pip install '.[test]')")
    mkdocs = str(Path(sys.executable).parent / "mkdocs") if (Path(sys.executable).parent / "mkdocs").exists() \
        else shutil.which("mkdocs")
    run = subprocess.run([mkdocs, "build", "--strict", "-f", str(DOCS / config), "-d", str(tmp_path / "site")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()


def test_the_pictures_are_the_tests_own():
    """Every picture a page shows exists and is one a test takes (``doc_image(PATH, …)``, its path under docs/),
    never drawn by hand, and every picture a test takes is shown: ``REDLINE_DOC_IMAGES=docs`` when the tests run makes
    them again, Chinese and English."""
    sources = "".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").glob("test_*.py"))
    taken = set(re.findall(r'doc_image\("([^"]+)"', sources))
    shown = set()
    for page in PAGES:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page}: shows {target}, which is not there"
            name = path.relative_to(DOCS).as_posix()
            assert name in taken, f"{page}: {target} is no test's picture"
            shown.add(name)
    assert shown == taken, f"pictures the tests take that no page shows: {sorted(taken - shown)}"
    assert {n.split("/")[0] for n in shown} == {"zh", "en"}
