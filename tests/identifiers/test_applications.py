"""Real-name review of prefix applications: apply, approve or reject, suspend, revoke."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Principal, Role
from taihu.core import Conflict, Database, InvalidInput, PermissionDenied
from taihu.identifiers.prefixes import ApplicationService
from tests.conftest import CODE_B, World

pytestmark = pytest.mark.usefixtures("prefixes")


async def test_apply_approve_and_timeline(db: Database, world: World) -> None:
    other = await world.enterprise("Wujiang Cable", CODE_B)
    applicant = Principal(
        "cable-user", Role.ENTERPRISE, user_id=None, enterprise_ids=frozenset({other.id})
    )
    auditor = Principal("auditor", Role.AUDITOR)
    async with db.session() as session:
        service = ApplicationService(session, world.clock)
        application = await service.apply(
            applicant, other.id, contact="王工 0512-6300 0000", industry_class="3833"
        )
        assert application.prefix == "88.118.9"  # next free after 88.118.8
        assert application.status == "pending"
        with pytest.raises(PermissionDenied):
            await service.approve(applicant, application.id)
        approved = await service.approve(auditor, application.id)
        assert approved.status == "approved"
        with pytest.raises(Conflict):
            await service.approve(auditor, application.id)
        prefix = await service.identifiers.get_prefix("88.118.9")
        assert (prefix.kind, prefix.enterprise_id, prefix.status) == (
            "enterprise",
            other.id,
            "active",
        )
        await service.set_status(auditor, "88.118.9", "suspended")
        await service.set_status(auditor, "88.118.9", "active")
        await service.set_status(auditor, "88.118.9", "revoked")
        with pytest.raises(Conflict):
            await service.set_status(auditor, "88.118.9", "active")
        steps = [(s["actor"], s["action"]) for s in approved.timeline]
    assert steps == [
        ("cable-user", "applied"),
        ("auditor", "approved"),
        ("auditor", "suspended"),
        ("auditor", "activated"),
        ("auditor", "revoked"),
    ]
    async with db.session() as session:
        actions = list(await session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert "prefix_application.apply" in actions
    assert "prefix_application.approve" in actions
    assert actions[-1] == "prefix.revoked"


async def test_reject_needs_a_reason(db: Database, world: World, prefixes: int) -> None:
    auditor = Principal("auditor", Role.AUDITOR)
    async with db.session() as session:
        service = ApplicationService(session, world.clock)
        application = await service.apply(
            Principal.system("test"), prefixes, contact="李经理 138 0000 0000",
            industry_class="3435", prefix="88.118.20",
        )  # fmt: skip
        with pytest.raises(InvalidInput, match="reason"):
            await service.reject(auditor, application.id, " ")
        rejected = await service.reject(auditor, application.id, "营业执照与名称不符")
        assert (rejected.status, rejected.reason) == ("rejected", "营业执照与名称不符")
        assert rejected.timeline[-1]["note"] == "营业执照与名称不符"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"prefix": "88.118.8"}, Conflict),  # taken
        ({"prefix": "77.1"}, InvalidInput),  # not under the node prefix
        ({"industry_class": "99x"}, InvalidInput),
        ({"contact": " "}, InvalidInput),
    ],
)
async def test_bad_applications(
    db: Database, world: World, prefixes: int, kwargs: dict[str, str], error: type[Exception]
) -> None:
    fields = {"contact": "王工 0512", "industry_class": "3435", **kwargs}
    async with db.session() as session:
        with pytest.raises(error):
            await ApplicationService(session, world.clock).apply(
                Principal.system("test"), prefixes, **fields
            )


async def test_another_enterprise_cannot_apply_for_you(
    db: Database, world: World, prefixes: int
) -> None:
    stranger = Principal("stranger", Role.ENTERPRISE, enterprise_ids=frozenset({999}))
    async with db.session() as session:
        with pytest.raises(PermissionDenied):
            await ApplicationService(session, world.clock).apply(
                stranger, prefixes, contact="x y", industry_class="3435"
            )
