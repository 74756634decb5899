"""A data task's page in a real browser: the periods' response rates drawn beside their table.

Runs the real ``taihu demo`` server and Debian's Chromium like ``test_browser.py``; marked
``browser`` (``make browser-test``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

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

SETTLED = """() => {
  const chart = window.echarts && window.echarts.getInstanceByDom(
    document.getElementById("data-periods-chart"));
  return Boolean(chart) && chart.getZr().animation.isFinished();
}"""
SERIES = """() => window.echarts.getInstanceByDom(document.getElementById("data-periods-chart"))
  .getOption().series.map((s) => s.name)"""
PERIODS = """() => window.echarts.getInstanceByDom(document.getElementById("data-periods-chart"))
  .getOption().xAxis[0].data"""


def _rates_drawn(page: Page) -> None:
    canvas = page.locator("#data-periods-chart canvas")
    expect(canvas).to_be_visible()
    page.wait_for_function(SETTLED, timeout=10_000)
    box = canvas.bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] > 150


def test_data_task_periods_are_charted_in_both_languages(tmp_path: Path) -> None:
    """The demo's monthly task: its two opened periods, oldest first, in Chinese and English."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium (.ci/run does this)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with demo_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
            page = _watch(context.new_page(), problems)
            page.goto(f"{base}/login?next=/reporting/data-tasks")
            _sign_in(page, "admin", "taihu-admin", button="登录")
            expect(page).to_have_url(f"{base}/reporting/data-tasks")
            page.get_by_role("link", name="月度经营数据").click()
            expect(page).to_have_url(re.compile(r"/reporting/data-tasks/\d+$"))

            _rates_drawn(page)
            assert page.evaluate(SERIES) == ["已请填报", "已答复", "答复率"]
            table = page.locator("#data-periods tbody tr td:first-child").all_inner_texts()
            assert len(table) == 2
            assert page.evaluate(PERIODS) == list(reversed(table))  # oldest first
            _screenshot(page, "data-task-zh.png")

            page.get_by_role("link", name="English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
            _rates_drawn(page)
            assert page.evaluate(SERIES) == ["Asked", "Answered", "Response rate"]
            chart = page.get_by_role("img", name="Response rate per period")
            expect(chart).to_be_visible()
            _screenshot(page, "data-task-en.png")
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
