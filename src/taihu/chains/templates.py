"""Chain templates as data: reading and checking a template, and the six built-ins.

A template is written by the district (API, console, ``taihu chain template import``) as a
mapping; ``parse_template`` checks it and turns it into a ``ChainSpec``, ``template_document``
turns a spec back into the stored (and exported) shape. The six chains in ``data/chains.json``
are only the starting set (``builtin_templates``), seeded into the store;
``taihu.chains.template_store`` keeps every version in the database, and readers ask it.

    {"key": "optical-fibre", "name_zh": "光纤光缆", "name_en": "Optical fibre and cable",
     "segments": [{"key": "fibre.preform", "name_zh": "光纤预制棒", "name_en": "Fibre preforms",
                   "stage": "upstream", "critical": true, "supplies": ["fibre.fibre"],
                   "codes": ["3832"], "keywords": ["预制棒"]}, …]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from taihu.chains.facts import ChainSpec, SegmentSpec, Stage
from taihu.core import N_, InvalidInput

__all__ = [
    "MAX_SEGMENTS",
    "builtin_templates",
    "parse_stage",
    "parse_template",
    "segment_document",
    "template_document",
]

MAX_SEGMENTS = 60
KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
CLASS = re.compile(r"^[0-9]{2,4}$")  # a GB/T 4754-2017 division, group or class
# What people write for a position: the stored value, its first word, and the Chinese.
STAGE_ALIASES = {
    "upstream": Stage.UPSTREAM, "up": Stage.UPSTREAM, "上游": Stage.UPSTREAM,
    "midstream": Stage.MIDSTREAM, "mid": Stage.MIDSTREAM, "中游": Stage.MIDSTREAM,
    "downstream": Stage.DOWNSTREAM, "down": Stage.DOWNSTREAM, "下游": Stage.DOWNSTREAM,
}  # fmt: skip
_SPLIT = re.compile(r"[\s,;\uff0c\uff1b\u3001]+")  # and the full-width forms


def parse_stage(text: str) -> Stage:
    """A position from what a person wrote (``upstream``, ``up``, ``上游`` …)."""
    stage = STAGE_ALIASES.get(text.strip().lower())
    if stage is None:
        raise InvalidInput(
            N_("{value!r} is not a position (upstream, midstream or downstream)"),
            code="bad_stage", value=text,
        )  # fmt: skip
    return stage


def _stage(text: str, where: str) -> Stage:
    stage = STAGE_ALIASES.get(text.strip().lower())
    if stage is None:
        raise InvalidInput(
            N_("{where}: {value!r} is not a position (upstream, midstream or downstream)"),
            code="bad_stage", where=where, value=text,
        )  # fmt: skip
    return stage


def _words(value: object, field: str) -> tuple[str, ...]:
    # A list, or one cell of words separated by commas, semicolons, 、 or spaces.
    if value is None:
        return ()
    if isinstance(value, str):
        items: Sequence[object] = _SPLIT.split(value)
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise InvalidInput(N_("{field} must be a list"), code="bad_template", field=field)
    words = []
    for item in items:
        if not isinstance(item, str | int):
            raise InvalidInput(N_("{field} must be a list"), code="bad_template", field=field)
        word = str(item).strip()
        if word and word not in words:
            words.append(word)
    return tuple(words)


def _name(data: Mapping[str, Any], field: str, where: str) -> str:
    value = data.get(field)
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text or len(text) > 100:
        raise InvalidInput(
            N_("{where}: {field} needs 1 to 100 characters"),
            code="bad_template", where=where, field=field,
        )  # fmt: skip
    return text


def _key(value: object, where: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if not KEY.match(text):
        raise InvalidInput(
            N_("{where}: the key {key!r} must be 1 to 64 of a-z, 0-9, '.', '_', '-'"),
            code="bad_template", where=where, key=str(value or ""),
        )  # fmt: skip
    return text


def _flag(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in {"", "0", "false", "no", "n", "否"}:
        return False
    if text in {"1", "true", "yes", "y", "是", "*"}:
        return True
    raise InvalidInput(
        N_("{where}: {value!r} is not yes or no"), code="bad_template", where=where,
        value=str(value),
    )  # fmt: skip


def _segment(data: object, chain: str, number: int) -> SegmentSpec:
    if not isinstance(data, Mapping):
        raise InvalidInput(
            N_("{where}: a segment must be an object"), code="bad_template",
            where=f"{chain} segment {number}",
        )  # fmt: skip
    key = _key(data.get("key", data.get("code")), f"{chain} segment {number}")
    where = f"{chain} segment {number} {key}"
    stage = data.get("stage", data.get("position"))
    if not isinstance(stage, str):
        raise InvalidInput(
            N_("{where}: give the position (upstream, midstream or downstream)"),
            code="bad_stage", where=where,
        )  # fmt: skip
    codes = _words(data.get("codes"), f"{where} codes")
    for code in codes:
        if not CLASS.match(code):
            raise InvalidInput(
                N_("{where}: {value!r} is not a GB/T 4754 class (2 to 4 digits)"),
                code="bad_template", where=where, value=code,
            )  # fmt: skip
    return SegmentSpec(
        key=key,
        name=_name(data, "name_zh", where),
        name_en=_name(data, "name_en", where),
        stage=_stage(stage, where),
        codes=codes,
        keywords=_words(data.get("keywords"), f"{where} keywords"),
        critical=_flag(data.get("critical", data.get("key_segment", False)), where),
        supplies=tuple(w.lower() for w in _words(data.get("supplies"), f"{where} supplies")),
    )


def parse_template(data: object, *, version: int = 1) -> ChainSpec:
    """Check a template as written and return it as a spec; the first problem is raised."""
    if not isinstance(data, Mapping):
        raise InvalidInput(N_("a chain template must be an object"), code="bad_template")
    key = _key(data.get("key", data.get("code")), "chain")
    raw = data.get("segments")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SEGMENTS:
        raise InvalidInput(
            N_("{where}: give 1 to {limit} segments"), code="bad_template", where=key,
            limit=MAX_SEGMENTS,
        )  # fmt: skip
    segments = tuple(_segment(s, key, i) for i, s in enumerate(raw, start=1))
    keys = [s.key for s in segments]
    for seg in segments:
        if keys.count(seg.key) > 1:
            raise InvalidInput(
                N_("{where}: segment {segment} is given twice"), code="bad_template",
                where=key, segment=seg.key,
            )  # fmt: skip
        for target in seg.supplies:
            if target == seg.key or target not in keys:
                raise InvalidInput(
                    N_("{where}: segment {segment} supplies {target}, which is not another "
                       "segment of this chain"),
                    code="bad_template", where=key, segment=seg.key, target=target,
                )  # fmt: skip
    return ChainSpec(
        key, _name(data, "name_zh", key), segments, name_en=_name(data, "name_en", key),
        version=version,
    )  # fmt: skip


def template_document(chain: ChainSpec) -> dict[str, Any]:
    """A spec in the shape it is stored, exported and imported."""
    return {
        "key": chain.key, "name_zh": chain.name, "name_en": chain.name_en,
        "segments": [segment_document(s) for s in chain.segments],
    }  # fmt: skip


def segment_document(segment: SegmentSpec) -> dict[str, Any]:
    """One segment in the stored shape."""
    return {
        "key": segment.key, "name_zh": segment.name, "name_en": segment.name_en,
        "stage": segment.stage.value, "critical": segment.critical,
        "supplies": list(segment.supplies), "codes": list(segment.codes),
        "keywords": list(segment.keywords),
    }  # fmt: skip


@cache
def builtin_templates() -> tuple[ChainSpec, ...]:
    """The six packaged templates, in the file's order: only the store's starting set.

    ``TemplateStore`` writes them as version 1 into an empty table; everything that reads
    templates (analyses, tags, the monitor's groupings, the demo, the benches) reads the
    district's current ones from the store, where they may have been edited or joined by the
    district's own.
    """
    text = (resources.files("taihu.chains") / "data" / "chains.json").read_text(encoding="utf-8")
    return tuple(parse_template(chain) for chain in json.loads(text)["chains"])
