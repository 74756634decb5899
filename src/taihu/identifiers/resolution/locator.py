"""Which prefixes this node answers for: the seam where the node hierarchy plugs in referrals.

The Handle server's dispatch asks a ``PrefixLocator`` before touching any handle::

    answer = await locator.locate(prefix, request)
    answer is None      -> this node serves the prefix; the dispatch goes on
    answer is Answer    -> sent back as it is: RC 301 SERVER_NOT_RESP (the default),
                           a referral (RC 302/303 with a ``ReferralBody``), or a whole
                           result obtained recursively (RC 1 with a ``ResolutionResponse``)

``prefix`` is the normalized prefix of the handle in the request (``0.NA`` for prefix handles
``0.NA/X``; for LIST_HANDLES, HOME_NA and UNHOME_NA the prefix ``X`` named by ``0.NA/X``).
``LocalPrefixes``, the default, serves the prefixes registered here that are not revoked and
answers anything else with "That prefix doesn't live here", as the Handle.Net server does.
Plug another locator in with ``handle_server_for(..., locator=...)``; it may wrap a
``LocalPrefixes``. Only with ``LocalPrefixes`` itself does the server answer cached resolutions
in the datagram callback; any other locator is asked through ``locate`` for every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from taihu.core import Database
from taihu.identifiers.models import Prefix
from taihu.identifiers.wire.messages import Body, ErrorBody, Message, ResponseCode

__all__ = ["NOT_HERE", "Answer", "LocalPrefixes", "PrefixLocator"]

NOT_HERE = "That prefix doesn't live here"
_REFRESH = 1.0
_STALE = 5.0

log = logging.getLogger("taihu.identifiers.handle")


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply decided by the locator instead of the local dispatch."""

    code: ResponseCode
    body: Body


class PrefixLocator(Protocol):
    """Decides whether this node answers for a prefix, and what to say when it does not."""

    async def locate(self, prefix: str, request: Message) -> Answer | None:
        """``None`` when this node serves ``prefix``, else the reply to send."""
        ...


class LocalPrefixes:
    """The default locator: prefixes registered here and not revoked, re-read each second."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._served: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()
        self._rereading: asyncio.Task[None] | None = None

    async def served(self) -> frozenset[str]:
        """The normalized prefixes this node serves."""
        if time.monotonic() - self._read_at <= _REFRESH:
            return self._served
        # One reader at a time: a burst of requests at expiry must not become a burst of queries.
        async with self._lock:
            if time.monotonic() - self._read_at > _REFRESH:
                async with self._db.session() as session:
                    rows = await session.scalars(
                        sa.select(Prefix.prefix).where(Prefix.status != "revoked")
                    )
                    self._served = frozenset(rows)
                self._read_at = time.monotonic()
        return self._served

    def served_now(self) -> frozenset[str] | None:
        """The served prefixes without waiting; ``None`` when the last read is too old to use.

        When a re-read is due it starts in the background and the set read last answers
        meanwhile (up to ``_STALE`` seconds old), so the hot path never waits for it.
        """
        age = time.monotonic() - self._read_at
        if age <= _REFRESH:
            return self._served
        if age > _STALE:
            return None
        if self._rereading is None:
            self._rereading = asyncio.get_running_loop().create_task(self._reread())
        return self._served

    async def _reread(self) -> None:
        try:
            await self.served()
        except Exception:  # the next request tries again; past _STALE it waits for the read
            log.exception("could not read the served prefixes")
        finally:
            self._rereading = None

    async def aclose(self) -> None:
        """Wait for a background re-read under way, if any."""
        if self._rereading is not None:
            with contextlib.suppress(Exception):
                await self._rereading

    def forget(self) -> None:
        """Read the prefixes again at the next request (after a local change)."""
        self._read_at = float("-inf")

    async def locate(self, prefix: str, request: Message) -> Answer | None:  # noqa: ARG002
        """Serve local prefixes; RC 301 for the rest."""
        if prefix in await self.served():
            return None
        return Answer(ResponseCode.SERVER_NOT_RESP, ErrorBody(NOT_HERE))
