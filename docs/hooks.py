"""mkdocs hook: the command reference written from the command line's own help, in the site's language.

A page holding ``<!-- redline: commands -->`` gets, in its place, one section per command of ``redline --help``:
the summary, then the whole ``redline COMMAND --help`` (the same catalog, ``redline/text/help.toml``, that the
command line shows), so the reference cannot drift from the program.
"""

from __future__ import annotations

import os

import click
from click.testing import CliRunner

MARK = "<!-- redline: commands -->"


def _help(args: list[str], lang: str) -> str:
    from redline.cli.main import cli

    os.environ["REDLINE_LANG"] = lang
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="redline", terminal_width=110,
                                env={"REDLINE_LANG": lang, "COLUMNS": "110"})
    return result.output


def _reference(lang: str) -> str:
    from redline.cli.main import cli

    ctx = click.Context(cli)
    parts = []
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        paths = [[name]] + ([[name, s] for s in command.list_commands(ctx)] if isinstance(command, click.Group)
                            else [])
        for path in paths:
            parts.append(f"## redline {' '.join(path)}\n\n```text\n{_help(path, lang).rstrip()}\n```\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARK not in markdown:
        return markdown
    return markdown.replace(MARK, _reference(config["theme"]["language"]))
