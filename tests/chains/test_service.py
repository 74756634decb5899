"""Tags, supply edges and their import on a real database."""

import pytest
from sqlalchemy import func, select

from taihu.accounts import AuditEntry, Principal, Role
from taihu.chains import (
    ChainService,
    EdgeIn,
    SegmentTag,
    SupplyEdge,
    TagStatus,
    import_edges,
    suggest_segments,
)
from taihu.chains.templates import builtin_templates
from taihu.core import Database, FrozenClock, InvalidInput, PermissionDenied
from taihu.enterprises import EnterpriseService, Profile, industry_class
from tests.conftest import CODE_A, CODE_B

CODE_C = "91320509MA0TXT0377"
SYSTEM = Principal.system("test")


async def _registry(db: Database, clock: FrozenClock) -> dict[str, int]:
    ids = {}
    async with db.session() as session:
        registry = EnterpriseService(session, clock)
        for code, name, industry in (
            (CODE_A, "七都示例光纤预制棒", "3832"),
            (CODE_B, "七都示例光缆", "3833"),
            (CODE_C, "盛泽示例涤纶长丝", "2822"),
        ):
            created = await registry.create(SYSTEM, name, code, Profile(industry_code=industry))
            ids[code] = created.id
    return ids


def test_templates_are_six_chains_of_real_classes() -> None:
    chains = builtin_templates()
    assert [c.key for c in chains] == [
        "optical-fibre", "polyester", "elevator", "display", "ic", "components"
    ]  # fmt: skip
    keys = [s.key for c in chains for s in c.segments]
    assert len(keys) == len(set(keys))
    for chain in chains:
        for segment in chain.segments:
            for code in segment.codes:
                assert industry_class(code).level == "class", (segment.key, code)


def test_suggestions_score_class_and_keywords() -> None:
    got = suggest_segments(builtin_templates(), "3832", "七都示例光纤预制棒有限公司")
    # class 3832 + keyword 预制棒 -> 1.0 for preforms; class + keyword 光纤 -> 1.0 for fibre
    assert [(s.segment, s.score) for s in got[:2]] == [("fibre.fibre", 1.0), ("fibre.preform", 1.0)]
    only_name = suggest_segments(builtin_templates(), None, "某某电梯安装公司")
    assert {s.segment for s in only_name} == {"lift.complete", "lift.service"}
    assert all(s.score == 0.4 for s in only_name)
    assert suggest_segments(builtin_templates(), "0111", "稻谷种植") == []


async def test_tags_are_suggested_then_confirmed_and_audited(db: Database, clock) -> None:
    ids = await _registry(db, clock)
    async with db.session() as session:
        added = await ChainService(session, clock).suggest_tags(SYSTEM)
    assert added >= 3
    async with db.session() as session:
        service = ChainService(session, clock)
        tags, _ = await service.tags(SYSTEM, enterprise_id=ids[CODE_B])
        assert [(t.segment_key, t.status) for t in tags] == [("fibre.cable", "suggested")]
        confirmed = await service.decide_tag(SYSTEM, tags[0].id, confirm=True)
        assert confirmed.status == TagStatus.CONFIRMED
    async with db.session() as session:
        again = await ChainService(session, clock).suggest_tags(SYSTEM)
        assert again == 0  # nothing new; the decision stands
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "chain_tag.confirm")
        )
        assert entry is not None
        assert entry.after == {"status": "confirmed", "enterprise_id": ids[CODE_B],
                               "segment": "fibre.cable"}  # fmt: skip
    async with db.session() as session:
        with pytest.raises(PermissionDenied):
            await ChainService(session, clock).suggest_tags(Principal("f", Role.ENTERPRISE))


EDGES = "supplier_code,supplier_name,buyer_code,input_category,annual_value,ring,substitutable\n"


async def _edge_count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(SupplyEdge)) or 0)


async def test_edge_import_reports_every_kind_of_bad_row(db: Database, clock) -> None:
    await _registry(db, clock)
    unknown = "91320509MA0TXT029C"  # valid, never registered
    content = (
        EDGES
        + f"{CODE_A},,{CODE_B},fibre.fibre,1200,区内,0\n"  # fine
        + f"{unknown},,{CODE_B},fibre.sheath,10,district,0\n"  # unknown supplier
        + f"{CODE_A},,{CODE_B},fibre.preform,-5,district,0\n"  # negative value
        + f"{CODE_B},,{CODE_B},fibre.cable,5,district,0\n"  # self-loop
        + f",某外地预制棒厂,{CODE_A},fibre.preform,300,moon,0\n"  # unknown ring
        + f",某区内无名厂,{CODE_A},fibre.preform,300,district,0\n"  # district needs registry
        + f"{CODE_B},,{CODE_A},fibre.fibre,5,district,0\n"  # fibre would flow A -> B -> A
        + f"{CODE_A},,{CODE_C},poly.fibre,abc,district,maybe\n"  # not a number, not a flag
    ).encode()
    async with db.session() as session:
        report = await import_edges(session, clock, SYSTEM, "edges.csv", content)
    got = sorted((p.row, p.column) for p in report.problems)
    assert got == [
        (3, "supplier_code"),
        (4, "annual_value"),
        (5, "supplier_code"),
        (6, "ring"),
        (7, "supplier_name"),
        (8, "supplier_code"),
        (9, "annual_value"),
        (9, "substitutable"),
    ]
    reasons = {p.row: p.reason for p in report.problems}
    assert "registered" in reasons[3]
    assert "cannot supply itself" in reasons[5]
    assert "circle" in reasons[8]
    assert not report.applied
    assert await _edge_count(db) == 0


