"""``python -m redline.cli``: the same command as ``redline``."""

from .main import main

main()
