"""The enterprise registry: enterprises identified by unified social credit code."""

from taihu.enterprises.credit_code import (
    CREDIT_CODE_ALPHABET,
    CreditCode,
    credit_code_check_char,
    organisation_code_check_char,
)
from taihu.enterprises.industry import (
    IndustryClass,
    industry_class,
    industry_classes,
    search_industry,
)
from taihu.enterprises.models import Enterprise
from taihu.enterprises.places import Township, township, townships
from taihu.enterprises.profile import Profile, RevenueBand
from taihu.enterprises.registry_import import ImportReport, RowProblem, import_registry
from taihu.enterprises.schemas import ImportReportOut
from taihu.enterprises.service import EnterpriseFilter, EnterpriseService
from taihu.enterprises.tables import Sheet, read_sheet

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "CreditCode",
    "Enterprise",
    "EnterpriseFilter",
    "EnterpriseService",
    "ImportReport",
    "ImportReportOut",
    "IndustryClass",
    "Profile",
    "RevenueBand",
    "RowProblem",
    "Sheet",
    "Township",
    "credit_code_check_char",
    "import_registry",
    "industry_class",
    "industry_classes",
    "organisation_code_check_char",
    "read_sheet",
    "search_industry",
    "township",
    "townships",
]
