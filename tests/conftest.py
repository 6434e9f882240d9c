"""Shared fixtures: hand-made layers written in code (see tests/README.md)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely import box

# the help's language follows the locale (redline.cli.help): tests that read English help must not depend on the
# machine's, so the locale is C (REDLINE_LANG would also turn every command's labels English); the tests of the
# Chinese help set their own
os.environ.pop("REDLINE_LANG", None)
os.environ["LC_ALL"] = "C.UTF-8"

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "qianjiang"

# canonical test geometries, defined once (lon/lat near 黔江区)
SQUARE = box(108.70, 29.50, 108.72, 29.52)
WITH_HOLE = shapely.Polygon(
    [(108.60, 29.40), (108.64, 29.40), (108.64, 29.44), (108.60, 29.44)],
    [[(108.61, 29.41), (108.62, 29.41), (108.62, 29.42), (108.61, 29.42)]],
)
MULTI = shapely.MultiPolygon([box(108.80, 29.60, 108.81, 29.61), box(108.82, 29.60, 108.83, 29.62)])
BOWTIE = shapely.Polygon([(108.5, 29.5), (108.52, 29.52), (108.52, 29.5), (108.5, 29.52), (108.5, 29.5)])
NAMES = ["云阳县", "黔江区", "莲都区"]


def sample_gdf(crs="EPSG:4490") -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {"名称": NAMES, "code": ["500235", "500114", "331102"]},
        geometry=[SQUARE, WITH_HOLE, MULTI],
        crs="EPSG:4490",
    )
    return gdf.to_crs(crs)


def write_shapefile(gdf: gpd.GeoDataFrame, path: Path, encoding="GBK", prj=True, cpg=True) -> Path:
    """Write a shapefile, then strip .prj/.cpg and zero the .dbf language-driver byte as Chinese GIS exports do."""
    gdf.to_file(path, engine="pyogrio", encoding=encoding)
    stem = path.with_suffix("")
    if not prj:
        stem.with_suffix(".prj").unlink()
    if not cpg:
        stem.with_suffix(".cpg").unlink(missing_ok=True)
        dbf = stem.with_suffix(".dbf")
        data = bytearray(dbf.read_bytes())
        data[29] = 0
        dbf.write_bytes(bytes(data))
    return path


@pytest.fixture
def gbk_gk_shapefile(tmp_path) -> Path:
    """GBK attributes, no .cpg, no .prj, coordinates in 3° GK zone 36 with zone prefix."""
    return write_shapefile(sample_gdf("EPSG:4524"), tmp_path / "乡镇.shp", prj=False, cpg=False)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Selenium (Debian chromium + chromedriver): a skip without them, a failure in CI."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        selenium_ok = False
    else:
        selenium_ok = True
    if not (CHROMIUM and DRIVER and selenium_ok):
        reason = ("needs chromium, chromedriver and selenium (apt-get install chromium chromium-driver; "
                  "pip install selenium)")
        if in_ci():
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


SERVICE_PASSWORD = "correct horse battery"  # the accounts of the served county (and of tests/test_service.py)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, seconds: float = 60.0) -> None:
    """Wait until ``redline serve`` at ``base`` answers ``/health`` (an AssertionError after ``seconds``)."""
    import httpx

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"redline serve at {base} did not answer in {seconds:.0f} s")


@pytest.fixture(scope="module")
def served_county(tmp_path_factory):
    """A real ``redline serve`` on the sample county (its own SQLite store) with the accounts zhang (admin) and wang
    (reviewer), password :data:`SERVICE_PASSWORD`; yields its base URL."""
    tmp = tmp_path_factory.mktemp("served")
    env = {**os.environ, "REDLINE_STORE": f"sqlite:///{tmp / 'bureau.db'}"}
    for name, role in (("zhang", "admin"), ("wang", "reviewer")):
        subprocess.run([sys.executable, "-m", "redline", "users", "add", name, "--role", role, "--password-stdin"],
                       input=SERVICE_PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)
    port = _port()
    log = open(tmp / "serve.log", "w", encoding="utf-8")  # a file, not a pipe nobody reads (it would fill)
    proc = subprocess.Popen([sys.executable, "-m", "redline", "serve", "--port", str(port), "--workers", "1"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base)
    yield base
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    log.close()


#: Where the tests put the pictures the user guide shows: set REDLINE_DOC_IMAGES to the guide's folder to make them
#: again, the Chinese and the English ones in one run (``REDLINE_DOC_IMAGES=docs .venv/bin/pytest tests/test_docs.py
#: tests/test_service_browser.py``); each picture's name is its path under docs/ (``zh/images/map-popup.png``,
#: ``en/images/en-map-popup.png``). The guide's pictures are those the tests took, never drawn by hand.
DOC_IMAGES_ENV = "REDLINE_DOC_IMAGES"


def doc_image(name: str, png: Path) -> None:
    """Keep ``png`` (a picture a test just took) as the guide's picture ``name`` (its path under docs/, e.g.
    ``en/images/en-map-popup.png``) when REDLINE_DOC_IMAGES names the guide's folder."""
    folder = os.environ.get(DOC_IMAGES_ENV)
    if folder:
        target = Path(folder) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)


def docx_first_page(docx: Path, tmp_path: Path) -> Path | None:
    """``docx`` through LibreOffice to PDF, checked to be A4, and its first page as a PNG (70 dpi) in ``tmp_path``;
    None without LibreOffice and poppler-utils (a failure in CI, where .ci/run installs them)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not (soffice and shutil.which("pdftoppm") and shutil.which("pdfinfo")):
        if in_ci():
            pytest.fail("LibreOffice and poppler-utils are needed (.ci/run installs them)")
        return None
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)],
                   check=True, capture_output=True, timeout=300)
    pdf = tmp_path / docx.with_suffix(".pdf").name
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "A4" in info, info
    png = tmp_path / f"{docx.stem}-page1"  # pdftoppm adds the .png
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(png)],
                   check=True, timeout=120)
    return tmp_path / f"{docx.stem}-page1.png"
