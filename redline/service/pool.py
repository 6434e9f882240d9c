"""Jobs run in a pool of worker processes, with a bounded queue that outlives the server.

Why processes and not threads: an overlay is CPU-bound and much of it holds the GIL, and only a process can be
stopped mid-job. Each worker (:mod:`redline.service.worker`) is a ``python -m`` process in its own process
group, fed one job at a time over a pipe, so:

- ``DELETE /jobs/ID`` of a running job kills its worker's group (the job and anything it started) and starts a
  fresh worker; the job ends ``dismissed``;
- a worker that dies (killed, out of memory) ends its job ``failed`` with the reason, never hung, and is replaced;
- a job running longer than ``REDLINE_JOB_TIMEOUT`` seconds (default 3600) is stopped and ends ``failed``;
- the queue is the store's ``accepted`` jobs, oldest first: at most ``queue_limit`` wait (:class:`QueueFull`
  beyond, which the API answers with 503 and ``Retry-After``); after a restart they are run, and the jobs that
  were running when the server stopped end ``failed`` ("the server stopped while it ran").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .store import Store, utcnow

__all__ = ["JobPool", "QueueFull", "FINISHED"]

FINISHED = ("successful", "failed", "dismissed")


class QueueFull(Exception):
    """The queue holds ``queue_limit`` jobs already."""


@dataclass
class _Worker:
    proc: subprocess.Popen
    job: str | None = None
    started: float = 0.0
    ready: threading.Event = field(default_factory=threading.Event)
    stopping: str | None = None  # why the pool is stopping it: "dismissed" or a failure message


class JobPool:
    """``size`` workers running the store's jobs; ``resolve(job)`` (in the server) gives the job's message to a
    worker: the process, inputs with files resolved, and the folder for its results."""

    def __init__(self, store: Store, resolve, size: int = 2, queue_limit: int = 20, timeout: float | None = None,
                 on_end=None):
        self.store, self.resolve, self.size, self.queue_limit = store, resolve, max(1, size), queue_limit
        self.on_end = on_end or (lambda job_id: None)  # called once a job has ended (the audit trail)
        self.timeout = timeout if timeout is not None else float(os.environ.get("REDLINE_JOB_TIMEOUT", 3600))
        self._lock = threading.Condition()
        self._workers: list[_Worker] = []
        self._running = False
        self._handing: str | None = None  # the job being handed to a worker
        self._thread: threading.Thread | None = None

    # --- the server's side ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Fail the jobs a previous server left running, start the workers and the dispatcher."""
        for job in self.store.jobs(status=("running",)):
            self.store.update_job(job["id"], status="failed", finished_at=utcnow(),
                                  message="the server stopped while this job ran; run it again")
        self._running = True
        with self._lock:
            self._workers = [self._spawn() for _ in range(self.size)]
        self._thread = threading.Thread(target=self._dispatch, name="redline-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the workers (jobs they ran end failed, queued ones stay queued for the next start)."""
        self._running = False
        with self._lock:
            self._lock.notify_all()
            workers, self._workers = self._workers, []
        why = "the server stopped while this job ran; run it again"
        for w in workers:
            self._kill(w, why)
        for w in workers:
            try:
                w.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            if w.job is not None and self.store.update_job(w.job, only_if=("running",), status="failed",
                                                           finished_at=utcnow(), message=why):
                self.on_end(w.job)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def submit(self, job_id: str) -> None:
        """Wake the dispatcher for a job just stored as ``accepted`` (refused with :class:`QueueFull` when the queue
        already holds ``queue_limit`` others)."""
        if self.store.count_jobs(("accepted",)) > self.queue_limit:
            self.store.drop_job(job_id)  # refused, not run: no job to show
            raise QueueFull(job_id)
        with self._lock:
            self._lock.notify_all()

    def cancel(self, job_id: str) -> bool:
        """Dismiss a queued or running job (a running one's worker is killed); whether it was unfinished."""
        if self.store.update_job(job_id, only_if=("accepted",), status="dismissed", finished_at=utcnow(),
                                 message="dismissed before it ran"):
            return True
        with self._lock:
            worker = next((w for w in self._workers if w.job == job_id), None)
        if worker is None:
            return False
        if not self.store.update_job(job_id, only_if=("running",), status="dismissed", finished_at=utcnow(),
                                     message="dismissed while it ran: stopped"):
            return False
        self._kill(worker, "dismissed")
        try:
            worker.proc.wait(timeout=10)  # stopped, not only asked to stop
        except subprocess.TimeoutExpired:
            pass
        return True

    def workers(self) -> list[int]:
        """The process ids of the live workers."""
        with self._lock:
            return [w.proc.pid for w in self._workers if w.proc.poll() is None]

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait until all ``size`` workers are alive and have loaded their modules (a job then starts at once)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                live = [w for w in self._workers if w.proc.poll() is None]
            if len(live) == self.size and all(w.ready.is_set() for w in live):
                return True
            time.sleep(0.05)
        return False

    # --- the workers ----------------------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        proc = subprocess.Popen([sys.executable, "-m", "redline.service.worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1, env=env,
                                start_new_session=True)
        worker = _Worker(proc)
        threading.Thread(target=self._listen, args=(worker,), name=f"redline-worker-{proc.pid}", daemon=True).start()
        return worker

    def _kill(self, worker: _Worker, why: str) -> None:
        worker.stopping = why
        try:
            os.killpg(worker.proc.pid, signal.SIGKILL)  # the job and what it started (rasterising workers)
        except (ProcessLookupError, PermissionError):
            pass

    def _listen(self, worker: _Worker) -> None:
        """Read a worker's answers until it ends; then settle its job and replace it."""
        for line in worker.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "ready" in msg:
                worker.ready.set()
            elif "progress" in msg:
                self.store.update_job(msg["id"], only_if=("running",), progress=max(0, min(99, msg["progress"])),
                                      message=str(msg.get("message", ""))[:500])
            elif msg.get("done") or "failed" in msg:
                self._finished(worker, msg)
        code = worker.proc.wait()
        self._worker_ended(worker, code)

    def _finished(self, worker: _Worker, msg: dict) -> None:
        if msg.get("done"):
            ended = self.store.update_job(msg["id"], only_if=("running",), status="successful", progress=100,
                                          message="", result_sha256=msg.get("sha256") or "", finished_at=utcnow())
        else:
            ended = self.store.update_job(msg["id"], only_if=("running",), status="failed", finished_at=utcnow(),
                                          message=str(msg["failed"])[:2000])
        if ended:
            self.on_end(msg["id"])
        with self._lock:
            worker.job = None
            self._lock.notify_all()

    def _worker_ended(self, worker: _Worker, code: int) -> None:
        job = worker.job
        if job is not None and worker.stopping != "dismissed":
            why = worker.stopping or (f"the worker process was killed (signal {-code})" if code < 0
                                      else f"the worker process ended (exit code {code})")
            if self.store.update_job(job, only_if=("running",), status="failed", finished_at=utcnow(),
                                     message=f"{why}; run the job again"):
                self.on_end(job)
        worker.ready.set()
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
                if self._running:
                    self._workers.append(self._spawn())
            self._lock.notify_all()

    def _dispatch(self) -> None:
        """Hand the oldest queued job to an idle worker; stop jobs past the timeout."""
        while self._running:
            with self._lock:
                idle = [w for w in self._workers if w.job is None and w.ready.is_set() and w.proc.poll() is None]
                late = [w for w in self._workers if w.job is not None and time.monotonic() - w.started > self.timeout]
            for w in late:
                self._kill(w, f"stopped after {self.timeout:.0f} s (REDLINE_JOB_TIMEOUT)")
            self._sweep()
            queued = self.store.jobs(status=("accepted",), limit=len(idle)) if idle else []
            for worker, job in zip(idle, queued):
                self._hand(worker, job)
            with self._lock:
                if self._running:
                    self._lock.wait(timeout=1.0)

    def _sweep(self) -> None:
        """Fail a job marked running that no worker holds (its worker died as it was handed over)."""
        with self._lock:
            held = {w.job for w in self._workers}
            handing = self._handing
        for job in self.store.jobs(status=("running",)):
            if job["id"] not in held and job["id"] != handing:
                self.store.update_job(job["id"], only_if=("running",), status="failed", finished_at=utcnow(),
                                      message="the worker process ended before the job reached it; run it again")

    def _hand(self, worker: _Worker, job: dict) -> None:
        """Give ``job`` to ``worker``: resolved while still queued, then held by the worker, then marked running,
        then sent — so a job shown running is always a worker's (if that worker dies, the job ends failed)."""
        with self._lock:
            self._handing = job["id"]
        try:
            try:
                message = self.resolve(job)
            except Exception as exc:  # an upload removed, a layer gone: the job fails, the pool goes on
                if self.store.update_job(job["id"], only_if=("accepted",), status="failed", finished_at=utcnow(),
                                         message=str(exc)[:2000]):
                    self.on_end(job["id"])
                return
            Path(message["dir"]).mkdir(parents=True, exist_ok=True)
            with self._lock:
                worker.job, worker.started = job["id"], time.monotonic()
            if not self.store.update_job(job["id"], only_if=("accepted",), status="running", started_at=utcnow()):
                with self._lock:  # dismissed meanwhile
                    worker.job = None
                return
            try:
                worker.proc.stdin.write(json.dumps({"id": job["id"], **message}, ensure_ascii=False) + "\n")
                worker.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._kill(worker, "the worker process ended before the job reached it")
        finally:
            with self._lock:
                self._handing = None
