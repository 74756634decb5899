"""The solution resource pool (行业解决方案资源池), matchmaking (供需对接) and industry guides."""

from taihu.solutions.catalogue import (
    BUILTIN_TAGS,
    KIND_LABELS,
    KINDS,
    LACK_TAGS,
    NEED_ACTIONS,
    NEED_STATUSES,
    OUTCOMES,
    STATUS_LABELS,
)
from taihu.solutions.documents import (
    DOCUMENT_KINDS,
    DOCUMENT_LABELS,
    MAX_FILES,
    SolutionDocuments,
)
from taihu.solutions.guides import GuideService, GuideSpec
from taihu.solutions.models import (
    Guide,
    Need,
    NeedEvent,
    Provider,
    Solution,
    SolutionCase,
    SolutionDocument,
    SolutionTag,
    SubjectDocument,
)
from taihu.solutions.needs import NeedService
from taihu.solutions.pool import CaseSpec, PoolService, ProviderSpec, SearchQuery, SolutionSpec
from taihu.solutions.subject_documents import SUBJECTS, SubjectDocuments
from taihu.solutions.suggestions import Suggested, SuggestionService

__all__ = [
    "BUILTIN_TAGS",
    "DOCUMENT_KINDS",
    "DOCUMENT_LABELS",
    "KINDS",
    "KIND_LABELS",
    "LACK_TAGS",
    "MAX_FILES",
    "NEED_ACTIONS",
    "NEED_STATUSES",
    "OUTCOMES",
    "STATUS_LABELS",
    "SUBJECTS",
    "CaseSpec",
    "Guide",
    "GuideService",
    "GuideSpec",
    "Need",
    "NeedEvent",
    "NeedService",
    "PoolService",
    "Provider",
    "ProviderSpec",
    "SearchQuery",
    "Solution",
    "SolutionCase",
    "SolutionDocument",
    "SolutionDocuments",
    "SolutionSpec",
    "SolutionTag",
    "SubjectDocument",
    "SubjectDocuments",
    "Suggested",
    "SuggestionService",
]
