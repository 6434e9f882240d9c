"""The commands of ``redline``, one module each, registered as entry points of ``redline.commands``.

Each module imports only click and the command line's own light modules when it loads (``redline --help``
loads them all); its job, and with it GDAL and the analyses, is imported when the command runs.
"""
