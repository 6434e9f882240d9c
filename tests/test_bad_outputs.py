"""Bad outputs (issue 15, classes 6 and 10): operating-system errors while writing, and what a killed run leaves.

Every write goes through :func:`redline.io.atomic_output` / :func:`redline.io.atomic_folder`: an OS error
(no permission, a full disk, a read-only device, a file where a folder should be) is one line
``redline: error: <file>: <problem>; <what to do>`` with exit code 1, and nothing is left behind — no partial
file, no temporary file, no folder the run created. A run killed outright leaves only a hidden temporary
folder, which the next write to that folder removes.

The tests run as root, which ignores file permissions, so an unwritable folder or a full disk is made either
in-process (the CLI run with click's runner, the OS calls made to fail the way the kernel fails them) or for
real in a private mount namespace (``unshare``: a tiny or read-only tmpfs; skipped where not allowed).
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from conftest import SQUARE
from shapely import box
from test_bad_input import one_line_error

from redline.io import write_layer

PERMISSION = "permission denied; choose a folder you can write to"
NO_SPACE = "no space left on the device; free space or write elsewhere"
READ_ONLY = "read-only; choose a folder you can write to"


def listing(folder: Path) -> list[str]:
    """Everything in ``folder``, hidden entries included, recursively."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def visible(folder: Path) -> list[str]:
    return [name for name in listing(folder) if not any(part.startswith(".") for part in Path(name).parts)]


def cli(*args) -> SimpleNamespace:
    """The real CLI, in-process (so the OS calls can be made to fail); a ``subprocess`` result look-alike."""
    from click.testing import CliRunner

    from redline.cli import cli as group

    result = CliRunner().invoke(group, [str(a) for a in args])
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=stderr)


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "redline", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", **kwargs)


