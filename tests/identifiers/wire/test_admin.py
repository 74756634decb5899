"""Authenticated administration over TCP with secret-key challenge-response."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Principal
from taihu.core import Database
from taihu.identifiers import HandleValue, IdentifierService
from taihu.identifiers.registration import basic_login, seckeys_for
from taihu.identifiers.wire import (
    HandleClient,
    HandleResponseError,
    ResponseCode,
    SecretKey,
    SecretKeyScheme,
)
from taihu.settings import Settings
from tests.identifiers.wire.conftest import NODE, PREFIX, SECRET, Node

URL = HandleValue(index=1, type="URL", data=b"https://example.cn/new")


def admin(node: Node, identity: SecretKey | None = None) -> HandleClient:
    return HandleClient(node.host, node.port, transport="tcp", identity=identity or node.admin)


async def test_create_add_modify_remove_delete(node: Node, db: Database) -> None:
    handle = f"{PREFIX}/NEW-1"
    async with admin(node) as client:
        await client.create_handle(handle, (URL,))
        await client.add_values(handle, (HandleValue(index=2, type="EMAIL", data=b"a@b.cn"),))
        with pytest.raises(HandleResponseError) as taken:
            await client.add_values(handle, (HandleValue(index=2, type="EMAIL", data=b"x"),))
        assert taken.value.code is ResponseCode.VALUE_ALREADY_EXIST
        await client.modify_values(handle, (HandleValue(index=1, type="URL", data=b"https://v2"),))
        with pytest.raises(HandleResponseError) as missing:
            await client.modify_values(handle, (HandleValue(index=9, type="URL", data=b"x"),))
        assert missing.value.code is ResponseCode.VALUE_NOT_FOUND
        reply = await client.resolve(handle)
        assert {(v.index, v.data) for v in reply.values if v.index < 100} == {
            (1, b"https://v2"),
            (2, b"a@b.cn"),
        }
        await client.remove_values(handle, (2,))
        assert [v.index for v in (await client.resolve(handle)).values] == [1, 100]
        with pytest.raises(HandleResponseError) as exists:
            await client.create_handle(handle, (URL,))
        assert exists.value.code is ResponseCode.HANDLE_ALREADY_EXIST
        await client.create_handle(handle, (URL,), overwrite=True)
        await client.delete_handle(handle)
        with pytest.raises(HandleResponseError) as gone:
            await client.resolve(handle)
        assert gone.value.code is ResponseCode.HANDLE_NOT_FOUND
    async with db.session() as session:
        rows = await session.execute(
            sa.select(AuditEntry.actor, AuditEntry.action)
            .where(AuditEntry.entity_id == handle)
            .order_by(AuditEntry.id)
        )
        actions = [(actor, action) for actor, action in rows]
    assert actions == [(f"300:{PREFIX}/ADMIN", a) for a in [
        "handle.create", "handle.update", "handle.update", "handle.remove_values",
        "handle.update", "handle.delete",
    ]]  # fmt: skip


async def test_rfc_md5_answer_is_accepted(node: Node) -> None:
    identity = SecretKey(node.admin.handle, 300, SECRET.encode(), SecretKeyScheme.MD5)
    async with admin(node, identity) as client:
        await client.create_handle(f"{PREFIX}/MD5", (URL,))


async def test_wrong_key_is_refused(node: Node) -> None:
    wrong = SecretKey(node.admin.handle, 300, b"not-the-secret")
    async with admin(node, wrong) as client:
        with pytest.raises(HandleResponseError) as refused:
            await client.create_handle(f"{PREFIX}/X", (URL,))
    assert refused.value.code is ResponseCode.AUTHEN_FAILED
    unknown = SecretKey(f"{PREFIX}/NOBODY", 300, SECRET.encode())
    async with admin(node, unknown) as client:
        with pytest.raises(HandleResponseError) as refused:
            await client.delete_handle(f"{PREFIX}/W1")
    assert refused.value.code is ResponseCode.AUTHEN_FAILED


async def test_without_identity_the_challenge_is_the_answer(node: Node) -> None:
    async with HandleClient(node.host, node.port, transport="tcp") as client:
        with pytest.raises(HandleResponseError) as needed:
            await client.delete_handle(f"{PREFIX}/W1")
    assert needed.value.code is ResponseCode.AUTHEN_NEEDED


async def test_same_permission_rules_as_rest(node: Node) -> None:
    async with admin(node) as client:  # the enterprise prefix's admin …
        with pytest.raises(HandleResponseError) as denied:
            await client.create_handle(f"{NODE}/NODE-OWN", (URL,))  # … not above it
    assert denied.value.code is ResponseCode.ACCESS_DENIED
    async with admin(node, node.node_admin) as client:  # the node admin administers below
        await client.create_handle(f"{PREFIX}/BY-NODE", (URL,))
        assert f"{PREFIX}/BY-NODE" in await client.list_handles(PREFIX)


async def test_udp_admin_exchange(node: Node) -> None:
    async with HandleClient(node.host, node.port, transport="udp", identity=node.admin) as client:
        await client.create_handle(f"{PREFIX}/UDP", (URL,))


async def test_legacy_hashed_key_verifies_over_rest_only_until_reset(
    node: Node, db: Database, settings: Settings
) -> None:
    async with db.session() as session:
        legacy = IdentifierService(session)  # no box: the key is stored as an Argon2 hash
        await legacy.create_prefix(Principal.system("test"), "88.118.9", admin_password=SECRET)
        caller = await basic_login(legacy, settings.security, "300:88.118.9/ADMIN", SECRET, "::1")
    assert str(caller) == "300:88.118.9/ADMIN"
    identity = SecretKey("88.118.9/ADMIN", 300, SECRET.encode())
    async with admin(node, identity) as client:
        with pytest.raises(HandleResponseError) as refused:
            await client.create_handle("88.118.9/A", (URL,))
    assert refused.value.code is ResponseCode.AUTHEN_FAILED
    async with db.session() as session:  # `taihu id prefix reset-key` seals it: wire logins work
        sealing = IdentifierService(session, seckeys=seckeys_for(settings))
        await sealing.reset_admin_key(Principal.system("test"), "88.118.9", SECRET + "-new")
    renewed = SecretKey("88.118.9/ADMIN", 300, (SECRET + "-new").encode())
    async with admin(node, renewed) as client:
        await client.create_handle("88.118.9/A", (URL,))


async def test_home_unhome_and_list_homed(node: Node) -> None:
    async with admin(node, node.node_admin) as client:
        assert await client.list_homed_na() == (f"0.NA/{NODE}", f"0.NA/{PREFIX}")
        await client.home_na("88.118.77")
        assert "0.NA/88.118.77" in await client.list_homed_na()
        with pytest.raises(HandleResponseError) as served:
            await client.resolve("88.118.77/X")
        assert served.value.code is ResponseCode.HANDLE_NOT_FOUND  # answered here at once
        await client.unhome_na("88.118.77")
        assert "0.NA/88.118.77" not in await client.list_homed_na()
        with pytest.raises(HandleResponseError) as gone:
            await client.resolve("88.118.77/X")
        assert gone.value.code is ResponseCode.SERVER_NOT_RESP
    async with admin(node) as client:  # an enterprise admin may not home a sibling prefix
        with pytest.raises(HandleResponseError) as denied:
            await client.home_na("88.118.78")
    assert denied.value.code is ResponseCode.ACCESS_DENIED


async def test_site_info(node: Node) -> None:
    async with HandleClient(node.host, node.port) as client:
        site = await client.site_info()
    assert site.servers[0].address == "127.0.0.1"
    assert {(i.transport.name, i.port) for i in site.servers[0].interfaces} == {
        ("TCP", node.port),
        ("UDP", node.port),
    }
