"""API shapes of the chains context: templates, supply edges, outside suppliers, tags.

A chain's analysis and a disruption's outcome are in ``analysis_schemas``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taihu.chains.facts import ChainSpec, Ring
from taihu.chains.models import ChainTemplateVersion
from taihu.core import Id, ImportReportOut, Page

__all__ = [
    "EXAMPLE_BUYER",
    "EXAMPLE_SUPPLIER",
    "ChainOut",
    "EdgeCreateIn",
    "EdgeOut",
    "EdgePage",
    "OutsideSupplierOut",
    "OutsideSupplierPage",
    "SegmentIn",
    "SuggestOut",
    "SuggestionOut",
    "TagDecisionIn",
    "TagIn",
    "TagOut",
    "TagPage",
    "TemplateImportOut",
    "TemplateIn",
    "TemplateVersionOut",
]

# The credit codes of the examples in /docs: a preform maker and the cable maker it supplies.
EXAMPLE_SUPPLIER = "91320509MA1Y2B3C8P"
EXAMPLE_BUYER = "91320509MA0TXT010F"


class SegmentOut(BaseModel):
    """A segment of a chain template."""

    key: str
    name_zh: str
    name_en: str
    stage: str
    codes: list[str]
    keywords: list[str]
    critical: bool
    supplies: list[str] = Field(description="Keys of the segments this one feeds")


_SEGMENT: dict[str, Any] = {
    "key": "fibre.preform", "name_zh": "光纤预制棒", "name_en": "Fibre preforms",
    "stage": "upstream", "codes": ["3832"], "keywords": ["预制棒", "光棒"], "critical": True,
    "supplies": ["fibre.fibre"],
}  # fmt: skip


class ChainOut(BaseModel):
    """A chain template with its segments, upstream first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"key": "optical-fibre", "name_zh": "光纤光缆",
                          "name_en": "Optical fibre and cable", "version": 2,
                          "segments": [_SEGMENT]}]
        }
    )  # fmt: skip

    key: str
    name_zh: str
    name_en: str
    version: int = Field(description="The template version shown (the current one unless asked)")
    segments: list[SegmentOut]

    @classmethod
    def of(cls, chain: ChainSpec) -> ChainOut:
        """The template as the API shows it."""
        return cls(
            key=chain.key, name_zh=chain.name, name_en=chain.name_en, version=chain.version,
            segments=[
                SegmentOut(key=s.key, name_zh=s.name, name_en=s.name_en, stage=s.stage.value,
                           codes=list(s.codes), keywords=list(s.keywords), critical=s.critical,
                           supplies=list(s.supplies))
                for s in chain.segments
            ],
        )  # fmt: skip


class SegmentIn(BaseModel):
    """A segment as written: key, names in both languages, position, flags and links."""

    key: str = Field(max_length=64, description="a-z, 0-9, '.', '_', '-'; unique across chains")
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    stage: str = Field(max_length=16, description="upstream, midstream or downstream")
    critical: bool = Field(default=False, description="A key segment of the chain")
    supplies: list[str] = Field(default=[], max_length=60, description="Segments it feeds")
    codes: list[str] = Field(default=[], max_length=30, description="GB/T 4754-2017 classes")
    keywords: list[str] = Field(default=[], max_length=30, description="Product words in names")


class TemplateIn(BaseModel):
    """A chain template as written; saving it creates the template or its next version."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "key": "fibre-laser", "name_zh": "光纤激光器", "name_en": "Fibre lasers",
                "note": "first draft",
                "segments": [
                    {"key": "laser.fibre", "name_zh": "特种光纤", "name_en": "Special fibre",
                     "stage": "upstream", "critical": True, "supplies": ["laser.source"]},
                    {"key": "laser.source", "name_zh": "激光器", "name_en": "Laser sources",
                     "stage": "midstream", "codes": ["3976"], "keywords": ["激光"]},
                ],
            }]
        }
    )  # fmt: skip

    key: str | None = Field(default=None, max_length=64, description="Needed to create")
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    segments: list[SegmentIn] = Field(min_length=1, max_length=60)
    note: str = Field(default="", max_length=300, description="Why this version")


class TemplateVersionOut(BaseModel):
    """One version in a template's history."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"version": 2, "name_zh": "光纤光缆",
                          "name_en": "Optical fibre and cable", "segments": 7,
                          "note": "sheathing split", "created_by": "analyst",
                          "created_at": "2026-12-06T08:00:00Z"}]
        },
    )  # fmt: skip

    version: int
    name_zh: str
    name_en: str
    segments: int = Field(description="How many segments the version has")
    note: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, row: ChainTemplateVersion) -> TemplateVersionOut:
        """A history line."""
        return cls(version=row.version, name_zh=row.name_zh, name_en=row.name_en,
                   segments=len(row.segments), note=row.note, created_by=row.created_by,
                   created_at=row.created_at)  # fmt: skip


