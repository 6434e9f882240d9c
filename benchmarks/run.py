"""redline against plain baselines, side by side, on the same files in one run.

    python benchmarks/run.py [--size small|city] [--steps read,screen,indicators,conflicts] [--postgis DSN] [--json]
    python benchmarks/run.py --e2e [--size small|city] [--footprints N] [--with-map] [--json]   (benchmarks/e2e.py)

Generates the data first when it is missing (``benchmarks/generate.py``). Each step runs in a fresh process (so the
peak memory is the step's own): redline's way and a plain baseline — ``geopandas.overlay`` + area for screening and
conflicts, ``shapely.union_all`` + intersection + area for indicators — on the same inputs, with areas measured the
same way (ellipsoidal, CGCS2000), and checks that the answers agree (1e-6 relative). Prints times, the speed-up and
peak memory; ``--json`` prints them as JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_child(fn, args, queue):
    try:
        import redline  # imports its API lazily: load it all before the clock starts, so times stay "after imports"

        for name in redline.__all__:
            getattr(redline, name)
        start = time.perf_counter()
        value = fn(*args)
        queue.put({"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "value": value})
    except Exception as exc:  # report, don't hang the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def measure(fn, *args) -> dict:
    """Run ``fn(*args)`` in a fresh process: wall time (inside, after imports), peak RSS, its return value."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_in_child, args=(fn, args, queue))
    proc.start()
    while True:  # a child killed by the system (out of memory) never answers: don't wait for it forever
        try:
            out = queue.get(timeout=5)
            break
        except Exception:
            if not proc.is_alive():
                raise RuntimeError(f"{fn.__name__} died (exit code {proc.exitcode}) — out of memory?") from None
    proc.join()
    if "error" in out:
        raise RuntimeError(out["error"])
    return out


# --- steps: each returns a small, comparable answer ------------------------------------------------------------


def read_redline(path: str) -> dict:
    import redline

    start = time.perf_counter()
    n = len(redline.read_layer(path, geometry="polygon").gdf)
    return {"compute_s": time.perf_counter() - start, "n": n}


def read_fiona(path: str) -> dict:
    import geopandas as gpd

    start = time.perf_counter()
    n = len(gpd.read_file(path, engine="fiona"))
    return {"compute_s": time.perf_counter() - start, "n": n}


def screen_redline(folder: str) -> dict:
    import geopandas as gpd

    import redline

    parcels = gpd.read_parquet(f"{folder}/parcels.parquet")
    fps = gpd.read_parquet(f"{folder}/footprints.parquet")
    start = time.perf_counter()
    result = redline.screen(fps, {"basic_farmland": parcels}, buffers=[])
    seconds = time.perf_counter() - start
    hits = result.hits.set_index("project_id")["overlap_m2"]
    return {"compute_s": seconds, "overlap": hits.to_dict()}


def screen_overlay(folder: str) -> dict:
    """geopandas.overlay of the same footprints (buffered as redline does) with the parcels, then area per project."""
    import geopandas as gpd

    from redline.geometry.area import ellipsoidal_area
    from redline.geometry.crs import working_crs
    from redline.geometry.footprints import footprints

    parcels = gpd.read_parquet(f"{folder}/parcels.parquet")
    fps = gpd.read_parquet(f"{folder}/footprints.parquet")
    crs = working_crs(fps)
    fp = footprints(fps, crs=crs, ids=list(fps["project_id"]))
    fp_gdf = gpd.GeoDataFrame({"project_id": fps["project_id"].to_numpy()}, geometry=fp.geometry.values, crs=crs)
    start = time.perf_counter()
    pieces = gpd.overlay(fp_gdf, parcels.to_crs(crs)[["geometry"]], how="intersection", keep_geom_type=True)
    pieces["m2"] = ellipsoidal_area(pieces)
    overlap = pieces.groupby("project_id")["m2"].sum()
    seconds = time.perf_counter() - start
    return {"compute_s": seconds, "overlap": overlap.to_dict()}


def screen_postgis(folder: str, dsn: str) -> dict:
    """PostGIS: the same buffered footprints and the parcels loaded into tables with GiST indexes (not timed),
    then one SQL join — ST_Intersects, ST_Intersection, ellipsoidal ST_Area(geography) — grouped by project."""
    import geopandas as gpd
    import psycopg

    from redline.geometry.crs import working_crs
    from redline.geometry.footprints import footprints
    from redline.io.postgis import parse_uri, write_postgis

    parcels = gpd.read_parquet(f"{folder}/parcels.parquet")
    fps = gpd.read_parquet(f"{folder}/footprints.parquet")
    crs = working_crs(fps)
    fp = footprints(fps, crs=crs, ids=list(fps["project_id"]))
    fp_gdf = gpd.GeoDataFrame({"project_id": fps["project_id"].to_numpy()}, geometry=fp.geometry.values, crs=crs)
    write_postgis(fp_gdf, f"{dsn}?table=bench_footprints")
    write_postgis(parcels.to_crs(crs)[["geometry"]], f"{dsn}?table=bench_parcels")
    with psycopg.connect(parse_uri(dsn).conninfo, autocommit=True) as conn:
        conn.execute("ANALYZE bench_footprints")
        conn.execute("ANALYZE bench_parcels")
        start = time.perf_counter()
        rows = conn.execute(
            "SELECT f.project_id, SUM(ST_Area(ST_Transform(ST_Intersection(f.geom, p.geom), 4490)::geography, true)) "
            "FROM bench_footprints f JOIN bench_parcels p ON ST_Intersects(f.geom, p.geom) GROUP BY f.project_id"
        ).fetchall()
        seconds = time.perf_counter() - start
    return {"compute_s": seconds, "overlap": {str(k): float(v) for k, v in rows}}


