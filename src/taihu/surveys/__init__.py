"""Surveys (产业摸底调研): XLSForm questionnaires, OpenRosa for ODK Collect, review and exports.

Modules: ``xlsform`` (pyxform conversion), ``openrosa`` (the wire format, no tables),
``models``, ``service`` (forms, versions, assignments), ``intake`` (app users, submissions),
``review`` (states, comments, edits, exports' rows), ``export`` (xlsx / CSV tables),
``api`` (JSON routes), ``openrosa_api`` (the OpenRosa routes) and ``central`` (ODK
Central's REST API and OData for pyodk); feeding the map:
``feeding`` (bindings, proposals from approved submissions), ``proposals`` (decisions),
``chain_form`` (the built-in 产业链摸底 form), ``analytics`` and ``feeding_api``; ``cli``
(``taihu survey export``).
"""

from taihu.surveys.analytics import Figures, survey_figures
from taihu.surveys.central import LARGE_BODIES as CENTRAL_LARGE_BODIES
from taihu.surveys.central import router as central_router
from taihu.surveys.chain_form import CHAIN_FORM_ID, chain_form_xlsx, install_chain_form
from taihu.surveys.export import Table, build_tables, csv_zip, xlsx
from taihu.surveys.feeding import Bindings, bindings, source_of
from taihu.surveys.feeding_api import router as feeding_router
from taihu.surveys.intake import Device, Intake, IssuedAppUser, Part, SubmitResult
from taihu.surveys.models import (
    AppUser,
    Assignment,
    FormMedia,
    FormVersion,
    Proposal,
    Submission,
    SubmissionAttachment,
    SubmissionEvent,
    Survey,
    SurveyTarget,
)
from taihu.surveys.openrosa_api import router as openrosa_router
from taihu.surveys.proposals import PROPOSAL_STATES, ProposalRow, Proposals
from taihu.surveys.review import EXPORT_BATCH, REVIEW_STATES, Review, SubmissionFilter
from taihu.surveys.service import MySurvey, ResponseRate, SurveyService, UploadedVersion
from taihu.surveys.xlsform import ConvertedForm, FormProblem, convert_xlsform

__all__ = [
    "CENTRAL_LARGE_BODIES",
    "CHAIN_FORM_ID",
    "EXPORT_BATCH",
    "PROPOSAL_STATES",
    "REVIEW_STATES",
    "AppUser",
    "Assignment",
    "Bindings",
    "ConvertedForm",
    "Device",
    "Figures",
    "FormMedia",
    "FormProblem",
    "FormVersion",
    "Intake",
    "IssuedAppUser",
    "MySurvey",
    "Part",
    "Proposal",
    "ProposalRow",
    "Proposals",
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
    "bindings",
    "build_tables",
    "central_router",
    "chain_form_xlsx",
    "convert_xlsform",
    "csv_zip",
    "feeding_router",
    "install_chain_form",
    "openrosa_router",
    "source_of",
    "survey_figures",
    "xlsx",
]
