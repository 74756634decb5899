"""The services a solution pool route depends on, made per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from taihu.core import DbSession, RuntimeDep
from taihu.solutions.documents import SolutionDocuments
from taihu.solutions.guides import GuideService
from taihu.solutions.needs import NeedService
from taihu.solutions.pool import PoolService
from taihu.solutions.suggestions import SuggestionService

__all__ = ["Documents", "Guides", "Needs", "Pool", "Suggestions"]


def _pool(session: DbSession, runtime: RuntimeDep) -> PoolService:
    return PoolService(session, runtime.clock)


def _needs(session: DbSession, runtime: RuntimeDep) -> NeedService:
    return NeedService(session, runtime.clock)


def _guides(session: DbSession, runtime: RuntimeDep) -> GuideService:
    return GuideService(session, runtime.clock)


def _suggestions(session: DbSession, runtime: RuntimeDep) -> SuggestionService:
    return SuggestionService(session, runtime.clock)


def _documents(session: DbSession, runtime: RuntimeDep) -> SolutionDocuments:
    return SolutionDocuments(session, runtime.clock)


Pool = Annotated[PoolService, Depends(_pool)]
Needs = Annotated[NeedService, Depends(_needs)]
Guides = Annotated[GuideService, Depends(_guides)]
Suggestions = Annotated[SuggestionService, Depends(_suggestions)]
Documents = Annotated[SolutionDocuments, Depends(_documents)]
