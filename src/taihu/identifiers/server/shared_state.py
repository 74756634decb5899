"""Handle challenges and sessions kept in the database, so any resolver process answers them.

    process A: admin request ─► RC 402 ─► INSERT id_handle_challenges (the session id named,
                                          nonce, request digest, the request, its expiry)
    process B: CHALLENGE_RESPONSE ─► DELETE … WHERE session_id = ? RETURNING … (claimed once,
                                     whichever process the answer reaches)
    any: SESSION_SETUP ─► INSERT id_handle_sessions (the session key sealed: AES-256-GCM under
                          a key derived from TAIHU_SECRET_KEY, the session id bound in)
    any: a request in the session ─► UPDATE … SET expires_at = now + timeout,
                                     counter = counter + 1 RETURNING … (one round trip: the idle
                                     timeout restarted and a server counter reserved)
                                     MAC checked ─► INSERT id_handle_session_counters
                                     (a client counter seen before conflicts: a replay)
    expired rows ─► deleted by the process that next sends a challenge or opens a session, at
                    most once a minute

Times are POSIX seconds (``time.time``), which machines kept by NTP agree on. Only admin
exchanges come here: anonymous resolution never touches these tables. Chosen by
TAIHU_HANDLE_SHARED_STATE (``handle_state_for``); the memory stores (``conversations``,
``sessions``) serve the one-process default and SQLite.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from taihu.core import Database
from taihu.identifiers.models import HandleChallenge, HandleSession, HandleSessionCounter
from taihu.identifiers.registration import HandleAdmin, SecretKeyBox
from taihu.identifiers.server.conversations import (
    ChallengeBook,
    MemoryChallenges,
    Pending,
)
from taihu.identifiers.server.sessions import (
    MAX_SESSIONS,
    Session,
    SessionStore,
    SessionTable,
    session_seconds,
)
from taihu.identifiers.wire import (
    DigestAlgorithm,
    RequestDigest,
    decode_envelope,
    decode_payload,
)
from taihu.identifiers.wire.messages import ENVELOPE_SIZE
from taihu.settings import Settings

__all__ = ["DatabaseChallenges", "DatabaseSessions", "handle_state_for"]

log = logging.getLogger("taihu.identifiers.handle")

_CHALLENGES = cast("sa.Table", HandleChallenge.__table__)
_SESSIONS = cast("sa.Table", HandleSession.__table__)
_COUNTERS = cast("sa.Table", HandleSessionCounter.__table__)
_PENDING_COLUMNS = [
    _CHALLENGES.c[name]
    for name in ("request", "signed", "digest_algorithm", "digest", "nonce", "binds", "expires_at")
]
_SESSION_COLUMNS = [
    _SESSIONS.c[name]
    for name in (
        "sealed_key", "timeout", "expires_at", "identity_handle", "identity_index",
        "admin_handle", "admin_index", "counter",
    )
]  # fmt: skip
_CLEANUP_EVERY = 60.0
_SEAL_CONTEXT = "#handle-session"  # not a handle: a sealed HS_SECKEY never opens as a session key
_OPEN_ATTEMPTS = 8


def _insert(db: Database, table: sa.Table) -> Any:
    """An INSERT that can say ON CONFLICT, in the database's dialect."""
    return (postgresql if db.dialect == "postgresql" else sqlite).insert(table)


class _Cleanup:
    """Deletes a table's expired rows, at most once a minute per process.

    Sessions take their counters with them (ON DELETE CASCADE).
    """

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self._last = 0.0

    async def run(self, conn: Any, wall: float) -> None:
        """Delete what expired before ``wall`` (POSIX seconds), when a minute has passed."""
        now = time.monotonic()
        if now - self._last < _CLEANUP_EVERY:
            return
        self._last = now
        await conn.execute(sa.delete(self.table).where(self.table.c.expires_at < wall))


class DatabaseChallenges:
    """Pending challenges in ``id_handle_challenges``: sent by one process, answered by any."""

    def __init__(
        self,
        db: Database,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db, self.wall, self.monotonic = db, wall, monotonic
        self._cleanup = _Cleanup(_CHALLENGES)

    async def add(self, pending: Pending) -> None:
        """Store a challenge just sent (one per session id: a newer one replaces it)."""
        values = {
            "session_id": pending.session,
            # As it came, without its credential: decoded again, the same header and body.
            "request": pending.request.envelope.encode(len(pending.signed)) + pending.signed,
            "signed": pending.signed,
            "digest_algorithm": int(pending.digest.algorithm),
            "digest": pending.digest.value,
            "nonce": pending.nonce,
            "binds": pending.binds,
            "expires_at": self.wall() + (pending.expires - self.monotonic()),
        }
        insert = _insert(self.db, _CHALLENGES).values(**values)
        statement = insert.on_conflict_do_update(
            index_elements=["session_id"],
            set_={name: insert.excluded[name] for name in values if name != "session_id"},
        )
        async with self.db.engine.begin() as conn:
            await self._cleanup.run(conn, self.wall())
            await conn.execute(statement)

    async def take(self, session_id: int) -> Pending | None:
        """The challenge that named ``session_id``, deleted as it is read (answered once)."""
        async with self.db.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.delete(_CHALLENGES)
                    .where(_CHALLENGES.c.session_id == session_id)
                    .returning(*_PENDING_COLUMNS)
                )
            ).first()
        if row is None:
            return None
        request, signed, algorithm, digest, nonce, binds, expires_at = row
        envelope = decode_envelope(request)
        message = decode_payload(envelope, request[ENVELOPE_SIZE:])
        expires = self.monotonic() + (expires_at - self.wall())
        return Pending(
            message,
            signed,
            RequestDigest(DigestAlgorithm(algorithm), digest),
            nonce,
            expires,
            session_id,
            answered=True,
            binds=binds,
        )

    async def claim(self, pending: Pending) -> bool:
        """Claim a challenge found in this process's conversation; ``False`` if answered."""
        if pending.answered:
            return False
        pending.answered = True
        async with self.db.engine.begin() as conn:
            found = await conn.execute(
                sa.delete(_CHALLENGES)
                .where(_CHALLENGES.c.session_id == pending.session)
                .returning(_CHALLENGES.c.session_id)
            )
            return found.first() is not None


