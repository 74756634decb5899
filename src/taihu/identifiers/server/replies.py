"""How the Handle server words its replies: envelope, header, request digest and signature.

``Replies`` is the base of ``HandleDispatcher`` (``dispatch``): every reply, whatever the request,
carries the version the client can read (2.11 suggested), the AUTH and RECU flags, the request's
RRDG and KPAL echoed, this site's serial and an expiration; a digest of the request when it asks
(RRDG), and a signature (session MAC or the server's key) when it asks for one (CERT).
"""

from __future__ import annotations

from dataclasses import replace

from taihu.core import Clock
from taihu.identifiers.registration.pubkeys import SigningKey
from taihu.identifiers.server.sessions import SessionStore, certify
from taihu.identifiers.wire import (
    Body,
    DigestAlgorithm,
    Empty,
    Envelope,
    ErrorBody,
    HandleListBody,
    Header,
    Message,
    OpCode,
    OpFlag,
    ReferralBody,
    RequestDigest,
    ResponseCode,
    SiteInfo,
    SiteInfoResponse,
    VerifyResult,
    compute_digest,
    encode_message,
    op_flags,
    reply_version,
)
from taihu.identifiers.wire.sessions import SessionSetupResponse

__all__ = ["SERVER_VERSION", "Replies"]

SERVER_VERSION = (2, 11)
_EXPIRATION = 12 * 3600
_REPLY_FLAGS = int(OpFlag.AUTH | OpFlag.RECU)
_ECHOED = int(OpFlag.RRDG | OpFlag.KPAL)
_DIGESTED = (
    ErrorBody,
    Empty,
    HandleListBody,
    SiteInfoResponse,
    VerifyResult,
    ReferralBody,
    SessionSetupResponse,
)


class Replies:
    """Encodes the replies of one Handle site (its serial) signed with its key when asked."""

    clock: Clock
    site: SiteInfo
    sessions: SessionStore
    server_key: SigningKey | None

    def _envelope(self, request: Message) -> Envelope:
        envelope = request.envelope
        return Envelope(
            envelope.request_id,
            session_id=envelope.session_id,
            version=reply_version(envelope.version, envelope.suggested),
            suggested=SERVER_VERSION,
        )

    def _header(self, request: Message, code: ResponseCode, opcode: OpCode | None = None) -> Header:
        flags = _REPLY_FLAGS | (int(request.header.flags) & _ECHOED)
        return Header(
            opcode or request.header.opcode,
            code,
            op_flags(flags),
            site_serial=self.site.serial,
            expiration=self._expiration(),
        )

    @staticmethod
    def _digest_algorithm(request: Message) -> DigestAlgorithm:
        # 2.0 knows only MD5, RFC 3652 (2.1) MD5 and SHA-1; later 2.x peers take SHA-256.
        minor = request.envelope.version[1]
        if minor == 0:
            return DigestAlgorithm.MD5
        return DigestAlgorithm.SHA1 if minor == 1 else DigestAlgorithm.SHA256

    def _request_digest(self, request: Message, signed: bytes) -> RequestDigest | None:
        if not request.header.flags & OpFlag.RRDG:
            return None
        algorithm = self._digest_algorithm(request)
        return RequestDigest(algorithm, compute_digest(algorithm, signed))

    def reply(
        self,
        request: Message,
        signed: bytes,
        code: ResponseCode,
        body: Body,
        opcode: OpCode | None = None,
        session_id: int | None = None,
    ) -> bytes:
        """The encoded reply to ``request`` (``signed``: its header and body as received)."""
        digest = self._request_digest(request, signed)
        if digest is not None and isinstance(body, _DIGESTED):
            body = replace(body, digest=digest)
        header = self._header(request, code, opcode)
        envelope = self._envelope(request)
        if session_id is not None:
            envelope = replace(envelope, session_id=session_id)
        return self._encode(request, Message(envelope, header, body))

    def _encode(self, request: Message, reply: Message) -> bytes:
        """The reply's bytes, signed (session MAC or server key) when the request asks (CERT)."""
        if request.header.flags & OpFlag.CERT and self.server_key is not None:
            session = self.sessions.known(reply.envelope.session_id)
            reply = certify(reply, session, self.server_key)
        return encode_message(reply)

    def _expiration(self) -> int:
        return (int(self.clock.now().timestamp()) + _EXPIRATION) & 0xFFFF_FFFF
