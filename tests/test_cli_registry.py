"""The commands are found through entry points: every command module is registered, listed and loadable."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import redline.cli.commands
from redline.cli import cli
from redline.cli.main import COMMAND_GROUP, load_command

COMMANDS = Path(redline.cli.commands.__file__).parent
MODULES = sorted(p.stem for p in COMMANDS.glob("*.py") if p.stem != "__init__")


def _registered() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=COMMAND_GROUP)}


def test_every_command_module_is_an_entry_point():
    modules = {ep.module.removeprefix("redline.cli.commands.") for ep in _registered().values()
               if ep.module.startswith("redline.cli.commands.")}
    assert modules == set(MODULES), "register each module of redline/cli/commands in pyproject.toml " \
                                    "([project.entry-points.\"redline.commands\"]) and re-run pip install -e ."


@pytest.mark.parametrize("name", sorted(_registered()))
def test_every_entry_point_loads_a_click_command(name):
    command = _registered()[name].load()
    assert isinstance(command, click.Command) and command.name == name


def test_every_command_is_listed_by_help():
    proc = subprocess.run([sys.executable, "-m", "redline", "--help"], capture_output=True, text=True,
                          encoding="utf-8", timeout=120, env={**os.environ, "REDLINE_LANG": "en"})
    assert proc.returncode == 0, proc.stderr
    listed = proc.stdout.split("Commands:", 1)[1].split()
    assert all(name in listed for name in _registered()), proc.stdout
    shown = [word for word in listed if word in _registered()]
    assert shown[:3] == ["layers", "demo", "screen"], "the commands in their order, not alphabetical"


def test_a_broken_entry_point_is_one_line_not_a_traceback():
    ep = EntryPoint("broken", "redline_no_such_plugin.cli:command", COMMAND_GROUP)
    command = load_command(ep)
    cli.commands["broken"] = command
    try:
        listed = CliRunner().invoke(cli, ["--help"])
        assert listed.exit_code == 0 and "broken" in listed.stdout and "could not be loaded" in listed.stdout
        result = CliRunner().invoke(cli, ["broken", "--any", "thing"])
    finally:
        del cli.commands["broken"]
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    err = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("redline: error: command 'broken' could not be loaded"), err
    assert "ModuleNotFoundError" in err[0]


def test_a_broken_command_of_our_own_keeps_saying_why_in_either_language():
    """A command of the catalog (demo) that fails to load: its help says why, not the catalog's summary."""
    command = load_command(EntryPoint("demo", "redline_no_such_plugin.cli:command", COMMAND_GROUP))
    saved = cli.commands.get("demo")
    cli.commands["demo"] = command
    try:
        for lang in ("en", "zh"):
            listed = CliRunner().invoke(cli, ["--lang", lang, "--help"])
            line = next(ln for ln in listed.stdout.splitlines() if ln.strip().startswith("demo"))
            assert "could not be loaded" in line, (lang, line)
    finally:
        if saved is None:
            del cli.commands["demo"]
        else:
            cli.commands["demo"] = saved
