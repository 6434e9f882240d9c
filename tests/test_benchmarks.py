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
