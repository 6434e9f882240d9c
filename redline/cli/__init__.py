"""The ``redline`` command line: thin commands over the jobs (:mod:`redline.jobs`).

Every command parses its options, calls one job and prints what it gave. Every command turns
:class:`~redline.errors.RedlineError` into one line on stderr and exit code 1; anything else is a bug and shows its
traceback. Every result is also available as JSON (``--json``).

The room: :mod:`.main` (the group, the commands found through entry points, the errors), :mod:`.options` (the
options commands share), :mod:`.output` (consoles, tables, JSON, progress), and one module per command under
:mod:`.commands`.
"""

from __future__ import annotations

from .main import RedlineCommandLine, RedlineGroup, cli, main
from .output import cell as _cell, one_line  # noqa: F401 — _cell: its old name, which tests import

__all__ = ["main", "cli", "one_line", "RedlineCommandLine", "RedlineGroup"]
