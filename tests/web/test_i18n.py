"""Messages in the reader's language: API errors by Accept-Language, flashes, terms, dates."""

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from taihu.accounts import Role
from taihu.chains import (
    ChainSpec,
    Firm,
    SegmentSpec,
    Stage,
    Supply,
    SupplyGraph,
    Thresholds,
    analyze_chain,
)
from taihu.core import N_, Message, NotFound
from taihu.enterprises import industry_class, township
from taihu.web.clock_format import read_day, when
from taihu.web.i18n import accepted_language, current_language, render
from taihu.web.terms import message_html, term
from tests.conftest import CODE_A, CODE_B, World
from tests.web.test_console import sign_in


async def test_api_errors_speak_the_callers_language(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await world.bearer("analyst", Role.BUREAU)
    url = "/api/enterprises/999999"
    english = await client.get(url, headers=headers)
    assert english.status_code == 404
    assert english.json()["message"] == "no enterprise 999999"  # no Accept-Language: English
    chinese = await client.get(url, headers=headers | {"Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.json()["message"] == "没有编号为 999999 的企业"
    assert chinese.json()["error"] == english.json()["error"]  # codes stay the same for programs
    assert chinese.json()["details"] == {"enterprise_id": 999999}
    ranked = await client.get(url, headers=headers | {"Accept-Language": "fr, zh;q=0.5, en;q=0.1"})
    assert ranked.json()["message"] == "没有编号为 999999 的企业"
    other = await client.get(url, headers=headers | {"Accept-Language": "de"})
    assert other.json()["message"] == "no enterprise 999999"
    # The console's language cookie (the console's own calls) wins over the browser's header.
    client.cookies.set("taihu_lang", "en")
    chosen = await client.get(url, headers=headers | {"Accept-Language": "zh-CN"})
    assert chosen.json()["message"] == "no enterprise 999999"


def test_accept_language_parsing() -> None:
    assert accepted_language("zh") == "zh_CN"
    assert accepted_language("zh-TW;q=0.8, en;q=0.9") == "en"
    assert accepted_language("en-GB, zh;q=0") == "en"
    assert accepted_language("zh;q=0, fr") is None
    assert accepted_language("*") is None
    assert accepted_language(None) is None


async def test_a_refused_console_form_comes_back_as_a_signed_flash(
    client: httpx.AsyncClient, world: World
) -> None:
    own = await world.enterprise("自己的企业", CODE_A)
    other = await world.enterprise("别人的企业", CODE_B)
    await world.user("owner", Role.ENTERPRISE, enterprises=(own.id,))
    await sign_in(client, "owner")
    board = await client.get("/monitor/cases")
    csrf = re.search(r'name="csrf" value="([^"]*)"', board.text)
    assert csrf
    refused = await client.post("/monitor/cases", data={
        "csrf": csrf.group(1), "enterprise_id": str(other.id), "category": "funds",
        "title": "不是我的"})  # fmt: skip
    assert refused.status_code == 303
    assert refused.headers["location"] == "/monitor/cases"  # no ?error= any link could forge
    shown = await client.get("/monitor/cases")
    assert f"owner 无权代表企业 {other.id}" in shown.text
    assert (await client.get("/monitor/cases")).text.count("无权代表企业") == 0  # shown once
    # Words in the query string are not put on the page, nor is a cookie we did not sign.
    forged = await client.get("/monitor/cases", params={"error": "请拨打 110"})
    assert "请拨打 110" not in forged.text
    client.cookies.set("taihu_flash", "eyJpZCI6ICJoYWNrZWQifQ==.0000")
    assert "hacked" not in (await client.get("/monitor/cases")).text


def test_terms_dates_and_messages_in_each_language() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    moment = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)  # 02:30 the next day in Shanghai
    assert when(moment, zone, "zh_CN") == "2026-12-06 02:30"
    assert when(moment, zone, "en") == "6 Dec 2026, 02:30"
    assert when(date(2026, 1, 9), zone, "en") == "9 Jan 2026"
    assert when(None, zone, "en") == "—"
    assert when("2026-12-05T18:30:00+00:00", zone, "zh_CN") == "2026-12-06 02:30"  # stored ISO
    assert when("not a date", zone, "en") == "not a date"
    token = current_language.set("zh_CN")
    try:
        assert [term(v) for v in ("active", "pending", True, "true", "False")] == [
            "启用", "待审核", "是", "是", "否",
        ]  # fmt: skip
        assert term("production-machine") == "生产设备"
        assert term("20M-100M") == "2000 万至 1 亿元"
        assert term("something-new") == "something-new"  # unknown keys stay as written
        assert render(NotFound(N_("no device {device_id}"), device_id=7)) == "没有编号为 7 的设备"
        kind = Message(N_("device"))
        assert render(Message(N_("a {what} needs a name"), what=kind)) == "设备需要名称"
    finally:
        current_language.reset(token)
    token = current_language.set("en")
    try:
        assert term("pending") == "pending"
        assert term(False) == "No"  # noqa: FBT003 - a stored boolean is what term shows
        assert term("20M-100M") == "¥20 to 100 million"
    finally:
        current_language.reset(token)


def test_date_fields_read_either_languages_form_and_nothing_ambiguous() -> None:
    day = date(2026, 12, 6)
    for text in (
        "2026-12-06",
        " 2026-12-6 ",
        "2026/12/06",
        "2026年12月6日",
        "6 Dec 2026",
        "06 december 2026",
        "Dec 6, 2026",
        when(day, UTC, "en"),
        when(day, UTC, "zh_CN"),
    ):
        assert read_day(text) == day, text
    # Day and month in numbers only are read differently by different readers: never guessed.
    for text in ("06/12/2026", "12/06/2026", "2026-02-30", "6 Foo 2026", "", "2026-12", "x" * 40):
        assert read_day(text) is None, text  # fmt: skip
    # No console form uses the browser's date input, whose format follows the browser's locale.
    folder = Path(__file__).parents[2] / "src" / "taihu" / "web" / "templates"
    pages = [p for p in folder.rglob("*.html") if 'type="date"' in p.read_text()]
    assert pages == []


def test_chain_suggestions_in_each_language_with_their_values_marked_as_data() -> None:
    graph = SupplyGraph.build(
        [Firm("P1", "部件一", segments=frozenset({"part"})), Firm("F1", "整机一"),
         Firm("F2", "整机二")],
        [Supply("P1", "F1", "part", 30), Supply("P1", "F2", "part", 30)],
    )  # fmt: skip
    chain = ChainSpec("toy", "玩具链", (SegmentSpec("part", "部件", Stage.MIDSTREAM),))
    analysis = analyze_chain(graph, chain, Thresholds(chokepoint_dependants=2))
    [choke] = [s for s in analysis.suggestions if s.target == "part"]
    # The API and the store keep the English sentence; the console renders the message.
    assert str(choke.reason) == (
        "部件一 is the only supplier of 部件 to 2 buyers: qualify a second source"
    )
    token = current_language.set("zh_CN")
    try:
        assert term(choke.kind) == "强链"
        assert message_html(choke.reason) == (
            '<span translate="no">部件一</span>是 2 家采购方'
            '<span translate="no">部件</span>的唯一供应商：应培育第二供应来源'  # noqa: RUF001 - Chinese punctuation
        )
        assert message_html(Message(N_("no local enterprise in {segment}"), segment="<b>")) == (
            '<span translate="no">&lt;b&gt;</span>无本地企业'
        )
    finally:
        current_language.reset(token)
    token = current_language.set("en")
    try:
        assert term("延链") == "extend the chain"
    finally:
        current_language.reset(token)


def test_domain_names_carry_both_languages() -> None:
    assert township("320509105").name("en") == "Shengze Town"
    assert township("320509105").name("zh_CN") == "盛泽镇"
    assert township("Shengze Town").code == "320509105"
    fibre = industry_class("3832")
    assert fibre.name("zh_CN") == "光纤制造"
    # Classes have no English name of their own: their division's, with the code.
    assert fibre.name("en") == "Manufacture of electrical machinery and equipment · 3832"
