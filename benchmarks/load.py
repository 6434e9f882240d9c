"""A load test of ``redline serve`` on loopback: many planners at once, as a bureau's morning looks.

    python benchmarks/load.py [--users 20] [--seconds 120] [--workers 2] [--store URL] [--json]

Starts ``redline serve`` on the sample county (a fresh SQLite store unless ``--store``), adds an account and runs
``--users`` simulated users for ``--seconds``, each logged in with its own token and, between pauses of 2–6 s
(a person reading), doing one of: a single-project screening, synchronous (40 %); its result page and results
(30 %); the map's data — the control lines in a box around a project (30 %). Prints per kind of request the count,
median, p95 and worst latency, the answers by status code, and whether every job submitted ended ``successful``
(none lost, none hung), and that the audit trail's chain is intact. Exits 1 on a 5xx, a job not accounted for or
a broken trail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "qianjiang"
PASSWORD = "load test password"
KINDS = ("eco_redline", "basic_farmland", "nature_reserve", "urban_boundary", "water_source")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_project(folder: Path) -> Path:
    """The first of the sample sites alone, as GeoJSON: a single-project screening."""
    import geopandas as gpd

    path = folder / "one.geojson"
    gpd.read_file(SAMPLE / "sites.gpkg").iloc[:1].assign(category="energy").to_file(path, driver="GeoJSON")
    return path


def start(store: str, workers: int) -> tuple[subprocess.Popen, str]:
    """``redline serve`` with an account ``load`` (reviewer); returns the process and its base URL."""
    env = {**os.environ, "REDLINE_STORE": store}
    for name, role in (("load", "reviewer"), ("auditor", "admin")):
        subprocess.run([sys.executable, "-m", "redline", "users", "add", name, "--role", role, "--password-stdin"],
                       input=PASSWORD + "\n", text=True, env=env, capture_output=True)
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "redline", "serve", "--port", str(port), "--workers", str(workers),
                             "--queue", "200"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("redline serve did not start in 120 s")


class Load:
    """What the users did: latencies per kind of request, status codes, jobs submitted."""

    def __init__(self):
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: Counter = Counter()
        self.jobs: list[str] = []

    async def timed(self, kind: str, call):
        t = time.perf_counter()
        try:
            r = await call
        except httpx.HTTPError as exc:
            self.status[f"error {type(exc).__name__}"] += 1
            return None
        self.latency[kind].append(time.perf_counter() - t)
        self.status[r.status_code] += 1
        return r


async def user(base: str, upload: str, box: str, load: Load, until: float, rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as c:
        r = await c.post("/auth/token", data={"username": "load", "password": PASSWORD})
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        mine: list[str] = []
        while time.monotonic() < until:
            await asyncio.sleep(rng.uniform(2, 6))
            pick = rng.random()
            if pick < 0.4 or not mine:
                r = await load.timed("screening (sync, 1 project)", c.post(
                    "/processes/screen/execution", json={"inputs": {"projects": {"href": upload}}}))
                if r is not None and "location" in r.headers:
                    job = r.headers["location"].rsplit("/", 1)[-1]
                    mine.append(job)
                    load.jobs.append(job)
            elif pick < 0.7:
                job = rng.choice(mine)
                await load.timed("result page", c.get(f"/ui/jobs/{job}"))
                await load.timed("results JSON", c.get(f"/jobs/{job}/results"))
            else:
                for kind in KINDS:
                    await load.timed("map data (a layer in a box)", c.get(f"/collections/{kind}/items",
                                                                           params={"bbox": box, "limit": 5000}))


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def run(base: str, users: int, seconds: float) -> Load:
    with tempfile.TemporaryDirectory() as tmp:
        one = _one_project(Path(tmp))
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            r = await c.post("/auth/token", data={"username": "load", "password": PASSWORD})
            h = {"Authorization": f"Bearer {r.json()['access_token']}"}
            upload = (await c.post("/uploads", headers=h, files={"file": ("one.geojson", one.read_bytes())})).json()
        import geopandas as gpd

        x0, y0, x1, y1 = gpd.read_file(one).to_crs(4326).total_bounds
    box = f"{x0 - 0.01},{y0 - 0.01},{x1 + 0.01},{y1 + 0.01}"
    load = Load()
    until = time.monotonic() + seconds
    rngs = [random.Random(i) for i in range(users)]
    await asyncio.gather(*(user(base, upload["href"], box, load, until, rngs[i]) for i in range(users)))
    return load


def accounted(base: str, jobs: list[str]) -> tuple[Counter, bool]:
    """The final status of every job submitted, and whether the audit trail's chain is intact (asked after the
    load: its entries were appended from many requests and jobs at once)."""
    c = httpx.Client(base_url=base, timeout=60)
    r = c.post("/auth/token", data={"username": "load", "password": PASSWORD})
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    final = Counter(c.get(f"/jobs/{j}", headers=h).json().get("status", "missing") for j in jobs)
    r = c.post("/auth/token", data={"username": "auditor", "password": PASSWORD})
    trail = c.get("/audit", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    return final, bool(trail["intact"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--store", help="the service's store (default: a fresh SQLite file)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start(args.store or f"sqlite:///{Path(tmp) / 'load.db'}", args.workers)
        try:
            load = asyncio.run(run(base, args.users, args.seconds))
            final, intact = accounted(base, load.jobs)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    rows = [{"request": k, "count": len(v), "median_s": _p(v, 0.5), "p95_s": _p(v, 0.95), "max_s": max(v)}
            for k, v in load.latency.items()]
    server_errors = sum(n for code, n in load.status.items() if isinstance(code, int) and code >= 500)
    lost = len(load.jobs) - final.get("successful", 0)
    out = {"users": args.users, "seconds": args.seconds, "workers": args.workers, "requests": rows,
           "status": {str(k): v for k, v in load.status.items()}, "jobs": dict(final), "server_errors": server_errors,
           "jobs_not_successful": lost, "audit_intact": intact}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.users} users for {args.seconds:.0f} s, {args.workers} workers")
        print(f"{'request':32} {'count':>6} {'median':>8} {'p95':>8} {'max':>8}")
        for r in rows:
            print(f"{r['request']:32} {r['count']:6} {r['median_s']:7.2f}s {r['p95_s']:7.2f}s {r['max_s']:7.2f}s")
        print("status codes:", dict(load.status), "| jobs:", dict(final), "| audit trail intact:", intact)
    sys.exit(1 if server_errors or lost or not intact else 0)


if __name__ == "__main__":
    main()
