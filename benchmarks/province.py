"""A province on one machine in bounded memory: partition 5 million parcels, then screen, measure and find conflicts
on Dask with 1 and 2 workers.

    python benchmarks/province.py [--parcels 5000000] [--footprints 20000] [--grid-km 20] [--workers 1,2]
                                  [--steps screen,indicators,conflicts] [--json]

Generates (seeded, once) a province of farmland parcels in EPSG:4545 — tile by tile into one GeoParquet file, so
the generator never holds the layer either — and footprints across it. Then, each in a fresh process:
``redline partition --grid`` of the whole file (streamed), ``redline screen --engine dask`` of the footprints
against the partitioned layer (no rings), the share + a 16-county ledger, and the conflicts of a province-wide red line
(partitioned too) with the farmland, on Dask with each worker count.
Prints times, throughput and peak memory: of the process, and of the largest Dask worker.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

import shapely

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import measure  # noqa: E402  (benchmarks/run.py: one step in a fresh process)


def generate(folder: Path, n_parcels: int, n_footprints: int, seed: int = 20261128) -> Path:
    """``parcels.parquet`` (row group per tile) and ``footprints.parquet`` in ``folder``; skipped if present."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyproj import CRS

    import generate as gen
    from redline.io.partition import _geo_schema

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "parcels.parquet"
    if target.exists() and (folder / "footprints.parquet").exists():
        _redline(folder, n_parcels, seed)  # added after the first runs
        return folder
    rng = np.random.default_rng(seed)
    side = math.sqrt(n_parcels * 5_000.0)  # ~0.5 ha a parcel, like the city data
    tiles = 10
    tile_side = side / tiles
    per_tile = int(math.ceil(n_parcels / tiles**2))
    writer = None
    tmp = target.with_suffix(".partial")
    done = 0
    for i in range(tiles):
        for j in range(tiles):
            n = min(per_tile, n_parcels - done)
            if n <= 0:
                break
            farm = gen.parcels(rng, tile_side, n)
            dx = gen.CENTRE[0] - side / 2 + (i + 0.5) * tile_side - gen.CENTRE[0]
            dy = gen.CENTRE[1] - side / 2 + (j + 0.5) * tile_side - gen.CENTRE[1]
            farm["bsm"] = [f"JBNT{done + k:08d}" for k in range(n)]
            farm = farm.set_geometry(farm.geometry.translate(dx, dy))
            table = pa.table({"bsm": farm["bsm"].to_numpy(), "dlbm": farm["dlbm"].to_numpy(),
                              "geometry": pa.array(shapely.to_wkb(farm.geometry.values), pa.binary())})
            if writer is None:  # GeoParquet metadata as redline partition writes it
                writer = pq.ParquetWriter(tmp, _geo_schema(table.schema, CRS.from_user_input(gen.CRS)))
            writer.write_table(table.cast(writer.schema))
            done += n
    writer.close()
    tmp.replace(target)
    fps = gen.footprints(rng, side, n_footprints)
    fps.to_parquet(folder / "footprints.parquet")
    _redline(folder, n_parcels, seed)
    return folder


def _redline(folder: Path, n_parcels: int, seed: int) -> Path:
    """``redline.parquet``: overlapping red-line blobs covering ~30 % of the province, as dense as the city's
    (5 000 per 2 500 km²); skipped if present."""
    import numpy as np

    import generate as gen

    target = folder / "redline.parquet"
    if not target.exists():
        side = math.sqrt(n_parcels * 5_000.0)
        n = int(5_000 * side * side / 50_000.0**2)
        red = gen.redline(np.random.default_rng(seed + 1), side, n)
        red.to_parquet(target.with_suffix(".partial"))
        target.with_suffix(".partial").replace(target)
    return target


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _on_dask(workers: int, work):
    """``work(client)`` on a fresh local cluster: (seconds, the largest worker's peak MB, its result)."""
    from redline.engines.dask import close_client, dask_client

    client = dask_client(workers=workers)
    try:
        start = time.perf_counter()
        value = work(client)
        seconds = time.perf_counter() - start
        worker_peak = max(client.run(_peak_mb).values())
    finally:
        close_client(client)
    return seconds, worker_peak, value


def partition_step(folder: str, grid_km: float, name: str = "parcels") -> dict:
    import shutil

    from redline.io.partition import partition_layer

    out = Path(folder) / f"{name}.parts"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    parts = partition_layer(Path(folder) / f"{name}.parquet", out, grid_km=grid_km)
    return {"compute_s": time.perf_counter() - start, "partitions": len(parts), "rows": sum(p.rows for p in parts)}


def conflicts_step(folder: str, workers: int) -> dict:
    """Red line × farmland conflicts of the whole province on Dask, both layers partitioned."""
    from redline.engines.dask import conflicts_dask

    layers = {"eco_redline": str(Path(folder) / "redline.parts"), "basic_farmland": str(Path(folder) / "parcels.parts")}
    seconds, worker_peak, result = _on_dask(workers, lambda client: conflicts_dask(
        layers, pairs=[("eco_redline", "basic_farmland")], client=client))
    row = result.pairs.iloc[0]
    return {"compute_s": seconds, "worker_peak_mb": worker_peak, "pieces": int(row["pieces"] + row["slivers"]),
            "total_m2": float(row["total_m2"])}


def screen_step(folder: str, workers: int) -> dict:
    import geopandas as gpd

    from redline.engines.dask import screen_dask

    fps = gpd.read_parquet(Path(folder) / "footprints.parquet")
    seconds, worker_peak, result = _on_dask(workers, lambda client: screen_dask(
        fps, {"basic_farmland": str(Path(folder) / "parcels.parts")}, client=client, buffers=[]))
    return {"compute_s": seconds, "worker_peak_mb": worker_peak, "projects": len(result.projects),
            "overlap_m2": float(result.hits["overlap_m2"].sum())}


