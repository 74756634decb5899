"""Reports to upper departments (按期上报): tasks, their xlsx templates bound to figures, runs.

The cadence arithmetic (``periods``) and the workbook filling (``workbook``) are pure; the
figures (``figures``) read the other contexts; the service keeps templates, tasks and each
period's draft → approved → submitted run; the job makes the due drafts.
"""

from taihu.reporting.figures import CATALOGUE, Figure, FigureError, Scope
from taihu.reporting.jobs import DraftRound, ReportJobs, generate_due
from taihu.reporting.models import ReportRun, ReportTask, ReportTemplate
from taihu.reporting.periods import CADENCES, Cadence, Period
from taihu.reporting.service import Deadline, ReportingService, cell_value
from taihu.reporting.tasks import Binding, TaskBook, TaskSpec, cadence_of
from taihu.reporting.workbook import MAX_TEMPLATE, Anchor, check_template, fill, sheet_names

__all__ = [
    "CADENCES",
    "CATALOGUE",
    "MAX_TEMPLATE",
    "Anchor",
    "Binding",
    "Cadence",
    "Deadline",
    "DraftRound",
    "Figure",
    "FigureError",
    "Period",
    "ReportJobs",
    "ReportRun",
    "ReportTask",
    "ReportTemplate",
    "ReportingService",
    "Scope",
    "TaskBook",
    "TaskSpec",
    "cadence_of",
    "cell_value",
    "check_template",
    "fill",
    "generate_due",
    "sheet_names",
]
