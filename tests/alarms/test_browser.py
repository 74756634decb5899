"""A rule made in the editor raises an alarm that a person acknowledges, in a real browser.

On the real ``taihu demo`` (``-m browser``): the admin adds a device, gives its profile a rule
on a key of its own, the device sends a reading over the HTTP device API that crosses it, the
alarm appears in the list and is acknowledged with a comment.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, _sign_in, _watch, demo_server

pytestmark = pytest.mark.browser


def _send(base: str, token: str, value: float) -> None:
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        f"{base}/api/v1/{token}/telemetry", data=json.dumps({"probe": value}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200


def test_a_rule_from_the_editor_raises_an_alarm_acknowledged_with_a_comment(
    tmp_path: Path,
) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does this)")
    problems: list[str] = []
    with demo_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = _watch(
                browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page(), problems
            )
            page.goto(f"{base}/login?next=/devices/new")
            _sign_in(page, "admin", "taihu-admin", button="登录")
            page.locator("#name").fill("probe-1")
            page.locator("#profile").select_option("power-meter")
            page.locator("#device-form button[type=submit]").click()
            token = page.locator("#access-token").inner_text().strip()
            page.goto(f"{base}/devices?q=probe-1")
            page.get_by_role("link", name="probe-1").click()
            device_id = page.url.rstrip("/").rsplit("/", 1)[1]
            page.locator('a[href$="/rules"]').first.click()
            page.locator("#name").fill("probe-high")
            page.locator("#kind").select_option("threshold")
            page.locator("#key").fill("probe")
            page.locator("#severity").select_option("major")
            page.locator("#op").select_option(">")
            page.locator("#value").fill("50")
            # The rule form (the page's other form sets the profile's inactivity timeout).
            page.locator('form.form[action$="/rules"] button[type=submit]').click()
            expect(page.locator("table")).to_contain_text("probe-high")
            # The engine takes the new rule with its next flush: send until the alarm is listed.
            row = page.locator("tr", has_text="probe-high")
            deadline = time.monotonic() + 60
            while True:
                _send(base, token, 99)
                page.goto(f"{base}/alarms?device_id={device_id}")
                if row.count() or time.monotonic() > deadline:
                    break
                page.wait_for_timeout(500)
            expect(row).to_contain_text("未确认")
            row.locator("input[name=comment]").fill("已派人检查")
            row.get_by_role("button", name="确认告警").click()
            expect(page.locator("tr", has_text="probe-high")).to_contain_text("已派人检查")
            expect(page.locator("tr", has_text="probe-high")).to_contain_text("已确认")
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
