"""Surveys (产业摸底调研): XLSForm questionnaires, OpenRosa for ODK Collect, review and exports.

Modules: ``xlsform`` (pyxform conversion), ``openrosa`` (the wire format, no tables),
``models``, ``service`` (forms, versions, assignments), ``intake`` (app users, submissions),
``review`` (states, comments, edits, exports' rows), ``export`` (xlsx / CSV tables),
``api`` (JSON routes) and ``openrosa_api`` (the OpenRosa routes).
"""

from taihu.surveys.export import Table, build_tables, csv_zip, xlsx
from taihu.surveys.intake import Device, Intake, IssuedAppUser, Part, SubmitResult
from taihu.surveys.models import (
    AppUser,
    Assignment,
    FormMedia,
    FormVersion,
    Submission,
    SubmissionAttachment,
    SubmissionEvent,
    Survey,
    SurveyTarget,
)
from taihu.surveys.openrosa_api import router as openrosa_router
from taihu.surveys.review import REVIEW_STATES, Review, SubmissionFilter
from taihu.surveys.service import MySurvey, ResponseRate, SurveyService, UploadedVersion
from taihu.surveys.xlsform import ConvertedForm, FormProblem, convert_xlsform

__all__ = [
    "REVIEW_STATES",
    "AppUser",
    "Assignment",
    "ConvertedForm",
    "Device",
    "FormMedia",
    "FormProblem",
    "FormVersion",
    "Intake",
    "IssuedAppUser",
    "MySurvey",
    "Part",
    "ResponseRate",
    "Review",
    "Submission",
    "SubmissionAttachment",
    "SubmissionEvent",
    "SubmissionFilter",
    "SubmitResult",
    "Survey",
    "SurveyService",
    "SurveyTarget",
    "Table",
    "UploadedVersion",
    "build_tables",
    "convert_xlsform",
    "csv_zip",
    "openrosa_router",
    "xlsx",
]
