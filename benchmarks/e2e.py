"""The commands as a user runs them, end to end: each in a fresh process, from the shell's point of view.

    python benchmarks/run.py --e2e [--size small|city] [--footprints N] [--with-map] [--postgis DSN] [--json]

Times ``redline screen`` with its default options (the rule set's rings 500/1000/5000 m) and with ``--buffers none``,
and a user's plain alternative in the same run — a Python script that reads both files with geopandas (``read_file``, ``read_parquet``),
overlays them (``geopandas.overlay``) and measures the pieces — each as a subprocess: import, read, compute and write
all counted, peak memory from the operating system (``os.wait4``). ``--with-map`` adds ``redline map`` of the parcels
(within the county boundary; the size written counts map.html and its tiles in map_files/).
The overlap areas of redline and the overlay are compared (1e-6 relative).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REDLINE = [sys.executable, "-m", "redline"]

_OVERLAY = """
import json, sys
import geopandas as gpd
from redline.geometry.area import ellipsoidal_area
from redline.geometry.crs import working_crs
from redline.geometry.footprints import footprints
fps = gpd.read_parquet(sys.argv[1]) if sys.argv[1].endswith(".parquet") else gpd.read_file(sys.argv[1])
parcels = gpd.read_file(sys.argv[2])
crs = working_crs(fps)
fp = footprints(fps, crs=crs, ids=list(fps["project_id"]))  # lines and points widened as redline does
fp = gpd.GeoDataFrame({"project_id": fps["project_id"].to_numpy()}, geometry=fp.geometry.values, crs=crs)
pieces = gpd.overlay(fp, parcels.to_crs(crs)[["geometry"]], how="intersection", keep_geom_type=True)
pieces["m2"] = ellipsoidal_area(pieces)
json.dump({str(k): v for k, v in pieces.groupby("project_id")["m2"].sum().items()}, open(sys.argv[3], "w"))
"""


_DUCKDB = """
import json, pathlib, sys
import duckdb, duckdb_extension_spatial
fps, parcels, crs, out = sys.argv[1:5]
ext = pathlib.Path(duckdb_extension_spatial.__path__[0]) / "extensions" / f"v{duckdb.__version__}"
ext = ext / "spatial.duckdb_extension"
con = duckdb.connect()
con.execute(f"LOAD '{ext}'")
con.execute(f"CREATE TABLE f AS SELECT project_id, ST_GeomFromWKB(wkb) AS g FROM read_parquet('{fps}')")
con.execute(f"CREATE TABLE p AS SELECT geom AS g FROM ST_Read('{parcels}')")
rows = con.execute(
    "SELECT f.project_id, sum(ST_Area_Spheroid(ST_FlipCoordinates(ST_Transform(ST_Intersection(f.g, p.g), "
    f"'{crs}', 'EPSG:4326', always_xy := true)))) FROM f JOIN p ON ST_Intersects(f.g, p.g) GROUP BY f.project_id"
).fetchall()
json.dump({str(k): v for k, v in rows}, open(out, "w"))
"""


_POSTGIS = """
import json, sys
import geopandas as gpd, pandas as pd, psycopg, pyogrio, shapely
from redline.io.postgis import parse_uri, write_postgis
fps, parcels, dsn, out = sys.argv[1:5]
p = pyogrio.read_dataframe(parcels, use_arrow=True)  # the load a user would do with ogr2ogr: the file into a table
f = pd.read_parquet(fps)
f = gpd.GeoDataFrame({"project_id": f["project_id"]}, geometry=shapely.from_wkb(f["wkb"].to_numpy()), crs=p.crs)
write_postgis(f, f"{dsn}?table=e2e_footprints")  # COPY, then a GiST index
write_postgis(p[["geometry"]], f"{dsn}?table=e2e_parcels")
with psycopg.connect(parse_uri(dsn).conninfo, autocommit=True) as conn:
    conn.execute("ANALYZE e2e_footprints")
    conn.execute("ANALYZE e2e_parcels")
    rows = conn.execute(
        "SELECT f.project_id, SUM(ST_Area(ST_Transform(ST_Intersection(f.geom, p.geom), 4490)::geography, true)) "
        "FROM e2e_footprints f JOIN e2e_parcels p ON ST_Intersects(f.geom, p.geom) GROUP BY f.project_id"
    ).fetchall()
