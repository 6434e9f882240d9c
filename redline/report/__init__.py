"""Reports: the self-contained HTML report and the Word report (renderers only).

``build_outputs`` (the run that builds every output) lives in :mod:`redline.jobs.report`; it stays importable from
here, as documented, without this package importing the jobs layer when it loads.
"""

from .document import ReportData, render_docx, render_html, report_sections

__all__ = ["Outputs", "build_outputs", "ReportData", "render_docx", "render_html", "report_sections"]


def __getattr__(name: str):
    if name in ("Outputs", "build_outputs"):
        from ..jobs import report

        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
