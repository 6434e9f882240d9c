"""The service's pages in real headless Chromium (Selenium), against a real ``redline serve``: log in, upload the
sample 国土TXT, watch the job finish, read the verdicts, download the 用地预审 Word document; hostile names shown as
text. Screenshots go to ``REDLINE_SCREENSHOTS`` when it is set (to look at them)."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import doc_image, docx_first_page
from test_service import PASSWORD, SAMPLE

pytest.importorskip("fastapi")


def _shot(driver, name: str) -> None:
    folder = os.environ.get("REDLINE_SCREENSHOTS")
    if folder:  # the whole page: the window as tall as the document, then back
        Path(folder).mkdir(parents=True, exist_ok=True)
        size = driver.get_window_size()
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(size["width"], max(size["height"], min(height + 120, 6000)))
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))
        driver.set_window_size(size["width"], size["height"])


def _docx_page(data: bytes, tmp_path: Path) -> None:
    """The downloaded 用地预审 document through LibreOffice: A4 with page numbers, and its first page as the guide's
    picture."""
    (tmp_path / "preexam.docx").write_bytes(data)
    page = docx_first_page(tmp_path / "preexam.docx", tmp_path)
    if page is not None:
        doc_image("zh/images/preexam-page1.png", page)


def _login(driver, base: str, name: str, lang: str = "zh") -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/ui/new?lang={lang}")  # not logged in: to the login page, then back here
    assert "/login" in driver.current_url
    _shot(driver, f"login-{lang}")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def _on_result(driver):
    """On a job's result page, its projects drawn."""
    from selenium.webdriver.common.by import By

    return urlsplit(driver.current_url).path.startswith("/ui/jobs/") and driver.find_elements(By.CSS_SELECTOR,
                                                                                             "section.project")


def _wait_for(driver, what, seconds: float = 120):
    from selenium.common.exceptions import StaleElementReferenceException

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            found = what()
        except StaleElementReferenceException:  # the page changed under the look: look again
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited {seconds} s at {driver.current_url}")


def test_a_planner_screens_the_sample_txt_in_the_browser(browser, served_county, tmp_path):
    server = served_county
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _login(browser, server, "wang")
    _wait_for(browser, lambda: urlsplit(browser.current_url).path == "/ui/new")
    assert "新建审查" in browser.page_source
    browser.find_element(By.ID, "file").send_keys(str(SAMPLE / "sites.txt"))
    Select(browser.find_element(By.ID, "category")).select_by_visible_text("能源")
    _shot(browser, "new")
    browser.save_screenshot(str(tmp_path / "new.png"))
    doc_image("zh/images/service-new.png", tmp_path / "new.png")
    browser.find_element(By.ID, "start").click()
    _wait_for(browser, lambda: _on_result(browser))
    verdicts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "section.project h2 .verdict")]
    assert verdicts == ["禁止", "有条件准入", "有条件准入"], verdicts  # energy: permitted on basic farmland
    assert "占用地类" in browser.page_source and "乔木林地" in browser.page_source
    _wait_for(browser, lambda: browser.execute_script("return window.mapReady === true"))
    drawn = browser.execute_script("return [...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
                                   ".map(l => l.textContent.trim())")
    assert "生态保护红线" in drawn and "永久基本农田" in drawn and "占用部分" in drawn
    _shot(browser, "result")
    browser.execute_script("window.scrollTo(0, document.querySelector('section.project').offsetTop - 20)")
    browser.save_screenshot(str(tmp_path / "result.png"))
    doc_image("zh/images/service-result.png", tmp_path / "result.png")
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "用地预审分析 QJ-2026-01").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    docx = httpx.get(link, cookies=cookies)
    assert docx.status_code == 200 and "attachment" in docx.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(docx.content)) as zf:
        text = zf.read("word/document.xml").decode("utf-8")
    assert "QJ-2026-01" in text and "用地预审" in text
    _docx_page(docx.content, tmp_path)
    # the history lists it; the English switch turns the labels
    browser.get(f"{server}/ui/jobs?lang=en")
    assert "History" in browser.page_source and "done" in browser.page_source
    _shot(browser, "history-en")
    # screened again in English (the English guide's pictures; the form taken with the analysis ticked, as the guide
    # says to keep it, then unticked: faster): the project's history has two versions, compared side by side
    browser.get(f"{server}/ui/new?lang=en")
    assert "New screening" in browser.page_source
    browser.find_element(By.ID, "file").send_keys(str(SAMPLE / "sites.txt"))
    Select(browser.find_element(By.ID, "category")).select_by_visible_text("Energy")
    browser.save_screenshot(str(tmp_path / "new-en.png"))
    doc_image("en/images/en-service-new.png", tmp_path / "new-en.png")
    browser.find_element(By.ID, "report").click()
    browser.find_element(By.ID, "start").click()
    _wait_for(browser, lambda: _on_result(browser))
    verdicts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "section.project h2 .verdict")]
    assert verdicts == ["prohibited", "conditional", "conditional"], verdicts
    assert "Land classes taken" in browser.page_source and "Ecological protection red line" in browser.page_source
    _wait_for(browser, lambda: browser.execute_script("return window.mapReady === true"))
    browser.execute_script("window.scrollTo(0, document.querySelector('section.project').offsetTop - 20)")
    browser.save_screenshot(str(tmp_path / "result-en.png"))
    doc_image("en/images/en-service-result.png", tmp_path / "result-en.png")
    browser.get(f"{server}/ui/jobs?project=sites")
    boxes = browser.find_elements(By.CSS_SELECTOR, "input[name=job]")
    assert len(boxes) == 2
    for box in boxes:
        box.click()
    browser.find_element(By.CSS_SELECTOR, "form[action='/ui/compare'] button").click()
    _wait_for(browser, lambda: "两次审查对比" in browser.page_source)
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table tr")][1:]
    assert any(r.startswith("QJ-2026-01 生态保护红线 12.5985 12.5985 禁止 禁止") for r in rows), rows
    assert not browser.find_elements(By.CSS_SELECTOR, "tr.differs")  # the same file, the same layers: no change
    _shot(browser, "compare")


