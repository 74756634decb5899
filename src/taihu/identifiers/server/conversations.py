"""Challenges awaiting an answer, kept per peer (a TCP connection or a UDP address)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from taihu.identifiers.wire import Message, RequestDigest

__all__ = ["PENDING_PER_CONVERSATION", "Conversation", "Pending"]

PENDING_PER_CONVERSATION = 16


@dataclass(slots=True)
class Pending:
    """A challenge sent and not answered yet: the request it guards, its nonce and deadline."""

    request: Message
    signed: bytes
    digest: RequestDigest
    nonce: bytes
    expires: float
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
