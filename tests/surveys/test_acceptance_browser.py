"""Issue #20's acceptance, end to end on one running server, as docs/surveys.md walks it through.

A bureau user uploads an XLSForm in the console, publishes it and assigns it to a township's
enterprises; enterprise A answers in the browser (Enketo), enterprise B through the OpenRosa API
as ODK Collect does (formList, form download, multipart submission with a photo); the bureau
approves both, exports the workbook, accepts the proposals, and the chain analysis (page and
API) shows the supply edges the answers named.
"""

from __future__ import annotations

import io
import uuid

import httpx
import pytest
import sqlalchemy as sa
from defusedxml import ElementTree as SafeTree
from fastapi import FastAPI
from openpyxl import load_workbook
from playwright.async_api import Page, async_playwright, expect

from taihu.accounts import Role
from taihu.core import Database, FrozenClock
from taihu.surveys import Submission
from tests.conftest import World
from tests.surveys.helpers import TOWN, XLSX, book, code, enterprises
from tests.surveys.test_webform_browser import READY, _answer, _choose
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP
from tests.web.test_request_limits import _served

pytestmark = pytest.mark.browser

FORM = "town_chain_survey"
OPENROSA = {"X-OpenRosa-Version": "1.0"}
LIST_NS = "{http://openrosa.org/xforms/xformsList}"


def town_form() -> bytes:
    """A bureau's own XLSForm: employees and suppliers, bound to the registry and the chains."""
    head = ["type", "name", "label::中文 (zh)", "label::English (en)", "required",
            "bind::taihu:field"]  # fmt: skip
    survey = [
        head,
        ["integer", "employees", "从业人员数", "Employees", "yes", "employees"],
        ["decimal", "purchases", "年采购总额(万元)", "Annual purchases", "", "purchases"],
        ["begin_repeat", "suppliers", "主要供应商", "Main suppliers", "", "suppliers"],
        ["text", "s_name", "供应商名称", "Supplier name", "", "name"],
        ["text", "s_code", "统一社会信用代码", "Credit code", "", "credit_code"],
        ["select_one ring", "s_ring", "所在区域", "Where", "", "ring"],
        ["select_one input", "s_input", "原料", "Input", "yes", "input"],
        ["decimal", "s_value", "年金额(万元)", "Annual value", "", "value"],
        ["end_repeat", "", "", "", "", ""],
        ["image", "photo", "厂区照片", "Photo of the site", "", ""],
    ]
    choices = [
        ["list_name", "name", "label::中文 (zh)", "label::English (en)"],
        ["ring", "district", "区内", "In the district"],
        ["ring", "province", "省内", "In the province"],
        ["input", "poly.chips", "聚酯切片", "Polyester chips"],
        ["input", "poly.fibre", "涤纶纤维", "Polyester fibre"],
    ]
    settings = [
        ["form_id", "version", "form_title", "default_language", "namespaces"],
        [FORM, "2026.1", "镇产业链调研", "中文 (zh)", 'taihu="https://taihu.dev/xforms"'],
    ]
    return book(survey, choices, settings)


