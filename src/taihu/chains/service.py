"""The chains context within one unit of work: tags, supply edges, and analyses over them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.chains.analytics import ChainAnalysis, Thresholds, analyze_chain
from taihu.chains.disruption import Disruption, simulate
from taihu.chains.facts import ChainSpec, Firm, Ring, Supply, SupplyGraph
from taihu.chains.models import OutsideSupplier, SegmentTag, SupplyEdge, TagStatus
from taihu.chains.tagging import suggest_segments
from taihu.chains.template_store import TemplateStore
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock
from taihu.enterprises import CreditCode, Enterprise, EnterpriseService

__all__ = [
    "ChainService",
    "EdgeIn",
    "check_edge",
    "edge_facts",
    "external_key",
    "find_path",
    "record_outside",
]

MAX_VALUE = 1e9  # 10k yuan: 10 trillion yuan, far beyond any one supply relationship


def external_key(name: str) -> str:
    """The key of a supplier outside the registry."""
    return "ext:" + " ".join(name.split())


@dataclass(frozen=True, slots=True)
class EdgeIn:
    """A supply relationship as given: supplier by credit code, or by name when outside."""

    buyer_code: str
    input_category: str
    annual_value: float
    ring: str = Ring.DISTRICT.value
    supplier_code: str | None = None
    supplier_name: str | None = None
    substitutable: bool = False
    supplier_city: str | None = None
    supplier_province: str | None = None
    supplier_country: str | None = None
    source: str | None = None  # a survey submission the edge was accepted from


class ChainService:
    """Tags, supply edges and analytics, scoped to what a principal may see."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.templates = TemplateStore(session, self.clock)

    # -- tags -----------------------------------------------------------------------------

    async def suggest_tags(self, actor: Principal) -> int:
        """Suggest segments of the current templates for every enterprise.

        Confirmed and rejected tags are left alone; a suggestion for a segment no current
        template has any more is withdrawn (a template change moves the suggestions with it).
        """
        actor.require_role(Role.BUREAU)
        templates = await self.templates.current()
        segments = {s.key for c in templates for s in c.segments}
        stale = sa.delete(SegmentTag).where(
            SegmentTag.status == TagStatus.SUGGESTED, SegmentTag.segment_key.not_in(segments)
        )
        withdrawn = (await self.session.execute(stale)).rowcount  # type: ignore[attr-defined]
        existing = {
            (t.enterprise_id, t.segment_key)
            for t in await self.session.scalars(sa.select(SegmentTag))
        }
        added = 0
        now = self.clock.now()
        rows = await self.session.execute(
            sa.select(Enterprise.id, Enterprise.industry_code, Enterprise.name)
        )
        for enterprise_id, code, name in rows:
            for suggestion in suggest_segments(templates, code, name):
                if (enterprise_id, suggestion.segment) in existing:
                    continue
                self.session.add(
                    SegmentTag(
                        enterprise_id=enterprise_id, segment_key=suggestion.segment,
                        status=TagStatus.SUGGESTED, score=suggestion.score,
                        reason=suggestion.reason, created_at=now,
                    )
                )  # fmt: skip
                added += 1
        await self.session.flush()
        await record_audit(self.session, actor, "chain_tag.suggest", "chain_tag", "*",
                           after={"suggested": added, "withdrawn": withdrawn},
                           at=now)  # fmt: skip
        return added

    async def tags(
        self, actor: Principal, *, status: str | None = None, segment: str | None = None,
        enterprise_id: int | None = None, limit: int = 100, offset: int = 0,
    ) -> tuple[list[SegmentTag], int]:  # fmt: skip
        """Tags, filtered; enterprise users see their own enterprises' tags."""
        where: list[sa.ColumnElement[bool]] = []
        if status:
            where.append(SegmentTag.status == status)
        if segment:
            where.append(SegmentTag.segment_key == segment)
        if enterprise_id is not None:
            where.append(SegmentTag.enterprise_id == enterprise_id)
        if not actor.sees_all_enterprises:
            where.append(SegmentTag.enterprise_id.in_(sorted(actor.enterprise_ids)))
        total = await self.session.scalar(
            sa.select(sa.func.count()).select_from(SegmentTag).where(*where)
        )
        rows = await self.session.scalars(
            sa.select(SegmentTag).where(*where)
            .order_by(SegmentTag.segment_key, SegmentTag.enterprise_id).limit(limit).offset(offset)
        )  # fmt: skip
        return list(rows), int(total or 0)

    async def decide_tag(self, actor: Principal, tag_id: int, *, confirm: bool) -> SegmentTag:
        """Confirm or reject a tag (admin or bureau), audited."""
        actor.require_role(Role.BUREAU)
        tag = await self.session.get(SegmentTag, tag_id)
        if tag is None:
            raise NotFound(N_("no chain tag {tag}"), code="tag_not_found", tag=tag_id)
        before = tag.status
        tag.status = TagStatus.CONFIRMED if confirm else TagStatus.REJECTED
        tag.decided_by = actor.name
        tag.decided_at = self.clock.now()
        await record_audit(
            self.session, actor, "chain_tag.confirm" if confirm else "chain_tag.reject",
            "chain_tag", tag.id, before={"status": before},
            after={"status": tag.status, "enterprise_id": tag.enterprise_id,
                   "segment": tag.segment_key}, at=self.clock.now(),
        )  # fmt: skip
        return tag

    async def confirm_tags(self, actor: Principal, pairs: list[tuple[int, str]]) -> int:
        """Place many enterprises in segments at once, confirmed (admin or bureau), audited."""
        actor.require_role(Role.BUREAU)
        unknown = sorted({s for _, s in pairs} - set(await self.templates.segment_index()))
        if unknown:
            raise InvalidInput(
                N_("no chain segment {segment}"), code="unknown_segment", segment=unknown[0]
            )
        now = self.clock.now()
        tags = [
            SegmentTag(enterprise_id=e, segment_key=s, status=TagStatus.CONFIRMED, score=1.0,
                       reason="analyst", created_at=now, decided_by=actor.name, decided_at=now)
            for e, s in pairs
        ]  # fmt: skip
        self.session.add_all(tags)
        await self.session.flush()
        for tag in tags:
            await record_audit(
                self.session, actor, "chain_tag.confirm", "chain_tag", tag.id,
                after={"status": tag.status, "enterprise_id": tag.enterprise_id,
                       "segment": tag.segment_key}, at=now,
            )  # fmt: skip
        return len(tags)

    async def tag(self, actor: Principal, enterprise_id: int, segment: str) -> SegmentTag:
        """Place an enterprise in a segment directly, confirmed (admin or bureau), audited."""
        actor.require_role(Role.BUREAU)
        if segment not in await self.templates.segment_index():
            raise InvalidInput(
                N_("no chain segment {segment}"), code="unknown_segment", segment=segment
            )
        await EnterpriseService(self.session, self.clock).get(actor, enterprise_id)
        tag = await self.session.scalar(
            sa.select(SegmentTag).where(
                SegmentTag.enterprise_id == enterprise_id, SegmentTag.segment_key == segment
            )
        )
        if tag is None:
            tag = SegmentTag(enterprise_id=enterprise_id, segment_key=segment,
                             status=TagStatus.SUGGESTED, score=1.0, reason="analyst",
                             created_at=self.clock.now())  # fmt: skip
            self.session.add(tag)
            await self.session.flush()
        return await self.decide_tag(actor, tag.id, confirm=True)

    # -- supply edges ---------------------------------------------------------------------

    async def enterprise(self, code: str) -> Enterprise:
        """A registered enterprise by credit code (400 when none is)."""
        return await self._enterprise(code)

    async def _enterprise(self, code: str) -> Enterprise:
        enterprise = await self.session.scalar(
            sa.select(Enterprise).where(Enterprise.credit_code == CreditCode(code).value)
        )
        if enterprise is None:
            raise InvalidInput(
                N_("no enterprise with credit code {credit_code} is registered"),
                code="unknown_enterprise",
                credit_code=code,
            )
        return enterprise

    async def add_edge(self, actor: Principal, edge: EdgeIn) -> SupplyEdge:
        """Record one supply relationship (admin or bureau), checked like an import row."""
        actor.require_role(Role.BUREAU)
        buyer = await self._enterprise(edge.buyer_code)
        supplier = await self._enterprise(edge.supplier_code) if edge.supplier_code else None
        row = check_edge(edge, buyer, supplier)
        if await self.session.scalar(
            sa.select(SupplyEdge.id).where(
                SupplyEdge.supplier_key == row.supplier_key, SupplyEdge.buyer_id == buyer.id,
                SupplyEdge.input_category == row.input_category,
            )
        ):  # fmt: skip
            raise Conflict(N_("this supply relationship is recorded already"), code="edge_exists")
        await self.check_cycle(row)
        row.created_at = self.clock.now()
        if row.supplier_id is None:
            await record_outside(self.session, actor, self.clock.now(), [(row, edge)])
        self.session.add(row)
        await self.session.flush()
        await record_audit(self.session, actor, "supply_edge.create", "supply_edge", row.id,
                           after=edge_facts(row), at=self.clock.now())  # fmt: skip
        return row

    async def check_cycle(self, row: SupplyEdge, extra: Iterable[SupplyEdge] = ()) -> None:
        """Refuse an edge that closes a cycle of the same input (A sells X to B, B to A)."""
        if row.supplier_id is None:
            return
        query = sa.select(SupplyEdge.supplier_id, SupplyEdge.buyer_id).where(
            SupplyEdge.input_category == row.input_category, SupplyEdge.supplier_id.is_not(None)
        )
        edges: list[tuple[int | None, int]] = [(a, b) for a, b in await self.session.execute(query)]
        edges += [
            (e.supplier_id, e.buyer_id) for e in extra if e.input_category == row.input_category
        ]
        path = find_path(edges, row.buyer_id, row.supplier_id)
        if path:
            raise InvalidInput(
                N_("{input} would flow in a circle through enterprises {path}"),
                code="supply_cycle",
                input=row.input_category,
                path=" → ".join(str(p) for p in [row.supplier_id, *path]),
            )

    async def edges(
        self, actor: Principal, *, enterprise_id: int | None = None, limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[SupplyEdge], int]:  # fmt: skip
        """Supply edges; enterprise users see those where their enterprise buys or sells."""
        where: list[sa.ColumnElement[bool]] = []
        if enterprise_id is not None:
            await EnterpriseService(self.session, self.clock).get(actor, enterprise_id)
            where.append(
                sa.or_(
                    SupplyEdge.buyer_id == enterprise_id, SupplyEdge.supplier_id == enterprise_id
                )
            )
        if not actor.sees_all_enterprises:
            mine = sorted(actor.enterprise_ids)
            where.append(sa.or_(SupplyEdge.buyer_id.in_(mine), SupplyEdge.supplier_id.in_(mine)))
        total = await self.session.scalar(
            sa.select(sa.func.count()).select_from(SupplyEdge).where(*where)
        )
        rows = await self.session.scalars(
            sa.select(SupplyEdge).where(*where).order_by(SupplyEdge.id).limit(limit).offset(offset)
        )
        return list(rows), int(total or 0)

    async def outside_suppliers(
        self, actor: Principal, *, limit: int = 100, offset: int = 0
    ) -> tuple[list[OutsideSupplier], int]:
        """Suppliers outside the district that edges name (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        total = await self.session.scalar(sa.select(sa.func.count()).select_from(OutsideSupplier))
        rows = await self.session.scalars(
            sa.select(OutsideSupplier).order_by(OutsideSupplier.key).limit(limit).offset(offset)
        )
        return list(rows), int(total or 0)

    # -- analytics ------------------------------------------------------------------------

    async def graph(self, actor: Principal) -> SupplyGraph:
        """The district's supply graph as plain data (staff roles only)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        segments: dict[int, set[str]] = {}
        for enterprise_id, key in await self.session.execute(
            sa.select(SegmentTag.enterprise_id, SegmentTag.segment_key).where(
                SegmentTag.status == TagStatus.CONFIRMED
            )
        ):
            segments.setdefault(enterprise_id, set()).add(key)
        codes: dict[int, str] = {}
        firms = []
        for enterprise_id, code, name in await self.session.execute(
            sa.select(Enterprise.id, Enterprise.credit_code, Enterprise.name)
        ):
            codes[enterprise_id] = code
            firms.append(
                Firm(code, name, local=True, segments=frozenset(segments.get(enterprise_id, ())))
            )
        edges = [
            Supply(key, codes[buyer], item, value, Ring(ring), substitutable)
            for key, buyer, item, value, ring, substitutable in await self.session.execute(
                sa.select(
                    SupplyEdge.supplier_key,
                    SupplyEdge.buyer_id,
                    SupplyEdge.input_category,
                    SupplyEdge.annual_value,
                    SupplyEdge.ring,
                    SupplyEdge.substitutable,
                )
            )
        ]
        graph = SupplyGraph.build(firms, edges)
        # Suppliers outside the district are nodes of their own, never local, by their name.
        for key, name in await self.session.execute(
            sa.select(OutsideSupplier.key, OutsideSupplier.name)
        ):
            graph.firms[key] = Firm(key, name, local=False)
        return graph

    async def analyze(
        self, actor: Principal, chain_key: str, limits: Thresholds | None = None,
        *, template: ChainSpec | None = None,
    ) -> tuple[ChainAnalysis, SupplyGraph]:  # fmt: skip
        """Analyse one chain by the current version of its template (or the one given)."""
        chain = template or await self.templates.get(chain_key)
        graph = await self.graph(actor)
        return analyze_chain(graph, chain, limits), graph

    async def disrupt(
        self, actor: Principal, down: list[str], *, unblock: bool = True
    ) -> tuple[Disruption, SupplyGraph]:
        """Propagate a disruption from the given credit codes (staff roles)."""
        graph = await self.graph(actor)
        return simulate(graph, [down_key(graph, raw) for raw in down], unblock=unblock), graph


