"""``python -m redline`` runs the command line."""

from .cli import main

main()
