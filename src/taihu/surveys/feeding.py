"""Feeding the map: what an approved submission proposes to the registry and the supply chains.

A question is bound by the XLSForm column ``bind::taihu:field`` (pyxform keeps it as a bind
attribute; the settings sheet declares ``namespaces`` ``taihu="https://taihu.dev/xforms"``):

- a registry field: ``employees``, ``revenue_band``, ``industry_code``, ``address``;
- a total the shares of a repeat apply to: ``purchases`` (suppliers), ``sales`` (customers),
  in 10k yuan;
- a repeat of relationships: ``suppliers`` (the answering enterprise buys) or ``customers``
  (it sells), whose questions are bound to ``name``, ``credit_code``, ``ring``, ``input``,
  ``value`` (10k yuan a year), ``share`` (percent of the total), ``substitutable``, ``city``,
  ``province``, ``country``.

Each bound answer that would change something becomes a ``Proposal`` with the value before and
the value proposed; a row that cannot become an edge (no value, an unregistered customer) is
proposed with its problem, shown to the analyst, and cannot be accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.chains import SupplyEdge
from taihu.core import InvalidInput
from taihu.enterprises import CreditCode, Enterprise, Profile
from taihu.surveys.models import FormVersion, Proposal, Submission, Survey

__all__ = [
    "EDGE_REPEATS",
    "REGISTRY_FIELDS",
    "ROW_FIELDS",
    "Bindings",
    "bindings",
    "propose",
    "source_of",
]

REGISTRY_FIELDS = ("employees", "revenue_band", "industry_code", "address")
TOTALS = {"purchases": "suppliers", "sales": "customers"}
EDGE_REPEATS = ("suppliers", "customers")
ROW_FIELDS = ("name", "credit_code", "ring", "input", "value", "share", "substitutable", "city",
              "province", "country")  # fmt: skip
_YES = {"yes", "1", "true", "是"}


@dataclass(slots=True)
class Bindings:
    """Where a version's bound answers are: registry fields, totals, relationship repeats."""

    registry: dict[str, str] = field(default_factory=dict)  # field -> path
    totals: dict[str, str] = field(default_factory=dict)  # repeat kind -> path of its total
    repeats: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.registry or self.repeats)


def bindings(fields: list[dict[str, Any]]) -> Bindings:
    """Read the ``taihu`` binding of a version's fields; unknown bindings are left out."""
    found = Bindings()
    repeat_kind: dict[str, str] = {}
    for item in fields:
        bound = item.get("taihu")
        if item["type"] == "repeat" and bound in EDGE_REPEATS:
            repeat_kind[item["path"]] = bound
            found.repeats[bound] = (item["path"], {})
    for item in fields:
        bound, repeat = item.get("taihu"), item.get("repeat")
        if not bound or item["type"] == "repeat":
            continue
        if repeat is None and bound in REGISTRY_FIELDS:
            found.registry[bound] = item["path"]
        elif repeat is None and bound in TOTALS:
            found.totals[TOTALS[bound]] = item["path"]
        elif repeat in repeat_kind and bound in ROW_FIELDS:
            found.repeats[repeat_kind[repeat]][1][bound] = item["path"]
    return found


def source_of(survey: Survey, submission: Submission) -> str:
    """How an accepted change names the submission it came from."""
    return f"survey:{survey.form_id}/{submission.instance_id}"[:220]


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _registry_value(name: str, raw: str) -> tuple[Any, str | None]:
    """The answer as the registry holds it, or the reason it cannot be."""
    try:
        if name == "employees":
            number = _number(raw)
            if number is None or number != int(number):
                return raw, f"{raw!r} is not a whole number"
            return Profile(employees=int(number)).employees, None
        if name == "revenue_band":
            return Profile(revenue_band=raw).revenue_band, None
        if name == "industry_code":
            return Profile(industry_code=raw).industry_code, None
        return Profile(address=raw).address, None
    except InvalidInput as exc:
        return raw, exc.message


async def _enterprise_by_code(session: AsyncSession, raw: str) -> tuple[Enterprise | None, str]:
    try:
        code = CreditCode(raw).value
    except InvalidInput:
        return None, raw
    found = await session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == code))
    return found, code


