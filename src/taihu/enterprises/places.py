"""The township-level divisions of the district (镇 / 街道 / zones), from a package resource."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from taihu.core import InvalidInput

__all__ = ["Township", "township", "townships"]


@dataclass(frozen=True, slots=True)
class Township:
    """A township-level division with its 9-digit statistical division code."""

    code: str
    name_zh: str


@cache
def townships() -> dict[str, Township]:
    """The district's townships, by code (``data/wujiang-townships.csv``)."""
    text = (resources.files("taihu.enterprises") / "data" / "wujiang-townships.csv").read_text(
        encoding="utf-8"
    )
    return {
        row["code"]: Township(row["code"], row["name_zh"])
        for row in csv.DictReader(io.StringIO(text))
    }


def township(value: str) -> Township:
    """A township by its 9-digit code or its Chinese name."""
    value = value.strip()
    known = townships()
    if value in known:
        return known[value]
    for candidate in known.values():
        if candidate.name_zh == value:
            return candidate
    raise InvalidInput(
        f"{value!r} is not a township of the district (a 9-digit code such as 320509105 or a "
        "name such as 盛泽镇)",
        code="unknown_township",
    )