json.dump({str(k): float(v) for k, v in rows}, open(out, "w"))
"""


def _widened(fps: Path, parcels: Path, work: Path) -> tuple[Path, str]:
    """The footprints as redline widens them (lines by width_m, points by radius_m) in the parcels' CRS, as plain
    WKB in Parquet, for the database peers (made before their timing: they get this step for free)."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    from redline.geometry.footprints import footprints

    crs = pyogrio.read_info(parcels)["crs"]
    gdf = gpd.read_parquet(fps)
    fp = footprints(gdf, crs=crs, ids=list(gdf["project_id"]))
    path = work / "widened.parquet"
    pd.DataFrame({"project_id": gdf["project_id"].to_numpy(), "wkb": fp.geometry.to_wkb().to_numpy()}).to_parquet(path)
    return path, crs


def _peers(fps: Path, parcels: Path, work: Path, ours: dict, postgis: str | None = None) -> list[dict]:
    """DuckDB spatial (ST_Read, a spatial join on ST_Intersects, ST_Intersection, ST_Area_Spheroid), when its
    Python package and the spatial extension's are installed (pip install duckdb duckdb-extension-spatial); with
    ``postgis`` (a DSN), PostGIS: the parcels file read and loaded into a table (COPY, a GiST index: what ogr2ogr
    does), then the same join in SQL with ST_Area on the spheroid — the load counted, the server's own memory not.
    Both get the footprints already widened by redline (not timed)."""
    rows = []
    widened, crs = _widened(fps, parcels, work)
    try:
        import duckdb  # noqa: F401
        import duckdb_extension_spatial  # noqa: F401
    except ImportError:
        print("DuckDB spatial not run: pip install duckdb duckdb-extension-spatial", file=sys.stderr)
    else:
        script = work / "duck.py"
        script.write_text(_DUCKDB, encoding="utf-8")
        duck = timed([sys.executable, str(script), str(widened), str(parcels), crs, str(work / "duck.json")], str(work))
        gap = _agree(ours, json.loads((work / "duck.json").read_text()))
        rows.append({"run": "DuckDB spatial: ST_Read + join + ST_Intersection + ST_Area_Spheroid (footprints "
                            "pre-widened)", **duck, "worst_rel": gap})
    if postgis:
        script = work / "pg.py"
        script.write_text(_POSTGIS, encoding="utf-8")
        pg = timed([sys.executable, str(script), str(widened), str(parcels), postgis, str(work / "pg.json")], str(work))
        rows.append({"run": "PostGIS: load (COPY + GiST) + ST_Intersects join + ST_Intersection + ST_Area(geography) "
                            "(footprints pre-widened; server memory not counted)", **pg,
                     "worst_rel": _agree(ours, json.loads((work / "pg.json").read_text()))})
    return rows


def timed(cmd: list[str], cwd: str, stdout: Path | None = None) -> dict:
    """Run ``cmd`` (its output to ``stdout``): wall seconds and its peak memory (MB): the larger of its own peak
    resident size (``os.wait4``) and the peak, sampled every 0.1 s, of the proportional set size summed over it and
    its worker processes (``redline screen`` rasterises ring areas in a worker; PSS counts shared pages once)."""
    start = time.perf_counter()
    sink = open(stdout, "wb") if stdout else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=sink, stderr=subprocess.PIPE)
    tree_peak, status, usage = 0, None, None
    while status is None:
        tree_peak = max(tree_peak, _tree_pss_kb(proc.pid))
        pid, status_, usage_ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status, usage = status_, usage_
        else:
            time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if stdout:
        sink.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip().splitlines()[-1:]}")
    return {"seconds": seconds, "peak_mb": max(usage.ru_maxrss, tree_peak) / 1024}


