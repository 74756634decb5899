from datetime import timedelta

import httpx
import pytest

from taihu.accounts import Role
from taihu.core import FrozenClock
from tests.conftest import CODE_A, PASSWORD, World


async def test_missing_credentials_get_401_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me")
    assert response.status_code == 401
    assert response.json() == {
        "error": "not_authenticated",
        "message": "authentication required: send 'Authorization: Bearer <token>'",
    }
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer thu_not-a-real-token", "bad_token"),
        ("Basic dXNlcjpwYXNz", "bad_auth_scheme"),
        ("Bearer ", "bad_auth_scheme"),
    ],
)
async def test_bad_credentials_get_401_json(
    client: httpx.AsyncClient, header: str, code: str
) -> None:
    response = await client.get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"] == code


async def test_login_issues_a_working_token(client: httpx.AsyncClient, world: World) -> None:
    await world.user("zhang", Role.BUREAU)
    response = await client.post(
        "/api/auth/token", json={"username": "zhang", "password": PASSWORD}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("thu_")
    assert body["hint"] == body["token"][:8]
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json() == {"name": "zhang", "role": "bureau", "user_id": 1, "enterprise_ids": []}


async def test_wrong_password_then_throttled(client: httpx.AsyncClient, world: World) -> None:
    await world.user("zhang", Role.BUREAU)
    for _ in range(3):  # the test settings allow 3 failures
        response = await client.post(
            "/api/auth/token", json={"username": "zhang", "password": "wrong-pass"}
        )
        assert response.status_code == 401
        assert response.json()["error"] == "bad_credentials"
    response = await client.post(
        "/api/auth/token", json={"username": "zhang", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["error"] == "rate_limited"


async def test_expired_and_revoked_tokens(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    await world.user("zhang", Role.BUREAU)
    short = await world.token("zhang", expires_days=1)
    clock.advance(timedelta(days=2))
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {short}"})
    assert response.status_code == 401
    assert response.json() == {"error": "token_expired", "message": "this API token has expired"}

    fresh = await world.token("zhang")
    auth = {"Authorization": f"Bearer {fresh}"}
    mine = (await client.get("/api/tokens", headers=auth)).json()
    current = next(t for t in mine if t["hint"] == fresh[:8])
    revoked = await client.delete(f"/api/tokens/{current['id']}", headers=auth)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    response = await client.get("/api/me", headers=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"


async def test_token_values_are_never_listed(client: httpx.AsyncClient, world: World) -> None:
    auth = await world.bearer("zhang", Role.BUREAU)
    created = await client.post(
        "/api/tokens", json={"name": "ERP", "expires_days": 30}, headers=auth
    )
    assert created.status_code == 201
    plain = created.json()["token"]
    listed = await client.get("/api/tokens", headers=auth)
    assert plain not in listed.text
    assert {t["name"] for t in listed.json()} == {"", "ERP"}


async def test_roles_are_enforced_with_403_json(client: httpx.AsyncClient, world: World) -> None:
    auth = await world.bearer("factory", Role.ENTERPRISE)
    for method, path, body in [
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"username": "x.y", "password": PASSWORD, "role": "admin"}),
        ("GET", "/api/audit", None),
        ("POST", "/api/enterprises", {"name": "X", "credit_code": CODE_A}),
        ("GET", "/api/tokens?user=*", None),
    ]:
        response = await client.request(method, path, json=body, headers=auth)
        assert response.status_code == 403, path
        assert response.json()["error"] == "role_required", path
        assert "factory has enterprise" in response.json()["message"]


async def test_admin_creates_users_and_memberships(client: httpx.AsyncClient, world: World) -> None:
    admin = await world.bearer("root", Role.ADMIN)
    enterprise = await world.enterprise("示例光缆", CODE_A)
    created = await client.post(
        "/api/users",
        json={
            "username": "li.na",
            "password": PASSWORD,
            "role": "enterprise",
            "display_name": "李娜",
        },
        headers=admin,
    )
    assert created.status_code == 201
    assert created.json()["role"] == "enterprise"
    linked = await client.post(
        "/api/users/li.na/memberships", json={"enterprise_id": enterprise.id}, headers=admin
    )
    assert linked.status_code == 204
    missing = await client.post(
        "/api/users/li.na/memberships", json={"enterprise_id": 999}, headers=admin
    )
    assert missing.status_code == 404
    assert missing.json()["error"] == "enterprise_not_found"
    weak = await client.post(
        "/api/users",
        json={"username": "wang", "password": "short", "role": "bureau"},
        headers=admin,
    )
    assert weak.status_code == 400
    assert weak.json()["error"] == "weak_password"
    bad_role = await client.post(
        "/api/users", json={"username": "wang", "password": PASSWORD, "role": "king"}, headers=admin
    )
    assert bad_role.status_code == 422
    assert bad_role.json()["error"] == "validation_error"
    assert bad_role.json()["message"].startswith("body.role")


async def test_writes_are_audited_with_request_id(client: httpx.AsyncClient, world: World) -> None:
    admin = await world.bearer("root", Role.ADMIN)
    response = await client.post(
        "/api/enterprises",
        json={"name": "盛泽示例织造", "credit_code": CODE_A},
        headers={**admin, "X-Request-ID": "req-under-test"},
    )
    assert response.status_code == 201
    assert response.headers["x-request-id"] == "req-under-test"
    page = await client.get("/api/audit", params={"request_id": "req-under-test"}, headers=admin)
    entries = page.json()["items"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["actor"] == "root"
    assert entry["action"] == "enterprise.create"
    assert entry["entity_id"] == str(response.json()["id"])
    assert entry["before"] is None
    assert entry["after"] == {"name": "盛泽示例织造", "credit_code": CODE_A}


async def test_audit_filters_and_pages(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    for n in range(5):
        await world.user(f"user{n}", Role.ENTERPRISE)
        clock.advance(timedelta(minutes=1))
    first = await client.get(
        "/api/audit", params={"action": "user.create", "page_size": 2}, headers=analyst
    )
    body = first.json()
    assert body["total"] == 6
    assert [e["after"]["username"] for e in body["items"]] == ["user4", "user3"]
    third = await client.get(
        "/api/audit", params={"action": "user.create", "page_size": 2, "page": 3}, headers=analyst
    )
    assert [e["after"]["username"] for e in third.json()["items"]] == ["user0", "ana"]
    family = await client.get("/api/audit", params={"action": "token."}, headers=analyst)
    assert {e["action"] for e in family.json()["items"]} == {"token.create"}
    since = (clock.now() - timedelta(minutes=2)).replace(tzinfo=None).isoformat()
    recent = await client.get(
        "/api/audit", params={"action": "user.create", "since": since}, headers=analyst
    )
    assert [e["after"]["username"] for e in recent.json()["items"]] == ["user4", "user3"]
    bad = await client.get("/api/audit", params={"page": 0}, headers=analyst)
    assert bad.status_code == 422


async def test_auditors_read_the_audit_log(client: httpx.AsyncClient, world: World) -> None:
    auth = await world.bearer("shen", Role.AUDITOR)
    response = await client.get("/api/audit", headers=auth)
    assert response.status_code == 200
    assert response.json()["total"] >= 2


async def test_token_lists_do_not_reveal_which_users_exist(
    client: httpx.AsyncClient, world: World
) -> None:
    auth = await world.bearer("factory", Role.ENTERPRISE)
    await world.user("someone", Role.BUREAU)
    existing = await client.get("/api/tokens", params={"user": "someone"}, headers=auth)
    missing = await client.get("/api/tokens", params={"user": "no-such-user"}, headers=auth)
    assert existing.status_code == missing.status_code == 403
    own = await client.get("/api/tokens", params={"user": "factory"}, headers=auth)
    assert own.status_code == 200
