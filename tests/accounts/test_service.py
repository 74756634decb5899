from datetime import timedelta

import pytest
import sqlalchemy as sa

from taihu.accounts import AccountService, AuditEntry, Principal, Role
from taihu.core import (
    Conflict,
    Database,
    FrozenClock,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    Unauthenticated,
)
from taihu.settings import Settings
from tests.conftest import PASSWORD, World

ADMIN = Principal.system("test")


def accounts_for(session: object, settings: Settings, clock: FrozenClock) -> AccountService:
    return AccountService(session, settings.security, clock)  # type: ignore[arg-type]


async def test_create_user_validates_and_audits(
    db: Database, settings: Settings, clock: FrozenClock
) -> None:
    async with db.session() as session:
        accounts = accounts_for(session, settings, clock)
        user = await accounts.create_user(ADMIN, "  Li.Na ", PASSWORD, Role.BUREAU)
        assert user.username == "li.na"
        assert user.password_hash != PASSWORD
        with pytest.raises(Conflict):
            await accounts.create_user(ADMIN, "li.na", PASSWORD, Role.BUREAU)
        with pytest.raises(InvalidInput, match="at least 8"):
            await accounts.create_user(ADMIN, "wang", "short", Role.BUREAU)
        with pytest.raises(InvalidInput, match="user name"):
            await accounts.create_user(ADMIN, "bad name!", PASSWORD, Role.BUREAU)
    async with db.session() as session:
        entry = await session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "user.create")
        )
    assert entry is not None
    assert entry.actor == "test"
    assert entry.entity_id == str(user.id)
    assert entry.after == {
        "username": "li.na",
        "display_name": "li.na",
        "role": "bureau",
        "is_active": True,
    }
    assert "password" not in str(entry.after)


async def test_only_admins_create_users(
    db: Database, settings: Settings, clock: FrozenClock
) -> None:
    analyst = Principal(name="ana", role=Role.BUREAU, user_id=1)
    async with db.session() as session:
        with pytest.raises(PermissionDenied):
            await accounts_for(session, settings, clock).create_user(
                analyst, "x.y", PASSWORD, Role.ADMIN
            )


async def test_login_checks_password(
    world: World, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    await world.user("zhang", Role.BUREAU)
    async with db.session() as session:
        user = await accounts_for(session, settings, clock).login("ZHANG", PASSWORD, "10.0.0.1")
        assert user.last_login_at == clock.now()
    with pytest.raises(Unauthenticated, match="wrong user name or password"):
        async with db.session() as session:
            await accounts_for(session, settings, clock).login("zhang", "nope-nope", "10.0.0.1")
    with pytest.raises(Unauthenticated, match="wrong user name or password"):
        async with db.session() as session:
            await accounts_for(session, settings, clock).login("nobody", PASSWORD, "10.0.0.1")


async def test_login_is_throttled_per_user_and_address(
    world: World, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    await world.user("zhang", Role.BUREAU)
    for _ in range(settings.security.login_max_failures):
        with pytest.raises(Unauthenticated):
            async with db.session() as session:
                await accounts_for(session, settings, clock).login("zhang", "wrong-one", "1.2.3.4")
    # Even the right password is refused while the address is throttled …
    with pytest.raises(TooManyRequests) as info:
        async with db.session() as session:
            await accounts_for(session, settings, clock).login("zhang", PASSWORD, "1.2.3.4")
    assert 0 < info.value.retry_after <= settings.security.login_window_seconds + 1
    async with db.session() as session:  # the lock-out itself is audited, once
        locks = list(
            await session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "user.login_locked")
            )
        )
    assert [(e.entity_id, (e.after or {}).get("client")) for e in locks] == [("zhang", "1.2.3.4")]
    # … but another address is not punished for it,
    async with db.session() as session:
        await accounts_for(session, settings, clock).login("zhang", PASSWORD, "5.6.7.8")
    # and once the window has passed the first address may try again.
    clock.advance(timedelta(seconds=settings.security.login_window_seconds + 1))
    async with db.session() as session:
        await accounts_for(session, settings, clock).login("zhang", PASSWORD, "1.2.3.4")


async def test_tokens_expire_and_revoke(
    world: World, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    await world.user("zhang", Role.ENTERPRISE)
    plain = await world.token("zhang", expires_days=1)
    async with db.session() as session:
        principal = await accounts_for(session, settings, clock).authenticate_token(plain)
    assert principal.name == "zhang"
    assert principal.role is Role.ENTERPRISE

    clock.advance(timedelta(days=1))
    with pytest.raises(Unauthenticated) as info:
        async with db.session() as session:
            await accounts_for(session, settings, clock).authenticate_token(plain)
    assert info.value.code == "token_expired"

    second = await world.token("zhang")
    async with db.session() as session:
        accounts = accounts_for(session, settings, clock)
        tokens = await accounts.list_tokens(ADMIN, await accounts.get_user("zhang"))
        revoked = await accounts.revoke_token(ADMIN, tokens[-1].id)
        await accounts.revoke_token(ADMIN, tokens[-1].id)  # twice is harmless
    assert revoked.revoked_at == clock.now()
    with pytest.raises(Unauthenticated) as info:
        async with db.session() as session:
            await accounts_for(session, settings, clock).authenticate_token(second)
    assert info.value.code == "token_revoked"
    with pytest.raises(Unauthenticated) as info:
        async with db.session() as session:
            await accounts_for(session, settings, clock).authenticate_token("thu_forged")
    assert info.value.code == "bad_token"


async def test_users_cannot_revoke_each_others_tokens(
    world: World, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    owner = await world.user("owner", Role.ENTERPRISE)
    other = await world.user("other", Role.ENTERPRISE)
    await world.token("owner")
    async with db.session() as session:
        accounts = accounts_for(session, settings, clock)
        token = (await accounts.list_tokens(ADMIN, owner))[0]
        with pytest.raises(NotFound):
            await accounts.revoke_token(
                Principal(name="other", role=Role.ENTERPRISE, user_id=other.id), token.id
            )
        with pytest.raises(PermissionDenied):
            await accounts.list_tokens(
                Principal(name="other", role=Role.ENTERPRISE, user_id=other.id), owner
            )


async def test_disabled_accounts_cannot_sign_in_or_use_tokens(
    world: World, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    user = await world.user("gone", Role.BUREAU)
    plain = await world.token("gone")
    async with db.session() as session:
        await session.execute(sa.update(type(user)).values(is_active=False))
    for attempt in (
        lambda a: a.login("gone", PASSWORD, "x"),
        lambda a: a.authenticate_token(plain),
    ):
        with pytest.raises(Unauthenticated, match="disabled"):
            async with db.session() as session:
                await attempt(accounts_for(session, settings, clock))


async def test_sessions_end_and_expire(
    world: World, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    user = await world.user("zhang", Role.BUREAU)
    async with db.session() as session:
        cookie, _row = await accounts_for(session, settings, clock).start_session(user)
    async with db.session() as session:
        info = await accounts_for(session, settings, clock).resume_session(cookie)
    assert info.principal.name == "zhang"
    assert len(info.csrf_token) >= 32
    clock.advance(timedelta(hours=settings.security.session_hours))
    with pytest.raises(Unauthenticated):
        async with db.session() as session:
            await accounts_for(session, settings, clock).resume_session(cookie)
