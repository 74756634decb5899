"""The console in a real browser: sign-in, the overview chart, the language switch, screenshots.

The real ``taihu demo`` server runs in a subprocess on a free port and Debian's Chromium
(``/usr/bin/chromium``, installed by ``.ci/run``) is driven with Playwright; Playwright's own
browser downloads are never used. Screenshots are written to ``var/screenshots/`` for people to
look at: ``console-en.png`` (1280x800, full page), ``console-1366.png`` (1366x768),
``console-phone.png`` (390x844) and the Chinese, enterprise and audit pages beside them.

Run with ``make browser-test``; ``make test`` leaves it out (``-m "not browser"``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Response, expect, sync_playwright

from tests.processes import running

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser
# Every expectation of every browser test (they all import this module) waits up to 30 s, not
# Playwright's 5 s: in CI they run beside the fuzzer on two cores, where the demo server's
# answers after a click can take longer. A bound on the wait, not an expectation of speed.
expect.set_options(timeout=30_000)


@contextmanager
def demo_server(data_dir: Path) -> Iterator[str]:
    """Run ``taihu demo`` on a free port and yield its base URL; the server is always stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.update(COLUMNS="200", NO_COLOR="1", PYTHONUNBUFFERED="1")
    args = ("demo", "--data-dir", str(data_dir), "--port", "0", "--mqtt-port", "0")
    with running(*args, env=env, cwd=data_dir) as demo:
        yield demo.url()


def _watch(page: Page, problems: list[str]) -> Page:
    """Record script errors, console errors and failed requests for anything but the page itself.

    A page may answer with an error status on purpose (401 for a wrong password); the test checks
    what it shows. A stylesheet, script or icon that fails to load is a problem.
    """

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and where == page.url:
            return  # the page's own status, checked by what the page shows
        problems.append(f"console error on {page.url}: {message.text} ({where})")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(f"{response.status} for {response.url} on {page.url}")

    def on_failed(request: Request) -> None:
        # ERR_ABORTED is the browser cancelling the request itself (the page was left or closed
        # while a deferred script still downloaded): nothing the server did. Errors from the
        # server are its responses (above); a refused or reset connection still counts here.
        if request.failure == "net::ERR_ABORTED":
            return
        problems.append(f"{request.url} failed ({request.failure})")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
    return page


def _sign_in(page: Page, username: str, password: str, *, button: str) -> None:
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_role("button", name=button).click()


def _assert_fits(page: Page, width: int) -> None:
    """The page scrolls vertically only: nothing pushes it wider than the viewport."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide in a {width}px viewport"


# ECharts has drawn the chart and finished its entry animation (so screenshots show full bars).
CHART_SETTLED = """() => {
  const chart = window.echarts && window.echarts.getInstanceByDom(
    document.getElementById("activity-chart"));
  return Boolean(chart) && chart.getZr().animation.isFinished();
}"""


def _chart_drawn(page: Page) -> None:
    canvas = page.locator("#activity-chart canvas")
    expect(canvas).to_be_visible()
    page.wait_for_function(CHART_SETTLED, timeout=10_000)
    box = canvas.bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] > 150


def _screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    path = SCREENSHOTS / name
    page.screenshot(path=path, full_page=full_page)
    assert path.stat().st_size > 0


def test_sign_in_chart_and_language_switch(tmp_path: Path) -> None:
    """Sign in as the demo admin in Chinese, see the chart, switch to English, take screenshots."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's Chromium with "
            "`apt-get update && apt-get install -y chromium` (.ci/run does this)"
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with demo_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
            page = _watch(context.new_page(), problems)

            # A visitor without a session is sent to the (Chinese) sign-in page.
            page.goto(f"{base}/")
            expect(page).to_have_url(re.compile(r"/login\?next=/$"))
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            expect(page.get_by_role("heading", level=1)).to_have_text("登录")

            # A wrong password is refused in Chinese, and the form is offered again.
            _sign_in(page, "admin", "not-the-password", button="登录")
            expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
            expect(page.get_by_role("button", name="登录")).to_be_visible()
            _screenshot(page, "login-error-zh.png")

            _sign_in(page, "admin", "taihu-admin", button="登录")
            expect(page).to_have_url(f"{base}/")
            expect(page.get_by_role("heading", level=1)).to_have_text("概览")
            expect(page.get_by_role("button", name="退出")).to_be_visible()
            _chart_drawn(page)
            _screenshot(page, "console-zh.png")

            page.get_by_role("link", name="English").click()
            expect(page).to_have_url(f"{base}/")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            expect(page.get_by_role("navigation", name="Main")).to_be_visible()
            # The first Tab reaches the skip link, which then shows itself.
            page.keyboard.press("Tab")
            skip = page.get_by_role("link", name="Skip to content")
            expect(skip).to_be_focused()
            expect(skip).to_be_in_viewport()
            _chart_drawn(page)
            _assert_fits(page, DESKTOP["width"])
            _screenshot(page, "console-en.png")

            page.get_by_role("link", name="Enterprises").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Enterprises")
            expect(page.locator("tbody tr")).to_have_count(50)  # the first page of the demo's ~600
            _assert_fits(page, DESKTOP["width"])
            _screenshot(page, "enterprises-en.png")

            page.get_by_role("link", name="Audit log").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
            expect(page.locator("#audit-table tbody tr").first).to_be_visible()
            _assert_fits(page, DESKTOP["width"])
            _screenshot(page, "audit-en.png")

            # The same session (English, signed in) on a 1366x768 laptop and on a phone.
            signed_in = context.storage_state()
            for viewport, suffix in ((LAPTOP, "1366"), (PHONE, "phone")):
                other = browser.new_context(
                    viewport=viewport,
                    storage_state=signed_in,
                    is_mobile=viewport is PHONE,
                    has_touch=viewport is PHONE,
                )
                small = _watch(other.new_page(), problems)
                small.goto(f"{base}/")
                expect(small.get_by_role("heading", level=1)).to_have_text("Overview")
                _chart_drawn(small)
                _assert_fits(small, viewport["width"])
                _screenshot(small, f"console-{suffix}.png")
                for path, name in (("/enterprises", "enterprises"), ("/audit", "audit")):
                    small.goto(f"{base}{path}")
                    expect(small.locator("table").first).to_be_visible()
                    _assert_fits(small, viewport["width"])
                    _screenshot(small, f"{name}-{suffix}.png", full_page=False)
                other.close()
            context.close()
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
