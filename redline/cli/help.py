"""Help in the planner's language: ``redline --help`` and every command's help in Chinese or English.

The language is ``--lang zh|en`` on the command line, else ``REDLINE_LANG``, else the locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``: ``zh_CN.UTF-8`` and the like give Chinese), else English. The texts come from the message
catalog (``redline/text/help.toml``): each command's summary — given whole, so ``redline --help`` never cuts one —,
its text with an example, and each option's help; the English there is the code's own (a test keeps the two
equal). Commands that take layers by kind list the kinds the catalog knows. click's own words (``Usage:``,
``Options:``) follow the language too.
"""

from __future__ import annotations

import inspect
import os
import tomllib
from functools import cache
from pathlib import Path

import click

__all__ = ["help_lang", "localize", "GUIDE"]

#: Where the user guide is, in the repository (``mkdocs build -f docs/mkdocs.yml`` makes it a site).
GUIDE = "docs/zh/index.md"
_CLICK_ZH = {"Usage:": "用法：", "Options": "选项", "Commands": "命令", "Show this message and exit.": "显示本帮助后退出。",
             "Show the version and exit.": "显示版本号后退出。", "default: {default}": "默认：{default}",
             "required": "必填"}
_LAYER_OPTIONS = ("layer_specs", "within_spec")


def help_lang(argv: list[str]) -> str:
    """The language of the help: ``--lang``, ``REDLINE_LANG``, the locale, English."""
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else arg[7:] if arg.startswith("--lang=") else None
        if value in ("zh", "en"):
            return value
    if os.environ.get("REDLINE_LANG", "") in ("zh", "en"):
        return os.environ["REDLINE_LANG"]
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(var):
            return "zh" if os.environ[var].lower().startswith("zh") else "en"
    return "en"


@cache
def _catalog() -> dict:
    with open(Path(__file__).resolve().parents[1] / "text" / "help.toml", "rb") as fh:
        return tomllib.load(fh)


def _options_zh() -> dict[str, str]:
    return {entry["en"]: entry["zh"] for entry in _catalog()["opt"].values()}


def _kinds_line(lang: str) -> str:
    """The layer kinds of the catalog, one per line (``\\b``: click keeps the lines as they are)."""
    from ..specs.catalog import load_catalog

    kinds = load_catalog()
    width = max(map(len, kinds))
    rows = "\n".join(f"  {k:<{width}}  {kind.label(lang)}" for k, kind in kinds.items())
    return f"\b\n{'控制线类型（KIND）：' if lang == 'zh' else 'Layer kinds (KIND):'}\n{rows}"


def _translate_click(lang: str) -> None:
    """click's own words in ``lang`` (its modules call gettext's ``_`` at the time they format)."""
    import click.core
    import click.decorators
    import click.formatting

    words = _CLICK_ZH if lang == "zh" else {}
    for module in (click.core, click.formatting, click.decorators):
        module._ = lambda text, _w=words: _w.get(text, text)


def localize(command: click.Command, path: str, lang: str) -> None:
    """Give ``command`` (at ``path``: ``""`` for the group, ``"users add"``) its summary, text and option help
    in ``lang``; a group's subcommands too."""
    entry = _catalog()["cmd"].get(path.replace(" ", "_") or "redline")
    if entry is None or getattr(command, "_redline_broken", False):  # a plugin's command, or one that failed to
        return                                                          # load: its own words
    if getattr(command, "_redline_lang", None) == lang:
        return
    command._redline_lang = lang
    if not hasattr(command, "_redline_text"):
        command._redline_text = command.help
    command.short_help = entry["summary"][lang]
    text = entry["text"][lang] if lang == "zh" else inspect.cleandoc(command._redline_text or "")
    if any(p.name in _LAYER_OPTIONS for p in command.params):
        text = f"{text}\n\n{_kinds_line(lang)}"
    command.help = text
    zh = _options_zh()
    for param in command.params:
        if isinstance(param, click.Option) and param.help:
            if not hasattr(param, "_redline_help"):
                param._redline_help = param.help
            param.help = zh.get(param._redline_help, param._redline_help) if lang == "zh" else param._redline_help
    _translate_click(lang)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            localize(sub, f"{path} {name}".strip(), lang)


def root_epilog(lang: str) -> str:
    """The end of ``redline --help``: where to begin."""
    if lang == "zh":
        return (f"先运行 redline demo，在自带的样例区县上看一遍主要功能；用户指南（中文）在 {GUIDE}"
                "（mkdocs build -f docs/mkdocs.yml 生成网页）。每个命令都有 --help。")
    return ("Begin with redline demo: the main jobs on the bundled sample county. The user guide is in docs/ "
            "(docs/en/index.md in English; mkdocs build -f docs/mkdocs.en.yml makes it a site). Every command has "
            "--help.")
