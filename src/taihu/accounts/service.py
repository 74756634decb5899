"""Accounts: users, memberships, API tokens, console sessions and sign-in throttling."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts.audit import record_audit
from taihu.accounts.models import ApiToken, ConsoleSession, Membership, User
from taihu.accounts.principal import Principal, Role
from taihu.accounts.throttle import LoginThrottle
from taihu.core import (
    N_,
    Clock,
    Conflict,
    InvalidInput,
    NotFound,
    SystemClock,
    Unauthenticated,
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    verify_password,
)
from taihu.settings import SecuritySettings

__all__ = ["AccountService", "IssuedToken", "SessionInfo"]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 8
# last_used_at is informational; writing it on every request would put a write on the read path.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_PREFIX = "thu"  # noqa: S105 - a public marker that makes tokens greppable, not a secret
SESSION_PREFIX = "ths"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just created: the plain value is shown once and never stored."""

    token: ApiToken
    plain: str


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A valid console session: who it is and the CSRF token its forms must carry."""

    principal: Principal
    csrf_token: str
    session_id: int


class AccountService:
    """Users, tokens and sessions, within one unit of work."""

    def __init__(
        self,
        session: AsyncSession,
        security: SecuritySettings,
        clock: Clock | None = None,
    ) -> None:
        self.session = session
        self.security = security
        self.clock = clock or SystemClock()

    # -- users -------------------------------------------------------------------------------

    async def create_user(
        self,
        actor: Principal,
        username: str,
        password: str,
        role: Role,
        *,
        display_name: str = "",
    ) -> User:
        """Create a user; only admins may."""
        actor.require_role()
        username = username.strip().lower()
        if not _USERNAME.match(username):
            raise InvalidInput(
                N_(
                    "a user name is 2-64 characters: lower-case letters, digits, '.', '_' or '-', "
                    "starting with a letter or digit"
                ),
                code="bad_username",
            )
        check_password(password)
        if await self.session.scalar(sa.select(User.id).where(User.username == username)):
            raise Conflict(
                N_("user {username!r} exists already"), username=username, code="user_exists"
            )
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=hash_password(password),
            role=role.value,
            created_at=self.clock.now(),
        )
        self.session.add(user)
        await self.session.flush()
        await record_audit(
            self.session, actor, "user.create", "user", user.id,
            after=_user_state(user), at=self.clock.now(),
        )  # fmt: skip
        return user

    async def get_user(self, username: str) -> User:
        """A user by name."""
        user = await self.session.scalar(
            sa.select(User).where(User.username == username.strip().lower())
        )
        if user is None:
            raise NotFound(N_("no user {username!r}"), username=username, code="user_not_found")
        return user

    async def list_users(self, actor: Principal) -> list[User]:
        """Every user, for admins and the bureau."""
        actor.require_role(Role.BUREAU)
        return list(await self.session.scalars(sa.select(User).order_by(User.username)))

    async def add_membership(self, actor: Principal, user: User, enterprise_id: int) -> None:
        """Let a user act for an enterprise."""
        actor.require_role()
        exists = await self.session.get(Membership, (user.id, enterprise_id))
        if exists is not None:
            return
        self.session.add(
            Membership(user_id=user.id, enterprise_id=enterprise_id, created_at=self.clock.now())
        )
        await self.session.flush()
        await record_audit(
            self.session, actor, "membership.create", "user", user.id,
            after={"user": user.username, "enterprise_id": enterprise_id}, at=self.clock.now(),
        )  # fmt: skip

    async def summary(self) -> dict[str, int]:
        """Head counts for the console: users and API tokens still usable."""
        now = self.clock.now()
        users = await self.session.scalar(sa.select(sa.func.count()).select_from(User))
        tokens = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(ApiToken)
            .where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        )
        return {"users": int(users or 0), "active_tokens": int(tokens or 0)}

    async def enterprise_ids(self, user_id: int) -> frozenset[int]:
        """The enterprises a user acts for."""
        rows = await self.session.scalars(
            sa.select(Membership.enterprise_id).where(Membership.user_id == user_id)
        )
        return frozenset(rows)

    async def principal_for(self, user: User) -> Principal:
        """The principal a signed-in user acts as."""
        return Principal(
            name=user.username,
            role=Role(user.role),
            user_id=user.id,
            enterprise_ids=await self.enterprise_ids(user.id),
        )

    # -- sign-in -----------------------------------------------------------------------------

    async def login(self, username: str, password: str, client: str) -> User:
        """Check a user name and password, throttling repeated failures per name and address."""
        username = username.strip().lower()
        throttle = LoginThrottle(self.session, self.security, self.clock)
        key = f"{username}|{client}"[:200]  # the key earlier versions counted under
        await throttle.check(key)
        user = await self.session.scalar(sa.select(User).where(User.username == username))
        if not verify_password(user.password_hash if user else None, password) or user is None:
            if await throttle.failed(key):
                await record_audit(
                    self.session,
                    Principal(name=username, role=Role.ENTERPRISE),
                    "user.login_locked",
                    "user",
                    username,
                    after={"client": client, "failures": throttle.max_failures},
                    at=self.clock.now(),
                )
                await self.session.commit()
            raise Unauthenticated(N_("wrong user name or password"), code="bad_credentials")
        if not user.is_active:
            raise Unauthenticated(N_("this account is disabled"), code="account_disabled")
        await throttle.succeeded(key)
        if password_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = self.clock.now()
        return user

    # -- API tokens --------------------------------------------------------------------------

    async def create_token(
        self,
        actor: Principal,
        user: User,
        *,
        name: str = "",
        expires_days: int | None = None,
    ) -> IssuedToken:
        """Issue an API token for a user (the user themself or an admin)."""
        if actor.user_id != user.id:
            actor.require_role()
        days = self.security.token_days if expires_days is None else expires_days
        if not 1 <= days <= 3650:
            raise InvalidInput(N_("a token lives 1 to 3650 days"), code="bad_expiry")
        plain, digest = new_token(TOKEN_PREFIX)
        now = self.clock.now()
        token = ApiToken(
            user_id=user.id,
            name=name.strip()[:128],
            token_hash=digest,
            hint=plain[: len(TOKEN_PREFIX) + 5],
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        self.session.add(token)
        await self.session.flush()
        await record_audit(
            self.session, actor, "token.create", "api_token", token.id,
            after=_token_state(token, user), at=now,
        )  # fmt: skip
        return IssuedToken(token=token, plain=plain)

    async def list_tokens(self, actor: Principal, user: User | None = None) -> list[ApiToken]:
        """Tokens of one user (own tokens, or any for admins), or of everyone for admins."""
        query = sa.select(ApiToken).order_by(ApiToken.id)
        if user is None or user.id != actor.user_id:
            actor.require_role()
        if user is not None:
            query = query.where(ApiToken.user_id == user.id)
        return list(await self.session.scalars(query))

    async def revoke_token(self, actor: Principal, token_id: int) -> ApiToken:
        """Revoke a token (its owner or an admin); revoking twice is harmless."""
        token = await self.session.get(ApiToken, token_id)
        if token is None or (token.user_id != actor.user_id and not actor.is_admin):
            # Someone else's token is reported as absent, so ids cannot be probed.
            raise NotFound(N_("no token {token_id}"), token_id=token_id, code="token_not_found")
        if token.revoked_at is None:
            before = {"revoked_at": None}
            token.revoked_at = self.clock.now()
            await record_audit(
                self.session, actor, "token.revoke", "api_token", token.id,
                before=before, after={"revoked_at": token.revoked_at.isoformat()},
                at=self.clock.now(),
            )  # fmt: skip
        return token

    async def authenticate_token(self, plain: str) -> Principal:
        """The principal behind a bearer token, or ``Unauthenticated``."""
        row = (
            await self.session.execute(
                sa.select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == hash_token(plain))
            )
        ).one_or_none()
        if row is None:
            raise Unauthenticated(N_("unknown API token"), code="bad_token")
        token, user = row
        now = self.clock.now()
        if token.revoked_at is not None:
            raise Unauthenticated(N_("this API token was revoked"), code="token_revoked")
        if token.expires_at is not None and token.expires_at <= now:
            raise Unauthenticated(N_("this API token has expired"), code="token_expired")
        if not user.is_active:
            raise Unauthenticated(N_("this account is disabled"), code="account_disabled")
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            token.last_used_at = now
        return await self.principal_for(user)

    # -- console sessions --------------------------------------------------------------------

    async def start_session(self, user: User) -> tuple[str, ConsoleSession]:
        """Open a console session for a signed-in user: ``(cookie value, session)``."""
        plain, digest = new_token(SESSION_PREFIX)
        now = self.clock.now()
        row = ConsoleSession(
            token_hash=digest,
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=self.security.session_hours),
        )
        self.session.add(row)
        await self.session.execute(sa.delete(ConsoleSession).where(ConsoleSession.expires_at < now))
        await self.session.flush()
        await record_audit(
            self.session, await self.principal_for(user), "session.create", "user", user.id,
            at=now,
        )  # fmt: skip
        return plain, row

    async def resume_session(self, plain: str) -> SessionInfo:
        """The console session behind a cookie value, or ``Unauthenticated``."""
        row = (
            await self.session.execute(
                sa.select(ConsoleSession, User)
                .join(User, User.id == ConsoleSession.user_id)
                .where(ConsoleSession.token_hash == hash_token(plain))
            )
        ).one_or_none()
        if row is None:
            raise Unauthenticated(N_("please sign in"), code="no_session")
        console_session, user = row
        if console_session.expires_at <= self.clock.now() or not user.is_active:
            raise Unauthenticated(
                N_("your session has ended; please sign in again"), code="no_session"
            )
        return SessionInfo(
            principal=await self.principal_for(user),
            csrf_token=console_session.csrf_token,
            session_id=console_session.id,
        )

    async def end_session(self, actor: Principal, plain: str) -> None:
        """Sign a browser out."""
        await self.session.execute(
            sa.delete(ConsoleSession).where(ConsoleSession.token_hash == hash_token(plain))
        )
        await record_audit(
            self.session, actor, "session.end", "user", actor.user_id, at=self.clock.now()
        )


def check_password(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            N_("a password needs at least {min_password_length} characters"),
            min_password_length=MIN_PASSWORD_LENGTH,
            code="weak_password",
        )


def _user_state(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "is_active": user.is_active,
    }


def _token_state(token: ApiToken, user: User) -> dict[str, object]:
    return {
        "user": user.username,
        "name": token.name,
        "hint": token.hint,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }
