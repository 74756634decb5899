"""The chains API with its permissions: the bureau sees all, enterprise users their own."""

import httpx

from taihu.accounts import Role
from tests.conftest import CODE_A, CODE_B, World

CODE_C = "91320509MA0TXT0377"


async def _district(client: httpx.AsyncClient, analyst: dict[str, str]) -> dict[str, int]:
    ids = {}
    for code, name, industry in (
        (CODE_A, "七都示例光纤", "3832"),
        (CODE_B, "七都示例光缆", "3833"),
        (CODE_C, "松陵示例通信设备", "3921"),
    ):
        created = await client.post(
            "/api/enterprises",
            json={"name": name, "credit_code": code, "industry_code": industry},
            headers=analyst,
        )
        assert created.status_code == 201, created.text
        ids[code] = created.json()["id"]
    for supplier, buyer, item in ((CODE_A, CODE_B, "fibre.fibre"), (CODE_B, CODE_C, "fibre.cable")):
        edge = await client.post(
            "/api/supply-edges",
            json={"supplier_code": supplier, "buyer_code": buyer, "input_category": item,
                  "annual_value": 100},
            headers=analyst,
        )  # fmt: skip
        assert edge.status_code == 201, edge.text
    return ids


async def test_tagging_analysis_and_disruption(client: httpx.AsyncClient, world: World) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    ids = await _district(client, analyst)
    suggested = await client.post("/api/chain-tags/suggest", headers=analyst)
    assert suggested.json()["suggested"] >= 3
    tags = await client.get(
        "/api/chain-tags", params={"status": "suggested", "page_size": 500}, headers=analyst
    )
    for tag in tags.json()["items"]:
        decided = await client.post(
            f"/api/chain-tags/{tag['id']}/decision", json={"confirm": True}, headers=analyst
        )
        assert decided.json()["status"] == "confirmed"
        assert decided.json()["decided_by"] == "ana"
    analysis = await client.get("/api/chains/optical-fibre/analysis", headers=analyst)
    assert analysis.status_code == 200, analysis.text
    body = analysis.json()
    by_key = {s["key"]: s for s in body["segments"]}
    assert by_key["fibre.cable"]["members"] == [{"key": CODE_B, "name": "七都示例光缆"}]
    assert by_key["fibre.chemicals"]["status"] == "missing"
    assert by_key["fibre.fibre"]["local_ratio"] == 1.0
    # B sits between A and C in the fibre -> cable chain
    assert body["betweenness"] == [{"key": CODE_B, "name": "七都示例光缆", "score": 1.0}]
    assert [a["key"] for a in body["articulation_points"]] == [CODE_B]
    down = await client.post("/api/chains/disruption", json={"down": [CODE_A]}, headers=analyst)
    assert [(f["key"], f["depth"]) for f in down.json()["fallen"]] == [(CODE_B, 1), (CODE_C, 2)]
    assert down.json()["unblock"][0]["key"] == CODE_A
    missing = await client.get("/api/chains/nope/analysis", headers=analyst)
    assert missing.status_code == 404
    assert ids[CODE_A] > 0


async def test_enterprise_users_see_their_own_edges_only(
    client: httpx.AsyncClient, world: World
) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    ids = await _district(client, analyst)
    factory = await world.bearer("fac", Role.ENTERPRISE, enterprises=(ids[CODE_A],))
    mine = await client.get("/api/supply-edges", headers=factory)
    assert [(e["supplier_key"], e["buyer_id"]) for e in mine.json()["items"]] == [
        (CODE_A, ids[CODE_B])
    ]
    other = await client.get(
        "/api/supply-edges", params={"enterprise_id": ids[CODE_C]}, headers=factory
    )
    assert other.status_code == 403
    assert other.json()["error"] == "enterprise_forbidden"
    assert (await client.get("/api/supply-edges", headers=analyst)).json()["total"] == 2
    denied = await client.get("/api/chains/optical-fibre/analysis", headers=factory)
    assert denied.status_code == 403
    denied = await client.post("/api/chains/disruption", json={"down": [CODE_A]}, headers=factory)
    assert denied.status_code == 403
    denied = await client.post(
        "/api/supply-edges",
        json={"supplier_code": CODE_C, "buyer_code": CODE_A, "input_category": "x",
              "annual_value": 1},
        headers=factory,
    )  # fmt: skip
    assert denied.status_code == 403
    assert (await client.get("/api/chains", headers=factory)).status_code == 200


