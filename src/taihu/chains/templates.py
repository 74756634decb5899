"""The chain templates shipped as data (``data/chains.json``): six chains of the demo district."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from taihu.chains.facts import ChainSpec, SegmentSpec, Stage
from taihu.core import NotFound

__all__ = ["chain_template", "chain_templates", "english_name", "segment_index"]


@cache
def chain_templates() -> tuple[ChainSpec, ...]:
    """Every chain template, in the order the file gives them."""
    text = (resources.files("taihu.chains") / "data" / "chains.json").read_text(encoding="utf-8")
    chains = []
    for chain in json.loads(text)["chains"]:
        segments = tuple(
            SegmentSpec(
                key=s["key"],
                name=s["name_zh"],
                stage=Stage(s["stage"]),
                codes=tuple(s["codes"]),
                keywords=tuple(s["keywords"]),
                critical=bool(s.get("critical", False)),
            )
            for s in chain["segments"]
        )
        chains.append(ChainSpec(chain["key"], chain["name_zh"], segments))
    return tuple(chains)


@cache
def _english() -> dict[str, str]:
    text = (resources.files("taihu.chains") / "data" / "chains.json").read_text(encoding="utf-8")
    names: dict[str, str] = {}
    for chain in json.loads(text)["chains"]:
        names[chain["key"]] = chain["name_en"]
        names.update((s["key"], s["name_en"]) for s in chain["segments"])
    return names


def english_name(key: str) -> str:
    """The English name of a chain or segment."""
    return _english().get(key, key)


def chain_template(key: str) -> ChainSpec:
    """One chain template by key."""
    for chain in chain_templates():
        if chain.key == key:
            return chain
    known = ", ".join(c.key for c in chain_templates())
    raise NotFound(f"no chain {key!r} (known: {known})", code="chain_not_found")


@cache
def segment_index() -> dict[str, tuple[ChainSpec, SegmentSpec]]:
    """Every segment by key, with its chain."""
    return {s.key: (c, s) for c in chain_templates() for s in c.segments}
