"""GB/T 4754-2017, the national economic industry classification (国民经济行业分类).

    section  C        制造业
    division C38      电气机械和器材制造业         (two digits)
    group    C383     电线、电缆、光缆及电工器材制造  (three digits)
    class    C3832    光纤制造                     (four digits; what an enterprise is filed under)

The table ships as a package resource (``data/gbt4754-2017.csv``, source in ``data/README.md``)
and is read once. Codes are written without the section letter (``3832``), as statistics do.
English names (``data/gbt4754-2017-en.csv``) exist for the sections and divisions; a group or
class is named in English by its division and its own code ("Manufacture of electrical
machinery and equipment · 3832"), never by a made-up translation.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from taihu.core import N_, InvalidInput

__all__ = ["IndustryClass", "industry_class", "industry_classes", "search_industry"]


@dataclass(frozen=True, slots=True)
class IndustryClass:
    """One code of the classification at any level."""

    code: str
    level: str
    parent: str | None
    name_zh: str
    name_en: str | None = None

    def name(self, language: str) -> str:
        """The name in ``language`` (``zh_CN`` or ``en``), see the module docstring."""
        if not language.startswith("en"):
            return self.name_zh
        if self.name_en:
            return self.name_en
        node: IndustryClass = self
        while node.parent and not node.name_en:
            node = industry_classes()[node.parent]
        return f"{node.name_en} · {self.code}" if node.name_en else self.code

    @property
    def section(self) -> str:
        """The section letter this code belongs to."""
        node: IndustryClass = self
        while node.parent:
            node = industry_classes()[node.parent]
        return node.code


@cache
def industry_classes() -> dict[str, IndustryClass]:
    """Every code of the classification, by code."""
    data = resources.files("taihu.enterprises") / "data"
    text = (data / "gbt4754-2017.csv").read_text(encoding="utf-8")
    english = {
        row["code"]: row["name_en"]
        for row in csv.DictReader(
            io.StringIO((data / "gbt4754-2017-en.csv").read_text(encoding="utf-8"))
        )
    }
    return {
        row["code"]: IndustryClass(
            row["code"], row["level"], row["parent"] or None, row["name_zh"],
            english.get(row["code"]),
        )
        for row in csv.DictReader(io.StringIO(text))
    }  # fmt: skip


def industry_class(code: str) -> IndustryClass:
    """The four-digit class for ``code`` (``3832`` or ``C3832``); anything else raises."""
    raw = code
    code = code.strip().upper()
    if len(code) == 5 and code[0].isalpha():  # the section letter written in front
        section, code = code[0], code[1:]
    else:
        section = ""
    found = industry_classes().get(code)
    if found is None or (section and found.section != section):
        raise InvalidInput(
            N_("{raw!r} is not a class of GB/T 4754-2017 (a four-digit code such as 3832)"),
            raw=raw,
            code="unknown_industry_class",
        )
    if found.level != "class":
        raise InvalidInput(
            N_(
                "{raw!r} is a {level} of GB/T 4754-2017 ({name}); an enterprise is filed under a "
                "four-digit class"
            ),
            raw=raw,
            level=found.level,
            name=found.name_zh,
            code="unknown_industry_class",
        )
    return found


def search_industry(term: str, limit: int = 20) -> list[IndustryClass]:
    """Classes whose code starts with ``term`` or whose name contains it."""
    term = term.strip().upper()
    found = [
        c
        for c in industry_classes().values()
        if c.level == "class" and (c.code.startswith(term) or term in c.name_zh)
    ]
    return found[:limit]
