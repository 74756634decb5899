"""The wall display in Chromium at 1920x1080 and 1366x768: the demo's data, live over SSE.

Runs the real ``taihu demo`` (see ``test_browser.py``) and signs in as the demo's bureau analyst.
On both screens and in both languages every tile, the programme titles and the warning list
included, is whole on the screen without scrollbars. The screenshots go to the test's own tmp
directory; their paths are printed (``pytest -s``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.web.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LAPTOP,
    _assert_fits,
    _sign_in,
    _watch,
    demo_server,
)

pytestmark = pytest.mark.browser
WALL = {"width": 1920, "height": 1080}

# Every chart of the wall has been drawn by ECharts and holds data.
CHARTS_DRAWN = """() => ["wall-gauges", "wall-trend", "wall-towns", "wall-chains"].every((id) => {
  const chart = window.echarts && window.echarts.getInstanceByDom(document.getElementById(id));
  return Boolean(chart) && chart.getOption().series.length > 0;
})"""


# The wall has redrawn itself for the screen's size and every chart fills its holder.
CHARTS_SIZED = """(size) => document.body.dataset.size === size
  && ["wall-gauges", "wall-trend", "wall-towns", "wall-chains"].every((id) => {
    const holder = document.getElementById(id);
    const chart = window.echarts.getInstanceByDom(holder);
    return chart.getWidth() === holder.clientWidth && chart.getHeight() === holder.clientHeight;
  })"""

# What is not whole on the screen: a tile whose content is cut off (it hides its overflow) or that
# leaves the screen, a live figure running out of its box (over the next one); a heading,
# programme row or warning not drawn, outside its tile or cut short.
NOT_ON_SCREEN = """() => {
  const problems = [];
  const screen = {left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight};
  const within = (rect, box) => rect.left >= box.left - 0.5 && rect.top >= box.top - 0.5
    && rect.right <= box.right + 0.5 && rect.bottom <= box.bottom + 0.5;
  for (const part of document.querySelectorAll(".figures dt, .figures dd")) {
    if (!within(part.getBoundingClientRect(), part.parentElement.getBoundingClientRect())) {
      problems.push(part.parentElement.textContent + " runs out of its box");
    }
  }
  for (const tile of document.querySelectorAll(".tile")) {
    const name = tile.className;
    if (!tile.checkVisibility() || !within(tile.getBoundingClientRect(), screen)) {
      problems.push(name + " is not on the screen");
    }
    if (tile.scrollHeight > tile.clientHeight || tile.scrollWidth > tile.clientWidth) {
      problems.push(name + " cuts off its content");
    }
    const items = tile.querySelectorAll("h2, th, td, li > span, li > b");
    for (const item of tile.matches(".tile-titles, .tile-warnings") ? items : []) {
      const rect = item.getBoundingClientRect();
      const text = name + ": " + item.textContent;
      if (!item.checkVisibility() || !rect.width || !rect.height) {
        problems.push(text + " is not drawn");
      } else if (!within(rect, tile.getBoundingClientRect()) || !within(rect, screen)) {
        problems.push(text + " is outside its tile or the screen");
      } else if (item.scrollWidth > item.clientWidth) {
        problems.push(text + " is cut short");
      }
    }
  }
  return problems;
}"""


def _assert_on_screen(page: Page, size: dict[str, int]) -> None:
    """At this screen size the wall fits without scrollbars, titles and warnings whole on it."""
    page.set_viewport_size(size)
    page.wait_for_function(CHARTS_SIZED, arg=f"{size['width']}x{size['height']}", timeout=10_000)
    scroll = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert scroll == [size["width"], size["height"]], (size, scroll)
    for heading in ("#w-titles", "#w-warnings"):
        expect(page.locator(heading)).to_be_visible()
        expect(page.locator(heading)).to_be_in_viewport(ratio=1)
    for rows in (page.locator("#wall-title-rows tr"), page.locator("#wall-warning-list li")):
        assert rows.count() > 1  # the demo's nine programmes held and its top ten warnings
        for row in (rows.first, rows.last):
            expect(row).to_be_visible()
            expect(row).to_be_in_viewport(ratio=1)
    assert page.evaluate(NOT_ON_SCREEN) == [], size


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
            # Drawn for 1920x1080, then the window shrinks to a district office's 1366x768.
            for size in (WALL, LAPTOP):
                _assert_on_screen(page, size)
                shot = tmp_path / f"wall-zh-{size['width']}.png"
                page.screenshot(path=shot)
                assert shot.stat().st_size > 0
                print(f"wall display screenshot: {shot}")  # noqa: T201 - for people to look at

            assert not problems, problems
            # Leaving the page ends its event stream: the browser reports that request as failed.
            # In English the wall is opened on the small screen, then the window grows.
            page.goto(f"{base}/lang/en?next=/wall")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "District industrial operation"
            )
            page.wait_for_function(CHARTS_DRAWN, timeout=15_000)
            page.wait_for_function(
                "() => Number(document.body.dataset.updates) >= 1", timeout=20_000
            )
            for size in (LAPTOP, WALL):
                _assert_on_screen(page, size)
                shot = tmp_path / f"wall-en-{size['width']}.png"
                page.screenshot(path=shot)
                print(f"wall display screenshot: {shot}")  # noqa: T201 - for people to look at

            # The bureau's home draws the district; the factory's home draws its own identifiers.
            # On the laptop's screen nothing is left out: the warnings on top, the titles below.
            page.set_viewport_size(LAPTOP)
            page.goto(f"{base}/")
            page.wait_for_function(DRAWN % ("district-trend", "district-chains"), timeout=15_000)
            _assert_fits(page, LAPTOP["width"])
            warnings = page.locator("#district-stats a[href='/monitor']")
            expect(warnings).to_be_in_viewport(ratio=1)
            honours = page.locator("#honours li")
            assert honours.count() > 1
            honours.last.scroll_into_view_if_needed()
            expect(honours.last).to_be_in_viewport(ratio=1)
            expect(page.locator("#honours")).to_contain_text("Star-rated cloud enterprise")
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
