"""The wall display in Chromium at 1920x1080: drawn with the demo's data, live over SSE.

Runs the real ``taihu demo`` (see ``test_browser.py``) and signs in as the demo's bureau analyst.
The screenshot goes to the test's own tmp directory; its path is printed (``pytest -s``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _sign_in, _watch, demo_server

pytestmark = pytest.mark.browser
WALL = {"width": 1920, "height": 1080}

# Every chart of the wall has been drawn by ECharts and holds data.
CHARTS_DRAWN = """() => ["wall-gauges", "wall-trend", "wall-towns", "wall-chains"].every((id) => {
  const chart = window.echarts && window.echarts.getInstanceByDom(document.getElementById(id));
  return Boolean(chart) && chart.getOption().series.length > 0;
})"""


# Two charts of a page have been drawn by ECharts.
DRAWN = """() => ["%s", "%s"].every((id) => {
  const chart = window.echarts && window.echarts.getInstanceByDom(document.getElementById(id));
  return Boolean(chart) && chart.getOption().series.length > 0;
})"""


def test_wall_display_renders_and_updates_live(tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does this)")
    problems: list[str] = []
    with demo_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport=WALL, locale="zh-CN")
            page = _watch(context.new_page(), problems)
            page.goto(f"{base}/login?next=/wall")
            _sign_in(page, "analyst", "taihu-bureau", button="登录")
            expect(page).to_have_url(f"{base}/wall")
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            expect(page.get_by_role("heading", level=1)).to_have_text("全区工业运行")
            page.wait_for_function(CHARTS_DRAWN, timeout=15_000)
            # The demo has data: townships and chains are ranked, identifiers counted.
            towns = page.evaluate(
                "echarts.getInstanceByDom(document.getElementById('wall-towns'))"
                ".getOption().yAxis[0].data.length"
            )
            assert towns > 0
            assert int(page.locator("#wall-reg-30d").inner_text()) > 0
            # Updates arrive over server-sent events: the district at once, then the hub's figures.
            page.wait_for_function(
                "() => Number(document.body.dataset.updates) >= 2", timeout=20_000
            )
            expect(page.locator("#wall-rate")).not_to_have_text("—")
            expect(page.locator("#wall-status")).to_contain_text("实时")
            # One screen: nothing scrolls.
            size = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            assert size == [WALL["width"], WALL["height"]], size
            # The programme titles held (the demo's registry), every row inside its tile on screen.
            titles = page.locator("#wall-title-rows tr")
            expect(page.locator("#w-titles")).to_have_text("试点示范与认定")
            expect(titles.first).to_be_visible()
            names = titles.locator("td:first-child").all_inner_texts()
            assert any(n.startswith("星级上云企业") for n in names), names
            assert any("国家级" in n and "省级" in n for n in names), names  # 专精特新, 小巨人
            assert int(titles.first.locator("td").nth(2).inner_text()) > 0
            tile = page.locator(".tile-titles").bounding_box()
            last = titles.last.bounding_box()
            assert tile, "the titles' tile has no box"
            assert last, "the last title row has no box"
            assert last["y"] + last["height"] <= tile["y"] + tile["height"] <= WALL["height"]
            assert tile["x"] + tile["width"] <= WALL["width"]
            shot = tmp_path / "wall-zh.png"
            page.screenshot(path=shot)
            assert shot.stat().st_size > 0
            print(f"wall display screenshot: {shot}")  # noqa: T201 - for people to look at

            assert not problems, problems
            # Leaving the page ends its event stream: the browser reports that request as failed.
            page.goto(f"{base}/lang/en?next=/wall")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "District industrial operation"
            )
            page.wait_for_function(CHARTS_DRAWN, timeout=15_000)
            page.wait_for_function(
                "() => Number(document.body.dataset.updates) >= 1", timeout=20_000
            )
            shot = tmp_path / "wall-en.png"
            page.screenshot(path=shot)
            print(f"wall display screenshot: {shot}")  # noqa: T201 - for people to look at

            # The bureau's home draws the district; the factory's home draws its own identifiers.
            page.goto(f"{base}/")
            page.wait_for_function(DRAWN % ("district-trend", "district-chains"), timeout=15_000)
            page.screenshot(path=tmp_path / "home-bureau-en.png", full_page=True)
            context.close()
            factory = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            home = _watch(factory.new_page(), problems)
            home.goto(f"{base}/login")
            _sign_in(home, "factory", "taihu-factory", button="登录")
            expect(home.locator("#asked")).to_be_visible()
            home.wait_for_function(DRAWN % ("enterprise-identifiers", "enterprise-identifiers"))
            assert home.locator("a[href='/wall']").count() == 0
            home.screenshot(path=tmp_path / "home-factory-zh.png", full_page=True)
            print(f"home screenshots in {tmp_path}")  # noqa: T201 - for people to look at
            factory.close()
        finally:
            browser.close()
    assert not [p for p in problems if not p.endswith("/wall/live failed")], problems
