"""Handle sessions and HS_PUBKEY answers, driven by a client shaped like Handle.Net's.

The issue's failure: the Handle.Net library sets up a session (opcode 400) before admin
requests and got "unknown opcode 400" with a reply whose request digest did not match. Here the
client (``hdl_session_client``) checks every reply as the library does.
"""

from __future__ import annotations

import struct
from typing import Literal

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import padding

from taihu.accounts import AuditEntry
from taihu.core import Database
from taihu.identifiers import HandleValue
from taihu.identifiers.handle import (
    ADMIN_PERMISSIONS_ALL,
    ADMIN_TYPE,
    AdminRef,
    encode_admin,
)
from taihu.identifiers.wire import HandleClient
from tests.identifiers.wire.conftest import PREFIX, SECRET, Node
from tests.identifiers.wire.hdl_session_client import (
    CERT,
    RRDG,
    SESSION_TERMINATE,
    ClientSession,
    PubKey,
    SecKey,
    SessionClient,
    blob,
    generate_dsa_key,
    generate_rsa,
    key_bytes,
    read_blob,
    utf8,
)

ADMIN = SecKey(f"{PREFIX}/ADMIN", 300, SECRET.encode())
CREATE, DELETE, ADD = 100, 101, 102
Transport = Literal["tcp", "udp"]


def url_value(index: int, url: str) -> bytes:
    """One handle value as RFC 3651 lays it out (admin read/write, public read)."""
    return struct.pack(">IIBIB", index, 0, 0, 86400, 0x0E) + utf8("URL") + utf8(url) + bytes(4)


def create_body(handle: str, url: str) -> bytes:
    return utf8(handle) + struct.pack(">I", 1) + url_value(1, url)


def add_body(handle: str, index: int, url: str) -> bytes:
    return utf8(handle) + struct.pack(">I", 1) + url_value(index, url)


async def actions(db: Database, handle: str) -> list[tuple[str, str]]:
    async with db.session() as session:
        rows = await session.execute(
            sa.select(AuditEntry.actor, AuditEntry.action)
            .where(AuditEntry.entity_id == handle)
            .order_by(AuditEntry.id)
        )
        return [(actor, action) for actor, action in rows]


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_session_setup_is_answered_signed_with_the_request_digest(
    node: Node, transport: Transport
) -> None:
    client = SessionClient(node.host, node.port, transport)
    reply = await client.setup(ADMIN.handle, ADMIN.index)  # checks digest, signature, layout
    assert reply.session_id != 0
    assert client.session is not None
    assert len(client.session.key) == 32


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_admin_requests_in_a_session_are_authenticated_once(
    node: Node, db: Database, transport: Transport
) -> None:
    client = SessionClient(node.host, node.port, transport)
    await client.setup(ADMIN.handle, ADMIN.index)
    handle = f"{PREFIX}/S-{transport.upper()}"
    created = await client.admin(CREATE, create_body(handle, "https://example.cn/s"), ADMIN)
    assert created.code == 1
    assert client.challenges == 1
    # Later requests carry only the session MAC: no second challenge.
    added = await client.admin(ADD, add_body(handle, 2, "https://example.cn/s2"), ADMIN)
    assert added.code == 1
    deleted = await client.admin(DELETE, utf8(handle), ADMIN, flags=CERT | RRDG)
    assert deleted.code == 1
    assert client.challenges == 1
    assert client.session is not None
    assert len(client.session.server_counters) >= 3  # replies MAC-signed with the session key
    assert await actions(db, handle) == [
        (f"300:{PREFIX}/ADMIN", "handle.create"),
        (f"300:{PREFIX}/ADMIN", "handle.update"),
        (f"300:{PREFIX}/ADMIN", "handle.delete"),
    ]