def indicators_redline(folder: str) -> dict:
    import geopandas as gpd

    import redline

    layers = {"basic_farmland": gpd.read_parquet(f"{folder}/parcels.parquet"),
              "eco_redline": gpd.read_file(f"{folder}/redline.gpkg")}
    county = gpd.read_file(f"{folder}/county.gpkg")
    towns = gpd.read_file(f"{folder}/townships.gpkg")
    start = time.perf_counter()
    prepared = {kind: redline.prepare_layer(gdf) for kind, gdf in layers.items()}  # as `redline indicators` does
    shares = redline.layer_shares(county, prepared)
    led = redline.ledger(towns, "name", prepared, boundary=county)
    seconds = time.perf_counter() - start
    per_unit = led.rows[led.rows["zone"].isna()].set_index(["unit", "kind"])["area_m2"]
    return {"compute_s": seconds, "shares": shares.set_index("kind")["area_m2"].to_dict(),
            "units": {f"{u}|{k}": v for (u, k), v in per_unit.items()}}


def indicators_union(folder: str) -> dict:
    import geopandas as gpd
    import shapely

    from redline.geometry.area import ellipsoidal_area

    layers = {"basic_farmland": gpd.read_parquet(f"{folder}/parcels.parquet"),
              "eco_redline": gpd.read_file(f"{folder}/redline.gpkg")}
    county = gpd.read_file(f"{folder}/county.gpkg")
    towns = gpd.read_file(f"{folder}/townships.gpkg")
    start = time.perf_counter()
    district = shapely.union_all(county.geometry.values)
    shares, units = {}, {}
    for kind, gdf in layers.items():
        merged = shapely.union_all(gdf.to_crs(county.crs).geometry.values)
        shares[kind] = float(ellipsoidal_area([shapely.intersection(merged, district)], crs=county.crs)[0])
        inside = shapely.intersection(shapely.intersection(towns.geometry.values, district), merged)
        for name, m2 in zip(towns["name"], ellipsoidal_area(inside, crs=county.crs)):
            units[f"{name}|{kind}"] = float(m2)
    seconds = time.perf_counter() - start
    return {"compute_s": seconds, "shares": shares, "units": units}


def conflicts_redline(folder: str) -> dict:
    import geopandas as gpd

    import redline

    layers = {"eco_redline": gpd.read_file(f"{folder}/redline.gpkg"),
              "basic_farmland": gpd.read_parquet(f"{folder}/parcels.parquet")}
    start = time.perf_counter()
    result = redline.conflicts(layers, pairs=[("eco_redline", "basic_farmland")])
    seconds = time.perf_counter() - start
    row = result.to_json()["pairs"][0]
    return {"compute_s": seconds, "overlap": {"total": row["overlap_m2"] + row.get("sliver_m2", 0.0)}}


def conflicts_overlay(folder: str) -> dict:
    import geopandas as gpd
    import shapely

    from redline.geometry.area import ellipsoidal_area

    red = gpd.read_file(f"{folder}/redline.gpkg")
    parcels = gpd.read_parquet(f"{folder}/parcels.parquet")
    start = time.perf_counter()
    # dissolve the red line, explode it into its polygons (one giant multipolygon would make every parcel's
    # intersection walk all of it), then intersect: the parcels don't overlap, so the pieces' areas add up
    red_parts = gpd.GeoDataFrame(geometry=shapely.get_parts(shapely.union_all(red.geometry.values)), crs=red.crs)
    pieces = gpd.overlay(parcels[["geometry"]], red_parts, how="intersection", keep_geom_type=True)
    total = float(ellipsoidal_area(pieces).sum())
    seconds = time.perf_counter() - start
    return {"compute_s": seconds, "overlap": {"total": total}}


# --- the run -------------------------------------------------------------------------------------------------


def _agree(a: dict, b: dict, rel: float = 1e-6) -> tuple[bool, float]:
    """Whether two {key: m²} answers agree to ``rel`` (missing keys count as 0), and the worst relative gap."""
    keys = set(a) | set(b)
    worst = 0.0
    for k in keys:
        x, y = float(a.get(k, 0.0)), float(b.get(k, 0.0))
        scale = max(abs(x), abs(y), 1.0)
        worst = max(worst, abs(x - y) / scale)
    return worst <= rel, worst


