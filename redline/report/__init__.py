"""Reports: the self-contained HTML report, the Word report, and the run that builds every output."""

from .build import Outputs, build_outputs
from .document import ReportData, render_docx, render_html, report_sections

__all__ = ["Outputs", "build_outputs", "ReportData", "render_docx", "render_html", "report_sections"]
