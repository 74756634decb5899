"""The enterprise registry: enterprises identified by unified social credit code."""

from taihu.enterprises.credit_code import CREDIT_CODE_ALPHABET, CreditCode, credit_code_check_char
from taihu.enterprises.models import Enterprise
from taihu.enterprises.service import EnterpriseService

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "CreditCode",
    "Enterprise",
    "EnterpriseService",
    "credit_code_check_char",
]
