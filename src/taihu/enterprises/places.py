"""The township-level divisions of the district (镇 / 街道 / zones), from a package resource."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from taihu.core import N_, InvalidInput

__all__ = ["Township", "township", "townships"]


@dataclass(frozen=True, slots=True)
class Township:
    """A township-level division with its 9-digit statistical division code."""

    code: str
    name_zh: str
    name_en: str = ""

    def name(self, language: str) -> str:
        """The name in ``language`` (``zh_CN`` or ``en``)."""
        return self.name_en if language.startswith("en") and self.name_en else self.name_zh


@cache
def townships() -> dict[str, Township]:
    """The district's townships, by code (``data/wujiang-townships.csv``)."""
    text = (resources.files("taihu.enterprises") / "data" / "wujiang-townships.csv").read_text(
        encoding="utf-8"
    )
    return {
        row["code"]: Township(row["code"], row["name_zh"], row.get("name_en") or "")
        for row in csv.DictReader(io.StringIO(text))
    }


def township(value: str) -> Township:
    """A township by its 9-digit code or its Chinese name."""
    value = value.strip()
    known = townships()
    if value in known:
        return known[value]
    for candidate in known.values():
        if value in (candidate.name_zh, candidate.name_en):
            return candidate
    raise InvalidInput(
        N_(
            "{value!r} is not a township of the district (a 9-digit code such as 320509105 or a "
            "name such as 盛泽镇)"
        ),
        value=value,
        code="unknown_township",
    )
