"""Answers decoded Handle protocol requests with the identifier service's rules.

Resolution is the hot path; admin operations sit behind secret-key challenge-response.

    request ──► PrefixLocator.locate(prefix) ──► Answer (RC 301 / referral) sent as it is
                      │ None: served here
                      ├── RESOLUTION      resolver cache → pre-encoded public values
                      ├── GET_SITE_INFO, LIST_HOMED_NA    (no authentication)
                      ├── VERIFY_RESPONSE  the proof checked, counted as a login (throttled)
                      └── admin opcodes   RC 402 challenge (RRDG: digest, then nonce) ─►
                                          CHALLENGE_RESPONSE: HS_SECKEY proof checked and
                                          throttled (``registration.logins``) ─► IdentifierService
                                          as HandleAdmin(index, handle): same permissions, audited
                      SESSION_SETUP/TERMINATE/EXCHANGEKEY and admin requests in a session:
                                          ``sessions`` (key agreed once, admin proven once,
                                          later requests MAC-checked); HS_PUBKEY answers too

A challenge names a fresh session id in its envelope. The Handle.Net client answers with that
session id, a new request id and often a new connection, so pending challenges are found by
session id in a ``ChallengeBook`` (this process's memory, or the database where every resolver
process finds them: ``shared_state``); Taihu's own client answers on the same connection with
the same request id, which a ``Conversation`` (one TCP connection or one UDP peer) finds. Either
way a challenge is answered once, and the result goes back under the answer's request id.
Sessions likewise live in a ``SessionStore`` (memory or database).

Plain anonymous resolutions (``wire.plain``) skip the decoder and the dispatch above: with the
default locator they are answered in batches from the resolver's pre-rendered reply bodies
(``answer_plain``), byte for byte what ``dispatch`` would send; anything else, or a prefix not
served here, goes through ``dispatch``.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import replace
from typing import Literal

from taihu.core import Clock, Database, TaihuError, TooManyRequests, Unauthenticated
from taihu.identifiers.handle import (
    SECKEY_TYPE,
    Handle,
    HandleValueError,
    plain_key,
)
from taihu.identifiers.records import response_code
from taihu.identifiers.registration import (
    HandleAdmin,
    IdentifierService,
    SecretKeyBox,
    answer_login,
    pubkey_login,
)
from taihu.identifiers.registration.pubkeys import PUBKEY_TYPE, SigningKey
from taihu.identifiers.resolution import LocalPrefixes, PrefixLocator, Resolver, WireAnswer
from taihu.identifiers.server.conversations import (
    ChallengeBook,
    Conversation,
    MemoryChallenges,
    Pending,
)
from taihu.identifiers.server.operations import ADMIN_OPCODES, apply_admin, located_prefix
from taihu.identifiers.server.replies import Replies
from taihu.identifiers.server.sessions import (
    SessionStore,
    SessionTable,
    SetupRefused,
    agree_key,
    mac_counter,
)
from taihu.identifiers.wire import (
    Body,
    Challenge,
    ChallengeAnswer,
    Empty,
    ErrorBody,
    HandleListBody,
    Message,
    OpCode,
    OpFlag,
    RequestDigest,
    ResolutionRequest,
    ResponseCode,
    SiteInfo,
    SiteInfoResponse,
    VerifyRequest,
    VerifyResult,
    compute_digest,
    encode_raw,
    op_flags,
)
from taihu.identifiers.wire.buffer import Writer
from taihu.identifiers.wire.plain import PlainResolution, plain_reply
from taihu.identifiers.wire.sessions import SessionSetupRequest, SessionSetupResponse
from taihu.settings import SecuritySettings

__all__ = ["ADMIN_OPCODES", "Conversation", "HandleDispatcher"]

log = logging.getLogger("taihu.identifiers.handle")

CHALLENGE_SECONDS = 60.0
_FOUND = int(ResponseCode.SUCCESS)
_NOT_FOUND = int(ResponseCode.HANDLE_NOT_FOUND)
_EMPTY_MESSAGE = bytes(4)  # the body of RC 100: one empty message string

_SESSION_OPCODES = frozenset(
    {OpCode.SESSION_SETUP, OpCode.SESSION_TERMINATE, OpCode.SESSION_EXCHANGEKEY}
)


class HandleDispatcher(Replies):
    """Turns one request into one reply; never raises for bad input."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        resolver: Resolver,
        locator: PrefixLocator,
        site: SiteInfo,
        *,
        seckeys: SecretKeyBox | None,
        security: SecuritySettings | None = None,
        server_key: SigningKey | None = None,
        challenges: ChallengeBook | None = None,
        sessions: SessionStore | None = None,
    ) -> None:
        self.db, self.clock, self.resolver = db, clock, resolver
        self.locator, self.site, self.seckeys = locator, site, seckeys
        # The login throttle's limits; without settings, their documented defaults.
        self.security = security or SecuritySettings.model_construct()
        # Pending challenges by session id, and sessions: this process's, unless shared.
        self.challenges: ChallengeBook = challenges or MemoryChallenges()
        # Certified replies are signed with ``server_key`` when set.
        self.sessions: SessionStore = sessions or SessionTable()
        self.server_key = server_key

    # Dispatch ------------------------------------------------------------------------------

    async def dispatch(self, request: Message, signed: bytes, conversation: Conversation) -> bytes:
        """The encoded reply to one decoded request; ``signed`` is its header and body bytes."""
        try:
            return await self._dispatch(request, signed, conversation)
        except Exception:  # a bug or a database failure must not take the listener down
            log.exception("Handle request %s failed", request.header.opcode.name)
            return self.reply(request, signed, ResponseCode.ERROR, ErrorBody("internal error"))

    async def _dispatch(  # noqa: PLR0911 - one return per opcode family
        self, request: Message, signed: bytes, conversation: Conversation
    ) -> bytes:
        opcode, body = request.header.opcode, request.body
        if request.is_response:
            return self.reply(
                request, signed, ResponseCode.PROTOCOL_ERROR, ErrorBody("not a request")
            )
        if opcode is OpCode.RESOLUTION and isinstance(body, ResolutionRequest):
            return await self._resolve(request, signed, body)
        if opcode is OpCode.GET_SITE_INFO:
            return self.reply(request, signed, ResponseCode.SUCCESS, SiteInfoResponse(self.site))
        if opcode is OpCode.LIST_HOMED_NA:
            async with self.db.session() as session:
                served = await IdentifierService(session, self.clock).homed_prefixes()
            handles = tuple(f"0.NA/{p}" for p in served)
            return self.reply(request, signed, ResponseCode.SUCCESS, HandleListBody(handles))
        if opcode is OpCode.VERIFY_RESPONSE and isinstance(body, VerifyRequest):
            return await self._verify(request, signed, body, conversation)
        if opcode is OpCode.CHALLENGE_RESPONSE and isinstance(body, ChallengeAnswer):
            return await self._answered(request, signed, body, conversation)
        if opcode in _SESSION_OPCODES:
            return await self._session_request(request, signed)
        if opcode in ADMIN_OPCODES and request.envelope.session_id:
            return await self._in_session(request, signed, conversation)
        if opcode in ADMIN_OPCODES:
            return await self._challenge(request, signed, conversation)
        return self.reply(
            request,
            signed,
            ResponseCode.OPERATION_DENIED,
            ErrorBody(f"{opcode.name} is not served"),
        )

    # Resolution ----------------------------------------------------------------------------

    async def _resolve(self, request: Message, signed: bytes, body: ResolutionRequest) -> bytes:
        try:
            key = Handle(body.handle).key
        except HandleValueError as exc:
            return self.reply(request, signed, ResponseCode.INVALID_HANDLE, ErrorBody(str(exc)))
        answer = await self.locator.locate(key.split("/", 1)[0], request)
        if answer is not None:
            return self.reply(request, signed, answer.code, answer.body)
        return self._resolved(request, signed, body, await self.resolver.wire(key))

    def resolve_now(self, request: Message, signed: bytes) -> bytes | None:
        """The reply to a resolution when it needs no waiting (else ``None``: use ``dispatch``).

        The hot path: a served prefix and a record in the cache (or on SQLite) are answered
        from the datagram callback, without a task.
        """
        body = request.body
        # Only the default locator can be asked without waiting; any other one (a subclass
        # included) decides through its own locate().
        if not isinstance(body, ResolutionRequest) or type(self.locator) is not LocalPrefixes:
            return None
        served = self.locator.served_now()
        try:
            key = Handle(body.handle).key
        except HandleValueError:
            return None
        if served is None or key.split("/", 1)[0] not in served:
            return None
        answer = self.resolver.wire_now(key)
        if answer is False:
            return None
        return self._resolved(request, signed, body, answer)

    def answer_plain(self, requests: list[PlainResolution]) -> list[bytes | Literal[False] | None]:
        """For each plain request its reply, ``None`` (use ``dispatch``), or ``False``.

        ``False``: served here, but the record needs a PostgreSQL round trip (``answer_later``).
        ``None`` for every request when the locator is not the default one or cannot answer
        without waiting, and for a handle that is not plainly valid or not served here.
        """
        served = self.locator.served_now() if type(self.locator) is LocalPrefixes else None
        replies: list[bytes | Literal[False] | None] = [None] * len(requests)
        if served is None:
            return replies
        keys: list[str] = []
        positions: list[int] = []
        for position, request in enumerate(requests):
            key = plain_key(request.handle)
            if key is not None and key[: key.index("/")] in served:
                keys.append(key)
                positions.append(position)
        if not keys:
            return replies
        expiration = self._expiration()
        serial = self.site.serial
        for position, body in zip(positions, self.resolver.bodies_now(keys), strict=True):
            if body is False:
                replies[position] = False
            elif body is None:
                replies[position] = plain_reply(
                    requests[position], _NOT_FOUND, serial, expiration, _EMPTY_MESSAGE
                )
            else:
                replies[position] = plain_reply(
                    requests[position], _FOUND, serial, expiration, body
                )
        return replies

    async def answer_later(self, requests: list[PlainResolution]) -> list[bytes]:
        """The replies to plain requests ``answer_plain`` said ``False`` to: one query for all."""
        keys = [plain_key(request.handle) or "" for request in requests]
        bodies = await self.resolver.bodies(keys)
        expiration = self._expiration()
        serial = self.site.serial
        return [
            plain_reply(request, _FOUND, serial, expiration, body)
            if body is not None
            else plain_reply(request, _NOT_FOUND, serial, expiration, _EMPTY_MESSAGE)
            for request, body in zip(requests, bodies, strict=True)
        ]

    def _resolved(
        self,
        request: Message,
        signed: bytes,
        body: ResolutionRequest,
        answer: WireAnswer | None,
    ) -> bytes:
        if answer is None:
            return self.reply(request, signed, ResponseCode.HANDLE_NOT_FOUND, ErrorBody())
        encoded = answer.encoded  # the common request: every public value, as cached
        if body.indexes or body.types:
            values = [
                v
                for v in answer.values()
                if v[0] in body.indexes
                or any(v[1] == t or v[1].startswith(t + ".") for t in body.types)
            ]
            if not values:
                return self.reply(request, signed, ResponseCode.VALUE_NOT_FOUND, ErrorBody())
            encoded = Writer().u32(len(values)).raw(b"".join(v[2] for v in values)).getvalue()
        out = Writer()
        digest = self._request_digest(request, signed)
        if digest is not None:
            out.u8(int(digest.algorithm)).raw(digest.value)
        out.text(answer.handle).raw(encoded)
        header = self._header(request, ResponseCode.SUCCESS)
        return encode_raw(self._envelope(request), header, out.getvalue())

    # Authentication ------------------------------------------------------------------------

    async def _elsewhere(self, request: Message, signed: bytes) -> bytes | None:
        """The reply when an admin request is not for this server (bad handle, referral)."""
        prefix = located_prefix(request)
        if prefix is None:
            text = "the request does not name a valid handle"
            return self.reply(request, signed, ResponseCode.INVALID_HANDLE, ErrorBody(text))
        # HOME_NA / UNHOME_NA administer this server itself, whoever serves the prefix now.
        if request.header.opcode not in (OpCode.HOME_NA, OpCode.UNHOME_NA):
            answer = await self.locator.locate(prefix, request)
            if answer is not None:
                return self.reply(request, signed, answer.code, answer.body)
        return None

    async def _challenge(
        self, request: Message, signed: bytes, conversation: Conversation, *, binds: bool = False
    ) -> bytes:
        elsewhere = await self._elsewhere(request, signed)
        if elsewhere is not None:
            return elsewhere
        algorithm = self._digest_algorithm(request)
        digest = RequestDigest(algorithm, compute_digest(algorithm, signed))
        nonce = os.urandom(16)
        expires = time.monotonic() + CHALLENGE_SECONDS
        session = request.envelope.session_id or secrets.randbelow(2**31 - 1) + 1
        pending = Pending(request, signed, digest, nonce, expires, session, binds=binds)
        conversation.add(request.envelope.request_id, pending)
        await self.challenges.add(pending)
        legacy = request.envelope.version == (2, 0)
        challenge = Challenge(digest, nonce, legacy=legacy)
        header = self._header(request, ResponseCode.AUTHEN_NEEDED)
        if not legacy:  # from 2.1 the digest is the body's optional request digest: flag it
            header = replace(header, flags=op_flags(int(header.flags) | OpFlag.RRDG))
        envelope = replace(self._envelope(request), session_id=session)
        return self._encode(request, Message(envelope, header, challenge))

    # Sessions ------------------------------------------------------------------------------

    async def _session_request(self, request: Message, signed: bytes) -> bytes:
        """SESSION_SETUP, SESSION_TERMINATE and SESSION_EXCHANGEKEY (``sessions``)."""
        opcode, body = request.header.opcode, request.body
        if opcode is OpCode.SESSION_TERMINATE:
            await self.sessions.close(request.envelope.session_id)
            return self.reply(request, signed, ResponseCode.SUCCESS, Empty())
        if opcode is OpCode.SESSION_EXCHANGEKEY or not isinstance(body, SessionSetupRequest):
            text = "no server-key exchange is pending; set up the session with mode 4 (DH)"
            code = ResponseCode.INVALID_SESSIONSETUP_REQUEST
            return self.reply(request, signed, code, ErrorBody(text))
        try:
            key, data = agree_key(body)
        except SetupRefused as exc:
            return self.reply(request, signed, exc.code, ErrorBody(str(exc)))
        identity = (body.identity_handle, body.identity_index)
        session = await self.sessions.open(key, identity, body.timeout)
        reply = SessionSetupResponse(body.mode, data)
        return self.reply(request, signed, ResponseCode.SUCCESS, reply, session_id=session.id)

    async def _in_session(
        self, request: Message, signed: bytes, conversation: Conversation
    ) -> bytes:
        """An admin request in a session: run as the session's admin if its MAC is right."""
        session = await self.sessions.get(request.envelope.session_id)
        if session is None:
            text = "the session has expired or is unknown; set up a new one"
            return self.reply(request, signed, ResponseCode.SESSION_TIMEOUT, ErrorBody(text))
        refused, counter = mac_counter(session, request, signed)
        if refused is None and not await self.sessions.fresh(session, counter):
            refused = ResponseCode.SESSION_MESSAGE_REJECTED
        if refused is ResponseCode.AUTHEN_NEEDED:  # no MAC: a challenge, and the session stays
            return await self._challenge(request, signed, conversation)
        if refused is None and session.admin is None:  # prove it once for the session
            return await self._challenge(request, signed, conversation, binds=True)
        if refused is not None:
            text = "the message authentication code does not match this session"
            if refused is ResponseCode.SESSION_MESSAGE_REJECTED:
                text = "this session counter was used before (a replayed message)"
            return self.reply(request, signed, refused, ErrorBody(text))
        assert session.admin is not None
        elsewhere = await self._elsewhere(request, signed)
        if elsewhere is not None:
            return elsewhere
        code, reply_body = await self._administer(session.admin, request)
        return self.reply(request, signed, code, reply_body)

    async def _login(
        self,
        key_handle: str,
        index: int,
        client: str,
        challenge: tuple[bytes, bytes],
        proof: bytes,
        *,
        public: bool = False,
    ) -> HandleAdmin:
        """The admin ``proof`` proves; else ``Unauthenticated`` (``TooManyRequests`` if locked)."""
        try:
            admin = HandleAdmin(index, Handle(key_handle).key)
        except HandleValueError as exc:
            raise Unauthenticated(str(exc), code="authentication_failed") from exc
        async with self.db.session() as session:
            service = IdentifierService(session, self.clock, seckeys=self.seckeys)
            check = pubkey_login if public else answer_login
            return await check(service, self.security, admin, client, challenge, proof)

    async def _answered(
        self, answer: Message, signed: bytes, body: ChallengeAnswer, conversation: Conversation
    ) -> bytes:
        # One answer per challenge, whichever way it came (and whichever process it reached).
        pending = conversation.pending.pop(answer.envelope.request_id, None)
        if pending is not None:
            if not await self.challenges.claim(pending):
                pending = None
        elif answer.envelope.session_id:
            pending = await self.challenges.take(answer.envelope.session_id)
        if pending is None:
            text = "no challenge is pending for this session or request id"
            return self.reply(answer, signed, ResponseCode.AUTHEN_TIMEOUT, ErrorBody(text))
        original = pending.request
        opcode = original.header.opcode
        if time.monotonic() > pending.expires:
            text = "the challenge expired; send the request again"
            return self.reply(answer, signed, ResponseCode.AUTHEN_TIMEOUT, ErrorBody(text), opcode)
        if body.auth_type not in (SECKEY_TYPE, PUBKEY_TYPE):
            text = "only HS_SECKEY and HS_PUBKEY authentication are supported here"
            return self.reply(
                answer, signed, ResponseCode.UNABLE_TO_AUTHEN, ErrorBody(text), opcode
            )
        try:
            caller = await self._login(
                body.key_handle,
                body.key_index,
                conversation.peer,
                (pending.nonce, pending.digest.value),
                body.response,
                public=body.auth_type == PUBKEY_TYPE,
            )
        except (Unauthenticated, TooManyRequests) as exc:
            log.info("Handle authentication as %s:%s failed", body.key_index, body.key_handle)
            text = (
                str(exc)
                if isinstance(exc, TooManyRequests)
                else (f"authentication as {body.key_index}:{body.key_handle} failed")
            )
            return self.reply(answer, signed, ResponseCode.AUTHEN_FAILED, ErrorBody(text), opcode)
        session = await self.sessions.get(pending.session) if pending.binds else None
        if session is not None:  # proven in this session: later requests need only the MAC
            await self.sessions.bind(session, caller)
        elif answer.envelope.session_id and answer.header.flags & OpFlag.CERT:
            await self.sessions.get(answer.envelope.session_id)  # its key signs the reply
        code, reply_body = await self._administer(caller, original)
        return self.reply(answer, signed, code, reply_body, opcode)

    async def _verify(
        self, request: Message, signed: bytes, body: VerifyRequest, conversation: Conversation
    ) -> bytes:
        # Anyone may ask, so a guess put through VERIFY_RESPONSE counts like a failed login.
        challenge = (body.nonce, body.request_digest)
        try:
            await self._login(
                body.key_handle, body.key_index, conversation.peer, challenge, body.response
            )
        except TooManyRequests as exc:
            return self.reply(request, signed, ResponseCode.AUTHEN_FAILED, ErrorBody(str(exc)))
        except Unauthenticated:
            return self.reply(request, signed, ResponseCode.SUCCESS, VerifyResult(valid=False))
        return self.reply(request, signed, ResponseCode.SUCCESS, VerifyResult(valid=True))

    # Administration ------------------------------------------------------------------------

    async def _administer(self, caller: HandleAdmin, request: Message) -> tuple[ResponseCode, Body]:
        try:
            async with self.db.session() as session:
                service = IdentifierService(session, self.clock, seckeys=self.seckeys)
                code, body, key = await apply_admin(service, caller, request)
        except TaihuError as exc:
            code = ResponseCode(response_code(exc))
            return code, ErrorBody(str(exc))
        if key is not None:
            self.resolver.invalidate(key)
        if request.header.opcode in (OpCode.HOME_NA, OpCode.UNHOME_NA) and isinstance(
            self.locator, LocalPrefixes
        ):
            self.locator.forget()  # served (or not) from the next request on
        return code, body