def _tree_pss_kb(root: int) -> int:
    """The proportional set size (kB) of process ``root`` and its descendants, from /proc (0 where there is none)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    children.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("Pss:")), 0)
        except OSError:
            pass
    return total


def _overlaps(path: Path) -> dict:
    """Per project, the overlap (m²) with the one layer, from ``redline screen --json``."""
    out = {}
    for p in json.loads(path.read_text(encoding="utf-8"))["projects"]:
        out[str(p["id"])] = sum(h["overlap_m2"] for h in p["hits"])
    return out


def _agree(a: dict, b: dict) -> float:
    keys = set(a) | set(b)
    return max((abs(a.get(k, 0.0) - b.get(k, 0.0)) / max(abs(a.get(k, 0.0)), abs(b.get(k, 0.0)), 1.0)
                for k in keys), default=0.0)


def _subset(folder: Path, work: Path, n: int | None) -> Path:
    """The footprints file, or its first ``n`` features."""
    if not n:
        return folder / "footprints.parquet"
    import geopandas as gpd

    path = work / f"footprints_{n}.parquet"
    gpd.read_parquet(folder / "footprints.parquet").head(n).to_parquet(path)
    return path


def run(folder: Path, footprints: int | None = None, with_map: bool = False, postgis: str | None = None) -> list[dict]:
    """The end-to-end rows: what was run, seconds, peak MB, the worst gap to the overlay where it applies."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fps, parcels = _subset(folder, work, footprints), folder / "parcels.gpkg"
        layer = f"basic_farmland={parcels}"
        none = timed(REDLINE + ["screen", str(fps), "--layer", layer, "--buffers", "none", "--json"], tmp,
                     work / "none.json")
        # the rings next, so that their ratio to the run without compares like with like; the database peers last:
        # a PostgreSQL server goes on working after a load (autovacuum, checkpoints), which slowed the next runs
        rings = timed(REDLINE + ["screen", str(fps), "--layer", layer, "--json"], tmp, work / "rings.json")
        script = work / "overlay.py"
        script.write_text(_OVERLAY, encoding="utf-8")
        base = timed([sys.executable, str(script), str(fps), str(parcels), str(work / "overlay.json")], tmp)
        gap = _agree(_overlaps(work / "none.json"), json.loads((work / "overlay.json").read_text()))
        rows.append({"run": "redline screen --buffers none --json", **none, "worst_rel": gap})
        rows.append({"run": "geopandas.read_file + overlay + area (a user's script)", **base, "worst_rel": gap})
        rows.append({"run": "redline screen --json (the default rings 500/1000/5000 m)", **rings,
                     "worst_rel": float("nan")})
        if with_map:
            m = timed(REDLINE + ["map", "--boundary", str(folder / "county.gpkg"), "--layer", layer,
                                 "--out", str(work / "map.html")], tmp)
            tiles = [f for f in (work / "map_files").rglob("*.png")]
            size = (work / "map.html").stat().st_size + sum(f.stat().st_size for f in tiles)
            rows.append({"run": f"redline map of the parcels ({size / 1e6:.0f} MB written: map.html "
                                f"{(work / 'map.html').stat().st_size / 1e6:.1f} MB + {len(tiles):,} tiles)", **m,
                         "worst_rel": float("nan")})
        rows += _peers(fps, parcels, work, _overlaps(work / "none.json"), postgis)
    return rows


def main(size: str, footprints: int | None, with_map: bool, as_json: bool, postgis: str | None = None) -> None:
    from generate import generate

    folder = HERE / "data" / size
    if not (folder / "footprints.parquet").exists():
        generate(size, HERE / "data")
    rows = run(folder, footprints, with_map, postgis)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'seconds':>8s} {'peak MB':>8s} {'gap':>8s}  command")
    for r in rows:
        print(f"{r['seconds']:8.1f} {r['peak_mb']:8.0f} {r['worst_rel']:8.1e}  {r['run']}", flush=True)
