"""The ``redline`` group: its commands found through entry points, and every error said as one line.

A command is registered in the entry-point group ``redline.commands`` (rasterio's pattern), redline's own in
``pyproject.toml`` and a third-party package's in its own::

    [project.entry-points."redline.commands"]
    screen = "redline.cli.commands.screen:screen"

A command is loaded when it is run or listed (``redline --help``); one whose entry point fails to load is listed
with the reason, and running it says the reason on one line (exit code 1), not a traceback.
"""

from __future__ import annotations

import errno
import re
import sys
from importlib.metadata import EntryPoint, entry_points

import click

from .. import __version__
from ..__main__ import interrupted
from ..errors import RedlineError
from .output import fail
from .options import ROOT_LANG

__all__ = ["RedlineGroup", "RedlineCommandLine", "cli", "main", "COMMAND_GROUP", "COMMAND_ORDER"]

#: The entry-point group of the commands.
COMMAND_GROUP = "redline.commands"
#: The order of ``redline --help``: from a first look at the files to the outputs; plugins follow, by name.
COMMAND_ORDER = ("layers", "demo", "screen", "indicators", "scorecard", "map", "report", "conflicts", "change",
                 "monitor", "partition")


class RedlineGroup(click.Group):
    """A click group that prints RedlineError as one line and exits 1.

    While a command runs, every file it reads is protected: no output may overwrite it
    (:func:`redline.io.protect_inputs`). Messages never show a secret (:func:`redline.errors.redact`).
    """

    def invoke(self, ctx):
        from ..io import protect_inputs  # redline.io loads GDAL: not for --help

        try:
            with protect_inputs():
                return super().invoke(ctx)
        except RedlineError as exc:
            fail(str(exc))
        except MemoryError:
            fail("out of memory: the layers are too large for the in-memory engine; "
                 "split the layer by county (or tile) and use partitioned inputs")
        except KeyboardInterrupt:  # outputs under way have removed their temporary files by now
            interrupted()


class RedlineCommandLine(RedlineGroup):
    """The ``redline`` group: besides :class:`RedlineGroup`, its commands come from the entry points of
    :data:`COMMAND_GROUP`, and every refusal of the argument parser (a bad option value, an unknown option or
    command, a missing argument) is the same one line and exit code 1 as any other bad input, instead of click's
    usage block and exit code 2. ``--help`` is unchanged."""

    def _entry_points(self) -> dict[str, EntryPoint]:
        found = getattr(self, "_found", None)
        if found is None:
            found = self._found = {}
            for ep in entry_points(group=COMMAND_GROUP):
                found.setdefault(ep.name, ep)  # the first of two distributions naming one command
        return found

    def list_commands(self, ctx) -> list[str]:
        names = {*self.commands, *self._entry_points()}
        return sorted(names, key=lambda n: (COMMAND_ORDER.index(n) if n in COMMAND_ORDER else len(COMMAND_ORDER), n))

    def get_command(self, ctx, cmd_name: str):
        if cmd_name not in self.commands:
            ep = self._entry_points().get(cmd_name)
            if ep is None:  # an unknown name: every command loaded, for click's "did you mean …"
                for name in self.list_commands(ctx):
                    if name not in self.commands:
                        self.commands[name] = load_command(self._entry_points()[name])
                return None
            self.commands[cmd_name] = load_command(ep)
        command = self.commands[cmd_name]
        if getattr(self, "_help_lang", None):
            from .help import localize

            localize(command, cmd_name, self._help_lang)
        return command

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from .help import help_lang, localize, root_epilog

        self._help_lang = help_lang(list(sys.argv[1:] if args is None else args))
        localize(self, "", self._help_lang)
        self.epilog = root_epilog(self._help_lang)
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            fail(usage_message(exc), exit=True)
        except click.ClickException as exc:
            fail(exc.format_message(), exit=True)
        except (click.Abort, KeyboardInterrupt, EOFError):
            interrupted()
        except OSError as exc:
            if exc.errno != errno.EPIPE:  # output piped into e.g. `head`, which has closed it: not an error
                raise
            sys.stdout = None  # nothing more to print there, and the flush at exit must not fail again
            code = 0
        sys.exit(code if isinstance(code, int) else 0)


def load_command(ep: EntryPoint) -> click.Command:
    """The command an entry point names; one that fails to load (or is no click command) is replaced by a command
    that says why, on one line, when run."""
    try:
        command = ep.load()
    except Exception as exc:  # noqa: BLE001 — a broken plugin must not break every other command
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    else:
        if isinstance(command, click.Command):
            return command
        reason = f"{type(command).__name__} is not a click command"
    message = f"command '{ep.name}' could not be loaded from {ep.value} ({reason})"

    def broken():
        raise RedlineError(message)

    command = click.Command(ep.name, callback=broken, help=message, short_help="(could not be loaded)",
                            context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    command._redline_broken = True  # its help says why: not replaced by the catalog's (redline.cli.help)
    return command


def usage_message(exc: click.UsageError) -> str:
    """``<command> <what was refused>; see 'redline <command> --help'`` on one line."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    message = message.replace(". Did you mean", " (did you mean").replace("?", "?)") if ". Did you mean" in message \
        else message
    match = re.match(r"Invalid value for '([^']+)': (.*)$", message)
    if match:  # click's "Invalid value for '--buffers': '-500,1000': …" → "--buffers '-500,1000': …"
        option, reason = match.groups()
        message = f"{option} {reason}" if reason.startswith("'") else f"{option}: {reason}"
    message = message[0].lower() + message[1:] if message[:1].isupper() and message[1:2].islower() else message
    path = exc.ctx.command_path if exc.ctx is not None else "redline"
    command = path.partition(" ")[2]
    return f"{command + ': ' if command else ''}{message}; see '{path} --help'"


@click.group(cls=RedlineCommandLine, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="redline")
@click.option("--lang", type=click.Choice(["zh", "en"]), expose_value=False, is_eager=True,
              callback=lambda ctx, param, value: ctx.meta.__setitem__(ROOT_LANG, value),
              help="Language of the help and of every command's labels (default: REDLINE_LANG; the help else "
                   "follows the locale, the labels are Chinese).")
def cli():
    """redline — territorial-spatial constraint analysis (三区三线) on CGCS2000."""


def main(argv=None):
    """Console-script entry point."""
    cli.main(args=argv, prog_name="redline")