class TemplateImportOut(ImportReportOut):
    """What a template file did: the import report (a row per template), and each template."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "skipped": 0,
                          "applied": True, "problems": [], "templates": [
                              {"key": "fibre-laser", "outcome": "created", "version": 1}]}]
        }
    )  # fmt: skip

    templates: list[dict[str, Any]] = Field(
        description="key, outcome (created, changed, unchanged) and the version it is now at"
    )


# Here, not beside the analysis: OpenAPI names it by this module (surveys has a SuggestionOut too).
class SuggestionOut(BaseModel):
    """A policy suggestion; ``reason`` rendered, ``message`` and ``params`` to render it anew."""

    kind: str = Field(description="建链, 补链, 强链 or 延链")
    target: str
    reason: str
    message: str = Field(description="The message id (English, with {named} values)")
    params: dict[str, Any]
    weight: float


_EDGE: dict[str, Any] = {
    "id": 7, "supplier_id": 3, "supplier_key": EXAMPLE_SUPPLIER,
    "supplier_name": "七都示范光棒有限公司", "buyer_id": 4, "input_category": "fibre.preform",
    "annual_value": 5200.0,
    "ring": "district", "substitutable": False, "created_at": "2026-11-25T08:00:00Z",
    "updated_at": None,
}  # fmt: skip


class EdgeCreateIn(BaseModel):
    """A supply relationship; the supplier by credit code, or by name when outside the district."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"supplier_code": EXAMPLE_SUPPLIER, "buyer_code": EXAMPLE_BUYER,
                 "input_category": "fibre.fibre", "annual_value": 3200, "ring": "district",
                 "substitutable": False},
                {"supplier_name": "Example Preform GmbH", "buyer_code": EXAMPLE_BUYER,
                 "input_category": "fibre.preform", "annual_value": 900, "ring": "abroad",
                 "supplier_city": "Jena", "supplier_country": "Germany"},
            ]
        }
    )  # fmt: skip

    supplier_code: str | None = Field(default=None, max_length=64)
    supplier_name: str | None = Field(default=None, max_length=200)
    buyer_code: str = Field(max_length=64)
    input_category: str = Field(min_length=1, max_length=64)
    annual_value: float = Field(description="10k yuan a year, >= 0")
    ring: Ring = Ring.DISTRICT
    substitutable: bool = False
    supplier_city: str | None = Field(default=None, max_length=64)
    supplier_province: str | None = Field(default=None, max_length=64)
    supplier_country: str | None = Field(default=None, max_length=64)


_OUTSIDE: dict[str, Any] = {
    "key": "ext:Example Preform GmbH", "name": "Example Preform GmbH", "city": "Jena",
    "province": "Thüringen", "country": "Germany", "created_at": "2026-12-06T08:00:00Z",
    "updated_at": None,
}  # fmt: skip


class OutsideSupplierOut(BaseModel):
    """A supplier outside the district: its key (``ext:<name>``), name and region."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_OUTSIDE]})

    key: str
    name: str
    city: str | None
    province: str | None
    country: str | None
    created_at: datetime
    updated_at: datetime | None


class OutsideSupplierPage(Page[OutsideSupplierOut]):
    """A page of outside suppliers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_OUTSIDE], "total": 1, "page": 1, "page_size": 50}]
        }
    )


class EdgeOut(BaseModel):
    """A supply relationship."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EDGE]})

    id: int
    supplier_id: int | None
    supplier_key: str
    supplier_name: str
    buyer_id: int
    input_category: str
    annual_value: float
    ring: str
    substitutable: bool
    created_at: datetime
    updated_at: datetime | None


class EdgePage(Page[EdgeOut]):
    """A page of supply edges."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EDGE], "total": 1, "page": 1, "page_size": 50}]}
    )


_TAG: dict[str, Any] = {
    "id": 3, "enterprise_id": 4, "segment_key": "fibre.cable", "status": "suggested",
    "score": 1.0, "reason": "class 3833, keyword 光缆", "created_at": "2026-11-25T08:00:00Z",
    "decided_by": None, "decided_at": None,
}  # fmt: skip


class TagOut(BaseModel):
    """An enterprise placed in a segment (suggested, confirmed or rejected)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_TAG]})

    id: int
    enterprise_id: int
    segment_key: str
    status: str
    score: float
    reason: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class TagPage(Page[TagOut]):
    """A page of tags."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_TAG], "total": 1, "page": 1, "page_size": 50}]}
    )


class TagIn(BaseModel):
    """Place an enterprise in a segment (confirmed at once)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"enterprise_id": 4, "segment_key": "fibre.cable"}]}
    )

    enterprise_id: Id
    segment_key: str = Field(max_length=64)


class TagDecisionIn(BaseModel):
    """An analyst's decision on a suggested tag."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"confirm": True}]})

    confirm: bool


class SuggestOut(BaseModel):
    """How many tags were suggested."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"suggested": 128}]})

    suggested: int