async def test_wrong_secret_in_a_session_is_refused_and_proves_nothing(node: Node) -> None:
    client = SessionClient(node.host, node.port)
    await client.setup(ADMIN.handle, ADMIN.index)
    wrong = SecKey(ADMIN.handle, ADMIN.index, b"not-the-secret")
    refused = await client.admin(CREATE, create_body(f"{PREFIX}/W-1", "https://x"), wrong)
    assert refused.code == 403  # AUTHEN_FAILED
    again = await client.admin(CREATE, create_body(f"{PREFIX}/W-1", "https://x"), ADMIN)
    assert again.code == 1
    assert client.challenges == 2  # the wrong answer did not authenticate the session


async def test_a_request_without_its_mac_does_not_authenticate_the_session(node: Node) -> None:
    # Anyone may name a session id; only a request signed with the session key may bind an
    # admin to it, so a stranger's proven answer cannot become the session's identity.
    client = SessionClient(node.host, node.port)
    await client.setup(ADMIN.handle, ADMIN.index)
    unsigned = await client.admin(CREATE, create_body(f"{PREFIX}/U-1", "https://u"), ADMIN,
                                  sign=False)  # fmt: skip
    assert unsigned.code == 1
    signed = await client.admin(ADD, add_body(f"{PREFIX}/U-1", 2, "https://u2"), ADMIN)
    assert signed.code == 1
    assert client.challenges == 2


async def test_bad_mac_and_replayed_counter_are_refused(node: Node) -> None:
    client = SessionClient(node.host, node.port)
    await client.setup(ADMIN.handle, ADMIN.index)
    assert (await client.admin(CREATE, create_body(f"{PREFIX}/M-1", "https://m"), ADMIN)).code == 1
    body = add_body(f"{PREFIX}/M-1", 2, "https://m2")
    forged, _ = await client.call(ADD, body, key=bytes(32))
    assert forged.code == 502  # INVALID_SESSION_KEY
    ok, _ = await client.call(ADD, body, counter=77)
    assert ok.code == 1
    replayed, _ = await client.call(ADD, add_body(f"{PREFIX}/M-1", 3, "https://m3"), counter=77)
    assert replayed.code == 505  # SESSION_MESSAGE_REJECTED


async def test_an_idle_session_times_out_and_a_terminated_one_is_gone(node: Node) -> None:
    assert node.server is not None
    sessions = node.server.dispatcher.sessions
    now = [1000.0]
    sessions.clock = lambda: now[0]  # the table's clock, moved by hand instead of waiting
    client = SessionClient(node.host, node.port)
    await client.setup(ADMIN.handle, ADMIN.index, seconds=120)
    assert (await client.admin(CREATE, create_body(f"{PREFIX}/T-1", "https://t"), ADMIN)).code == 1
    now[0] += 119  # still within the idle timeout: it starts again
    assert (await client.admin(ADD, add_body(f"{PREFIX}/T-1", 2, "https://t2"), ADMIN)).code == 1
    now[0] += 121
    expired = await client.admin(ADD, add_body(f"{PREFIX}/T-1", 3, "https://t3"), ADMIN)
    assert expired.code == 500  # SESSION_TIMEOUT: the client sets up a new session
    await client.setup(ADMIN.handle, ADMIN.index)
    ended, _ = await client.call(SESSION_TERMINATE, utf8("/"))
    assert ended.code == 1
    gone = await client.admin(ADD, add_body(f"{PREFIX}/T-1", 4, "https://t4"), ADMIN)
    assert gone.code == 500


async def test_unserved_key_exchange_modes_are_refused_with_their_codes(node: Node) -> None:
    client = SessionClient(node.host, node.port)
    await client.site_key()
    server_mode = struct.pack(">HI", 2, 0) + utf8(ADMIN.handle) + struct.pack(">I", 300) + b"\0\0"
    reply, _ = await client.call(400, server_mode, CERT | RRDG, session=0)
    assert reply.code == 503  # NEED_RSAKEY_FOR_SESSIONEXCHANGE: the server key is DSA
    bad_dh = struct.pack(">HI", 4, 0) + utf8(ADMIN.handle) + struct.pack(">I", 300)
    reply, _ = await client.call(400, bad_dh + blob(b"junk") + b"\0\0", CERT | RRDG, session=0)
    assert reply.code == 504  # INVALID_SESSIONSETUP_REQUEST