class DatabaseSessions:
    """Sessions in ``id_handle_sessions``, continued by whichever process a request reaches."""

    shared = True

    def __init__(
        self,
        db: Database,
        box: SecretKeyBox,
        *,
        clock: Callable[[], float] = time.time,
        limit: int = MAX_SESSIONS,
    ) -> None:
        self.db, self.box, self.clock, self.limit = db, box, clock, limit
        # As this process last read them: the reply to a request is certified without waiting.
        self._local: OrderedDict[int, Session] = OrderedDict()
        self._cleanup = _Cleanup(_SESSIONS)

    def _remember(self, session: Session) -> Session:
        self._local[session.id] = session
        self._local.move_to_end(session.id)
        while len(self._local) > self.limit:
            self._local.popitem(last=False)
        return session

    async def open(self, key: bytes, identity: tuple[str, int], asked: int) -> Session:
        """A new session with ``key`` stored sealed; the timeout within bounds (0: default)."""
        seconds = session_seconds(asked)
        for _attempt in range(_OPEN_ATTEMPTS):
            session_id = secrets.randbelow(2**31 - 2) + 1
            now = self.clock()
            row = {
                "id": session_id,
                "sealed_key": self.box.seal(key, handle_key=_SEAL_CONTEXT, index=session_id),
                "timeout": float(seconds),
                "expires_at": now + seconds,
                "identity_handle": identity[0],
                "identity_index": identity[1],
                "counter": 1,  # the setup reply's
            }
            insert = _insert(self.db, _SESSIONS).values(**row).on_conflict_do_nothing()
            async with self.db.engine.begin() as conn:
                await self._cleanup.run(conn, now)
                taken = (await conn.execute(insert.returning(_SESSIONS.c.id))).first()
            if taken is not None:
                return self._remember(Session(session_id, key, seconds, now + seconds, identity))
        msg = "no free session id found"  # 2^31 ids: not expected
        raise RuntimeError(msg)

    async def get(self, session_id: int) -> Session | None:
        """The live session, its idle timeout restarted and a server counter reserved."""
        s = _SESSIONS.c
        now = self.clock()
        statement = (
            sa.update(_SESSIONS)
            .where(s.id == session_id, s.expires_at >= now)
            .values(expires_at=now + s.timeout, counter=s.counter + 1)
            .returning(*_SESSION_COLUMNS)
        )
        async with self.db.engine.begin() as conn:
            row = (await conn.execute(statement)).first()
        if row is None:
            self._local.pop(session_id, None)
            return None
        sealed, timeout, expires, identity, index, admin_handle, admin_index, counter = row
        key = self.box.open(sealed, handle_key=_SEAL_CONTEXT, index=session_id)
        if key is None:  # sealed under another TAIHU_SECRET_KEY: set up a new session
            log.warning("Handle session %d: its key does not open with this secret key",
                        session_id)  # fmt: skip
            return None
        admin = (
            HandleAdmin(admin_index, admin_handle)
            if admin_handle is not None and admin_index is not None
            else None
        )
        # ``certify`` adds one before signing: the counter reserved above.
        session = Session(session_id, key, timeout, expires, (identity, index), admin, counter - 1)
        return self._remember(session)

    def known(self, session_id: int) -> Session | None:
        """The session as this process last read it (to certify a reply to its request)."""
        return self._local.get(session_id)

    async def close(self, session_id: int) -> bool:
        """End a session everywhere; whether it existed."""
        self._local.pop(session_id, None)
        async with self.db.engine.begin() as conn:
            gone = await conn.execute(
                sa.delete(_SESSIONS).where(_SESSIONS.c.id == session_id).returning(_SESSIONS.c.id)
            )
            return gone.first() is not None

    async def fresh(self, session: Session, counter: int) -> bool:
        """Record a client counter; ``False`` if any process saw it before (a replay)."""
        insert = (
            _insert(self.db, _COUNTERS)
            .values(session_id=session.id, counter=counter)
            .on_conflict_do_nothing()
            .returning(_COUNTERS.c.counter)
        )
        try:
            async with self.db.engine.begin() as conn:
                return (await conn.execute(insert)).first() is not None
        except sa.exc.IntegrityError:  # the session ended meanwhile
            return False

    async def bind(self, session: Session, admin: HandleAdmin) -> None:
        """Record the admin proven in ``session``, for every process."""
        session.admin = admin
        async with self.db.engine.begin() as conn:
            await conn.execute(
                sa.update(_SESSIONS)
                .where(_SESSIONS.c.id == session.id)
                .values(admin_handle=admin.handle, admin_index=admin.index)
            )


def handle_state_for(
    settings: Settings, db: Database, box: SecretKeyBox
) -> tuple[ChallengeBook, SessionStore]:
    """Where this process keeps challenges and sessions (TAIHU_HANDLE_SHARED_STATE)."""
    where = settings.handle.shared_state
    if where == "auto":
        where = "database" if db.dialect == "postgresql" else "memory"
    if where == "database":
        return DatabaseChallenges(db), DatabaseSessions(db, box)
    return MemoryChallenges(), SessionTable()