async def _edge(
    session: AsyncSession, kind: str, me: Enterprise, row: dict[str, Any],
    paths: dict[str, str], total: float | None,
) -> tuple[dict[str, Any], str | None]:  # fmt: skip
    """The edge a relationship row proposes and what stops it, if anything."""
    answer = {name: str(row.get(path) or "").strip() for name, path in paths.items()}
    other, code = (None, "")
    if answer.get("credit_code"):
        other, code = await _enterprise_by_code(session, answer["credit_code"])
    value = _number(answer.get("value") or "")
    share = _number(answer.get("share") or "")
    if value is None and share is not None and total is not None:
        value = round(total * share / 100, 4)
    ring = answer.get("ring") or ("district" if other is not None else "china")
    facts: dict[str, Any] = {
        "input": answer.get("input", ""), "value": value, "ring": ring,
        "substitutable": answer.get("substitutable", "").lower() in _YES,
    }  # fmt: skip
    problem = None
    if kind == "suppliers":
        facts |= {"buyer_code": me.credit_code, "buyer_name": me.name,
                  "supplier_code": other.credit_code if other else None,
                  "supplier_name": other.name if other else answer.get("name", ""),
                  "city": answer.get("city") or None, "province": answer.get("province") or None,
                  "country": answer.get("country") or None}  # fmt: skip
        if code and other is None and ring == "district":
            problem = f"no enterprise {code} is registered"
    else:
        facts |= {"supplier_code": me.credit_code, "supplier_name": me.name, "ring": "district",
                  "buyer_code": other.credit_code if other else None,
                  "buyer_name": other.name if other else answer.get("name", "")}  # fmt: skip
        if other is None:
            problem = "a customer becomes an edge only when registered: give its credit code"
    if not facts["input"]:
        problem = problem or "no input is given"
    if value is None:
        problem = problem or "no annual value, nor a share of a total"
    return facts, problem


async def _existing_edge(session: AsyncSession, facts: dict[str, Any]) -> dict[str, Any] | None:
    if not facts.get("buyer_code"):
        return None
    buyer = await session.scalar(
        sa.select(Enterprise.id).where(Enterprise.credit_code == facts["buyer_code"])
    )
    key = facts.get("supplier_code") or f"ext:{facts.get('supplier_name', '')}"
    edge = await session.scalar(
        sa.select(SupplyEdge).where(
            SupplyEdge.buyer_id == buyer,
            SupplyEdge.supplier_key == key,
            SupplyEdge.input_category == facts["input"],
        )
    )
    if edge is None:
        return None
    return {"value": edge.annual_value, "ring": edge.ring, "substitutable": edge.substitutable}


async def propose(
    session: AsyncSession, survey: Survey, submission: Submission, now: datetime
) -> int:
    """Write the proposals an approved submission makes; how many are new."""
    if submission.enterprise_id is None:
        return 0
    version = await session.get(FormVersion, submission.version_id)
    me = await session.get(Enterprise, submission.enterprise_id)
    if version is None or me is None:
        return 0
    bound = bindings(version.fields)
    if not bound:
        return 0
    known = {
        p.key: p
        for p in await session.scalars(
            sa.select(Proposal).where(Proposal.submission_id == submission.id)
        )
    }
    wanted: list[tuple[str, str, Any, dict[str, Any], str | None]] = []
    data = submission.data
    for name, path in bound.registry.items():
        raw = str(data.get(path) or "").strip()
        if not raw:
            continue
        value, problem = _registry_value(name, raw)
        before = getattr(me, name)
        if problem is None and before == value:
            continue  # the registry says so already
        wanted.append((f"registry:{name}", "registry", before, {name: value}, problem))
    for kind, (path, paths) in bound.repeats.items():
        total = _number(data.get(bound.totals.get(kind, ""), "") or "")
        rows = data.get(path)
        for index, row in enumerate(rows if isinstance(rows, list) else [], start=1):
            if not any(str(row.get(p) or "").strip() for p in paths.values()):
                continue  # an empty row the form left
            facts, problem = await _edge(session, kind, me, row, paths, total)
            before = await _existing_edge(session, facts)
            wanted.append((f"edge:{kind}[{index}]", "edge", before, facts, problem))
    created = 0
    for key, kind, before, after, problem in wanted:
        old = known.get(key)
        if old is not None:
            if old.state == "proposed":  # approved again after an edit: the newer answer
                old.before, old.after, old.problem = before, after, problem
            continue
        session.add(Proposal(
            survey_id=survey.id, submission_id=submission.id, enterprise_id=me.id, key=key,
            kind=kind, before=before, after=after, problem=problem, state="proposed",
            created_at=now,
        ))  # fmt: skip
        created += 1
    await session.flush()
    return created
