"""API shapes of the chains context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taihu.chains.analytics import ChainAnalysis, Thresholds, level
from taihu.chains.disruption import Disruption
from taihu.chains.facts import ChainSpec, Ring, SupplyGraph
from taihu.chains.models import ChainTemplateVersion
from taihu.core import Id, ImportReportOut, Page, Translate

__all__ = [
    "AnalysisOut",
    "BuyerOut",
    "ChainOut",
    "DisruptionIn",
    "DisruptionOut",
    "EdgeCreateIn",
    "EdgeOut",
    "EdgePage",
    "OutsideSupplierOut",
    "OutsideSupplierPage",
    "SegmentIn",
    "SuggestOut",
    "TagDecisionIn",
    "TagIn",
    "TagOut",
    "TagPage",
    "TemplateImportOut",
    "TemplateIn",
    "TemplateVersionOut",
    "ThresholdsOut",
]

_CODE_A = "91320509MA1Y2B3C8P"
_CODE_B = "91320509MA0TXT010F"


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


class FirmRef(BaseModel):
    """An enterprise in an answer: credit code (or ``ext:`` key) and name."""

    key: str
    name: str


class SegmentStatusOut(BaseModel):
    """One segment's findings."""

    key: str
    name: str
    name_en: str
    stage: str
    critical: bool
    status: str = Field(description="missing, chokepoint, weak or ok")
    local_count: int
    members: list[FirmRef]
    purchased_value: float
    local_ratio: float | None
    outside_share: float | None = Field(description="1 - local_ratio")
    outside_level: str = Field(description="high, moderate, low or none (thresholds)")
    rings: dict[str, float]
    chokepoints: list[dict[str, Any]]
    buyers: int = Field(description="Buyers of the segment's input")
    hhi: float | None = Field(description="Value-weighted mean HHI of its buyers")
    hhi_level: str
    concentrated: int = Field(description="Buyers whose HHI for this input is high")


class SourcingOut(BaseModel):
    """How a buyer sources one input: suppliers, value, HHI, out-of-region share."""

    buyer: FirmRef
    input: str
    suppliers: int
    value: float
    hhi: float
    hhi_level: str = Field(description="high, moderate or low (thresholds)")
    outside_share: float
    outside_level: str
    substitutable: bool


class BuyerOut(BaseModel):
    """A buyer over all its inputs of the chain."""

    buyer: FirmRef
    value: float
    outside_share: float
    outside_level: str
    inputs: int
    max_hhi: float
    hhi_level: str


class ThresholdsOut(BaseModel):
    """The thresholds the analysis used, colour bands included."""

    weak_ratio: float
    chokepoint_dependants: int
    hhi_moderate: float
    hhi_high: float
    outside_moderate: float
    outside_high: float

    @classmethod
    def of(cls, limits: Thresholds) -> ThresholdsOut:
        """The thresholds as the API shows them."""
        return cls(
            weak_ratio=limits.weak_ratio, chokepoint_dependants=limits.chokepoint_dependants,
            hhi_moderate=limits.hhi_moderate, hhi_high=limits.hhi_high,
            outside_moderate=limits.outside_moderate, outside_high=limits.outside_high,
        )  # fmt: skip


class SuggestionOut(BaseModel):
    """A policy suggestion; ``reason`` rendered, ``message`` and ``params`` to render it anew."""

    kind: str = Field(description="建链, 补链, 强链 or 延链")
    target: str
    reason: str
    message: str = Field(description="The message id (English, with {named} values)")
    params: dict[str, Any]
    weight: float


