"""Reports to upper departments (按期上报): tasks, their xlsx templates bound to figures, runs.

The cadence arithmetic (``periods``) and the workbook filling (``workbook``) are pure; the
figures (``figures``) read the other contexts; the service keeps templates, tasks and each
period's draft → approved → submitted run; the job makes the due drafts. Data tasks to
enterprises (``datatasks``) open a survey per period for data the enterprises owe; their answers
are figures too (``data_figures``).
"""

from taihu.reporting.data_api import router as data_router
from taihu.reporting.data_form import MONTHLY_FORM_ID, monthly_form_xlsx, period_xlsform
from taihu.reporting.datatasks import (
    BUILTIN,
    DATA_CADENCES,
    DataTaskService,
    DataTaskSpec,
    OpenRound,
    PeriodRow,
    data_cadence,
    open_due_periods,
    period_form_id,
)
from taihu.reporting.figures import CATALOGUE, Figure, FigureError, Scope
from taihu.reporting.jobs import DraftRound, ReportJobs, generate_due
from taihu.reporting.models import DataPeriod, DataTask, ReportRun, ReportTask, ReportTemplate
from taihu.reporting.periods import CADENCES, Cadence, Period
from taihu.reporting.problems import run_problems
from taihu.reporting.service import Deadline, ReportingService, cell_value
from taihu.reporting.tasks import Binding, TaskBook, TaskSpec, cadence_of
from taihu.reporting.workbook import MAX_TEMPLATE, Anchor, check_template, fill, sheet_names

__all__ = [
    "BUILTIN",
    "CADENCES",
    "CATALOGUE",
    "DATA_CADENCES",
    "MAX_TEMPLATE",
    "MONTHLY_FORM_ID",
    "Anchor",
    "Binding",
    "Cadence",
    "DataPeriod",
    "DataTask",
    "DataTaskService",
    "DataTaskSpec",
    "Deadline",
    "DraftRound",
    "Figure",
    "FigureError",
    "OpenRound",
    "Period",
    "PeriodRow",
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
    "data_cadence",
    "data_router",
    "fill",
    "generate_due",
    "monthly_form_xlsx",
    "open_due_periods",
    "period_form_id",
    "period_xlsform",
    "run_problems",
    "sheet_names",
]
