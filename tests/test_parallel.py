"""Work in worker processes (redline.geometry._parallel.InProcesses): every result arrives, also when a worker is
killed mid-run or no worker can be had; rasterised strips equal the same strips done in this process."""

from __future__ import annotations

import operator
import os
import signal

import numpy as np
import shapely

from redline.geometry import _parallel
from redline.geometry.burn import cell_counts


def _die_in_a_worker(task: int, test_pid: int) -> tuple[int, int]:
    """Task 3 kills the worker process running it (as the OOM killer would); in the test's process ``test_pid``
    it just works. Returns the task's result and the process that made it."""
    if task == 3 and os.getpid() != test_pid:
        os.kill(os.getpid(), signal.SIGKILL)
    return task * 10, os.getpid()


def test_every_result_arrives_from_the_workers():
    got: dict = {}
    _parallel.InProcesses(operator.mul, lambda t: (t, t), got.__setitem__, range(20)).wait()
    assert got == {t: t * t for t in range(20)}


def test_a_killed_worker_loses_no_task():
    """The worker dies on task 3; the tasks it had, and those never sent, are done here."""
    got: dict = {}
    work = _parallel.InProcesses(_die_in_a_worker, lambda t: (t, os.getpid()), got.__setitem__, range(12), processes=1)
    for thread in work._threads:
        thread.join(timeout=60)  # let the worker take what it can, and die, before wait() takes the rest
    work.wait()
    assert {t: v for t, (v, _) in got.items()} == {t: t * 10 for t in range(12)}
    assert got[3][1] == os.getpid()  # task 3 was done again here
    assert any(pid != os.getpid() for _, pid in got.values())  # and the worker did some before it died


def test_one_core_does_the_work_here(monkeypatch):
    monkeypatch.setattr(_parallel, "workers", lambda: 1)
    got: dict = {}
    work = _parallel.InProcesses(operator.add, lambda t: (t, 1), got.__setitem__, range(8))
    assert not work._threads  # no workers: the tasks wait for wait()
    work.wait()
    assert got == {t: t + 1 for t in range(8)}


def test_strips_from_workers_equal_strips_done_here():
    """The grid's strips (cell_counts) in workers give the pixels the same call gives in this process."""
    rng = np.random.default_rng(3)
    discs = shapely.buffer(shapely.points(rng.uniform(0, 2000, 60), rng.uniform(0, 2000, 60)), 120)
    wkb = shapely.to_wkb(discs)
    tasks = range(0, 200, 20)  # rows of 10 m cells, 20 per strip

    def make(r0):
        return wkb, 20, 200, 0.0, 2000.0 - r0 * 10.0, 10.0, 8

    got: dict = {}
    _parallel.InProcesses(cell_counts, make, got.__setitem__, tasks).wait()
    for r0 in tasks:
        assert (got[r0] == cell_counts(*make(r0))).all()
    assert sum(int(v.sum()) for v in got.values()) > 0


def test_a_task_whose_arguments_fail_in_the_feeding_thread_is_done_here():
    """``make`` failing once for a task (as reading its part of a layer might, for lack of memory) while the pool is
    fed: that task and all still queued are done again in wait(), none lost."""
    calls: dict = {}

    def make(t):
        calls[t] = calls.get(t, 0) + 1
        if t == 2 and calls[t] == 1:
            raise MemoryError("no memory for the strip's geometries")
        return (t,)

    got: dict = {}
    work = _parallel.InProcesses(operator.neg, make, got.__setitem__, range(6), processes=1)
    for thread in work._threads:
        thread.join(timeout=60)
    work.wait()
    assert got == {t: -t for t in range(6)} and calls[2] == 2


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """A user's script that screens at its top level, with no ``if __name__ == "__main__"``: the workers do not run
    it again (the server preloads the work's module only), and every result arrives."""
    import subprocess
    import sys

    script = tmp_path / "user.py"
    script.write_text("import operator, pathlib\nfrom redline.geometry import _parallel\n"
                      "with open(pathlib.Path(__file__).with_name('ran.txt'), 'a') as fh:\n    fh.write('ran\\n')\n"
                      "got = {}\n"
                      "w = _parallel.InProcesses(operator.mul, lambda t: (t, 2), got.__setitem__, range(10))\n"
                      "[t.join() for t in w._threads]\nw.wait()\n"
                      "print(sorted(got.items()) == [(t, 2 * t) for t in range(10)])\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["True"]
    assert (tmp_path / "ran.txt").read_text() == "ran\n"  # the script's top level ran once, here


def test_inside_an_application_embedding_python_all_runs_here(monkeypatch):
    """Where ``sys.executable`` is not a Python (QGIS's is QGIS itself), no worker is started: ``-c`` would start
    the application."""
    monkeypatch.setattr(_parallel.sys, "executable", "/usr/bin/qgis")
    got: dict = {}
    work = _parallel.InProcesses(operator.add, lambda t: (t, 1), got.__setitem__, range(8))
    assert not work._threads
    work.wait()
    assert got == {t: t + 1 for t in range(8)}
    assert _parallel._is_python("/usr/bin/python3.11") and _parallel._is_python("C:\\Python311\\python.exe")