_ANALYSIS: dict[str, Any] = {
    "chain": "optical-fibre", "name": "光纤光缆", "name_en": "Optical fibre and cable",
    "template_version": 1, "completeness": 0.83,
    "segments": [{
        "key": "fibre.preform", "name": "光纤预制棒", "name_en": "Fibre preforms",
        "stage": "upstream", "critical": True,
        "status": "chokepoint", "local_count": 1,
        "members": [{"key": _CODE_A, "name": "七都示范光棒有限公司"}],
        "purchased_value": 52000.0, "local_ratio": 0.62, "outside_share": 0.38,
        "outside_level": "low",
        "rings": {"district": 0.62, "city": 0.0, "province": 0.1, "china": 0.2, "abroad": 0.08},
        "chokepoints": [{"key": _CODE_A, "name": "七都示范光棒有限公司", "dependants": 9}],
        "buyers": 14, "hhi": 0.81, "hhi_level": "high", "concentrated": 11,
    }],
    "rings": {"district": 0.55, "city": 0.1, "province": 0.15, "china": 0.15, "abroad": 0.05},
    "single_source": [{"buyer": {"key": _CODE_B, "name": "松陵示范光缆有限公司"},
                       "input": "fibre.fibre", "suppliers": 1, "value": 3200.0, "hhi": 1.0,
                       "hhi_level": "high", "outside_share": 0.0, "outside_level": "low",
                       "substitutable": False}],
    "sourcing": [{"buyer": {"key": _CODE_B, "name": "松陵示范光缆有限公司"},
                  "input": "fibre.fibre", "suppliers": 1, "value": 3200.0, "hhi": 1.0,
                  "hhi_level": "high", "outside_share": 0.0, "outside_level": "low",
                  "substitutable": False}],
    "buyers": [{"buyer": {"key": _CODE_B, "name": "松陵示范光缆有限公司"}, "value": 3200.0,
                "outside_share": 0.0, "outside_level": "low", "inputs": 1, "max_hhi": 1.0,
                "hhi_level": "high"}],
    "thresholds": {"weak_ratio": 0.3, "chokepoint_dependants": 5, "hhi_moderate": 0.15,
                   "hhi_high": 0.25, "outside_moderate": 0.5, "outside_high": 0.7},
    "betweenness_sources": None,
    "extensions": [{"input": "aramid yarn", "value": 800.0, "outside_value": 800.0, "buyers": 3}],
    "betweenness": [{"key": _CODE_A, "name": "七都示范光棒有限公司", "score": 412.5}],
    "articulation_points": [{"key": _CODE_A, "name": "七都示范光棒有限公司"}],
    "suggestions": [{
        "kind": "强链", "target": "fibre.preform",
        "reason": "七都示范光棒有限公司 is the only supplier of 光纤预制棒 to 9 buyers: qualify a "
                  "second source",
        "message": "{supplier} is the only supplier of {segment} to {buyers} buyers: qualify a "
                   "second source",
        "params": {"supplier": "七都示范光棒有限公司", "segment": "光纤预制棒", "buyers": 9},
        "weight": 9}],
}  # fmt: skip


class AnalysisOut(BaseModel):
    """The gap and risk analysis of a chain."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ANALYSIS]})

    chain: str
    name: str
    name_en: str
    template_version: int = Field(description="The version of the chain template analysed")
    completeness: float
    segments: list[SegmentStatusOut]
    rings: dict[str, float]
    single_source: list[SourcingOut]
    sourcing: list[SourcingOut] = Field(description="Every buyer and input of the chain")
    buyers: list[BuyerOut] = Field(description="Every buyer over its inputs of the chain")
    thresholds: ThresholdsOut
    extensions: list[dict[str, Any]]
    betweenness: list[dict[str, Any]]
    betweenness_sources: int | None = Field(
        description="Sources of the sampled estimate; null when exact"
    )
    articulation_points: list[FirmRef]
    suggestions: list[SuggestionOut]

    @classmethod
    def of(
        cls,
        analysis: ChainAnalysis,
        graph: SupplyGraph,
        chain: ChainSpec,
        translate: Translate | None = None,
    ) -> AnalysisOut:
        """The analysis with enterprise names, by the template ``chain`` it was made with.

        Suggestions are in English unless ``translate`` is given.
        """
        english = {s.key: s.name_en for s in chain.segments}
        limits = analysis.limits
        refs: dict[str, FirmRef] = {}

        def ref(key: str) -> FirmRef:
            found = refs.get(key)
            if found is None:
                firm = graph.firms.get(key)
                found = refs[key] = FirmRef(key=key, name=firm.name if firm else key)
            return found

        def hhi_level(value: float | None) -> str:
            return level(value, limits.hhi_moderate, limits.hhi_high)

        def outside_level(value: float | None) -> str:
            return level(value, limits.outside_moderate, limits.outside_high)

        def sourcing(s: Any) -> SourcingOut:
            return SourcingOut(
                buyer=ref(s.buyer), input=s.input, suppliers=s.suppliers, value=s.value,
                hhi=s.hhi, hhi_level=hhi_level(s.hhi), outside_share=s.outside_share,
                outside_level=outside_level(s.outside_share), substitutable=s.substitutable,
            )  # fmt: skip

        return cls(
            chain=analysis.chain, name=analysis.name, name_en=chain.name_en,
            template_version=chain.version, completeness=analysis.completeness,
            segments=[
                SegmentStatusOut(
                    key=s.key, name=s.name, name_en=english.get(s.key, s.name),
                    stage=s.stage.value, critical=s.critical,
                    status=s.status, local_count=s.local_count,
                    members=[ref(m) for m in s.members], purchased_value=s.purchased_value,
                    local_ratio=s.local_ratio, outside_share=s.outside_share,
                    outside_level=outside_level(s.outside_share), rings=s.rings,
                    chokepoints=[{**ref(k).model_dump(), "dependants": n}
                                 for k, n in s.chokepoints],
                    buyers=s.buyers, hhi=s.hhi, hhi_level=hhi_level(s.hhi),
                    concentrated=s.concentrated,
                )
                for s in analysis.segments
            ],
            rings=analysis.rings,
            single_source=[sourcing(s) for s in analysis.single_source],
            sourcing=[sourcing(s) for s in analysis.sourcing],
            buyers=[
                BuyerOut(buyer=ref(b.buyer), value=b.value, outside_share=b.outside_share,
                         outside_level=outside_level(b.outside_share), inputs=b.inputs,
                         max_hhi=b.max_hhi, hhi_level=hhi_level(b.max_hhi))
                for b in analysis.buyers
            ],
            thresholds=ThresholdsOut.of(limits),
            betweenness_sources=analysis.betweenness_sources,
            extensions=[
                {"input": x.input, "value": x.value, "outside_value": x.outside_value,
                 "buyers": x.buyers}
                for x in analysis.extensions
            ],
            betweenness=[{**ref(k).model_dump(), "score": v} for k, v in analysis.betweenness],
            articulation_points=[ref(k) for k in analysis.articulation_points],
            suggestions=[
                SuggestionOut(kind=s.kind, target=s.target,
                              reason=s.reason.render(translate) if translate else s.reason.render(),
                              message=s.reason.id, params=dict(s.reason.params), weight=s.weight)
                for s in analysis.suggestions
            ],
        )  # fmt: skip


class DisruptionIn(BaseModel):
    """Enterprises that are down: credit codes, or outside suppliers by name or ``ext:`` key."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"down": [_CODE_A, "ext:Example Preform GmbH"], "unblock": True}]
        }
    )

    down: list[str] = Field(min_length=1, max_length=1000)
    unblock: bool = Field(default=True, description="Also compute the unblock list")


