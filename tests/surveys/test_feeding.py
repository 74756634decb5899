"""Feeding the map: the built-in chain survey, proposals from approved answers, decisions."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role
from taihu.chains import SupplyEdge
from taihu.chains.templates import builtin_templates
from taihu.core import Database, FrozenClock
from taihu.enterprises import Enterprise
from taihu.surveys import CHAIN_FORM_ID, bindings, chain_form_xlsx, convert_xlsform
from tests.conftest import World
from tests.surveys.helpers import TOWN, code, enterprises
from tests.surveys.test_console import _csrf
from tests.web.test_console import sign_in

SUBS = f"/api/surveys/{CHAIN_FORM_ID}/submissions"


@dataclass
class Chain:
    """The chain survey installed, assigned to TOWN, and A's device."""

    bureau: dict[str, str]
    owner_a: dict[str, str]
    ids: list[int]
    version: str
    key_a: str


def chain_instance(version: str, iid: str, *, employees: str = "120") -> bytes:
    """A's answer: two suppliers (C registered; one outside by share), two customers."""
    return (
        f'<?xml version="1.0"?><data id="{CHAIN_FORM_ID}" version="{version}">'
        f"<credit_code/><employees>{employees}</employees><revenue_band>20M-100M</revenue_band>"
        "<chains>polyester</chains><main_products>涤纶长丝</main_products>"
        "<purchases>1000</purchases>"
        f"<suppliers><s_name>调研企业2</s_name><s_code>{code(2)}</s_code><s_ring>district</s_ring>"
        "<s_chain>polyester</s_chain><s_input>poly.chips</s_input><s_share/>"
        "<s_value>800</s_value><s_subst>no</s_subst></suppliers>"
        "<suppliers><s_name>宁波化纤</s_name><s_code/><s_ring>province</s_ring>"
        "<s_chain>polyester</s_chain><s_input>poly.chips</s_input><s_share>40</s_share>"
        "<s_value/><s_subst>yes</s_subst></suppliers>"
        "<sales>2000</sales>"
        f"<customers><c_name>调研企业1</c_name><c_code>{code(1)}</c_code><c_chain>polyester"
        "</c_chain><c_input>poly.fibre</c_input><c_share>15</c_share><c_value/>"
        "<c_subst>no</c_subst></customers>"
        "<customers><c_name>外地服装厂</c_name><c_code/><c_chain>polyester</c_chain>"
        "<c_input>poly.fibre</c_input><c_share>20</c_share><c_value/><c_subst/></customers>"
        f"<difficulties/><meta><instanceID>{iid}</instanceID></meta></data>"
    ).encode()


@pytest.fixture
async def chain(client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock) -> Chain:
    """The built-in survey installed with one call, assigned to TOWN (A and B)."""
    ids = await enterprises(db, clock)
    bureau = await world.bearer("zhang.wei", Role.BUREAU)
    owner_a = await world.bearer("owner.a", Role.ENTERPRISE, enterprises=(ids[0],))
    installed = await client.post("/api/survey-builtins/chain-survey", headers=bureau)
    assert installed.status_code == 200, installed.text
    assert installed.json()["new"] is True
    again = await client.post("/api/survey-builtins/chain-survey", headers=bureau)
    assert again.json() == {**installed.json(), "new": False}
    assigned = await client.post(
        f"/api/surveys/{CHAIN_FORM_ID}/assignments",
        headers=bureau,
        json={"scope": "township", "value": TOWN, "deadline": "2026-12-31"},
    )
    assert assigned.json()["enterprises"] == 2, assigned.text
    made = await client.post(
        "/api/survey-app-users",
        headers=owner_a,
        json={"display_name": "平板", "enterprise_id": ids[0]},
    )
    return Chain(bureau, owner_a, ids, installed.json()["version"], made.json()["token"])


async def _answer_and_approve(client: httpx.AsyncClient, chain: Chain, iid: str) -> None:
    sent = await client.post(
        f"/openrosa/key/{chain.key_a}/submission",
        files={"xml_submission_file": ("s.xml", chain_instance(chain.version, iid), "text/xml")},
    )
    assert sent.status_code == 201, sent.text
    approved = await client.post(
        f"{SUBS}/{iid}/review", headers=chain.bureau, json={"review_state": "approved"}
    )
    assert approved.status_code == 200, approved.text


def _by_key(proposals: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {p["key"]: p for p in proposals}


def test_chain_form_binds_registry_fields_and_relationships() -> None:
    content, version = chain_form_xlsx(builtin_templates())
    form = convert_xlsform(content, "chain.xlsx")
    assert form.form_id == CHAIN_FORM_ID
    assert form.version == version
    found = bindings(form.fields)
    assert set(found.registry) == {"employees", "revenue_band"}
    assert found.totals == {"suppliers": "purchases", "customers": "sales"}
    assert found.repeats["suppliers"][1]["input"] == "suppliers/s_input"
    segments = {c["name"] for c in form.choices["segment"]}
    assert {"poly.chips", "fibre.preform", "ic.fab"} <= segments
    assert 'xmlns:taihu="https://taihu.dev/xforms"' in form.xform
    labels = form.fields[1]["label"]
    assert labels == {"中文 (zh)": "从业人员数", "English (en)": "Employees"}


async def test_approving_proposes_and_accepting_feeds_the_chain_analysis(
    client: httpx.AsyncClient, chain: Chain, db: Database
) -> None:
    before = (await client.get("/api/chains/polyester/analysis", headers=chain.bureau)).json()
    assert not [s for s in before["sourcing"] if s["buyer"]["key"] == code(0)]
    await _answer_and_approve(client, chain, "uuid:f1")
    listed = await client.get(f"/api/surveys/{CHAIN_FORM_ID}/proposals", headers=chain.bureau)
    proposals = _by_key(listed.json())
    assert set(proposals) == {
        "registry:employees",
        "registry:revenue_band",
        "edge:suppliers[1]",
        "edge:suppliers[2]",
        "edge:customers[1]",
        "edge:customers[2]",
    }
    assert proposals["registry:employees"]["before"] is None
    assert proposals["registry:employees"]["after"] == {"employees": 120}
    outside = proposals["edge:suppliers[2]"]
    assert outside["after"]["value"] == 400.0  # 40 % of 1000
    assert (outside["after"]["supplier_name"], outside["after"]["ring"]) == ("宁波化纤", "province")
    assert outside["problem"] is None
    assert proposals["edge:customers[1]"]["after"]["value"] == 300.0  # 15 % of 2000
    assert "registered" in proposals["edge:customers[2]"]["problem"]
    # Nothing is written before an analyst decides.
    async with db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(SupplyEdge)) == 0

    for key in ("edge:suppliers[1]", "edge:suppliers[2]", "edge:customers[1]"):
        done = await client.post(
            f"/api/survey-proposals/{proposals[key]['id']}/accept", headers=chain.bureau
        )
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "accepted"
        assert done.json()["edge_id"] is not None
    refused = await client.post(
        f"/api/survey-proposals/{proposals['edge:customers[2]']['id']}/accept",
        headers=chain.bureau,
    )
    assert refused.status_code == 400
    twice = await client.post(
        f"/api/survey-proposals/{proposals['edge:suppliers[1]']['id']}/accept",
        headers=chain.bureau,
    )
    assert twice.status_code == 409

    after = (await client.get("/api/chains/polyester/analysis", headers=chain.bureau)).json()
    mine = [s for s in after["sourcing"] if s["buyer"]["key"] == code(0)]
    assert len(mine) == 1
    chips = mine[0]
    assert (chips["input"], chips["suppliers"], chips["value"]) == ("poly.chips", 2, 1200.0)
    assert chips["outside_share"] == pytest.approx(400 / 1200)
    fibre = [s for s in after["sourcing"] if s["buyer"]["key"] == code(1)]
    assert [(s["input"], s["value"]) for s in fibre] == [("poly.fibre", 300.0)]
    source = f"survey:{CHAIN_FORM_ID}/uuid:f1"
    async with db.session() as session:
        edges = list(await session.scalars(sa.select(SupplyEdge).order_by(SupplyEdge.id)))
        assert [e.source for e in edges] == [source] * 3
        audit = list(
            await session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "supply_edge.create")
            )
        )
        assert {a.after["source"] for a in audit} == {source}


