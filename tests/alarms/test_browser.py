"""A rule made in the editor raises an alarm that a person acknowledges, in a real browser.

In both languages of the console: Chinese (the default) and English.

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

from tests.processes import DEADLINE
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, _sign_in, _watch, demo_server

pytestmark = pytest.mark.browser


def _send(base: str, token: str, value: float) -> None:
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        f"{base}/api/v1/{token}/telemetry", data=json.dumps({"probe": value}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=DEADLINE) as answer:  # noqa: S310
        assert answer.status == 200


# The console's words in each language: signing in, the alarm's state before and after.
WORDS = {
    "zh-CN": {"sign_in": "登录", "unacknowledged": "未确认", "acknowledge": "确认告警",
              "acknowledged": "已确认", "comment": "已派人检查"},
    "en": {"sign_in": "Sign in", "unacknowledged": "not acknowledged",
           "acknowledge": "Acknowledge alarm", "acknowledged": "Active, acknowledged",
           "comment": "someone is on the way"},
}  # fmt: skip


@pytest.mark.parametrize("language", list(WORDS))
def test_a_rule_from_the_editor_raises_an_alarm_acknowledged_with_a_comment(
    tmp_path: Path, language: str
) -> None:
    words = WORDS[language]
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does this)")
    problems: list[str] = []
    with demo_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = _watch(
                browser.new_context(viewport=DESKTOP, locale=language).new_page(), problems
            )
            if language == "en":  # the console's language is the reader's choice, kept
                page.goto(f"{base}/lang/en?next=/login")
            page.goto(f"{base}/login?next=/devices/new")
            _sign_in(page, "admin", "taihu-admin", button=words["sign_in"])
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
            deadline = time.monotonic() + DEADLINE  # a bound, not the engine's pace
            while True:
                _send(base, token, 99)
                page.goto(f"{base}/alarms?device_id={device_id}")
                if row.count() or time.monotonic() > deadline:
                    break
                page.wait_for_timeout(500)
            expect(row).to_contain_text(words["unacknowledged"])
            row.locator("input[name=comment]").fill(words["comment"])
            row.get_by_role("button", name=words["acknowledge"]).click()
            expect(page.locator("tr", has_text="probe-high")).to_contain_text(words["comment"])
            expect(page.locator("tr", has_text="probe-high")).to_contain_text(words["acknowledged"])
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
