"""One paging convention for every list API: ``page`` and ``page_size`` in, a page object out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

__all__ = ["MAX_PAGE_SIZE", "Page", "PageNumber", "PageSize"]

T = TypeVar("T")
MAX_PAGE_SIZE = 500

PageNumber = Annotated[int, Query(ge=1, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page")]


class Page(BaseModel, Generic[T]):
    """A page of a longer list, with the total count of matches."""

    items: list[T]
    total: int
    page: int
    page_size: int