async def test_bad_edges_are_refused_clearly(client: httpx.AsyncClient, world: World) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    await _district(client, analyst)

    async def post(**body: object) -> httpx.Response:
        base = {"buyer_code": CODE_B, "input_category": "fibre.fibre", "annual_value": 5}
        return await client.post("/api/supply-edges", json={**base, **body}, headers=analyst)

    self_loop = await post(supplier_code=CODE_B)
    assert self_loop.json()["error"] == "self_loop"
    cycle = await post(supplier_code=CODE_C, input_category="fibre.cable", buyer_code=CODE_A)
    assert cycle.status_code == 201  # C -> A closes no circle: cable only flows B -> C
    circle = await post(supplier_code=CODE_C, buyer_code=CODE_B, input_category="fibre.cable")
    assert circle.json()["error"] == "supply_cycle"
    negative = await post(supplier_code=CODE_A, input_category="fibre.preform", annual_value=-1)
    assert negative.json()["error"] == "bad_value"
    unknown = await post(supplier_code="91320509MA0TXT029C")
    assert unknown.json()["error"] == "unknown_enterprise"
    twice = await post(supplier_code=CODE_A)
    assert twice.status_code == 409
    imported = await client.post(
        "/api/supply-edges/import",
        files={"file": ("e.csv", f"buyer_code,input_category,annual_value\n{CODE_B},x,1\n")},
        headers=analyst,
    )
    assert imported.json()["problems"] == [
        {"row": 2, "column": "supplier_code", "reason": "give a credit code or a name"}
    ]


async def test_concentration_outside_suppliers_and_what_if_by_name(
    client: httpx.AsyncClient, world: World
) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    await _district(client, analyst)
    outside = await client.post(
        "/api/supply-edges",
        json={"supplier_name": "Example Fibre GmbH", "buyer_code": CODE_B,
              "input_category": "fibre.fibre", "annual_value": 300, "ring": "abroad",
              "supplier_city": "Jena", "supplier_country": "Germany"},
        headers=analyst,
    )  # fmt: skip
    assert outside.status_code == 201, outside.text
    listed = (await client.get("/api/outside-suppliers", headers=analyst)).json()
    assert [(o["key"], o["city"], o["country"]) for o in listed["items"]] == [
        ("ext:Example Fibre GmbH", "Jena", "Germany")
    ]
    body = (await client.get("/api/chains/optical-fibre/analysis", headers=analyst)).json()
    # B buys fibre from A (100) and from abroad (300): HHI 0.25² + 0.75² = 0.625, 75 % outside.
    pairs = {(p["buyer"]["key"], p["input"]): p for p in body["sourcing"]}
    fibre = pairs[CODE_B, "fibre.fibre"]
    assert (fibre["suppliers"], fibre["hhi"], fibre["hhi_level"]) == (2, 0.625, "high")
    assert (fibre["outside_share"], fibre["outside_level"]) == (0.75, "high")
    buyers = {b["buyer"]["key"]: b for b in body["buyers"]}
    assert (buyers[CODE_B]["outside_share"], buyers[CODE_B]["max_hhi"]) == (0.75, 0.625)
    assert (buyers[CODE_C]["outside_share"], buyers[CODE_C]["hhi_level"]) == (0.0, "high")
    segment = {s["key"]: s for s in body["segments"]}["fibre.fibre"]
    assert (segment["outside_share"], segment["hhi"], segment["concentrated"]) == (0.75, 0.625, 1)
    assert body["thresholds"]["hhi_high"] == 0.25
    # The outside supplier is never a local member, and a what-if takes it down by name.
    assert segment["local_count"] == 0
    down = await client.post(
        "/api/chains/disruption", json={"down": ["Example Fibre GmbH", CODE_A]}, headers=analyst
    )
    assert down.status_code == 200, down.text
    assert [d["key"] for d in down.json()["down"]] == [CODE_A, "ext:Example Fibre GmbH"]
    assert [(f["key"], f["depth"]) for f in down.json()["fallen"]] == [(CODE_B, 1), (CODE_C, 2)]
    unknown = await client.post(
        "/api/chains/disruption", json={"down": ["Nobody Ltd"]}, headers=analyst
    )
    assert unknown.status_code == 400
    assert unknown.json()["details"] == {"down": "Nobody Ltd"}
