"""One paging convention for every list API: ``page`` and ``page_size`` in, a page object out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from taihu.core.bounds import MAX_INT

__all__ = ["MAX_PAGE", "MAX_PAGE_SIZE", "Page", "PageNumber", "PageSize"]

T = TypeVar("T")
MAX_PAGE_SIZE = 500
# The offset (page - 1) * page_size then stays within MAX_INT, so no database overflows on it.
MAX_PAGE = MAX_INT // MAX_PAGE_SIZE

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page")]


class Page(BaseModel, Generic[T]):
    """A page of a longer list, with the total count of matches."""

    items: list[T]
    total: int
    page: int
    page_size: int
