"""Failed sign-ins counted in the database, so a lock-out holds across workers and restarts.

Each failure is a ``LoginFailure`` row under a key (who tried, from where). Once a key has
``max_failures`` failures inside the sliding window, ``check`` refuses with ``TooManyRequests``
until the oldest of them leaves the window; a success clears the key. Console logins, HTTP Basic
``INDEX:HANDLE`` logins and Handle wire challenge answers all count here, each under its own key.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts.models import LoginFailure
from taihu.core import N_, Clock, SystemClock, TooManyRequests
from taihu.settings import SecuritySettings

__all__ = ["LoginThrottle", "throttle_key"]

_KEY_SIZE = 200


def throttle_key(kind: str, who: str, client: str) -> str:
    """The key failures are counted under: what was tried, as whom, from which address."""
    return f"{kind}:{who}|{client}"[:_KEY_SIZE]


class LoginThrottle:
    """Counts failures per key within the caller's session; failures are committed at once."""

    def __init__(
        self, session: AsyncSession, security: SecuritySettings, clock: Clock | None = None
    ) -> None:
        self.session = session
        self.max_failures = security.login_max_failures
        self.window = timedelta(seconds=security.login_window_seconds)
        self.clock = clock or SystemClock()

    async def check(self, key: str, *, code: str | None = None) -> None:
        """Raise ``TooManyRequests`` (with the seconds to wait) while ``key`` is locked out."""
        now = self.clock.now()
        failures = list(
            await self.session.scalars(
                sa.select(LoginFailure.at)
                .where(LoginFailure.key == key, LoginFailure.at >= now - self.window)
                .order_by(LoginFailure.at)
            )
        )
        if len(failures) >= self.max_failures:
            retry = failures[-self.max_failures] + self.window - now
            raise TooManyRequests(
                N_("too many failed sign-ins; try again later"),
                retry_after=max(1, int(retry.total_seconds()) + 1),
                code=code,
            )

    async def failed(self, key: str) -> bool:
        """Count one failure (committed: the caller's unit of work ends in an error).

        Returns whether this failure starts a lock-out, so the caller can audit it once.
        """
        now = self.clock.now()
        start = now - self.window
        self.session.add(LoginFailure(key=key, at=now))
        await self.session.execute(sa.delete(LoginFailure).where(LoginFailure.at < start))
        count = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key == key, LoginFailure.at >= start)
        )
        await self.session.commit()
        return count == self.max_failures

    async def succeeded(self, key: str) -> None:
        """Forget the failures of ``key`` (in the caller's unit of work)."""
        await self.session.execute(sa.delete(LoginFailure).where(LoginFailure.key == key))