@pytest.fixture
def data(tmp_path):
    """A boundary and a red line (tiny), and a projects layer, in their own folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    b, r, p = folder / "boundary.gpkg", folder / "red.gpkg", folder / "projects.geojson"
    gpd.GeoDataFrame({"name": ["b"]}, geometry=[box(108.6, 29.4, 108.9, 29.7)], crs=4490).to_file(b)
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[box(108.705, 29.505, 108.8, 29.6)], crs=4490).to_file(r)
    gpd.GeoDataFrame({"project_id": ["P"], "category": ["industrial"]}, geometry=[SQUARE], crs=4490).to_file(p)
    return SimpleNamespace(boundary=b, red=r, projects=p)


def commands(d, out: Path) -> dict[str, list]:
    """A command per kind of output, writing ``out`` (+ suffix)."""
    layer = ["--layer", f"eco_redline={d.red}"]
    return {
        "map html": ["map", "--boundary", d.boundary, *layer, "--basemap", "none", "--out", out.with_suffix(".html")],
        "screen gpkg": ["screen", d.projects, *layer, "--buffers", "0", "--out", out.with_suffix(".gpkg")],
        "indicators xlsx": ["indicators", "--boundary", d.boundary, *layer, "--out", out.with_suffix(".xlsx")],
        "screen csv table": ["screen", d.projects, *layer, "--buffers", "0", "--table", out.with_suffix(".csv")],
        "report folder": ["report", "--boundary", d.boundary, *layer, "--basemap", "none", "--out", out],
    }


# --- a folder that can't be written -------------------------------------------------------------------------


@pytest.fixture
def deny(monkeypatch):
    """``deny(folder, code)``: every attempt to create, open for writing or rename into ``folder`` fails with
    ``code``, as the kernel does for a folder without write permission (EACCES) or on a read-only device (EROFS)."""

    def install(folder: Path, code: int):
        folder = Path(folder).resolve()

        def inside(path) -> bool:
            try:
                p = Path(os.fsdecode(path)).resolve()
            except (TypeError, ValueError):
                return False
            return p == folder or folder in p.parents

        def fail(path):
            raise OSError(code, os.strerror(code), os.fsdecode(path))

        real_mkdir, real_open, real_replace, real_rename, real_bopen = os.mkdir, os.open, os.replace, os.rename, builtins.open

        def mkdir(path, *a, **k):
            if inside(path) and Path(os.fsdecode(path)).resolve() != folder:
                fail(path)
            return real_mkdir(path, *a, **k)

        def open_(path, flags, *a, **k):
            if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                fail(path)
            return real_open(path, flags, *a, **k)

        def replace(src, dst, *a, **k):
            if inside(dst) or inside(src):
                fail(dst)
            return real_replace(src, dst, *a, **k)

        def rename(src, dst, *a, **k):
            if inside(dst) or inside(src):
                fail(dst)
            return real_rename(src, dst, *a, **k)

        def bopen(file, mode="r", *a, **k):
            if isinstance(file, (str, bytes, os.PathLike)) and inside(file) and any(c in mode for c in "wax+"):
                fail(file)
            return real_bopen(file, mode, *a, **k)

        monkeypatch.setattr(os, "mkdir", mkdir)
        monkeypatch.setattr(os, "open", open_)
        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "rename", rename)
        monkeypatch.setattr(builtins, "open", bopen)
        import io

        monkeypatch.setattr(io, "open", bopen)

    return install


class _Filling:
    """A file on a disk that fills up: it takes what room is left, then the write fails."""

    def __init__(self, fh, room: list, code: int):
        self._fh, self._room, self._code = fh, room, code

    def write(self, data):
        if len(data) > self._room[0]:
            if self._room[0]:
                self._fh.write(data[: self._room[0]])
            self._room[0] = 0
            raise OSError(self._code, os.strerror(self._code))
        self._room[0] -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __iter__(self):
        return iter(self._fh)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()
        return False


@pytest.fixture
def disk_error(monkeypatch):
    """``disk_error(folder, code=ENOSPC, room=0, suffix=None)``: files opened for writing under ``folder``
    (those ending in ``suffix``, if given) share ``room`` bytes, then every write fails with ``code`` — a full
    disk (ENOSPC), a quota (EDQUOT), a size limit (EFBIG). Python-level writes only (GDAL's are real in
    :func:`test_real_full_disk`)."""
    import io

    def install(folder: Path, code: int = errno.ENOSPC, room: int = 0, suffix: str | None = None):
        folder, left, real = Path(folder).resolve(), [room], builtins.open

        def opener(file, mode="r", *args, **kwargs):
            fh = real(file, mode, *args, **kwargs)
            if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+"):
                path = Path(os.fsdecode(file)).resolve()
                if folder in path.parents and (suffix is None or path.name.endswith(suffix)):
                    return _Filling(fh, left, code)
            return fh

        monkeypatch.setattr(builtins, "open", opener)
        monkeypatch.setattr(io, "open", opener)

    return install


@pytest.mark.parametrize("case", ["map html", "screen gpkg", "indicators xlsx", "screen csv table", "report folder"])
def test_unwritable_output_folder(tmp_path, data, deny, case):
    locked = tmp_path / "locked"
    locked.mkdir()
    deny(locked, errno.EACCES)
    proc = cli(*commands(data, locked / "out")[case])
    target = "locked/out"
    line = one_line_error(proc, target, PERMISSION)
    assert "Errno" not in line
    assert listing(locked) == []


@pytest.mark.parametrize("case", ["map html", "report folder"])
def test_read_only_device(tmp_path, data, deny, case):
    ro = tmp_path / "ro"
    ro.mkdir()
    deny(ro, errno.EROFS)
    proc = cli(*commands(data, ro / "out")[case])
    one_line_error(proc, "ro/out", READ_ONLY)
    assert listing(ro) == []


# --- a full disk --------------------------------------------------------------------------------------------


def test_full_disk_while_writing_the_map_html(tmp_path, data, disk_error):
    """The issue's case: `redline map … --out F.html` on a disk that fills up half-way through the page; also
    into folders it had to create."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "F.html").write_text("the old map", encoding="utf-8")
    disk_error(out, room=20_000)
    args = ["map", "--boundary", data.boundary, "--layer", f"eco_redline={data.red}", "--basemap", "none"]
    one_line_error(cli(*args, "--out", out / "F.html"), "out/F.html", NO_SPACE)
    assert listing(out) == ["F.html"] and (out / "F.html").read_text(encoding="utf-8") == "the old map"
    # folders made for the output are removed again
    one_line_error(cli(*args, "--out", out / "new" / "sub" / "F.html"), "new/sub/F.html", NO_SPACE)
    assert listing(out) == ["F.html"]