async def register_pubkey(node: Node, index: int, key_data: bytes) -> None:
    """Put HS_PUBKEY at ``index`` of PREFIX/ADMIN and an HS_ADMIN naming it, over the wire."""
    admin_ref = AdminRef(f"{PREFIX}/ADMIN", index, ADMIN_PERMISSIONS_ALL)
    values = (
        HandleValue(index=index, type="HS_PUBKEY", data=key_data),
        HandleValue(index=index - 200, type=ADMIN_TYPE, data=encode_admin(admin_ref)),
    )
    async with HandleClient(node.host, node.port, transport="tcp", identity=node.admin) as c:
        await c.add_values(f"{PREFIX}/ADMIN", values)


@pytest.mark.parametrize(
    ("kind", "hash_name"), [("rsa", "SHA-256"), ("dsa", "SHA-256"), ("dsa", "SHA1")]
)
async def test_hs_pubkey_admin_in_a_session(
    node: Node, db: Database, kind: str, hash_name: str
) -> None:
    key = generate_rsa() if kind == "rsa" else generate_dsa_key()
    await register_pubkey(node, 301, key_bytes(key.public_key()))
    who = PubKey(f"{PREFIX}/ADMIN", 301, key, hash_name)
    client = SessionClient(node.host, node.port)
    await client.setup(who.handle, who.index)
    handle = f"{PREFIX}/PK-{kind.upper()}-{hash_name}"
    assert (await client.admin(CREATE, create_body(handle, "https://pk"), who)).code == 1
    assert (await client.admin(DELETE, utf8(handle), who)).code == 1
    assert client.challenges == 1
    assert [actor for actor, _ in await actions(db, handle)] == [f"301:{PREFIX}/ADMIN"] * 2


async def test_hs_pubkey_wrong_signature_is_refused(node: Node) -> None:
    key = generate_rsa()
    await register_pubkey(node, 301, key_bytes(key.public_key()))
    impostor = PubKey(f"{PREFIX}/ADMIN", 301, generate_rsa())
    client = SessionClient(node.host, node.port)
    await client.setup(impostor.handle, impostor.index)
    refused = await client.admin(CREATE, create_body(f"{PREFIX}/PK-X", "https://x"), impostor)
    assert refused.code == 403  # AUTHEN_FAILED


async def test_hs_pubkey_without_a_session(node: Node) -> None:
    key = generate_dsa_key()
    await register_pubkey(node, 302, key_bytes(key.public_key()))
    who = PubKey(f"{PREFIX}/ADMIN", 302, key)
    client = SessionClient(node.host, node.port)
    await client.site_key()
    reply = await client.admin(CREATE, create_body(f"{PREFIX}/PK-NS", "https://ns"), who)
    assert reply.code == 1


async def test_session_key_encrypted_with_the_clients_rsa_key(node: Node) -> None:
    # Mode 1 (KEY_EXCHANGE_CIPHER_CLIENT): the server sends the session key under the client's
    # RSA key, prefixed with the cipher code (2.2 and later), as the library decrypts it.
    private = generate_rsa()
    client = SessionClient(node.host, node.port)
    await client.site_key()
    body = (struct.pack(">HI", 1, 0) + utf8(ADMIN.handle) + struct.pack(">I", 300)
            + blob(key_bytes(private.public_key())) + b"\0\0")  # fmt: skip
    reply, _ = await client.call(400, body, CERT | RRDG, session=0)
    assert reply.code == 1
    sealed, _ = read_blob(reply.body, 33 + 2)
    clear = private.decrypt(sealed, padding.PKCS1v15())
    assert clear[:4] == b"\x00\x00\x00\x03"
    client.session = ClientSession(reply.session_id, clear[4:])
    created = await client.admin(CREATE, create_body(f"{PREFIX}/RSA-S", "https://r"), ADMIN)
    assert created.code == 1