def b_instance(version: str, iid: str) -> bytes:
    """Enterprise B's answer as ODK Collect sends it: a supplier in another province, a photo."""
    return (
        f'<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{FORM}" version="{version}">'
        "<employees>60</employees><purchases>500</purchases>"
        "<suppliers><s_name>宁波化纤</s_name><s_code/><s_ring>province</s_ring>"
        "<s_input>poly.chips</s_input><s_value>300</s_value></suppliers>"
        f"<photo>site.jpg</photo><meta><instanceID>{iid}</instanceID></meta></data>"
    ).encode()


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.context.add_cookies([{"name": "taihu_lang", "value": "en", "url": base}])
    await page.goto(f"{base}/login")
    await page.locator("#username").fill(username)
    await page.locator("#password").fill("correct-horse-battery")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def _openrosa_answer(base: str, token: str) -> str:
    """B's device: the form list, the form, a multipart submission; the instanceID sent."""
    root = f"{base}/openrosa/key/{token}"
    async with httpx.AsyncClient(headers=OPENROSA, timeout=60) as collect:
        listed = await collect.get(f"{root}/formList")
        assert listed.status_code == 200, listed.text
        forms = {
            x.findtext(f"{LIST_NS}formID"): x
            for x in SafeTree.fromstring(listed.content).iter(f"{LIST_NS}xform")
        }
        entry = forms[FORM]
        version = entry.findtext(f"{LIST_NS}version") or ""
        xform = await collect.get(entry.findtext(f"{LIST_NS}downloadUrl") or "")
        assert xform.status_code == 200
        assert 'taihu:field="suppliers"' in xform.text  # the binding travels in the XForm
        assert (await collect.head(f"{root}/submission")).status_code == 204
        iid = f"uuid:{uuid.uuid4()}"
        sent = await collect.post(
            f"{root}/submission",
            files={
                "xml_submission_file": ("submission.xml", b_instance(version, iid), "text/xml"),
                "site.jpg": ("site.jpg", b"\xff\xd8\xff\xe0 a photo", "image/jpeg"),
            },
        )
        assert sent.status_code == 201, sent.text
    return iid


