"""The layout holds: layers import one way, no private helper crosses a room, functions stay short."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "redline"
ROOMS = ("cli", "jobs", "maps", "report", "engines", "analyses", "io", "specs", "geometry", "text")
MAX_LINES = 60
# Functions allowed to run longer, each with the reason a reviewer accepted.
LONG_FUNCTIONS: dict[str, str] = {}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        if "static/font" in path.as_posix():
            continue
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        yield path, ".".join(parts), is_pkg


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _absolute(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def test_layers_import_one_way():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("lint-imports (import-linter) is not installed: pip install '.[test]'")
        pytest.skip("lint-imports (import-linter) is not installed: pip install '.[test]'")
    run = subprocess.run([exe], cwd=PACKAGE.parent, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_no_private_helper_is_imported_across_rooms():
    crossings = []
    for path, module, is_pkg in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _absolute(module, is_pkg, node)
            if not source.startswith("redline") or _room(source) == _room(module):
                continue
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            if private and _room(source) in ROOMS:
                crossings.append(f"{module} imports {', '.join(private)} from {source}")
    assert not crossings, "\n".join(crossings)


def _code_lines(node) -> int:
    """Lines of a function without its docstring: documentation is not length."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_functions_stay_short():
    long = []
    for path, module, _ in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = _code_lines(node)
                name = f"{module}.{node.name}"
                if lines > MAX_LINES and name not in LONG_FUNCTIONS:
                    long.append(f"{name}: {lines} lines")
    assert not long, "over {} lines without a reason in LONG_FUNCTIONS:\n".format(MAX_LINES) + "\n".join(long)