def test_hostile_names_are_shown_as_text(browser, served_county, tmp_path):
    server = served_county
    import geopandas as gpd
    from selenium.webdriver.common.by import By

    xss = "<img src=x onerror=window.__xss=1>"
    gdf = gpd.read_file(SAMPLE / "sites.gpkg").iloc[:1].assign(project_id=xss, category="energy")
    path = tmp_path / f"{'x'}.geojson"
    gdf.to_file(path, driver="GeoJSON")
    _login(browser, server, "wang", lang="en")
    _wait_for(browser, lambda: urlsplit(browser.current_url).path == "/ui/new")
    browser.find_element(By.ID, "file").send_keys(str(path))
    browser.find_element(By.ID, "project").send_keys(xss)
    browser.find_element(By.ID, "report").click()  # no Word documents: faster
    browser.find_element(By.ID, "start").click()
    _wait_for(browser, lambda: _on_result(browser))
    assert xss in browser.find_element(By.CSS_SELECTOR, "section.project h2").text
    assert xss in browser.find_element(By.TAG_NAME, "h1").text
    time.sleep(1)  # the map's popups and layers drawn
    assert browser.execute_script("return window.__xss") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "main img[src=x]")


def test_admin_pages_add_a_user_and_show_layer_versions(browser, served_county):
    server = served_county
    from selenium.webdriver.common.by import By

    _login(browser, server, "zhang")
    _wait_for(browser, lambda: urlsplit(browser.current_url).path == "/ui/new")
    browser.get(f"{server}/ui/users")
    browser.find_element(By.ID, "name").send_keys("li")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form[action='/ui/users'] button").click()
    _wait_for(browser, lambda: "li" in [e.text for e in browser.find_elements(By.CSS_SELECTOR, "td:first-child")])
    _shot(browser, "users")
    browser.get(f"{server}/ui/layers")
    assert "生态保护红线" in browser.page_source and "v1" in browser.page_source
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "kind")).select_by_value("eco_redline")
    browser.find_element(By.ID, "lfile").send_keys(str(SAMPLE / "eco_redline_v2.gpkg"))
    browser.find_element(By.CSS_SELECTOR, "#upload button").click()
    _wait_for(browser, lambda: "eco_redline_v2.gpkg" in browser.page_source)
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tr") if "eco_redline_v2.gpkg" in r.text)
    assert "v2" in row.text and "zhang" in row.text and "减少" in row.text  # the change report against v1
    _shot(browser, "layers")
