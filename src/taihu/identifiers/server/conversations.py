"""Challenges awaiting an answer: per peer (a TCP connection or a UDP address) and by session id.

A ``Conversation`` finds a challenge by the request id its answer repeats (Taihu's client, on
the same connection). A ``ChallengeBook`` finds it by the session id the challenge named (the
Handle.Net client, often from a new socket) and lets it be answered once: ``MemoryChallenges``
in this process, or ``shared_state.DatabaseChallenges`` where every resolver process finds it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from taihu.identifiers.wire import Message, RequestDigest

__all__ = [
    "PENDING_PER_CONVERSATION",
    "PENDING_SESSIONS",
    "ChallengeBook",
    "Conversation",
    "MemoryChallenges",
    "Pending",
]

PENDING_PER_CONVERSATION = 16
PENDING_SESSIONS = 4096  # challenges awaiting an answer on any connection, oldest dropped


@dataclass(slots=True)
class Pending:
    """A challenge sent and not answered yet: the request it guards, its nonce and deadline."""

    request: Message
    signed: bytes
    digest: RequestDigest
    nonce: bytes
    expires: float  # time.monotonic() of this process
    session: int
    answered: bool = False
    binds: bool = False  # a proven answer authenticates the session (its request had the MAC)


@dataclass(slots=True)
class Conversation:
    """Challenges pending with one peer (its address in ``peer``), oldest first, a few at most."""

    pending: OrderedDict[int, Pending] = field(default_factory=OrderedDict)
    peer: str = ""

    def add(self, request_id: int, pending: Pending) -> None:
        """Remember a challenge (the oldest is dropped past the bound)."""
        self.pending[request_id] = pending
        while len(self.pending) > PENDING_PER_CONVERSATION:
            self.pending.popitem(last=False)


class ChallengeBook(Protocol):
    """Pending challenges by the session id they named, each answered once."""

    async def add(self, pending: Pending) -> None:
        """Remember a challenge just sent."""
        ...

    async def take(self, session_id: int) -> Pending | None:
        """The challenge that named ``session_id``, claimed (no one else may answer it)."""
        ...

    async def claim(self, pending: Pending) -> bool:
        """Claim a challenge found in a conversation; ``False`` if it was answered already."""
        ...


class MemoryChallenges:
    """The challenges of this process, the oldest dropped past ``PENDING_SESSIONS``."""

    def __init__(self) -> None:
        self._by_session: OrderedDict[int, Pending] = OrderedDict()

    async def add(self, pending: Pending) -> None:
        """Remember a challenge just sent."""
        self._by_session[pending.session] = pending
        while len(self._by_session) > PENDING_SESSIONS:
            self._by_session.popitem(last=False)

    async def take(self, session_id: int) -> Pending | None:
        """The challenge that named ``session_id``, claimed."""
        pending = self._by_session.get(session_id)
        if pending is None or not await self.claim(pending):
            return None
        return pending

    async def claim(self, pending: Pending) -> bool:
        """Claim a challenge; ``False`` if answered already (whichever way the answer came)."""
        if pending.answered:
            return False
        pending.answered = True
        self._by_session.pop(pending.session, None)
        return True
