import json
import re

import httpx

from taihu.accounts import AuditFilter, Role, query_audit
from tests.conftest import CODE_A, PASSWORD, World


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    form = await client.get("/login", params={"next": next_path})
    return await client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf": _hidden(form.text, "csrf"),
            "next": next_path,
        },
    )


async def test_pages_redirect_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/audit?action=user.")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/audit%3Faction%3Duser."


async def test_sign_in_page_is_chinese_by_default(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "登录" in page.text
    assert "用户名" in page.text


async def test_sign_in_lands_on_the_overview_with_real_counts(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.enterprise("示例企业", CODE_A)
    await world.user("admin", Role.ADMIN)
    response = await sign_in(client, "admin")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "httponly" in response.headers["set-cookie"].lower()
    home = await client.get("/")
    assert home.status_code == 200
    assert "概览" in home.text
    assert re.search(r'stat-value">1</span><span class="stat-label">企业', home.text)
    assert re.search(r'stat-value">1</span><span class="stat-label">用户', home.text)
    chart = re.search(
        r'<script type="application/json" id="activity-data">(.*?)</script>', home.text
    )
    assert chart
    data = json.loads(chart.group(1))
    # Today (in Shanghai) holds the three writes: enterprise, user and the sign-in session.
    assert data["counts"] == [0] * 13 + [3]
    assert data["days"][-1] == "11-25"
    assert data["days"][0] == "11-12"


async def test_wrong_password_and_forged_form(client: httpx.AsyncClient, world: World) -> None:
    await world.user("admin", Role.ADMIN)
    wrong = await sign_in(client, "admin", "not-the-password")
    assert wrong.status_code == 401
    assert "用户名或密码错误。" in wrong.text
    assert 'value="admin"' in wrong.text  # the user name is kept; only the password is retyped
    forged = await client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf": "forged"}
    )
    assert forged.status_code == 400
    assert "taihu_session" not in forged.headers.get("set-cookie", "")


async def test_next_cannot_redirect_off_site(client: httpx.AsyncClient, world: World) -> None:
    await world.user("admin", Role.ADMIN)
    response = await sign_in(client, "admin", next_path="//evil.example/")
    assert response.headers["location"] == "/"
    switched = await client.get("/lang/en", params={"next": "https://evil.example"})
    assert switched.headers["location"] == "/"


async def test_language_switch_to_english_and_back(client: httpx.AsyncClient, world: World) -> None:
    await world.user("admin", Role.ADMIN)
    await sign_in(client, "admin")
    audit = await client.get("/audit", params={"action": "user."})
    assert "/lang/en?next=/audit%3Faction%3Duser." in audit.text  # filters survive a switch
    switched = await client.get("/lang/en", params={"next": "/"})
    assert switched.status_code == 303
    home = await client.get("/")
    assert '<html lang="en">' in home.text
    assert "Overview" in home.text
    assert "Sign out" in home.text
    assert "概览" not in home.text
    await client.get("/lang/zh_CN")
    assert "概览" in (await client.get("/")).text
    await client.get("/lang/klingon")  # unknown languages are ignored
    assert "概览" in (await client.get("/")).text


async def test_audit_page_for_staff_only(client: httpx.AsyncClient, world: World) -> None:
    enterprise = await world.enterprise("示例企业", CODE_A)
    await world.user("factory", Role.ENTERPRISE, enterprises=(enterprise.id,))
    await sign_in(client, "factory")
    denied = await client.get("/audit")
    assert denied.status_code == 403
    own = await client.get("/enterprises")
    assert "示例企业" in own.text


async def test_audit_page_filters_with_htmx_partial(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.user("admin", Role.ADMIN)
    await world.enterprise("示例企业", CODE_A)
    await sign_in(client, "admin")
    full = await client.get("/audit", params={"action": "enterprise.create"})
    assert "<nav" in full.text
    assert "enterprise.create" in full.text
    partial = await client.get(
        "/audit", params={"action": "enterprise.create"}, headers={"HX-Request": "true"}
    )
    assert "<html" not in partial.text
    assert "1 条记录" in partial.text


async def test_logout_needs_the_session_csrf_token(client: httpx.AsyncClient, world: World) -> None:
    await world.user("admin", Role.ADMIN)
    await sign_in(client, "admin")
    home = await client.get("/")
    refused = await client.post("/logout", data={"csrf": "wrong"})
    assert refused.status_code == 403
    done = await client.post("/logout", data={"csrf": _hidden(home.text, "csrf")})
    assert done.status_code == 303
    assert (await client.get("/")).status_code == 303
    async with world.db.session() as session:
        entries, _ = await query_audit(
            session, AuditFilter(action="session."), page=1, page_size=10
        )
    assert [e.action for e in entries] == ["session.end", "session.create"]


async def test_cookie_session_writes_need_the_csrf_header(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.user("admin", Role.ADMIN)
    await sign_in(client, "admin")
    home = await client.get("/")
    token = _hidden(home.text, "csrf")
    body = {"name": "示例企业", "credit_code": CODE_A}
    refused = await client.post("/api/enterprises", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf_failed"
    accepted = await client.post("/api/enterprises", json=body, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201
