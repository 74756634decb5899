"""Programmes (试点示范, 星级上云, 两化融合, 专精特新 …): applications, review, registries."""

from taihu.programmes.applications import DECISIONS, ApplicationForm, ProgrammeApplications
from taihu.programmes.catalogue import (
    DECISION_LABELS,
    LEVEL_LABELS,
    LEVELS,
    STAGE_LABELS,
    STAGES,
    STATUS_LABELS,
    ProgrammeSpec,
    builtin_programmes,
)
from taihu.programmes.documents import check_uploads, clean_filename, list_documents
from taihu.programmes.forms import FormAnswers, check_form_id
from taihu.programmes.models import (
    Award,
    Programme,
    ProgrammeApplication,
    ProgrammeDocument,
    StageStep,
)
from taihu.programmes.registry import AwardFilter, AwardRow, RegistryService
from taihu.programmes.registry_import import import_awards
from taihu.programmes.service import ProgrammeService
from taihu.programmes.statistics import (
    BREAKDOWNS,
    HolderCount,
    holders_by,
    holders_per_programme,
    titles_held,
)
from taihu.programmes.uploads import XLSX, attachment, uploads_of

__all__ = [
    "BREAKDOWNS",
    "DECISIONS",
    "DECISION_LABELS",
    "LEVELS",
    "LEVEL_LABELS",
    "STAGES",
    "STAGE_LABELS",
    "STATUS_LABELS",
    "XLSX",
    "ApplicationForm",
    "Award",
    "AwardFilter",
    "AwardRow",
    "FormAnswers",
    "HolderCount",
    "Programme",
    "ProgrammeApplication",
    "ProgrammeApplications",
    "ProgrammeDocument",
    "ProgrammeService",
    "ProgrammeSpec",
    "RegistryService",
    "StageStep",
    "attachment",
    "builtin_programmes",
    "check_form_id",
    "check_uploads",
    "clean_filename",
    "holders_by",
    "holders_per_programme",
    "import_awards",
    "list_documents",
    "titles_held",
    "uploads_of",
]
