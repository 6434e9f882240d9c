"""Writing outputs: one atomic path for every write, inputs never overwritten, OS errors as one line.

A write goes to a hidden folder ``.redline-<pid>-<random>.tmp`` beside the output (marked with the
writing process), is renamed into place when complete, and the folder is removed. SQLite's -journal/-wal
files of a temporary GeoPackage stay inside it. A run killed outright leaves only that hidden folder; the
next write to the same folder removes every such folder whose process is gone
(:func:`clean_stale_temporaries`). Files read within :func:`protect_inputs` are registered and no output
may replace them. :func:`write_layer`, :func:`write_layers` and :func:`write_styled_gpkg` write layers.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import socket
import sqlite3
import tempfile
import time
import warnings
from pathlib import Path
from typing import Iterator

import geopandas as gpd

from ..errors import OutputError, RedlineError
from ..specs.schema import ON_READ
from . import postgis
from .sources import _DB_URI, _PARQUET, _gdal_message, _sibling

# Inputs read while :func:`protect_inputs` is active (the CLI turns it on for every command):
# :func:`atomic_output` refuses to write over any of them.
_PROTECTED: list[set[Path]] = []


@contextlib.contextmanager
def protect_inputs() -> Iterator[set[Path]]:
    """Within this block, every file redline reads is registered and no output may overwrite it."""
    _PROTECTED.append(set())
    try:
        yield _PROTECTED[-1]
    finally:
        _PROTECTED.pop()


def source_files(path: Path) -> list[Path]:
    """The files of a data source: all parts of a shapefile (those present), else the path itself."""
    if path.suffix.lower() == ".shp":
        stem = path.with_suffix("")
        return [p for p in (_sibling(stem, e) for e in (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn"))
                if p]
    return [path]


def register_input(path: str | os.PathLike) -> None:
    """Register a file that was read (all parts of a shapefile), so outputs can't overwrite it."""
    if _PROTECTED:
        try:
            _PROTECTED[-1].update(p.resolve() for p in source_files(Path(path)) if p.exists())
        except OSError:
            pass


ON_READ.append(register_input)  # spec files (redline.specs.schema.read_toml) are inputs too


def _is_input(path: Path, inputs) -> bool:
    if not path.exists():
        return False
    target = path.resolve()
    given = {p.resolve() for src in inputs if src is not None for p in source_files(Path(src)) if p.exists()}
    return target in given or any(target in registered for registered in _PROTECTED)


_TMP_PREFIX = ".redline-"
_TMP_SUFFIX = ".tmp"
_OWNER = ".redline-owner"
_TMP_NAME = re.compile(r"^\.redline-(?P<pid>\d+)-[^/\\]*\.tmp$")
# temporary files of earlier redline versions: ".NAME.<8 random>.part.EXT" (and SQLite's companions)
_OLD_TMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.part(\.[^.]+)?(-journal|-wal|-shm)?$")
_OLD_TMP_AGE_S = 3600.0
_FOREIGN_TMP_AGE_S = 7 * 24 * 3600.0
_PROBE_BYTES = 1 << 20
_MINE: set[Path] = set()  # temporary folders of this process, in use
_STAGES: dict[Path, Path] = {}  # staging folder -> the output folder it becomes (atomic_folder)


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux: clock ticks since boot), to tell a reused pid from the writer."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # access denied: it exists
        code = ctypes.c_ulong()
        try:
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's live process
        return True
    return True


def _host() -> str:
    try:
        return socket.gethostname()
    except OSError:  # pragma: no cover
        return ""


