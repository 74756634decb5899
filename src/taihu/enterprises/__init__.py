"""The enterprise registry: enterprises identified by unified social credit code.

``ImportReport``, ``ImportReportOut``, ``RowProblem``, ``Sheet`` and ``read_sheet`` live in
``taihu.core.tabular`` (the import mechanism every context shares); they are re-exported here
for the contexts that import them from the registry.
"""

from taihu.core import ImportReport, ImportReportOut, RowProblem, Sheet, read_sheet
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
from taihu.enterprises.registry_import import import_registry
from taihu.enterprises.service import EnterpriseFilter, EnterpriseService

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