class DisruptionOut(BaseModel):
    """Who falls, and whom to bring back first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "down": [{"key": _CODE_A, "name": "七都示范光棒有限公司"}],
                "fallen": [{"key": _CODE_B, "name": "松陵示范光缆有限公司",
                            "input": "fibre.fibre", "because": [_CODE_A], "depth": 1}],
                "value_at_risk": 15300.0,
                "unblock": [{"key": _CODE_A, "name": "七都示范光棒有限公司",
                             "restores": [_CODE_A, _CODE_B], "value": 15300.0}],
            }]
        }
    )  # fmt: skip

    down: list[FirmRef]
    fallen: list[dict[str, Any]]
    value_at_risk: float
    unblock: list[dict[str, Any]]

    @classmethod
    def of(cls, result: Disruption, graph: SupplyGraph) -> DisruptionOut:
        """The outcome with enterprise names."""

        def name(key: str) -> str:
            firm = graph.firms.get(key)
            return firm.name if firm else key

        return cls(
            down=[FirmRef(key=k, name=name(k)) for k in result.down],
            fallen=[
                {"key": f.key, "name": name(f.key), "input": f.input,
                 "because": list(f.because), "depth": f.depth}
                for f in result.fallen
            ],
            value_at_risk=result.value_at_risk,
            unblock=[
                {"key": u.key, "name": name(u.key), "restores": list(u.restores),
                 "value": u.value}
                for u in result.unblock
            ],
        )  # fmt: skip


_EDGE: dict[str, Any] = {
    "id": 7, "supplier_id": 3, "supplier_key": _CODE_A, "supplier_name": "七都示范光棒有限公司",
    "buyer_id": 4, "input_category": "fibre.preform", "annual_value": 5200.0,
    "ring": "district", "substitutable": False, "created_at": "2026-11-25T08:00:00Z",
    "updated_at": None,
}  # fmt: skip


class EdgeCreateIn(BaseModel):
    """A supply relationship; the supplier by credit code, or by name when outside the district."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"supplier_code": _CODE_A, "buyer_code": _CODE_B, "input_category": "fibre.fibre",
                 "annual_value": 3200, "ring": "district", "substitutable": False},
                {"supplier_name": "Example Preform GmbH", "buyer_code": _CODE_B,
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
