"""The ``redline`` command (and ``python -m redline``).

This module is the console-script entry point because it imports nothing heavy itself: a Ctrl-C while
the command line's modules are still importing ends with one line, not a traceback.
"""

import sys

#: Exit code after Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED_EXIT = 130
INTERRUPTED_MESSAGE = "redline: interrupted (Ctrl-C); unfinished outputs were not kept"


def main(argv=None) -> None:
    """Run the command line; Ctrl-C at any moment prints one line and exits with 130."""
    try:
        from .cli import main as run

        run(argv)
    except KeyboardInterrupt:
        interrupted()


def interrupted() -> None:
    """Say that the run was interrupted, on one line, and exit with :data:`INTERRUPTED_EXIT`."""
    try:
        sys.stderr.write(f"\n{INTERRUPTED_MESSAGE}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: nothing more to say
        pass
    sys.exit(INTERRUPTED_EXIT)


if __name__ == "__main__":
    main()