async def test_a_survey_from_upload_to_the_chain_analysis(
    app: FastAPI, world: World, db: Database, clock: FrozenClock
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
    ids = await enterprises(db, clock)  # A and B in TOWN, C (a supplier) elsewhere
    bureau = await world.bearer("zhang.wei", Role.BUREAU)
    await world.user("owner.a", Role.ENTERPRISE, enterprises=(ids[0],))
    owner_b = await world.bearer("owner.b", Role.ENTERPRISE, enterprises=(ids[1],))
    problems: list[str] = []
    async with _served(app) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        # 1. The bureau uploads the XLSForm, publishes it, assigns it to the township.
        bureau_ctx = await browser.new_context(viewport=DESKTOP, locale="en-GB")
        page = await bureau_ctx.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        await _sign_in(page, base, "zhang.wei")
        await page.goto(f"{base}/surveys")
        await page.locator("#file").set_input_files(
            files=[{"name": "town.xlsx", "mimeType": XLSX, "buffer": town_form()}]
        )
        await page.get_by_role("button", name="Upload").click()
        await expect(page.get_by_role("heading", name="Draft uploaded")).to_be_visible()
        await page.get_by_role("link", name="Go to the survey").click()
        await page.get_by_role("button", name="Publish the draft").click()
        await expect(page.get_by_role("button", name="Publish the draft")).to_have_count(0)
        await page.locator("#scope").select_option("township")
        await page.locator("#value").fill(TOWN)
        await page.locator("#deadline").fill("2026-12-31")
        await page.get_by_role("button", name="Assign", exact=True).click()
        await expect(page.locator("main")).to_contain_text("0 of 2 enterprises asked")

        # 2. Enterprise A answers in the browser, through Enketo.
        a_ctx = await browser.new_context(viewport=DESKTOP, locale="en-GB")
        a_page = await a_ctx.new_page()
        a_page.on("pageerror", lambda error: problems.append(str(error)))
        await _sign_in(a_page, base, "owner.a")
        await a_page.goto(f"{base}/my-surveys")
        await a_page.get_by_role("link", name="Fill in").click()
        await a_page.wait_for_selector(READY)
        await expect(a_page.locator(".question").filter(has_text="Employees").first).to_be_visible()
        await _answer(a_page, "employees", "150")
        await _answer(a_page, "purchases", "1000")
        await _answer(a_page, "suppliers/s_name", "调研企业2")
        await _answer(a_page, "suppliers/s_code", code(2))
        await _choose(a_page, "suppliers/s_ring", "district")
        await _choose(a_page, "suppliers/s_input", "poly.chips")
        await _answer(a_page, "suppliers/s_value", "800")
        await a_page.locator(".webform-submit").click()
        await expect(a_page.locator(".webform-status[data-kind='success']")).to_be_visible()
        await a_ctx.close()

        # 3. Enterprise B answers from its device, as ODK Collect would.
        async with httpx.AsyncClient(base_url=base, headers=owner_b, timeout=60) as api:
            made = await api.post(
                "/api/survey-app-users",
                json={"display_name": "B 的平板", "enterprise_id": ids[1]},
            )
        assert made.status_code == 201, made.text
        iid_b = await _openrosa_answer(base, made.json()["token"])
        async with db.session() as session:
            stored = {
                s.channel: s.instance_id for s in await session.scalars(sa.select(Submission))
            }
        assert set(stored) == {"web", "openrosa"}
        iid_a = stored["web"]
        assert stored["openrosa"] == iid_b

        # 4. The bureau reviews: both approved on their pages.
        await page.goto(f"{base}/surveys/{FORM}")
        await expect(page.locator("main")).to_contain_text("2 of 2 enterprises asked")
        for iid in (iid_a, iid_b):
            await page.get_by_role("link", name=iid).click()
            await page.locator("#review_state").select_option("approved")
            await page.get_by_role("button", name="Apply").click()
            history = page.locator("section[aria-labelledby='history-title'] li")
            await expect(history.filter(has_text="Approved")).to_have_count(1)
            if iid == iid_b:
                await expect(page.locator("main")).to_contain_text("site.jpg")  # the photo
            await page.goto(f"{base}/surveys/{FORM}")
        listed = page.locator("section[aria-labelledby='subs-title'] tbody tr")
        await expect(listed).to_have_count(2)
        for row in range(2):
            await expect(listed.nth(row)).to_contain_text("Approved")

        # 5. ... and exports: the workbook opens and holds both answers.
        await page.goto(f"{base}/surveys/{FORM}")
        async with page.expect_download() as waiting:
            await page.get_by_role("link", name="Export (xlsx)").click()
        download = await waiting.value
        assert download.suggested_filename == f"{FORM}.xlsx"
        workbook = load_workbook(io.BytesIO((await download.path()).read_bytes()), read_only=True)
        main = [list(r) for r in workbook[FORM].iter_rows(values_only=True)]
        rows = {r[0]: dict(zip(main[0], r, strict=True)) for r in main[1:]}
        assert set(rows) == {iid_a, iid_b}
        assert (rows[iid_a]["employees"], rows[iid_b]["employees"]) == ("150", "60")
        assert {rows[i]["ReviewState"] for i in rows} == {"approved"}
        suppliers = [list(r) for r in workbook[f"{FORM}-suppliers"].iter_rows(values_only=True)]
        named = suppliers[0].index("suppliers/s_name")
        assert sorted((r[0], r[named]) for r in suppliers[1:]) == sorted(
            [(iid_a, "调研企业2"), (iid_b, "宁波化纤")]
        )

        # 6. The analyst accepts the proposals the approved answers made.
        await page.goto(f"{base}/surveys/{FORM}/proposals")
        accept = page.get_by_role("button", name="Accept")
        await expect(accept).to_have_count(4)  # each: employees and one supply edge
        for left in (3, 2, 1, 0):
            await accept.first.click()
            await expect(accept).to_have_count(left)

        # 7. The chain analysis counts the new edges: on its page and through the API.
        await page.goto(f"{base}/industry-map/polyester")
        buyers = page.locator("section").filter(has_text="Buyers: concentration")
        await expect(buyers).to_contain_text("调研企业0")
        await expect(buyers).to_contain_text("调研企业1")
        await expect(buyers).to_contain_text("800.0")
        await bureau_ctx.close()
        await browser.close()

        async with httpx.AsyncClient(base_url=base, headers=bureau, timeout=60) as api:
            analysis = (await api.get("/api/chains/polyester/analysis")).json()
    sourcing = {s["buyer"]["key"]: s for s in analysis["sourcing"] if s["input"] == "poly.chips"}
    assert (sourcing[code(0)]["value"], sourcing[code(0)]["outside_share"]) == (800.0, 0.0)
    assert (sourcing[code(1)]["value"], sourcing[code(1)]["outside_share"]) == (300.0, 1.0)
    assert not problems, problems