def down_key(graph: SupplyGraph, raw: str) -> str:
    """The graph key of a down enterprise: a credit code, or an outside supplier by name or key."""
    malformed: InvalidInput | None = None
    try:
        code = CreditCode(raw).value
    except InvalidInput as exc:
        code, malformed = None, exc
    if code is not None and code in graph.firms:
        return code
    name = raw.strip()
    key = external_key(name.removeprefix("ext:"))
    if key in graph.firms and not graph.firms[key].local:
        return key
    if malformed is not None and name.isascii() and name.isalnum():
        raise malformed  # a mistyped credit code: say what is wrong with it
    raise InvalidInput(
        N_("no registered enterprise or outside supplier {down}"),
        code="unknown_enterprise",
        down=name,
    )


async def record_outside(
    session: AsyncSession,
    actor: Principal,
    now: datetime,
    rows: Iterable[tuple[SupplyEdge, EdgeIn]],
) -> None:
    """Create or update the outside suppliers these edges name, with the region given, audited."""
    # Per supplier, the region its rows give; a later row's value wins, an empty one keeps.
    given: dict[str, tuple[str, dict[str, str | None]]] = {}
    for row, edge in rows:
        if row.supplier_id is None:
            _, region = given.setdefault(
                row.supplier_key,
                (row.supplier_name, dict.fromkeys(("city", "province", "country"))),
            )
            for column, value in (
                ("city", edge.supplier_city),
                ("province", edge.supplier_province),
                ("country", edge.supplier_country),
            ):
                region[column] = _clean(value) or region[column]
    keys = sorted(given)
    known: dict[str, OutsideSupplier] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        known.update(
            (o.key, o)
            for o in await session.scalars(
                sa.select(OutsideSupplier).where(OutsideSupplier.key.in_(chunk))
            )
        )
    for key in keys:
        name, region = given[key]
        found = known.get(key)
        if found is None:
            session.add(OutsideSupplier(key=key, name=name, created_at=now, **region))
            await record_audit(session, actor, "outside_supplier.create", "outside_supplier",
                               key, after={"name": name, **region}, at=now)  # fmt: skip
            continue
        # A region left empty keeps what is known; a region given replaces it.
        before = {c: getattr(found, c) for c in region}
        changed = {c: v for c, v in region.items() if v is not None and before[c] != v}
        if changed:
            for column, value in changed.items():
                setattr(found, column, value)
            found.updated_at = now
            await record_audit(session, actor, "outside_supplier.update", "outside_supplier",
                               key, before=before, after={**before, **changed}, at=now)  # fmt: skip


