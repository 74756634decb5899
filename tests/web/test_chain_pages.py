"""The industry map's console pages, signed in as the bureau and as an enterprise user."""

import httpx

from taihu.accounts import Principal, Role
from taihu.chains import ChainService, EdgeIn
from taihu.core import Database, FrozenClock
from taihu.enterprises import EnterpriseService, Profile
from tests.conftest import CODE_A, CODE_B, World
from tests.web.test_console import _hidden, sign_in

SYSTEM = Principal.system("test")


async def _district(db: Database, clock: FrozenClock) -> tuple[int, int]:
    async with db.session() as session:
        registry = EnterpriseService(session, clock)
        a = await registry.create(SYSTEM, "七都示例光棒", CODE_A, Profile(industry_code="3832"))
        b = await registry.create(SYSTEM, "七都示例光纤", CODE_B, Profile(industry_code="3832"))
        chains = ChainService(session, clock)
        await chains.confirm_tags(SYSTEM, [(a.id, "fibre.preform"), (b.id, "fibre.fibre")])
        await chains.add_edge(SYSTEM, EdgeIn(CODE_B, "fibre.preform", 500, supplier_code=CODE_A))
        return a.id, b.id


async def test_bureau_sees_the_map_gaps_and_disruption(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    a, b = await _district(db, clock)
    await world.user("ana", Role.BUREAU)
    await sign_in(client, "ana")
    index = await client.get("/industry-map")
    assert index.status_code == 200
    assert "光纤光缆" in index.text
    assert "缺链" in index.text
    chain = await client.get("/industry-map/optical-fibre")
    assert chain.status_code == 200
    assert 'id="chain-data"' in chain.text
    assert "建链" in chain.text  # 2 of 6 segments present: build the chain
    # The one buyer of preforms buys them from one local supplier: HHI 1.00, high; 0 % outside.
    assert "供应商集中度 (HHI)" in chain.text
    assert '<span class="status status-missing" title="高">1.00</span>' in chain.text
    assert '<span class="status status-ok" title="低">0%</span>' in chain.text
    assert (
        '<span translate="no">光纤预制棒</span>无本地企业' not in chain.text
    )  # preforms have a local member
    # The suggestion's reason in the page language, the segment it names marked as data.
    assert '<span translate="no">高纯化工原料</span>无本地企业' in chain.text
    down = await client.get("/industry-map/disruption", params={"down": CODE_A})
    assert "七都示例光纤" in down.text  # loses its only preform supplier
    assert "以点带线扩面" in down.text
    bad = await client.get("/industry-map/disruption", params={"down": "123"})
    assert "统一社会信用代码为 18 位" in bad.text  # the credit-code error, in the page language
    unknown = await client.get("/industry-map/disruption", params={"down": "Nobody Ltd"})
    assert "没有名为 Nobody Ltd 的已登记企业或区外供应商" in unknown.text
    page = await client.get(f"/enterprises/{b}")
    assert "七都示例光棒" in page.text  # its supplier
    assert "采购结构" in page.text
    assert '<span class="status status-missing" title="高">1.00</span>' in page.text
    assert "fibre.fibre" in page.text
    listed = await client.get("/enterprises", params={"industry": "3832"})
    assert f'href="/enterprises/{a}"' in listed.text
    client.cookies.set("taihu_lang", "en")
    english = await client.get("/industry-map")
    assert "Optical fibre and cable" in english.text
    english = await client.get("/industry-map/optical-fibre")
    assert "build the chain" in english.text
    gap = 'no local enterprise in <span translate="no">High-purity chemicals</span>'
    assert gap in english.text  # the segment by its English name


async def test_enterprise_users_see_their_own_page_only(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    a, b = await _district(db, clock)
    await world.user("fac", Role.ENTERPRISE, enterprises=(a,))
    await sign_in(client, "fac")
    assert (await client.get("/industry-map")).status_code == 403
    assert (await client.get("/industry-map/optical-fibre")).status_code == 403
    assert (await client.get("/industry-map/disruption")).status_code == 403
    mine = await client.get(f"/enterprises/{a}")
    assert mine.status_code == 200
    assert "fibre.preform" in mine.text
    assert "七都示例光纤" in mine.text  # its buyer, by name
    assert (await client.get(f"/enterprises/{b}")).status_code == 403
    assert (await client.get("/enterprises/9999")).status_code == 404
    assert (await client.get("/enterprises/import")).status_code == 403


async def test_registry_upload_reports_problems(client: httpx.AsyncClient, world: World) -> None:
    await world.user("ana", Role.BUREAU)
    await sign_in(client, "ana")
    form = await client.get("/enterprises/import")
    csrf = _hidden(form.text, "csrf")
    content = f"credit_code,name,industry_code\n{CODE_A},甲,3832\n{CODE_B},乙,99\n".encode()
    refused = await client.post(
        "/enterprises/import", files={"file": ("e.csv", content)}, data={"csrf": "nope"}
    )
    assert refused.status_code == 403
    report = await client.post(
        "/enterprises/import", files={"file": ("e.csv", content)}, data={"csrf": csrf}
    )
    assert report.status_code == 200
    assert "未写入任何数据" in report.text
    assert "industry_code" in report.text
    done = await client.post(
        "/enterprises/import",
        files={"file": ("e.csv", content)},
        data={"csrf": csrf, "skip_invalid": "true"},
    )
    assert "已导入" in done.text
