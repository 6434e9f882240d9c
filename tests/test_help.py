"""Help in the planner's language: every command's summary, text and options in Chinese and English, from the
message catalog (redline/text/help.toml), whose English must be the code's own."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import tomllib

import click
import pytest

from conftest import REPO


def _commands():
    from redline.cli.main import cli

    ctx = click.Context(cli)
    out = [("", cli)]
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        out.append((name, command))
        if isinstance(command, click.Group):
            out += [(f"{name} {s}", command.get_command(ctx, s)) for s in command.list_commands(ctx)]
    return out


def _catalog() -> dict:
    with open(REPO / "redline" / "text" / "help.toml", "rb") as fh:
        return tomllib.load(fh)


def _help(*args: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "REDLINE_LANG")}
    run = subprocess.run([sys.executable, "-m", "redline", *args], capture_output=True, text=True,
                         env={**clean, "COLUMNS": "100", **env}, check=True)
    return run.stdout


def test_the_catalog_holds_every_command_and_option_as_the_code_says_it():
    catalog = _catalog()
    english = {entry["en"] for entry in catalog["opt"].values()}
    for path, command in _commands():
        entry = catalog["cmd"].get(path.replace(" ", "_") or "redline")
        assert entry is not None, f"redline {path}: no entry in redline/text/help.toml"
        assert entry["text"]["en"] == inspect.cleandoc(getattr(command, "_redline_text", command.help) or ""), \
            f"redline {path}: its help changed in the code: translate it again in help.toml"
        assert entry["summary"]["zh"] and entry["summary"]["en"] and entry["text"]["zh"]
        for param in command.params:
            help_ = getattr(param, "_redline_help", getattr(param, "help", None))
            if isinstance(param, click.Option) and help_:
                assert help_ in english, f"redline {path} {param.opts[0]}: no translation of {help_!r}"


@pytest.mark.parametrize("how", [("--lang", "zh", "--help"), ("--help",)])
def test_redline_help_in_chinese_when_asked_or_by_the_locale(how):
    text = _help(*how, **({} if "--lang" in how else {"LANG": "zh_CN.UTF-8"}))
    assert "用法" in text and "项目用地与控制线叠加筛查" in text and "redline demo" in text and "docs/zh/index.md" in text
    flat = re.sub(r"\s+", "", text)
    for path, command in _commands():
        if path and " " not in path:  # every summary whole, never cut with "..."
            assert re.sub(r"\s+", "", _catalog()["cmd"][path]["summary"]["zh"]) in flat, path
    assert "..." not in text.split("命令")[-1]


def test_redline_help_in_english_otherwise():
    text = _help("--help", LANG="C.UTF-8")
    assert "Usage:" in text and "Screen project footprints against control lines" in text
    assert "Begin with redline demo" in text and "..." not in text.split("Commands:")[-1]
    assert "Usage:" in _help("--help", REDLINE_LANG="en", LANG="zh_CN.UTF-8")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_commands_help_has_an_example_and_lists_the_layer_kinds(lang):
    for path, command in _commands():
        if not path or isinstance(command, click.Group):
            continue
        text = _help(*path.split(), "--help", REDLINE_LANG=lang)
        assert ("示例" if lang == "zh" else "Example") in text, f"redline {path} --help: no example"
        if any(p.name in ("layer_specs", "within_spec") for p in command.params):
            assert "eco_redline" in text and ("生态保护红线" if lang == "zh" else "Ecological protection red line") \
                in text, f"redline {path} --help: no list of the layer kinds"
