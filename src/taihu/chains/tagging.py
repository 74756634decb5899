"""Which segments an enterprise probably belongs to, from its industry class and its name.

    score = 0.6 if the enterprise's GB/T 4754 class is one of the segment's codes
          + 0.4 if its name contains one of the segment's product keywords

A segment scoring at least 0.4 is suggested; a suggestion is only a suggestion until an analyst
confirms it. Where several segments share a class (fibre preforms and fibre are both 3832), the
keywords decide: with no keyword match each scores 0.6 and both are suggested.
"""

from __future__ import annotations

from dataclasses import dataclass

from taihu.chains.facts import ChainSpec

__all__ = ["TagSuggestion", "suggest_segments"]

CLASS_WEIGHT = 0.6
KEYWORD_WEIGHT = 0.4
THRESHOLD = 0.4


@dataclass(frozen=True, slots=True)
class TagSuggestion:
    """A suggested segment with its score and why."""

    segment: str
    score: float
    reason: str


def suggest_segments(
    chains: tuple[ChainSpec, ...], industry_code: str | None, name: str
) -> list[TagSuggestion]:
    """The segments an enterprise is suggested for, best first."""
    found = []
    for chain in chains:
        for segment in chain.segments:
            reasons = []
            score = 0.0
            if industry_code and industry_code in segment.codes:
                score += CLASS_WEIGHT
                reasons.append(f"class {industry_code}")
            words = [w for w in segment.keywords if w.lower() in name.lower()]
            if words:
                score += KEYWORD_WEIGHT
                reasons.append("keyword " + "/".join(words))
            if score >= THRESHOLD:
                found.append(TagSuggestion(segment.key, round(score, 2), ", ".join(reasons)))
    return sorted(found, key=lambda t: (-t.score, t.segment))