def run(size: str, steps: list[str], report=None, postgis: str | None = None) -> list[dict]:
    """Measure the steps; ``report(row)`` is called as each row is ready. ``postgis`` (a DSN) adds PostGIS
    as a second screening baseline (its server's memory is not counted)."""
    from generate import generate

    folder = HERE / "data" / size
    if not (folder / "footprints.parquet").exists():
        generate(size, HERE / "data")
    rows = []
    if "read" in steps:
        fiona = measure(read_fiona, str(folder / "parcels.gpkg"))
        for fmt in ("gpkg", "fgb", "parquet"):
            ours = measure(read_redline, str(folder / f"parcels.{fmt}"))
            rows.append({"step": f"read parcels .{fmt}", "redline_s": ours["value"]["compute_s"],
                         "baseline": "fiona .gpkg", "baseline_s": fiona["value"]["compute_s"],
                         "redline_peak_mb": ours["peak_mb"], "baseline_peak_mb": fiona["peak_mb"],
                         "agree": ours["value"]["n"] == fiona["value"]["n"], "worst_rel": 0.0})
            _done(rows[-1], report)
    pairs = {"screen": (screen_redline, screen_overlay, "geopandas.overlay + area", "overlap"),
             "indicators": (indicators_redline, indicators_union, "union_all + area", None),
             "conflicts": (conflicts_redline, conflicts_overlay, "union + explode + geopandas.overlay + area",
                           "overlap")}
    for step in ("screen", "indicators", "conflicts"):
        if step not in steps:
            continue
        ours_fn, base_fn, label, key = pairs[step]
        ours, base = measure(ours_fn, str(folder)), measure(base_fn, str(folder))
        if key:
            ok, worst = _agree(ours["value"][key], base["value"][key])
        else:
            ok1, w1 = _agree(ours["value"]["shares"], base["value"]["shares"])
            ok2, w2 = _agree(ours["value"]["units"], base["value"]["units"])
            ok, worst = ok1 and ok2, max(w1, w2)
        rows.append({"step": step, "redline_s": ours["value"]["compute_s"], "baseline": label,
                     "baseline_s": base["value"]["compute_s"], "redline_peak_mb": ours["peak_mb"],
                     "baseline_peak_mb": base["peak_mb"], "agree": ok, "worst_rel": worst})
        _done(rows[-1], report)
        if step == "screen" and postgis:
            pg = measure(screen_postgis, str(folder), postgis)
            ok, worst = _agree({str(k): v for k, v in ours["value"][key].items()}, pg["value"][key])
            rows.append({"step": step, "redline_s": ours["value"]["compute_s"], "baseline": "PostGIS (GiST, SQL join)",
                         "baseline_s": pg["value"]["compute_s"], "redline_peak_mb": ours["peak_mb"],
                         "baseline_peak_mb": float("nan"), "agree": ok, "worst_rel": worst})
            _done(rows[-1], report)
    return rows


def _done(row: dict, report) -> None:
    row["speedup"] = row["baseline_s"] / row["redline_s"] if row["redline_s"] else float("inf")
    if report is not None:
        report(row)


def _print_row(r: dict) -> None:
    print(f"{r['step']:22s} {r['redline_s']:10.2f} {r['baseline_s']:11.2f} {r['speedup']:8.1f}x "
          f"{r['redline_peak_mb']:9.0f} {r['baseline_peak_mb']:9.0f} {str(r['agree']):>6s} {r['worst_rel']:10.1e}  "
          f"{r['baseline']}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["small", "city"], default="small")
    ap.add_argument("--steps", default="read,screen,indicators,conflicts")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--postgis", metavar="DSN", help="also screen with PostGIS, e.g. postgresql://user@host:5432/db "
                    "(tables bench_footprints and bench_parcels are replaced); .ci/postgis-up starts a throw-away one")
    ap.add_argument("--e2e", action="store_true", help="the commands as a user runs them, end to end "
                    "(benchmarks/e2e.py)")
    ap.add_argument("--footprints", type=int, help="with --e2e: only the first N footprints")
    ap.add_argument("--with-map", action="store_true", help="with --e2e: also redline map of the parcels")
    args = ap.parse_args()
    if args.e2e:
        import e2e

        e2e.main(args.size, args.footprints, args.with_map, args.json, args.postgis)
        return
    if args.json:
        print(json.dumps(run(args.size, args.steps.split(","), postgis=args.postgis), indent=2))
        return
    print(f"size {args.size}")
    print(f"{'step':22s} {'redline s':>10s} {'baseline s':>11s} {'speed-up':>9s} {'peak MB':>9s} {'base MB':>9s} "
          f"{'agree':>6s} {'worst rel':>10s}  baseline", flush=True)
    run(args.size, args.steps.split(","), report=_print_row, postgis=args.postgis)


if __name__ == "__main__":
    main()
