"""The benchmark suite at --size small: correctness only (the answers agree with the baselines), never timing."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_small_benchmark_answers_agree(tmp_path):
    import json

    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--size", "small", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["step"] for r in rows} >= {"screen", "indicators", "conflicts", "read parcels .parquet"}
    for row in rows:
        assert row["agree"], row
        assert row["redline_s"] > 0 and row["baseline_s"] > 0


def test_small_end_to_end_benchmark_runs_the_commands(tmp_path):
    """The end-to-end mode runs the CLI commands (and a user's overlay script) as processes, and their answers agree."""
    import json

    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--e2e", "--size", "small",
                           "--footprints", "200", "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["run"].split(" (")[0] for r in rows][:2] == ["redline screen --buffers none --json",
                                                          "geopandas.read_file + overlay + area"]
    assert any("default rings" in r["run"] for r in rows)
    for row in rows:
        assert row["seconds"] > 0 and row["peak_mb"] > 50, row
    assert rows[0]["worst_rel"] <= 1e-6


def test_the_load_test_of_the_service_loses_nothing():
    """benchmarks/load.py: concurrent users on a real ``redline serve`` — in CI the full 20 users for 2 minutes, on a
    laptop 6 for 15 s; no 5xx, every job ends successful (the latencies are the benchmark's to print, not this
    test's to judge)."""
    import json

    from conftest import in_ci

    users, seconds = ("20", "120") if in_ci() else ("6", "15")
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "load.py"), "--users", users, "--seconds",
                           seconds, "--json"], capture_output=True, text=True, timeout=900)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0, (out, proc.stderr[-2000:])
    kinds = {r["request"] for r in out["requests"]}
    assert {"screening (sync, 1 project)", "map data (a layer in a box)"} <= kinds
    assert out["server_errors"] == 0 and out["jobs_not_successful"] == 0 and out["jobs"].get("successful", 0) > 0
    assert out["audit_intact"]  # entries appended from many requests and jobs at once still chain
    print(json.dumps(out["requests"], indent=1))  # the latencies, in the log
