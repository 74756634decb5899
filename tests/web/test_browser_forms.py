"""The console's forms in a real browser, on the real demo: what an enterprise user does.

One ``taihu demo`` serves the three flows (its set-up is the slow part): a prefix application
with a licence scan through review, an identifier registered from its industry template, and a
device added with its credentials then rotated. Screenshots go to ``var/screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.web.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    SCREENSHOTS,
    _assert_fits,
    _screenshot,
    _sign_in,
    _watch,
    demo_server,
)

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _signed_in(browser: Browser, base: str, user: str, password: str, problems: list[str]) -> Page:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = _watch(context.new_page(), problems)
    page.goto(f"{base}/login")
    _sign_in(page, user, password, button="登录")
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    return page


def _close(page: Page) -> None:
    """Close the page's context once the page is loaded (closing earlier aborts its scripts)."""
    page.wait_for_load_state("load")
    page.context.close()


def _apply_and_review(browser: Browser, base: str, problems: list[str]) -> None:
    factory = _signed_in(browser, base, "factory", "taihu-factory", problems)
    factory.goto(f"{base}/identifiers")
    factory.get_by_role("link", name="申请前缀").click()
    expect(factory.get_by_role("heading", level=1)).to_have_text("申请前缀")
    factory.locator("#contact_name").fill("王敏")
    factory.locator("#contact_phone").fill("not a phone")
    factory.locator("#industry_class").fill("3833")
    factory.locator("#licence").set_input_files(
        files=[{"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    factory.get_by_role("button", name="提交审核").click()
    # Refused in Chinese, with what was typed kept; the file is chosen again.
    expect(factory.locator("#apply-error")).to_contain_text("不是电话号码")
    expect(factory.locator("#contact_name")).to_have_value("王敏")
    factory.locator("#contact_phone").fill("0512-6300 1234")
    factory.locator("#licence").set_input_files(
        files=[{"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    factory.get_by_role("button", name="提交审核").click()
    factory.wait_for_load_state("load")
    expect(factory.locator("#apply-error")).to_have_count(0)  # names the refusal if any
    expect(factory).to_have_url(re.compile(r"/identifiers/applications/\d+$"), timeout=30_000)
    application_url = factory.url
    expect(factory.locator("#application-status")).to_have_text("待审核")
    expect(factory.locator("#documents")).to_contain_text("营业执照.pdf")
    expect(factory.locator("#documents a")).to_have_count(0)  # the applicant cannot open it
    expect(factory.locator("#timeline li")).to_have_count(1)
    _screenshot(factory, "apply-prefix-zh.png")

    auditor = _signed_in(browser, base, "auditor", "taihu-auditor", problems)
    auditor.goto(application_url)
    with auditor.expect_download() as download:
        auditor.locator("#documents a").click()
    saved = download.value.path()
    assert Path(saved).read_bytes() == PDF
    auditor.locator("#reason").fill("执照扫描件不清晰 请重新上传")
    auditor.get_by_role("button", name="驳回").click()
    expect(auditor.locator("#application-status")).to_contain_text("已驳回")
    expect(auditor.locator("#review")).to_have_count(0)

    factory.reload()
    expect(factory.locator("#application-status")).to_contain_text("执照扫描件不清晰")
    expect(factory.locator("#timeline li")).to_have_count(2)
    expect(factory.locator("#timeline li").last).to_contain_text("auditor")
    _screenshot(factory, "apply-prefix-reviewed-zh.png")
    _close(factory)
    _close(auditor)


def _register_from_template(browser: Browser, base: str, problems: list[str]) -> None:
    factory = _signed_in(browser, base, "factory", "taihu-factory", problems)
    factory.goto(f"{base}/identifiers")
    factory.get_by_role("link", name="登记标识").click()
    factory.locator("#choose-template").select_option("elevator-1.0")
    factory.get_by_role("button", name="显示数据项").click()
    expect(factory.locator("#register-form")).to_be_visible()
    # A date field in the page's form, whatever the browser's locale (no type="date").
    day = factory.locator("#item-productionDate")
    expect(day).to_have_attribute("type", "text")
    expect(day).to_have_attribute("placeholder", "例：2026-04-29")  # noqa: RUF001 - Chinese colon
    day.fill("20/11/2026")
    day.blur()  # a change: static/taihu.js reads it and flags what is no date, in the page's words
    assert day.evaluate("e => e.validationMessage") == "不是日期：请写成 2026-04-29 的形式"  # noqa: RUF001
    day.fill("20 Nov 2026")
    day.blur()
    expect(day).to_have_value("2026-11-20")  # rewritten in the page language's form
    assert day.evaluate("e => e.validationMessage") == ""
    day.fill("")
    expect(factory.locator("#register-form .unit").first).to_have_text("kg")
    factory.locator("#suffix").fill("BROWSER-ELV-1")
    factory.locator("#item-manufacturer").fill("汾湖示范电梯有限公司")
    factory.locator("#item-model").fill("FH-1000")
    factory.locator("#item-serialNumber").fill("SN-BROWSER-1")
    factory.locator("#item-ratedLoadKg").fill("一吨")
    factory.get_by_role("button", name="登记", exact=True).click()
    # Every problem beside its own field: the bad number and the two missing required items.
    expect(factory.locator("#error-ratedLoadKg")).to_contain_text("不是数字")
    expect(factory.locator("#error-batch")).to_have_text("必填")
    expect(factory.locator("#error-productionDate")).to_have_text("必填")
    expect(factory.locator("#item-model")).to_have_value("FH-1000")
    _assert_fits(factory, DESKTOP["width"])
    _screenshot(factory, "register-identifier-errors-zh.png")
    factory.locator("#item-ratedLoadKg").fill("1000")
    factory.locator("#item-batch").fill("2026-B12")
    factory.locator("#item-productionDate").fill("2026-11-20")
    factory.get_by_role("button", name="登记", exact=True).click()
    expect(factory).to_have_url(
        re.compile(r"/identifiers\?handle=.*/BROWSER-ELV-1$"), timeout=30_000
    )
    expect(factory.get_by_text("FH-1000")).to_be_visible()
    _close(factory)


def _device_with_credentials(browser: Browser, base: str, problems: list[str]) -> None:
    factory = _signed_in(browser, base, "factory", "taihu-factory", problems)
    factory.goto(f"{base}/devices")
    factory.get_by_role("link", name="添加设备").click()
    factory.locator("#name").fill("浏览器测试电表")
    factory.get_by_role("button", name="添加并显示接入凭据").click()
    expect(factory.locator("#access-token")).to_be_visible(timeout=60_000)
    factory.wait_for_load_state("load")
    token = factory.locator("#access-token").inner_text()
    assert token.startswith("dev")
    expect(factory.locator("#example-mosquitto")).to_contain_text(f"-u {token}")
    expect(factory.locator("#example-sdk")).to_contain_text("TBDeviceMqttClient(")
    expect(factory.locator("#example-curl")).to_contain_text(f"/api/v1/{token}/telemetry")
    mqtt_port = re.search(r"-p (\d+)", factory.locator("#example-mosquitto").inner_text())
    assert mqtt_port
    assert int(mqtt_port[1]) > 0
    _assert_fits(factory, DESKTOP["width"])
    _screenshot(factory, "device-credentials-zh.png")
    factory.get_by_role("link", name="前往设备页面").click()
    expect(factory.get_by_role("heading", level=1)).to_have_text("浏览器测试电表")
    # Leave the page only once its scripts are in: leaving earlier aborts their download.
    factory.wait_for_load_state("load")
    expect(factory.locator("body")).not_to_contain_text(token)
    factory.get_by_role("button", name="签发新令牌").click()
    expect(factory.locator("#access-token")).to_be_visible(timeout=60_000)
    factory.wait_for_load_state("load")
    rotated = factory.locator("#access-token").inner_text()
    assert rotated.startswith("dev")
    assert rotated != token
    factory.get_by_role("link", name="前往设备页面").click()
    expect(factory.get_by_role("button", name="吊销全部令牌")).to_be_visible()
    factory.wait_for_load_state("load")
    factory.get_by_role("button", name="吊销全部令牌").click()
    expect(factory.locator("#revoked-notice")).to_be_visible()
    _close(factory)


def test_forms_of_an_enterprise_user(tmp_path: Path) -> None:
    """Apply for a prefix with a licence scan, register an identifier, add a device."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does this)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with demo_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            _apply_and_review(browser, base, problems)
            _register_from_template(browser, base, problems)
            _device_with_credentials(browser, base, problems)
        finally:
            browser.close()
    # A device page's live stream (server-sent events) never ends by itself: leaving the page
    # cancels it, which the browser reports as a failed request. Anything else is a problem.
    live = re.compile(r"^http://[^ ]+/devices/\d+/live failed")
    problems = [p for p in problems if not live.match(p)]
    assert not problems, "\n".join(problems)