@pytest.mark.parametrize("case", ["indicators xlsx", "screen csv table"])
def test_full_disk_while_writing_a_table(tmp_path, data, disk_error, case):
    out = tmp_path / "out"
    disk_error(tmp_path, suffix={"indicators xlsx": ".xlsx", "screen csv table": ".csv"}[case])
    one_line_error(cli(*commands(data, out / "t")[case]), "out/t.", NO_SPACE)
    assert not out.exists()  # the folder it would have made is gone too


@pytest.mark.parametrize("code, expected", [(errno.EDQUOT, "disk quota exceeded; free space or write elsewhere"),
                                            (errno.EFBIG, "too large for this device"),
                                            (errno.EIO, "input/output error on the device")])
def test_quota_size_limit_and_device_errors(tmp_path, data, disk_error, code, expected):
    disk_error(tmp_path, code=code, suffix=".html")
    one_line_error(cli(*commands(data, tmp_path / "m")["map html"]), "m.html", expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


# --- a file where a folder should be, and the reverse -------------------------------------------------------


def test_report_out_naming_an_existing_file(tmp_path, data):
    """The issue's case: `redline report --out EXISTING_FILE` (a folder output)."""
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me", encoding="utf-8")
    before = listing(tmp_path)
    proc = run(*commands(data, existing)["report folder"][:-1], existing)
    one_line_error(proc, "notes.txt: is a file, not a folder; give a new folder name")
    assert existing.read_text(encoding="utf-8") == "keep me" and listing(tmp_path) == before
    proc = run("demo", "--out", existing, "--basemap", "none", timeout=60)  # refused before the demo runs
    one_line_error(proc, "notes.txt: is a file, not a folder; give a new folder name")
    assert listing(tmp_path) == before


@pytest.mark.parametrize("case", ["map html", "screen gpkg", "indicators xlsx", "screen csv table", "report folder"])
def test_output_path_inside_a_file(tmp_path, data, case):
    afile = tmp_path / "file.txt"
    afile.write_text("x", encoding="utf-8")
    before = listing(tmp_path)
    proc = run(*commands(data, afile / "sub" / "out")[case])
    one_line_error(proc, "file.txt/sub/out", "file.txt is a file, not a folder; give an output path in a folder")
    assert listing(tmp_path) == before and afile.read_text(encoding="utf-8") == "x"


def test_conflicts_and_partition_into_a_file(tmp_path, data):
    afile = tmp_path / "file.txt"
    afile.write_text("x", encoding="utf-8")
    before = listing(tmp_path)
    proc = run("conflicts", "--layer", f"eco_redline={data.red}", "--layer", f"basic_farmland={data.boundary}",
               "--out", afile / "c.gpkg")
    one_line_error(proc, "file.txt is a file, not a folder")
    proc = run("partition", data.red, "--grid", "5", "--out", afile)
    one_line_error(proc, "file.txt: ", "not a folder")
    assert listing(tmp_path) == before


# --- folder outputs: all the files or none ------------------------------------------------------------------


def test_report_failing_half_way_leaves_no_new_folder(tmp_path, data, disk_error):
    disk_error(tmp_path, suffix=".docx")  # after indicators.xlsx, map.html, maps/*.png and report.html are written
    out = tmp_path / "results" / "report"
    proc = cli(*commands(data, out)["report folder"])
    one_line_error(proc, "results/report/report.docx", NO_SPACE)
    assert not (tmp_path / "results").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_report_failing_half_way_keeps_the_old_report(tmp_path, data, disk_error):
    out = tmp_path / "report"
    out.mkdir()
    (out / "my notes.txt").write_text("mine", encoding="utf-8")
    assert cli(*commands(data, out)["report folder"]).returncode == 0
    old = {name: (out / name).read_bytes() for name in visible(out) if (out / name).is_file()}
    assert "report.docx" in old and "maps/overview.png" in old and listing(out) == sorted([*old, "maps"])
    disk_error(tmp_path, suffix=".docx")
    proc = cli("report", "--boundary", data.boundary, "--layer", f"eco_redline={data.red}", "--basemap", "none",
               "--lang", "en", "--out", out)  # different content: English labels
    one_line_error(proc, "report/report.docx", NO_SPACE)
    assert listing(out) == sorted([*old, "maps"])
    assert {name: (out / name).read_bytes() for name in old} == old


# --- a killed run leaves nothing visible, and the next run cleans up ----------------------------------------


def _grid_layers(tmp_path, n=20_000):
    """Two layers of ``n`` squares, square i of one overlapping square i of the other by 0.002° × 0.002°
    (about 190 m × 200 m) and nothing else: ``n`` conflict pieces."""
    i = np.arange(n)
    x, y = 108.3 + (i % 200) * 0.004, 29.2 + (i // 200) * 0.004
    a, b = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"k": i}, geometry=shapely.box(x, y, x + 0.003, y + 0.003), crs=4490).to_file(a)
    gpd.GeoDataFrame({"k": i}, geometry=shapely.box(x + 0.001, y + 0.001, x + 0.0035, y + 0.0035),
                     crs=4490).to_file(b)
    return a, b