def _is_stale(folder: Path) -> bool:
    """Whether a temporary folder was left by a process that is gone (killed, crashed, power cut)."""
    if folder in _MINE:
        return False
    match = _TMP_NAME.match(folder.name)
    if not match:
        return False
    try:
        owner = json.loads((folder / _OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        owner = {}  # killed before it wrote its marker (or being made right now: its pid is alive then)
    pid = int(owner.get("pid", match["pid"]))
    if owner.get("host", _host()) != _host():  # another computer writing to a shared folder: by age only
        try:
            return time.time() - folder.stat().st_mtime > _FOREIGN_TMP_AGE_S
        except OSError:
            return False
    if pid == os.getpid():  # a previous process with our pid (containers): ours are in _MINE
        return True
    if not _pid_alive(pid):
        return True
    start = owner.get("start")
    return start is not None and _process_start(pid) not in (None, start)  # the pid was reused


def clean_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of redline runs that were killed while writing into ``folder``.

    Each write of a live run is left alone (its folder names the process). Called by every write;
    returns what was removed.
    """
    folder, removed = Path(folder), []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.name.startswith(_TMP_PREFIX) and entry.is_dir(follow_symlinks=False):
                if _is_stale(path):
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
            elif _OLD_TMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False):
                if now - entry.stat().st_mtime > _OLD_TMP_AGE_S:
                    path.unlink()
                    removed.append(path)
        except OSError:
            continue
    return removed


def _hide(path: Path) -> None:
    if os.name == "nt":  # a leading dot hides nothing in Windows Explorer
        ctypes.windll.kernel32.SetFileAttributesW(str(path), 0x2)  # FILE_ATTRIBUTE_HIDDEN


def _temp_dir(folder: Path) -> Path:
    """A new hidden temporary folder in ``folder``, marked with this process (stale ones removed first)."""
    clean_stale_temporaries(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", suffix=_TMP_SUFFIX, dir=folder))
    _MINE.add(tmp)
    try:
        (tmp / _OWNER).write_text(json.dumps({"pid": os.getpid(), "host": _host(), "start": _process_start(os.getpid())}),
                                  encoding="utf-8")
        _hide(tmp)
    except BaseException:
        _drop_temp_dir(tmp)
        raise
    return tmp


def _drop_temp_dir(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    _MINE.discard(tmp)


def _make_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created (deepest last)."""
    missing = []
    for p in (folder, *folder.parents):
        if p.exists():
            break
        missing.append(p)
    created = []
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            if not p.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(p)) from None
            continue
        created.append(p)
    return created


def _remove_dirs(created: list[Path]) -> None:
    """Remove the folders a failed write created, deepest first (only if still empty)."""
    for p in reversed(created):
        try:
            p.rmdir()
        except OSError:
            break


def _file_ancestor(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` (or itself) when it is a file, not a folder."""
    for p in (path, *path.parents):
        try:
            if p.exists():
                return None if p.is_dir() else p
        except OSError:
            return None
    return None


def _final(path: Path) -> Path:
    """Where ``path`` ends up: a file written into a staging folder (:func:`atomic_folder`) lands in its output folder."""
    for stage, out in list(_STAGES.items()):
        if path == stage or stage in path.parents:
            return _final(out / path.relative_to(stage))
    return path


def _staged(path: Path) -> bool:
    return _final(path) != path


_ERRNO_PROBLEMS = {
    errno.ENOSPC: "no space left on the device; free space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free space or write elsewhere",
    errno.EROFS: "the device is read-only; choose a folder you can write to",
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "permission denied; choose a folder you can write to",
    errno.EFBIG: "the file is too large for this device or size limit (FAT32 takes at most 4 GB); write elsewhere",
    errno.ENAMETOOLONG: "the file name is too long; choose a shorter name or a shorter folder path",
    errno.EISDIR: "is a directory; give a file name for this output",
    errno.EIO: "input/output error on the device; check the disk (or network drive) and try again, or write elsewhere",
    errno.EINVAL: "not a valid file name here; avoid the characters : * ? \" < > | and try again",
    errno.ENOENT: "a folder on the way was removed while writing; run again",
    errno.EXDEV: "cannot move the file into place across devices; write to a folder on one disk",
}
_TEXT_ERRNOS = [
    (re.compile(r"no space left|disk is full|not enough space", re.I), errno.ENOSPC),
    (re.compile(r"quota exceeded", re.I), errno.EDQUOT),
    (re.compile(r"read-only file system", re.I), errno.EROFS),
    (re.compile(r"permission denied|access is denied", re.I), errno.EACCES),
    (re.compile(r"file too large", re.I), errno.EFBIG),
]


def _problem(exc: BaseException, path: Path) -> str | None:
    """The problem (and what to do) behind an operating-system error while writing ``path``, or None."""
    code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
    if code is None:
        for pattern, number in _TEXT_ERRNOS:
            if pattern.search(str(exc)):
                code = number
                break
    if code in (errno.ENOTDIR, errno.EEXIST):
        ancestor = _file_ancestor(path.parent)
        if ancestor is not None:
            return f"{ancestor} is a file, not a folder; give an output path in a folder"
        if code == errno.EEXIST:
            return "exists and cannot be replaced; choose another output path"
    if getattr(exc, "winerror", None) in (32, 33):  # ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION
        return "the file is open in another program (Excel, Word, QGIS?); close it and run again"
    if code in (errno.EACCES, errno.EPERM) and os.name == "nt" and path.exists():  # Windows can't replace an open file
        return ("permission denied (is the file open in another program, or read-only?); close it, "
                "or choose a folder you can write to")
    if code in _ERRNO_PROBLEMS:
        return _ERRNO_PROBLEMS[code]
    return None


def _probe(folder: Path) -> OSError | None:
    """Whether ``folder`` still takes a write (after a writer failed without saying why): the OS error if not."""
    probe = folder / ".redline-probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            block, left = memoryview(bytes(_PROBE_BYTES)), _PROBE_BYTES
            while left:  # a full disk may take part of a write before it refuses the rest
                left -= os.write(fd, block[_PROBE_BYTES - left:])
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return exc
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return None


def output_error(path: str | os.PathLike, exc: BaseException, folder: str | os.PathLike | None = None) -> OutputError | None:
    """The one-line :class:`~redline.errors.OutputError` for a failed write of ``path``, or None for a bug.

    Operating-system errors (full disk, no permission, read-only device, a file where a folder should be…)
    become ``PATH: problem; what to do``. A writer that failed with its own words (GDAL: "Failed to commit
    transaction") is checked against ``folder``: when the folder no longer takes a write, the OS error is the cause.
    Other errors give None (the caller re-raises them).
    """
    path = Path(path)
    problem = _problem(exc, path)
    if problem is None and folder is not None and (not isinstance(exc, RedlineError) or isinstance(exc, OutputError)):
        probed = _probe(Path(folder))
        problem = _problem(probed, path) if probed is not None else None
    if problem is not None:
        err = OutputError(f"{path}: {problem}")
        err.diagnosed = True  # an enclosing write (a folder output) passes it on as it is
        return err
    if isinstance(exc, RedlineError):
        return None
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return OutputError(f"{path}: cannot write ({reason}); choose another output path")
    return None


def check_output(path: str | os.PathLike, folder: bool = False) -> None:
    """Refuse, before any work, an output path that cannot be written: a folder where a file goes (or a file
    where a folder goes), or a path inside a file. Database URIs are not checked."""
    if _DB_URI.match(str(path)):
        return
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file, not a folder; give a new folder name")
    if not folder and path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name for this output")
    ancestor = _file_ancestor(path.parent)
    if ancestor is not None:
        raise OutputError(f"{path}: {ancestor} is a file, not a folder; give an output path in a folder")


@contextlib.contextmanager
def _translated(final: Path, folder: Path | None, stage: Path | None = None):
    """Turn a failure inside the block into the one-line OutputError when the OS is the cause (a message
    naming the staging folder ``stage`` names ``final`` instead)."""
    try:
        yield
    except Exception as original:
        exc = original
        if stage is not None and isinstance(exc, RedlineError) and str(stage) in str(exc):
            exc = type(exc)(str(exc).replace(str(stage), str(final)))
            exc.diagnosed = getattr(original, "diagnosed", False)
        if not (getattr(exc, "diagnosed", False) or isinstance(exc, RedlineError) and not isinstance(exc, OutputError)):
            exc = output_error(final, exc, folder if folder is not None and folder.exists() else None) or exc
        if exc is original:
            raise
        raise exc from None


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, inputs: tuple = ()) -> Iterator[Path]:
    """Yield a temporary path for ``path``; on success rename it over ``path``.

    The temporary file is in a hidden folder beside ``path`` (``.redline-<pid>-….tmp``, with whatever
    the writer adds, e.g. SQLite's journal). On any error (or an interrupt) that folder — and any folder
    created for ``path`` — is removed and an existing ``path`` is left untouched; an operating-system error
    (full disk, no permission, read-only device, a file where a folder should be) becomes one
    :class:`~redline.errors.OutputError` line ``PATH: problem; what to do``. Refuses to overwrite one of
    ``inputs`` or any file read within :func:`protect_inputs`. Temporary folders of killed runs are
    removed at the next write to the same folder.
    """
    path = Path(path)
    final = _final(path)
    if _is_input(final, inputs):
        raise OutputError(f"{final}: refusing to overwrite an input file; choose another output path")
    check_output(final)
    with _temp_beside(path.parent, final) as tmpdir:
        tmp_path = tmpdir / path.name
        with _translated(final, tmpdir):
            yield tmp_path
            os.replace(tmp_path, path)


_COMPANION_MARK = ".redline"


@contextlib.contextmanager
def atomic_page(path: str | os.PathLike, inputs: tuple = ()) -> Iterator[tuple[Path, Path]]:
    """Yield temporary paths for the page ``path`` and for its companion folder (``map.html`` → ``map_files``,
    used only if the writer makes it); on success the folder replaces an earlier one whole (no stale file of an
    earlier run lingers; an earlier one is removed when this page needs none), then the page is renamed into
    place — as :func:`atomic_output`, nothing half-written.

    A folder of the companion's name that redline did not write is never replaced or removed: a page that needs
    the folder is refused (nothing written), one that does not leaves it alone.
    """
    path = Path(path)
    companion = path.with_name(path.stem + "_files")
    foreign = companion.exists() and not (companion / _COMPANION_MARK).is_file()
    with atomic_output(path, inputs) as tmp:
        stage = tmp.parent / companion.name
        yield tmp, stage
        if foreign and stage.is_dir():
            raise OutputError(f"{_final(companion)}: a folder of that name is in the way of the page's tiles and "
                              "redline did not write it; move it or choose another --out")
        with _translated(_final(companion), tmp.parent):
            if stage.is_dir():
                (stage / _COMPANION_MARK).write_text(f"written by redline for {path.name}\n", encoding="utf-8")
            if companion.exists() and not foreign:
                os.replace(companion, tmp.parent / ".replaced")  # removed with the temporary folder
            if stage.is_dir():
                os.replace(stage, companion)


@contextlib.contextmanager
def _temp_beside(base: Path, final: Path) -> Iterator[Path]:
    """A new hidden temporary folder in ``base`` (made first, with its parents, if missing), removed afterwards;
    when the block fails, the folders made for it are removed too. OS errors name ``final``."""
    created: list[Path] = []
    tmpdir = None
    ok = False
    try:
        with _translated(final, None):
            created = _make_dirs(base)
            tmpdir = _temp_dir(base)
        yield tmpdir
        ok = True
    finally:
        if tmpdir is not None:
            _drop_temp_dir(tmpdir)
        if not ok:
            _remove_dirs(created)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, inputs: tuple = ()) -> Iterator[Path]:
    """Yield a staging folder for the folder output ``path`` (``report --out``, ``demo --out``, partitions);
    on success its files become ``path``'s, all together.

    A new ``path`` is the staging folder renamed into place. Into an existing folder the files are moved
    in and the files they replace are put back if a move fails. On any error nothing of this run is left:
    no partial file, no temporary file, no folder it created. Files written with :func:`atomic_output`
    inside the staging folder are checked against ``path`` (no input is overwritten). Nested calls for the
    same staging folder use it as it is.
    """
    path = Path(path)
    if _staged(path):
        yield path
        return
    check_output(path, folder=True)
    existing = path.is_dir()
    base = path if existing else path.parent
    with _temp_beside(base, path) as tmpdir:
        stage = tmpdir / path.name
        with _translated(path, None):
            stage.mkdir()
        _STAGES[stage] = path
        try:
            with _translated(path, tmpdir, stage):
                yield stage
                if existing:
                    _merge(stage, path, tmpdir / ".replaced")
                else:
                    os.replace(stage, path)
        finally:
            _STAGES.pop(stage, None)


def _merge(stage: Path, dest: Path, backups: Path) -> None:
    """Move the files of ``stage`` into the existing folder ``dest``; on failure put everything back."""
    moved: list[tuple[Path, Path | None]] = []
    made: list[Path] = []
    try:
        for src in sorted(stage.rglob("*")):
            if src.is_dir():
                continue
            rel = src.relative_to(stage)
            target = dest / rel
            made += _make_dirs(target.parent)
            backup = None
            if target.exists() or target.is_symlink():
                if target.is_dir():
                    raise IsADirectoryError(errno.EISDIR, "Is a directory", str(target))
                backup = backups / rel
                backup.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, backup)
            moved.append((target, backup))
            os.replace(src, target)
    except BaseException:
        for target, backup in reversed(moved):
            with contextlib.suppress(OSError):
                if backup is not None and backup.exists():
                    os.replace(backup, target)
                elif backup is None:
                    target.unlink(missing_ok=True)
        _remove_dirs(made)
        raise


_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".fgb": "FlatGeobuf", ".shp": "ESRI Shapefile"}


def write_layer(gdf: gpd.GeoDataFrame, path: str | os.PathLike, layer: str | None = None) -> Path:
    """Write one layer atomically (GeoPackage, GeoJSON, FlatGeobuf, GeoParquet).

    Examples
    --------
    >>> write_layer(gdf, "out/encroachments.gpkg", layer="encroachments")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".shp":
        raise OutputError(f"{path}: shapefiles are several files and can't be written atomically; use .gpkg")
    if suffix not in _DRIVERS and suffix not in _PARQUET:
        raise OutputError(f"{path}: unknown output format {suffix!r}; use .gpkg, .geojson, .fgb or .parquet")
    layer = layer or path.stem  # not the temporary file's name
    with atomic_output(path) as tmp:
        try:
            if suffix in _PARQUET:
                gdf.to_parquet(tmp)
            else:
                gdf.to_file(tmp, layer=layer, driver=_DRIVERS[suffix], engine="pyogrio")
        except Exception as exc:
            raise OutputError(f"{path}: cannot write ({_gdal_message(exc, path)})") from None
    return path


def _write_gpkg_layers(tmp: Path, layers, path: Path) -> None:
    try:
        for name, gdf in layers:
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", append=tmp.exists())
    except Exception as exc:
        raise OutputError(f"{path}: cannot write ({_gdal_message(exc, path)})") from None


def write_layers(layers: dict[str, gpd.GeoDataFrame], path: str | os.PathLike, what: str = "output") -> Path:
    """Write several named layers into one GeoPackage, atomically (all of them or nothing) — or, when ``path``
    is ``postgresql://…?table=NAME``, to PostGIS in one transaction: the first layer to table ``NAME``, each
    other to ``NAME_<layer>`` (:func:`redline.io.postgis.write_postgis`).

    Examples
    --------
    >>> write_layers({"added": added, "removed": removed}, "change.gpkg")  # doctest: +SKIP
    """
    if postgis.is_postgis(path):
        tables = {"" if i == 0 else name: gdf for i, (name, gdf) in enumerate(layers.items())}
        postgis.write_postgis(tables, os.fspath(path))
        return postgis.parse_uri(os.fspath(path)).where
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise OutputError(f"{path}: the {what} is a GeoPackage with {len(layers)} layers; use .gpkg")
    with atomic_output(path) as tmp:
        _write_gpkg_layers(tmp, layers.items(), path)
    return path


def write_styled_gpkg(layers: list[tuple[str, gpd.GeoDataFrame, str, str]], path: str | os.PathLike) -> Path:
    """Write several layers into one GeoPackage, atomically, each with its QGIS style.

    ``layers`` holds ``(table name, layer, title, QML)``: the title goes to the GeoPackage's
    ``identifier`` (the human name, Chinese by default) and the QML to the ``layer_styles``
    table that QGIS applies when the layer is opened.
    """
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise OutputError(f"{path}: styled layers are written to a GeoPackage (.gpkg)")
    with atomic_output(path) as tmp:
        _write_gpkg_layers(tmp, [(name, gdf) for name, gdf, _, _ in layers], path)
        con = sqlite3.connect(tmp)
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),"
                " f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30),"
                " styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),"
                " update_time DATETIME DEFAULT CURRENT_TIMESTAMP)"
            )
            con.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
                "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles')"
            )
            for name, _gdf, title, qml in layers:
                (geom_col,) = con.execute(
                    "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (name,)).fetchone()
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                    "styleName, styleQML, useAsDefault, description) VALUES ('', '', ?, ?, ?, ?, 1, ?)",
                    (name, geom_col, name, qml, f"redline: {title}"),
                )
                con.execute("UPDATE gpkg_contents SET identifier = ? WHERE table_name = ?", (title, name))
            con.commit()
        finally:
            con.close()
    return path


def output_formats() -> list[str]:
    """Every suffix :func:`write_as` can write, for messages and help."""
    from .formats import WRITERS

    return sorted({*_DRIVERS, *_PARQUET, *WRITERS} - {".json"})


def write_as(gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, encoding: str | None = None,
             layer: str | None = None) -> tuple[Path, list[str]]:
    """Write ``gdf`` in the format of ``path``'s suffix, atomically; ``(path, notes)``.

    GeoPackage, GeoJSON, FlatGeobuf and GeoParquet as :func:`write_layer`; a Shapefile in GBK with its ``.cpg``
    (as Chinese GIS software expects; ``encoding`` to change it), its parts renamed into place together; 国土TXT,
    DXF and KML/KMZ by their writers (:data:`redline.io.formats.WRITERS`). The notes say what the format
    changed (field names shortened for a shapefile, coordinates reprojected)."""
    import importlib

    from .formats import WRITERS

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".shp":
        return _write_shapefile(gdf, path, encoding or "GBK")
    if suffix in WRITERS:  # each writes atomically itself (atomic_output)
        module = importlib.import_module(WRITERS[suffix][0])
        return path, list(module.write(gdf, path, encoding=encoding) or [])
    if suffix not in _DRIVERS and suffix not in _PARQUET:
        raise OutputError(f"{path}: unknown output format {suffix!r}; use one of {', '.join(output_formats())}")
    return write_layer(gdf, path, layer=layer), []


def _write_shapefile(gdf: gpd.GeoDataFrame, path: Path, encoding: str) -> tuple[Path, list[str]]:
    """A shapefile written in a hidden folder beside ``path``, then its parts renamed over the old ones."""
    import pyogrio

    final = _final(path)
    if _is_input(final, ()):
        raise OutputError(f"{final}: refusing to overwrite an input file; choose another output path")
    check_output(final)
    notes = []
    with _temp_beside(path.parent, final) as tmpdir, _translated(final, tmpdir):
        tmp = tmpdir / path.name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                pyogrio.write_dataframe(gdf, tmp, driver="ESRI Shapefile", encoding=encoding)
            except Exception as exc:
                raise OutputError(f"{path}: cannot write ({_gdal_message(exc, path)})") from None
        renamed = [str(w.message) for w in caught if "laundered" in str(w.message)]
        if renamed:
            notes.append("shapefile field names are at most 10 bytes: " + "; ".join(
                m.split(": ", 1)[-1] for m in renamed))
        parts = [p for p in tmpdir.iterdir() if p.stem == tmp.stem and p.suffix]  # not the folder's owner mark
        for part in sorted(parts, key=lambda p: p.suffix.lower() == ".shp"):  # .shp last
            os.replace(part, path.with_suffix(part.suffix))
    return path, notes
