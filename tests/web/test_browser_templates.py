"""Editing a chain template in a real browser: add a segment, save, see the version and history.

Runs the real ``taihu demo`` server and Debian's Chromium like ``test_browser.py``; marked
``browser`` (``make browser-test``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

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


def test_edit_a_chain_template_and_see_the_analysis_use_it(tmp_path: Path) -> None:
    """Add a segment to the optical-fibre template, save a version, open version 1 again."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium (.ci/run does this)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with demo_server(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = _watch(browser.new_context(viewport=DESKTOP, locale="en").new_page(), problems)
            page.goto(f"{base}/lang/en?next=/industry-map/templates")
            _sign_in(page, "admin", "taihu-admin", button="Sign in")
            page.goto(f"{base}/industry-map/templates")
            expect(page.get_by_role("heading", level=1)).to_have_text("Chain templates")
            page.get_by_role("link", name="Optical fibre and cable").click()
            expect(page).to_have_url(re.compile(r"/industry-map/templates/optical-fibre$"))
            expect(page.locator("#shown-version")).to_have_text("Current version 1")

            # The first empty row (after the six segments) takes the new segment.
            row = page.locator("#segments tbody tr").nth(6)
            row.locator('input[name="s6-key"]').fill("fibre.coating")
            row.locator('input[name="s6-name_zh"]').fill("涂覆材料")
            row.locator('input[name="s6-name_en"]').fill("Fibre coatings")
            row.locator('select[name="s6-stage"]').select_option("upstream")
            row.locator('input[name="s6-critical"]').check()
            row.locator('input[name="s6-supplies"]').fill("fibre.fibre")
            page.locator('input[name="note"]').fill("coatings are made here")
            page.get_by_role("button", name="Save as a new version").click()

            expect(page.locator("#shown-version")).to_have_text("Current version 2")
            expect(page.locator('input[name="s6-key"]')).to_have_value("fibre.coating")
            expect(page.locator("#history tbody tr")).to_have_count(2)
            expect(page.locator("#history")).to_contain_text("coatings are made here")
            _screenshot(page, "chain-template-en.png")

            # A wrong change is refused with its reason and the typed rows kept.
            page.locator('input[name="s7-key"]').fill("fibre.extra")
            page.locator('input[name="s7-name_zh"]').fill("其他")
            page.locator('input[name="s7-name_en"]').fill("Extra")
            page.locator('input[name="s7-supplies"]').fill("fibre.nowhere")
            page.get_by_role("button", name="Save as a new version").click()
            expect(page.get_by_role("alert")).to_contain_text("fibre.nowhere")
            expect(page.locator('input[name="s7-key"]')).to_have_value("fibre.extra")

            # The analysis says which version it used and shows the new segment.
            page.goto(f"{base}/industry-map/optical-fibre")
            expect(page.locator("#template-version")).to_contain_text("template version 2")
            expect(page.locator("table").first).to_contain_text("Fibre coatings")

            # Version 1 is still there, read into the editor.
            page.goto(f"{base}/industry-map/templates/optical-fibre")
            page.locator("#history").get_by_role("link", name="1", exact=True).click()
            expect(page.locator("#shown-version")).to_contain_text("Version 1 of 2")
            expect(page.locator('input[name="s0-key"]')).to_have_value("fibre.chemicals")
        finally:
            browser.close()
    assert problems == []