def _clean(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    return text[:64] or None


def find_path(edges: list[tuple[int | None, int]], start: int, goal: int | None) -> list[int]:
    """A path start → … → goal along the edges, or an empty list."""
    following: dict[int, list[int]] = {}
    for a, b in edges:
        if a is not None:
            following.setdefault(a, []).append(b)
    seen = {start}
    trail: dict[int, int] = {}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        if node == goal:
            path = [node]
            while path[-1] != start:
                path.append(trail[path[-1]])
            return path[::-1]
        for nxt in following.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                trail[nxt] = node
                frontier.append(nxt)
    return []


def check_edge(edge: EdgeIn, buyer: Enterprise, supplier: Enterprise | None) -> SupplyEdge:
    """Validate an edge against its resolved enterprises; the row is not added to a session."""
    try:
        ring = Ring(edge.ring.strip().lower())
    except ValueError:
        raise InvalidInput(
            N_("{ring} is not a ring ({rings})"),
            code="bad_ring",
            ring=edge.ring,
            rings=", ".join(r.value for r in Ring),
        ) from None
    item = edge.input_category.strip()
    if not item or len(item) > 64:
        raise InvalidInput(N_("the input category needs 1 to 64 characters"), code="bad_input")
    if not 0 <= edge.annual_value <= MAX_VALUE or edge.annual_value != edge.annual_value:
        raise InvalidInput(
            N_("the annual value must be between 0 and {most} (10k yuan), not {value}"),
            code="bad_value",
            most=f"{MAX_VALUE:.0f}",
            value=str(edge.annual_value),
        )
    if supplier is None:
        name = " ".join((edge.supplier_name or "").split())
        if not name:
            raise InvalidInput(N_("give the supplier's credit code or name"), code="bad_supplier")
        if ring is Ring.DISTRICT:
            raise InvalidInput(
                N_("a supplier in the district must be registered: give its credit code"),
                code="unknown_enterprise",
            )
        key = external_key(name)
    else:
        if supplier.id == buyer.id:
            raise InvalidInput(
                N_("{buyer} cannot supply itself"), code="self_loop", buyer=buyer.name
            )
        key, name = supplier.credit_code, supplier.name
    return SupplyEdge(
        supplier_id=supplier.id if supplier else None, supplier_key=key, supplier_name=name,
        buyer_id=buyer.id, input_category=item, annual_value=float(edge.annual_value),
        ring=ring.value, substitutable=edge.substitutable, source=edge.source,
    )  # fmt: skip


def edge_facts(row: SupplyEdge) -> dict[str, object]:
    """An edge as the audit log records it."""
    return {
        "supplier": row.supplier_key, "buyer_id": row.buyer_id, "input": row.input_category,
        "value": row.annual_value, "ring": row.ring, "substitutable": row.substitutable,
        **({"source": row.source} if row.source else {}),
    }  # fmt: skip
