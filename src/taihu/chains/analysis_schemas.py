"""API shapes of a chain's analysis: segment findings, sourcing, buyers, suggestions, disruption."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taihu.chains.analytics import ChainAnalysis, Thresholds, level
from taihu.chains.disruption import Disruption
from taihu.chains.facts import ChainSpec, SupplyGraph
from taihu.chains.schemas import EXAMPLE_BUYER, EXAMPLE_SUPPLIER, SuggestionOut
from taihu.core import Translate

__all__ = [
    "AnalysisOut",
    "BuyerOut",
    "DisruptionIn",
    "DisruptionOut",
    "FirmRef",
    "SegmentStatusOut",
    "SourcingOut",
    "ThresholdsOut",
]


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


_ANALYSIS: dict[str, Any] = {
    "chain": "optical-fibre", "name": "光纤光缆", "name_en": "Optical fibre and cable",
    "template_version": 1, "completeness": 0.83,
    "segments": [{
        "key": "fibre.preform", "name": "光纤预制棒", "name_en": "Fibre preforms",
        "stage": "upstream", "critical": True,
        "status": "chokepoint", "local_count": 1,
        "members": [{"key": EXAMPLE_SUPPLIER, "name": "七都示范光棒有限公司"}],
        "purchased_value": 52000.0, "local_ratio": 0.62, "outside_share": 0.38,
        "outside_level": "low",
        "rings": {"district": 0.62, "city": 0.0, "province": 0.1, "china": 0.2, "abroad": 0.08},
        "chokepoints": [{"key": EXAMPLE_SUPPLIER, "name": "七都示范光棒有限公司", "dependants": 9}],
        "buyers": 14, "hhi": 0.81, "hhi_level": "high", "concentrated": 11,
    }],
    "rings": {"district": 0.55, "city": 0.1, "province": 0.15, "china": 0.15, "abroad": 0.05},
    "single_source": [{"buyer": {"key": EXAMPLE_BUYER, "name": "松陵示范光缆有限公司"},
                       "input": "fibre.fibre", "suppliers": 1, "value": 3200.0, "hhi": 1.0,
                       "hhi_level": "high", "outside_share": 0.0, "outside_level": "low",
                       "substitutable": False}],
    "sourcing": [{"buyer": {"key": EXAMPLE_BUYER, "name": "松陵示范光缆有限公司"},
                  "input": "fibre.fibre", "suppliers": 1, "value": 3200.0, "hhi": 1.0,
                  "hhi_level": "high", "outside_share": 0.0, "outside_level": "low",
                  "substitutable": False}],
    "buyers": [{"buyer": {"key": EXAMPLE_BUYER, "name": "松陵示范光缆有限公司"}, "value": 3200.0,
                "outside_share": 0.0, "outside_level": "low", "inputs": 1, "max_hhi": 1.0,
                "hhi_level": "high"}],
    "thresholds": {"weak_ratio": 0.3, "chokepoint_dependants": 5, "hhi_moderate": 0.15,
                   "hhi_high": 0.25, "outside_moderate": 0.5, "outside_high": 0.7},
    "betweenness_sources": None,
    "extensions": [{"input": "aramid yarn", "value": 800.0, "outside_value": 800.0, "buyers": 3}],
    "betweenness": [{"key": EXAMPLE_SUPPLIER, "name": "七都示范光棒有限公司", "score": 412.5}],
    "articulation_points": [{"key": EXAMPLE_SUPPLIER, "name": "七都示范光棒有限公司"}],
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
            "examples": [{"down": [EXAMPLE_SUPPLIER, "ext:Example Preform GmbH"], "unblock": True}]
        }
    )

    down: list[str] = Field(min_length=1, max_length=1000)
    unblock: bool = Field(default=True, description="Also compute the unblock list")


class DisruptionOut(BaseModel):
    """Who falls, and whom to bring back first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "down": [{"key": EXAMPLE_SUPPLIER, "name": "七都示范光棒有限公司"}],
                "fallen": [{"key": EXAMPLE_BUYER, "name": "松陵示范光缆有限公司",
                            "input": "fibre.fibre", "because": [EXAMPLE_SUPPLIER], "depth": 1}],
                "value_at_risk": 15300.0,
                "unblock": [{"key": EXAMPLE_SUPPLIER, "name": "七都示范光棒有限公司",
                             "restores": [EXAMPLE_SUPPLIER, EXAMPLE_BUYER], "value": 15300.0}],
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
