"""The monitor's first screen in a real browser, on the real ``taihu demo`` (``-m browser``).

The demo's grid file ends on 2026-04-29 and its meters report the current days without any
December history: the dashboard must open on 2026-04-29, say why, and draw gauges whose values
stay on their scale. Screenshot: ``var/screenshots/monitor-zh.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.web.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    SCREENSHOTS,
    _screenshot,
    _sign_in,
    _watch,
    demo_server,
)

pytestmark = pytest.mark.browser

# The gauges are drawn, their animation is over, and no needle is past its scale's end.
GAUGES_SETTLED = """() => {
  const chart = window.echarts && window.echarts.getInstanceByDom(
    document.getElementById("monitor-gauges"));
  if (!chart || !chart.getZr().animation.isFinished()) { return false; }
  return chart.getOption().series.every(s => s.data[0].value === null || s.data[0].value <= s.max);
}"""


def test_the_monitor_opens_on_a_day_with_data(tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does this)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with demo_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
            page = _watch(context.new_page(), problems)
            page.goto(f"{base}/login?next=/monitor")
            _sign_in(page, "analyst", "taihu-bureau", button="登录")
            expect(page.locator("#opening-day")).to_contain_text("显示 2026-04-29")
            expect(page.get_by_role("heading", level=1)).to_contain_text("2026-04-29")
            page.wait_for_function(GAUGES_SETTLED, timeout=15_000)
            expect(page.locator("#monitor-trend canvas")).to_be_visible()
            expect(page.locator("#dashboard-flags li").first).to_be_visible()
            _screenshot(page, "monitor-zh.png")
            context.close()
            _date_fields_follow_the_page_not_the_browser(browser, base, problems)
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


def _date_fields_follow_the_page_not_the_browser(
    browser: Browser, base: str, problems: list[str]
) -> None:
    """An American browser: the Chinese page writes 2026-04-29, the English one 29 Apr 2026."""
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="America/New_York")
    page = _watch(context.new_page(), problems)
    page.goto(f"{base}/login?next=/monitor")
    _sign_in(page, "analyst", "taihu-bureau", button="登录")
    day = page.locator("#date")
    expect(day).to_have_value("2026-04-29")
    expect(day).to_have_attribute("placeholder", "例：2026-04-29")  # noqa: RUF001 - Chinese colon
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(day).to_have_value("29 Apr 2026")
    # Day and month in numbers are refused in the page's words; the form is not sent.
    day.fill("04/01/2026")
    day.blur()
    assert day.evaluate("e => e.validationMessage") == "Not a date: write it as 29 Apr 2026"
    assert not day.evaluate("e => e.form.checkValidity()")
    day.fill("2026-4-1")
    day.blur()
    expect(day).to_have_value("1 Apr 2026")  # read, and rewritten in the page's form
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("1 Apr 2026")
    expect(page.locator("#date")).to_have_value("1 Apr 2026")
    context.close()