async def test_edge_import_writes_and_reimport_updates(db: Database, clock) -> None:
    await _registry(db, clock)
    first = (
        EDGES
        + f"{CODE_A},,{CODE_B},fibre.fibre,1200,区内,0\n"
        + f",Example Preform GmbH,{CODE_A},fibre.preform,300,abroad,\n"
    ).encode()
    async with db.session() as session:
        report = await import_edges(session, clock, SYSTEM, "edges.csv", first)
    assert (report.created, report.applied) == (2, True)
    second = (EDGES + f"{CODE_A},,{CODE_B},fibre.fibre,1500,district,1\n").encode()
    async with db.session() as session:
        report = await import_edges(session, clock, SYSTEM, "edges.csv", second)
    assert (report.created, report.updated) == (0, 1)
    async with db.session() as session:
        edge = await session.scalar(select(SupplyEdge).where(SupplyEdge.supplier_id.is_not(None)))
        assert edge is not None
        assert (edge.annual_value, edge.substitutable) == (1500, True)
        outside = await session.scalar(select(SupplyEdge).where(SupplyEdge.supplier_id.is_(None)))
        assert outside is not None
        assert outside.supplier_key == "ext:Example Preform GmbH"
    assert await _edge_count(db) == 2


async def test_one_edge_through_the_service(db: Database, clock) -> None:
    ids = await _registry(db, clock)
    async with db.session() as session:
        service = ChainService(session, clock)
        edge = await service.add_edge(
            SYSTEM, EdgeIn(CODE_B, "fibre.fibre", 10, supplier_code=CODE_A)
        )
        assert (edge.supplier_id, edge.buyer_id) == (ids[CODE_A], ids[CODE_B])
        with pytest.raises(InvalidInput, match="circle"):
            await service.add_edge(SYSTEM, EdgeIn(CODE_A, "fibre.fibre", 10, supplier_code=CODE_B))
        # a different input may flow the other way: cycles across inputs are real supply
        await service.add_edge(SYSTEM, EdgeIn(CODE_A, "fibre.sheath", 1, supplier_code=CODE_B))


async def test_graph_and_analysis_from_the_database(db: Database, clock) -> None:
    ids = await _registry(db, clock)
    async with db.session() as session:
        service = ChainService(session, clock)
        await service.tag(SYSTEM, ids[CODE_A], "fibre.fibre")
        await service.tag(SYSTEM, ids[CODE_B], "fibre.cable")
        await service.add_edge(SYSTEM, EdgeIn(CODE_B, "fibre.fibre", 80, supplier_code=CODE_A))
        await service.add_edge(
            SYSTEM, EdgeIn(CODE_B, "fibre.fibre", 20, ring="abroad", supplier_name="海外光纤")
        )
    async with db.session() as session:
        service = ChainService(session, clock)
        analysis, _ = await service.analyze(SYSTEM, "optical-fibre")
        by_key = {s.key: s for s in analysis.segments}
        assert analysis.completeness == pytest.approx(2 / 6)
        assert by_key["fibre.fibre"].local_ratio == pytest.approx(0.8)
        assert by_key["fibre.preform"].missing
        result, _graph = await service.disrupt(SYSTEM, [CODE_A])
        assert result.fallen == []  # B still has the foreign supplier
        with pytest.raises(PermissionDenied):
            await service.analyze(Principal("f", Role.ENTERPRISE), "optical-fibre")
        tags = await session.scalar(select(func.count()).select_from(SegmentTag))
        assert tags == 2


async def test_outside_suppliers_are_nodes_of_their_own(db: Database, clock) -> None:
    # Suppliers beyond the district are named with their region, never count as local members
    # of a segment, and can be taken down in a what-if by name or key.
    ids = await _registry(db, clock)
    content = (
        "supplier_code,supplier_name,供应商城市,省份,国家,buyer_code,input_category,"
        "annual_value,ring\n"
        f",某示例化工 (上海),上海,上海,中国,{CODE_A},fibre.chemicals,300,国内\n"
        f",Example Chemicals AG,Leverkusen,,Germany,{CODE_A},fibre.chemicals,100,abroad\n"
        f",某示例化工 (上海),,,,{CODE_B},fibre.chemicals,50,china\n"
        f"{CODE_A},,,,,{CODE_B},fibre.preform,800,district\n"
    ).encode()
    async with db.session() as session:
        report = await import_edges(session, clock, SYSTEM, "edges.csv", content)
        assert (report.created, report.problems) == (4, [])
        await ChainService(session, clock).tag(SYSTEM, ids[CODE_A], "fibre.preform")
    async with db.session() as session:
        service = ChainService(session, clock)
        outside, total = await service.outside_suppliers(SYSTEM)
        assert total == 2
        assert [(o.key, o.city, o.province, o.country) for o in outside] == [
            ("ext:Example Chemicals AG", "Leverkusen", None, "Germany"),
            ("ext:某示例化工 (上海)", "上海", "上海", "中国"),  # the empty region kept
        ]
        audit = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "outside_supplier.create")
        )
        assert audit == 2
        analysis, _ = await service.analyze(SYSTEM, "optical-fibre")
        chemicals = next(s for s in analysis.segments if s.key == "fibre.chemicals")
        assert (chemicals.missing, chemicals.members, chemicals.local_ratio) == (True, [], 0.0)
        result, _ = await service.disrupt(SYSTEM, ["某示例化工 (上海)"])
        assert result.down == ["ext:某示例化工 (上海)"]
        assert [f.key for f in result.fallen] == [CODE_B]  # A keeps its German supplier
        both, _ = await service.disrupt(SYSTEM, ["ext:某示例化工 (上海)", "Example Chemicals AG"])
        assert {f.key for f in both.fallen} == {CODE_A, CODE_B}
        with pytest.raises(InvalidInput, match="no registered enterprise or outside supplier"):
            await service.disrupt(SYSTEM, ["Nobody Ltd"])
