"""Secret-key logins as ``INDEX:HANDLE``, throttled per identity and client address.

Two doors lead to the same HS_SECKEY value and share one count of failures::

    HTTP Basic 300:PREFIX/ADMIN + secret     (REST API)        basic_login
    CHALLENGE_RESPONSE / VERIFY_RESPONSE     (Handle wire)     answer_login
    CHALLENGE_RESPONSE signed with a private key, checked with the HS_PUBKEY value at
    INDEX:HANDLE (Handle wire)                                 pubkey_login

Failures are kept by the accounts context's ``LoginThrottle`` (in the database, so every worker
sees them). Past ``TAIHU_LOGIN_MAX_FAILURES`` failures within ``TAIHU_LOGIN_WINDOW_SECONDS`` the
identity is refused from that address, even with the right secret, until the window has moved
on; the moment a lock-out starts is written to the audit log (``handle.auth_locked``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from taihu.accounts import LoginThrottle, record_audit, throttle_key
from taihu.core import N_, Unauthenticated
from taihu.identifiers.handle import SECKEY_TYPE, Handle
from taihu.identifiers.records import load_record
from taihu.identifiers.registration.pubkeys import PUBKEY_TYPE, verify_challenge
from taihu.identifiers.registration.seckeys import verify_stored_secret
from taihu.identifiers.registration.service import HandleAdmin, IdentifierService, parse_handle
from taihu.identifiers.wire import verify_secret_key_response
from taihu.settings import SecuritySettings

__all__ = ["LOCKED_CODE", "answer_login", "basic_login", "pubkey_login"]

LOCKED_CODE = "authentication_locked"


async def _login(
    service: IdentifierService,
    security: SecuritySettings,
    admin: HandleAdmin,
    client: str,
    proves: Callable[[bytes], bool],
    type_: str = SECKEY_TYPE,
) -> HandleAdmin:
    throttle = LoginThrottle(service.session, security, service.clock)
    key = throttle_key("handle", str(admin), client)
    await throttle.check(key, code=LOCKED_CODE)
    row = await service.get_row(Handle(admin.handle))
    stored = None
    if row is not None:
        stored = next(
            (v.data for v in load_record(row.record) if v.index == admin.index and v.type == type_),
            None,
        )
    # The proof costs milliseconds (Argon2, PBKDF2): keep it off the event loop.
    if stored is None or not await asyncio.to_thread(proves, stored):
        if await throttle.failed(key):
            await record_audit(
                service.session,
                admin.principal,
                "handle.auth_locked",
                "handle",
                admin.handle,
                after={
                    "admin": str(admin),
                    "client": client,
                    "failures": throttle.max_failures,
                    "window_seconds": security.login_window_seconds,
                },
                at=service.clock.now(),
            )
            await service.session.commit()
        raise Unauthenticated(
            N_("authentication as {admin} failed"), code="authentication_failed", admin=str(admin)
        )
    await throttle.succeeded(key)
    return admin


async def basic_login(
    service: IdentifierService,
    security: SecuritySettings,
    username: str,
    password: str,
    client: str,
) -> HandleAdmin:
    """Check HTTP Basic ``INDEX:HANDLE`` + secret key against the handle's HS_SECKEY value."""
    index_text, sep, handle_text = username.partition(":")
    if not sep or not index_text.isdigit():
        raise Unauthenticated(
            N_("the user name must be INDEX:HANDLE, e.g. 300:88.118/ADMIN, not {username}"),
            code="invalid_credential",
            username=repr(username),
        )
    admin = HandleAdmin(int(index_text), parse_handle(handle_text).key)

    def proves(stored: bytes) -> bool:
        return verify_stored_secret(
            stored, password, box=service.seckeys, handle_key=admin.handle, index=admin.index
        )

    return await _login(service, security, admin, client, proves)


async def answer_login(
    service: IdentifierService,
    security: SecuritySettings,
    admin: HandleAdmin,
    client: str,
    challenge: tuple[bytes, bytes],
    response: bytes,
) -> HandleAdmin:
    """Check a secret-key answer to ``challenge`` (nonce, request digest) as ``admin``."""
    nonce, digest = challenge

    def proves(stored: bytes) -> bool:
        box = service.seckeys
        secret = box.open(stored, handle_key=admin.handle, index=admin.index) if box else None
        return secret is not None and verify_secret_key_response(secret, nonce, digest, response)

    return await _login(service, security, admin, client, proves)


async def pubkey_login(
    service: IdentifierService,
    security: SecuritySettings,
    admin: HandleAdmin,
    client: str,
    challenge: tuple[bytes, bytes],
    response: bytes,
) -> HandleAdmin:
    """Check a signed answer to ``challenge`` with the HS_PUBKEY value of ``admin``."""
    nonce, digest = challenge

    def proves(stored: bytes) -> bool:
        return verify_challenge(stored, nonce, digest, response)

    return await _login(service, security, admin, client, proves, PUBKEY_TYPE)
