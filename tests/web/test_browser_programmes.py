"""A programme application in a real browser, on the real demo: two stages to the registry.

An enterprise user applies for 星级上云 with the form and its documents; the district bureau's
stage sends it back, the enterprise resubmits, the district passes it; the bureau enters the
city's and the province's outcomes (the province's with the grade); the award shows in the
registry and as an honour on the enterprise's page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, _screenshot, demo_server
from tests.web.test_browser_forms import PDF, _close, _signed_in

pytestmark = pytest.mark.browser


def _documents(page: Page) -> None:
    for key, name in (("licence", "营业执照.pdf"), ("application_form", "申报书.pdf")):
        page.locator(f"#doc-{key}").set_input_files(
            files=[{"name": name, "mimeType": "application/pdf", "buffer": PDF}]
        )


def _decide(page: Page, button: str, comment: str = "") -> None:
    page.locator("#comment").fill(comment)
    page.locator("#decide-form").get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state("load")
    expect(page.locator("#action-error")).to_have_count(0)


def _application_through_two_stages(browser: Browser, base: str, problems: list[str]) -> None:
    factory = _signed_in(browser, base, "factory", "taihu-factory", problems)
    factory.goto(f"{base}/programmes")
    factory.get_by_role("link", name="星级上云企业", exact=True).click()
    expect(factory.get_by_role("heading", level=1)).to_have_text("星级上云企业")
    chosen = factory.locator("#enterprise_id option:checked")
    enterprise_id = chosen.get_attribute("value")
    enterprise_name = chosen.inner_text().rsplit(" (", 1)[0]
    factory.locator("#contact_name").fill("王敏")
    factory.locator("#contact_phone").fill("0512-6300 1234")
    factory.locator("#summary").fill("设备上云 120 台，能耗管理平台上线。")  # noqa: RUF001
    _documents(factory)
    factory.locator("#apply-form").get_by_role("button", name="提交审核").click()
    factory.wait_for_load_state("load")
    expect(factory.locator("#apply-error")).to_have_count(0)
    expect(factory).to_have_url(re.compile(r"/programmes/applications/\d+$"), timeout=30_000)
    application_url = factory.url
    expect(factory.locator("#application-status")).to_have_text("审核中")
    expect(factory.locator("#application-stage strong")).to_have_text("区工信局")
    expect(factory.locator("#documents")).to_contain_text("营业执照.pdf")
    expect(factory.locator("#review")).to_have_count(0)  # the applicant does not decide
    _screenshot(factory, "programme-applied-zh.png")

    bureau = _signed_in(browser, base, "analyst", "taihu-bureau", problems)
    bureau.goto(application_url)
    with bureau.expect_download() as download:
        bureau.locator("#documents a").first.click()
    assert Path(download.value.path()).read_bytes() == PDF
    _decide(bureau, "退回修改", "请补充上云设备清单")
    expect(bureau.locator("#application-status")).to_have_text("退回修改")

    factory.reload()
    expect(factory.locator("#application-status")).to_have_text("退回修改")
    expect(factory.locator("#timeline")).to_contain_text("请补充上云设备清单")
    factory.locator("#resubmit-form #summary").fill("设备上云 120 台 清单见申报书 能耗管理上线")
    factory.locator("#resubmit-comment").fill("已补充设备清单")
    factory.locator("#resubmit-form").get_by_role("button", name="重新提交").click()
    factory.wait_for_load_state("load")
    refusal = factory.locator("#action-error")
    assert refusal.count() == 0, refusal.all_inner_texts()
    expect(factory.locator("#application-status")).to_have_text("审核中")

    bureau.reload()
    _decide(bureau, "通过", "材料齐全")
    expect(bureau.locator("#application-stage strong")).to_have_text("市级")
    # The city's outcome, entered from its notice; the province's is the last, with the grade.
    _decide(bureau, "通过", "市级推荐")
    expect(bureau.locator("#application-stage strong")).to_have_text("省级")
    bureau.locator("#grade").select_option("4")
    _decide(bureau, "通过", "省级评定四星")
    expect(bureau.locator("#application-status")).to_have_text("已批准")
    expect(bureau.locator("#timeline li")).to_have_count(6)
    _screenshot(bureau, "programme-approved-zh.png")

    bureau.goto(f"{base}/programmes/registry")
    row = bureau.locator("#awards tbody tr", has_text=enterprise_name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("星级上云企业")
    expect(row).to_contain_text("4星级")
    _screenshot(bureau, "programme-registry-zh.png")

    factory.goto(f"{base}/enterprises/{enterprise_id}")
    honours = factory.locator("#honours")
    expect(honours).to_contain_text("星级上云企业")
    expect(honours.locator(".grade")).to_have_text("4星级")
    expect(factory.locator("#enterprise-applications")).to_contain_text("已批准")
    _screenshot(factory, "programme-honour-zh.png")
    _close(factory)
    _close(bureau)


def test_an_application_through_two_stages_to_the_registry(tmp_path: Path) -> None:
    """Apply, be sent back, resubmit, pass the district, enter the upper outcome, see the honour."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does this)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with demo_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            _application_through_two_stages(browser, base, problems)
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