async def test_rejecting_leaves_nothing_and_registry_updates_carry_the_source(
    client: httpx.AsyncClient, chain: Chain, db: Database
) -> None:
    await _answer_and_approve(client, chain, "uuid:f2")
    proposals = _by_key(
        (await client.get(f"/api/surveys/{CHAIN_FORM_ID}/proposals", headers=chain.bureau)).json()
    )
    for key in ("edge:suppliers[1]", "edge:suppliers[2]", "edge:customers[1]"):
        done = await client.post(
            f"/api/survey-proposals/{proposals[key]['id']}/reject", headers=chain.bureau
        )
        assert done.json()["state"] == "rejected"
    forbidden = await client.post(
        f"/api/survey-proposals/{proposals['registry:employees']['id']}/accept",
        headers=chain.owner_a,
    )
    assert forbidden.status_code == 403
    accepted = await client.post(
        f"/api/survey-proposals/{proposals['registry:employees']['id']}/accept",
        headers=chain.bureau,
    )
    assert accepted.status_code == 200, accepted.text
    async with db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(SupplyEdge)) == 0
        update = await session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "enterprise.update")
        )
        assert update is not None
        assert update.after == {"employees": 120, "source": f"survey:{CHAIN_FORM_ID}/uuid:f2"}
        rejected = list(
            await session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "survey.proposal.reject")
            )
        )
        assert len(rejected) == 3
    company = await client.get(f"/api/enterprises/{chain.ids[0]}", headers=chain.bureau)
    assert company.json()["employees"] == 120
    pending = await client.get(
        f"/api/surveys/{CHAIN_FORM_ID}/proposals?state=proposed", headers=chain.bureau
    )
    assert [p["key"] for p in pending.json()] == ["registry:revenue_band", "edge:customers[2]"]
    # Approving again (after a review round) proposes nothing twice.
    for state in ("hasIssues", "approved"):
        await client.post(
            f"{SUBS}/uuid:f2/review", headers=chain.bureau, json={"review_state": state}
        )
    again = await client.get(f"/api/surveys/{CHAIN_FORM_ID}/proposals", headers=chain.bureau)
    assert len(again.json()) == 6


async def test_console_installs_shows_analytics_and_decides(
    client: httpx.AsyncClient, chain: Chain, db: Database
) -> None:
    await _answer_and_approve(client, chain, "uuid:f3")
    await sign_in(client, "zhang.wei")
    listing = await client.get("/surveys")
    token = _csrf(listing.text)
    installed = await client.post("/survey-builtins/chain-survey", data={"csrf": token})
    assert installed.status_code == 303
    assert installed.headers["location"] == f"/surveys/{CHAIN_FORM_ID}"
    client.cookies.set("taihu_lang", "zh-CN")
    figures = await client.get(f"/surveys/{CHAIN_FORM_ID}/analytics")
    assert figures.status_code == 200
    assert "各镇（街道）回收率" in figures.text  # noqa: RUF001 - the Chinese label
    assert "调研企业1" in figures.text  # asked, not answered
    assert "最小 120，中位数 120，最大 120" in figures.text  # noqa: RUF001 - as shown
    page = await client.get(f"/surveys/{CHAIN_FORM_ID}/proposals")
    assert page.status_code == 200
    assert "宁波化纤" in page.text
    assert "从业人员" in page.text
    ids = [int(i) for i in re.findall(r"/proposals/(\d+)\"", page.text)]
    assert len(ids) == 6  # one form per proposal; the unregistered customer's has no accept
    assert page.text.count('value="accept"') == 5
    forged = await client.post(
        f"/surveys/{CHAIN_FORM_ID}/proposals/{ids[0]}", data={"csrf": "x", "action": "accept"}
    )
    assert forged.status_code == 403
    done = await client.post(
        f"/surveys/{CHAIN_FORM_ID}/proposals/{ids[0]}", data={"csrf": token, "action": "accept"}
    )
    assert done.status_code == 303
    again = await client.post(
        f"/surveys/{CHAIN_FORM_ID}/proposals/{ids[0]}", data={"csrf": token, "action": "accept"}
    )
    assert again.status_code == 303
    shown = (await client.get(f"/surveys/{CHAIN_FORM_ID}/proposals")).text
    assert "已接受" in shown
    assert "已经是" in shown  # the flash of the second decision
    async with db.session() as session:
        employees = await session.scalar(
            sa.select(Enterprise.employees).where(Enterprise.id == chain.ids[0])
        )
    assert employees == 120