def _kill_while_writing(args, out: Path, timeout=240.0):
    """Start the CLI, SIGKILL it as soon as a file is being written into ``out``; the process must not have finished."""
    proc = subprocess.Popen([sys.executable, "-m", "redline", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if any(p.is_file() and p.stat().st_size > 0 for p in out.rglob("*")):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
    except FileNotFoundError:  # a temporary file renamed away while looking: it is being written
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"the run ended before it was killed: {proc.stderr.read()!r}"


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_killed_while_writing_a_geopackage(tmp_path):
    n = 20_000
    a, b = _grid_layers(tmp_path, n)
    out = tmp_path / "out"
    out.mkdir()
    args = ["conflicts", "--layer", f"eco_redline={a}", "--layer", f"basic_farmland={b}", "--out", out / "c.gpkg",
            "--json"]
    _kill_while_writing(args, out)
    assert visible(out) == []  # no partial output, nothing a planner sees
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    assert listing(out) == ["c.gpkg"]  # no stale temporary file, no -journal, no hidden folder
    assert pyogrio.read_info(out / "c.gpkg", layer="conflicts")["features"] == n
    assert pyogrio.read_info(out / "c.gpkg", layer="slivers")["features"] == 0


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_killed_while_writing_a_folder_output(tmp_path):
    n = 20_000
    a, _ = _grid_layers(tmp_path, n)
    out = tmp_path / "out"
    out.mkdir()
    args = ["partition", a, "--grid", "4", "--out", out / "a.parts", "--json"]
    _kill_while_writing(args, out)
    assert visible(out) == []  # no half-partitioned layer
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == n
    assert [name for name in listing(out) if name.startswith(".") or "/." in name] == []
    from redline.io.partition import read_index

    index = read_index(out / "a.parts")
    assert index["rows"] == n and sum(p.rows for p in index["partitions"]) == n
    assert all((out / "a.parts" / p.path).is_file() for p in index["partitions"])


def test_stale_temporaries_of_dead_runs_removed_live_ones_kept(tmp_path):
    """A write removes the temporary folders of runs that are gone (with their SQLite journals), not those of a
    run still writing, nor another computer's recent ones on a shared folder."""
    import redline.io as rio
    from redline.io import clean_stale_temporaries

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = rio._host()

        def temp(name, owner):
            folder = tmp_path / name
            folder.mkdir()
            (folder / "out.gpkg").write_bytes(b"SQLite format 3\x00half")
            (folder / "out.gpkg-journal").write_bytes(b"journal")
            if owner is not None:
                (folder / ".redline-owner").write_text(json.dumps(owner), encoding="utf-8")
            return folder

        stale = temp(f".redline-{dead}-abc.tmp", {"pid": dead, "host": host, "start": None})
        unmarked = temp(f".redline-{dead}-def.tmp", None)  # killed before it wrote its marker
        running = temp(f".redline-{live.pid}-ghi.tmp", {"pid": live.pid, "host": host,
                                                         "start": rio._process_start(live.pid)})
        remote = temp(f".redline-{dead}-jkl.tmp", {"pid": dead, "host": host + "-elsewhere", "start": None})
        old_style = tmp_path / ".out.k3j4h5g6.part.gpkg"  # what earlier versions left
        old_style.write_bytes(b"half")
        (tmp_path / ".out.k3j4h5g6.part.gpkg-journal").write_bytes(b"journal")
        for p in (old_style, tmp_path / ".out.k3j4h5g6.part.gpkg-journal"):
            os.utime(p, (time.time() - 7200, time.time() - 7200))
        write_layer(gpd.GeoDataFrame({"k": [1]}, geometry=[SQUARE], crs=4490), tmp_path / "new.gpkg")
        names = {p.name for p in tmp_path.iterdir()}
        assert names == {"new.gpkg", running.name, remote.name}, names
        assert not stale.exists() and not unmarked.exists()
        if sys.platform.startswith("linux"):  # the pid of a run that's gone, now another process's
            reused = temp(f".redline-{live.pid}-mno.tmp", {"pid": live.pid, "host": host, "start": "1"})
            assert reused in clean_stale_temporaries(tmp_path) and running.exists()
    finally:
        live.kill()
        live.wait()


# --- for real: a tiny disk and a read-only one (a private mount namespace) ----------------------------------

_DRIVER = r"""
import json, os, subprocess, sys
disk, size, ro, before, args = json.loads(sys.argv[1])
subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", disk], check=True)
for name, text in before.items():
    with open(os.path.join(disk, name), "w", encoding="utf-8") as fh:
        fh.write(text)
if ro:
    subprocess.run(["mount", "-o", "remount,ro", disk], check=True)
proc = subprocess.run([sys.executable, "-m", "redline", *args], capture_output=True, text=True, encoding="utf-8")
files = sorted(os.path.relpath(os.path.join(d, f), disk) for d, dirs, fs in os.walk(disk) for f in fs + dirs)
kept = {n: open(os.path.join(disk, n), encoding="utf-8").read() for n in before if os.path.exists(os.path.join(disk, n))}
print(json.dumps({"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "files": files,
                  "kept": kept}))
"""


def _can_mount() -> bool:
    try:
        probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt || "
                                "mount -t tmpfs -o size=64k tmpfs /tmp"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(os.name == "nt" or not _can_mount(),
                                 reason="needs unshare and tmpfs mounts in a user namespace")


def _on_disk(disk: Path, args, size="200k", ro=False, before=None) -> SimpleNamespace:
    disk.mkdir(exist_ok=True)
    spec = json.dumps([str(disk), size, ro, before or {}, [str(a) for a in args]])
    proc = subprocess.run(["unshare", "-rm", sys.executable, "-c", _DRIVER, spec], capture_output=True, text=True,
                          encoding="utf-8", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return SimpleNamespace(**json.loads(proc.stdout))


@needs_mount
@pytest.mark.parametrize("case", ["map html", "screen gpkg", "indicators xlsx", "report folder"])
def test_real_full_disk(tmp_path, case):
    """A 160 KB disk (12 KB for the workbook): the map page, the GeoPackage (GDAL only says "Failed to commit transaction"), the
    workbook, the report folder — each refused in one line, the old file kept, nothing else left."""
    from conftest import SAMPLE

    d = SimpleNamespace(boundary=SAMPLE / "boundary.gpkg", red=SAMPLE / "eco_redline.gpkg",
                        projects=SAMPLE / "projects.geojson")
    disk = tmp_path / "disk"
    args = commands(d, disk / "out")[case]
    size = "12k" if case == "indicators xlsx" else "160k"  # the workbook is small (5 KB)
    result = _on_disk(disk, args, size=size, before={"old.txt": "keep"})
    one_line_error(result, "disk/out", NO_SPACE)
    assert result.files == ["old.txt"] and result.kept == {"old.txt": "keep"}


@needs_mount
def test_real_read_only_folder(tmp_path, data):
    disk = tmp_path / "disk"
    args = commands(data, disk / "out")["map html"]
    result = _on_disk(disk, args, size="1m", ro=True, before={"out.html": "the old map"})
    one_line_error(result, "disk/out.html", READ_ONLY)
    assert result.files == ["out.html"] and result.kept == {"out.html": "the old map"}
    result = _on_disk(disk, commands(data, disk / "rep")["report folder"], size="1m", ro=True)
    one_line_error(result, "disk/rep", READ_ONLY)
    assert result.files == []
