"""A job worker: ``python -m redline.service.worker``, started and fed by :class:`redline.service.pool.JobPool`.

It reads one job per line on stdin (JSON: ``id``, ``process``, ``inputs``, ``dir``) and answers on its own
descriptor (what was stdout; libraries that print go to stderr instead): ``{"id", "progress", "message"}`` as it
goes, then ``{"id", "done": true, "sha256"}`` or ``{"id", "failed": "why"}``. The result is ``dir/result.json``,
written whole or not at all. The modules a job needs are imported once, before the first job.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

from ..errors import RedlineError

__all__ = ["main"]


def main() -> None:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a print() in a library never garbles the answers
    from . import processes  # the heavy imports, once

    processes.warm_up()
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)

        def progress(percent: int, message: str = "", _id=job["id"]) -> None:
            out.write(json.dumps({"id": _id, "progress": int(percent), "message": message}, ensure_ascii=False)
                      + "\n")

        try:
            digest = processes.run(job["process"], job["inputs"], job["dir"], progress)
            out.write(json.dumps({"id": job["id"], "done": True, "sha256": digest}) + "\n")
        except RedlineError as exc:  # bad input: the planner's one line
            out.write(json.dumps({"id": job["id"], "failed": str(exc)}, ensure_ascii=False) + "\n")
        except Exception as exc:  # a bug: the line, and the traceback in the server's log
            traceback.print_exc(file=sys.stderr)
            out.write(json.dumps({"id": job["id"], "failed": f"internal error: {type(exc).__name__}: {exc}"},
                                 ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