def indicators_step(folder: str, workers: int, parcels: int) -> dict:
    """Shares and a 16-county ledger of the partitioned farmland, on Dask: each task reads only the partitions
    meeting its county or cell."""
    import geopandas as gpd

    import generate as gen
    import redline
    from redline.engines.dask import dask_measure

    side = math.sqrt(parcels * 5_000.0)
    x0, y0 = gen.CENTRE[0] - side / 2, gen.CENTRE[1] - side / 2
    province = gpd.GeoDataFrame({"name": ["示例省"]}, geometry=[shapely.box(x0, y0, x0 + side, y0 + side)],
                                crs=gen.CRS)
    step = side / 4
    counties = gpd.GeoDataFrame({"name": [f"县{i}{j}" for i in range(4) for j in range(4)]},
                                geometry=[shapely.box(x0 + i * step, y0 + j * step, x0 + (i + 1) * step, y0 + (j + 1) * step)
                                          for i in range(4) for j in range(4)], crs=gen.CRS)
    layers = {"basic_farmland": str(Path(folder) / "parcels.parts")}
    def work(client):
        measure = dask_measure(client, cell_km=40.0)  # counties (~40 km) measured whole, the province by cell
        return (redline.layer_shares(province, layers, measure=measure),
                redline.ledger(counties, "name", layers, boundary=province, measure=measure))

    seconds, worker_peak, (shares, led) = _on_dask(workers, work)
    return {"compute_s": seconds, "worker_peak_mb": worker_peak, "share_m2": float(shares["area_m2"].iloc[0]),
            "ledger_m2": float(led.rows["area_m2"].sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parcels", type=int, default=5_000_000)
    ap.add_argument("--footprints", type=int, default=20_000)
    ap.add_argument("--grid-km", type=float, default=20.0)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--steps", default="screen,indicators,conflicts",
                    help="after partitioning the farmland: any of screen, indicators, conflicts")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    steps = set(args.steps.split(","))
    folder = HERE / "data" / f"province-{args.parcels}"
    t = time.perf_counter()
    generate(folder, args.parcels, args.footprints)
    rows = [{"step": "generate (not part of redline)", "seconds": time.perf_counter() - t}]
    part = measure(partition_step, str(folder), args.grid_km)
    rows.append({"step": f"partition --grid {args.grid_km:g} ({part['value']['partitions']} partitions)",
                 "seconds": part["value"]["compute_s"], "peak_mb": part["peak_mb"],
                 "parcels_per_s": part["value"]["rows"] / part["value"]["compute_s"]})
    answers, shares, overlaps = set(), set(), set()
    for w in (int(x) for x in args.workers.split(",")) if "screen" in steps else ():
        res = measure(screen_step, str(folder), w)
        v = res["value"]
        answers.add(round(v["overlap_m2"], 3))
        rows.append({"step": f"screen {v['projects']} footprints, dask {w} worker{'s' if w > 1 else ''}",
                     "seconds": v["compute_s"], "peak_mb": res["peak_mb"], "worker_peak_mb": v["worker_peak_mb"],
                     "parcels_per_s": args.parcels / v["compute_s"], "overlap_m2": v["overlap_m2"]})
    for w in (int(x) for x in args.workers.split(",")) if "indicators" in steps else ():
        res = measure(indicators_step, str(folder), w, args.parcels)
        v = res["value"]
        shares.add(round(v["share_m2"], 1))
        rows.append({"step": f"share + 16-county ledger, dask {w} worker{'s' if w > 1 else ''}",
                     "seconds": v["compute_s"], "peak_mb": res["peak_mb"], "worker_peak_mb": v["worker_peak_mb"],
                     "parcels_per_s": args.parcels / v["compute_s"], "share_m2": v["share_m2"],
                     "ledger_m2": v["ledger_m2"]})
    if "conflicts" in steps:
        red = measure(partition_step, str(folder), args.grid_km, "redline")
        rows.append({"step": f"partition the red line ({red['value']['rows']:,} blobs)",
                     "seconds": red["value"]["compute_s"], "peak_mb": red["peak_mb"]})
    for w in (int(x) for x in args.workers.split(",")) if "conflicts" in steps else ():
        res = measure(conflicts_step, str(folder), w)
        v = res["value"]
        overlaps.add((v["pieces"], round(v["total_m2"], 1)))
        rows.append({"step": f"conflicts red line × farmland, dask {w} worker{'s' if w > 1 else ''}",
                     "seconds": v["compute_s"], "peak_mb": res["peak_mb"], "worker_peak_mb": v["worker_peak_mb"],
                     "parcels_per_s": args.parcels / v["compute_s"], "pieces": v["pieces"], "total_m2": v["total_m2"]})
    summary = {"parcels": args.parcels, "rows": rows,
               "same_answer": all(len(a) <= 1 for a in (answers, shares, overlaps))}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"province: {args.parcels:,} parcels, {args.footprints:,} footprints")
    for r in rows:
        extra = ""
        if "peak_mb" in r:
            extra = f"  peak {r['peak_mb']:,.0f} MB"
        if "worker_peak_mb" in r:
            extra += f", largest worker {r['worker_peak_mb']:,.0f} MB"
        if "parcels_per_s" in r:
            extra += f"  {r['parcels_per_s']:,.0f} parcels/s"
        if "pieces" in r:
            extra += f"  {r['pieces']:,} pieces, {r['total_m2'] / 1e6:,.3f} km²"
        print(f"{r['step']:48s} {r['seconds']:8.1f} s{extra}")
    print(f"same answer with every worker count: {summary['same_answer']}")


if __name__ == "__main__":
    main()
