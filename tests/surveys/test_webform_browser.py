"""A survey filled in Chromium through Enketo: repeat, relevance, choice filter, draft, review.

The application runs behind a real uvicorn on a free port, on the test's database; Debian's
Chromium is driven with Playwright's async API. Enketo (enketo-transformer's web build and
enketo-core, bundled by ``make assets``) turns the stored XForm into the form in the page.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from playwright.async_api import Page, async_playwright, expect

from taihu.core import Database
from taihu.surveys import Submission, SubmissionAttachment
from tests.surveys.conftest import Field
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, SCREENSHOTS
from tests.web.test_request_limits import _served

pytestmark = pytest.mark.browser

READY = ".webform[data-ready='true']"


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.locator("#username").fill(username)
    await page.locator("#password").fill("correct-horse-battery")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("button", name="退出")).to_be_visible()


async def _answer(page: Page, name: str, value: str, nth: int = 0) -> None:
    box = page.locator(f"[name='/data/{name}']").nth(nth)
    await box.fill(value)
    await box.press("Tab")  # Enketo takes the answer into its model on change


def _option(name: str, value: str) -> str:
    # Enketo names the radios of an itemset (choices from a secondary instance) in data-name.
    return f"input[value='{value}']:is([name='/data/{name}'], [data-name='/data/{name}'])"


async def _choose(page: Page, name: str, value: str, nth: int = 0) -> None:
    repeat = page.locator(".or-repeat").nth(nth) if "/" in name else page
    await repeat.locator(_option(name, value)).check()


async def _draft_has(page: Page, text: str) -> None:
    await page.wait_for_function(
        """(text) => {
          const key = document.querySelector('.webform').dataset.draftKey;
          return (localStorage.getItem(key) || '').includes(text);
        }""",
        arg=text,
    )


async def test_an_enterprise_fills_a_form_in_the_browser(
    app: FastAPI, field: Field, db: Database
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
    problems: list[str] = []
    async with _served(app) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        await _sign_in(page, base, "owner.a")
        await page.goto(f"{base}/my-surveys")
        await page.get_by_role("link", name="网上填写").click()
        await page.wait_for_selector(READY)
        # The form speaks the console's language (label::中文 (zh)).
        await expect(page.locator(".question").filter(has_text="企业名称").first).to_be_visible()
        await _answer(page, "company", "华纺网填")
        await _answer(page, "employees", "88")
        await _answer(page, "old_note", "网页")
        share = page.locator("[name='/data/export_share']")
        await expect(share).to_be_hidden()  # relevant only when exporting
        await _choose(page, "exports", "yes")
        await expect(share).to_be_visible()
        await _answer(page, "export_share", "25")
        await _answer(page, "suppliers/supplier", "盛泽化纤")
        await _choose(page, "suppliers/kind", "fibre")
        first = page.locator(".or-repeat").nth(0)
        # The choice filter: fibre offers PTA, not cotton.
        await expect(first.locator(_option("suppliers/input", "pta"))).to_be_visible()
        await expect(first.locator(_option("suppliers/input", "cotton"))).to_have_count(0)
        await _choose(page, "suppliers/input", "pta")
        await _answer(page, "suppliers/share", "40")
        await page.locator(".add-repeat-btn").click()
        await expect(page.locator(".or-repeat")).to_have_count(2)
        await _answer(page, "suppliers/supplier", "吴江棉纺", nth=1)
        await _choose(page, "suppliers/kind", "yarn", nth=1)
        second = page.locator(".or-repeat").nth(1)
        await expect(second.locator(_option("suppliers/input", "pta"))).to_have_count(0)
        await _choose(page, "suppliers/input", "cotton", nth=1)
        await _answer(page, "suppliers/share", "60", nth=1)
        await _draft_has(page, "<share>60</share>")

        # The tab reloaded: the unsent answers come back from localStorage.
        await page.reload()
        await page.wait_for_selector(READY)
        await expect(page.locator(".webform-status")).to_contain_text("恢复")
        await expect(page.locator("[name='/data/company']")).to_have_value("华纺网填")
        await expect(page.locator(".or-repeat")).to_have_count(2)
        await expect(page.locator("[name='/data/suppliers/supplier']").nth(1)).to_have_value(
            "吴江棉纺"
        )
        await expect(page.locator("[name='/data/export_share']")).to_have_value("25")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "survey-webform.png", full_page=True)

        await page.locator(".webform-submit").click()
        await expect(page.locator(".webform-status[data-kind='success']")).to_be_visible()
        assert (
            await page.evaluate(
                "() => localStorage.getItem(document.querySelector('.webform').dataset.draftKey)"
            )
            is None
        )
        await context.close()

        async with db.session() as session:
            stored = (await session.scalars(sa.select(Submission))).one()
        assert (stored.channel, stored.enterprise_id) == ("web", field.enterprise_ids[0])
        data: dict[str, Any] = stored.data
        assert data["company"] == "华纺网填"
        assert data["export_share"] == "25"
        keys = ("supplier", "kind", "input", "share")
        rows = [tuple(row[f"suppliers/{k}"] for k in keys) for row in data["suppliers"]]
        assert rows == [("盛泽化纤", "fibre", "pta", "40"), ("吴江棉纺", "yarn", "cotton", "60")]

        # The bureau reviews it: the answers as the enterprise gave them.
        context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        await _sign_in(page, base, "zhang.wei")
        await page.goto(f"{base}/surveys/chain_survey/submissions/{stored.instance_id}")
        review = page.locator("main")
        for shown in ("华纺网填", "吴江棉纺", "cotton", "88"):
            await expect(review).to_contain_text(shown)
        await context.close()
        await browser.close()
    assert not problems, problems


def _png() -> bytes:
    """A one-pixel PNG: Enketo previews it and sends it unchanged (no resizing is configured)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\x20\x80\xc0")  # filter byte, one pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()
STORED_FILES = """(key) => new Promise((resolve) => {
  const opened = indexedDB.open('taihu-webform');
  opened.onsuccess = () => {
    const got = opened.result.transaction('draft-files').objectStore('draft-files').get(key);
    got.onsuccess = () => resolve(Object.keys(got.result || {}));
  };
})"""


async def test_a_draft_keeps_its_photo_through_a_closed_tab(
    app: FastAPI, field: Field, db: Database
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
    problems: list[str] = []
    async with _served(app) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        await _sign_in(page, base, "owner.a")
        await page.goto(f"{base}/my-surveys")
        await page.get_by_role("link", name="网上填写").click()
        await page.wait_for_selector(READY)
        fill_url = page.url
        await _answer(page, "company", "带照片")
        await _answer(page, "employees", "12")
        await page.locator("input[type='file'][name='/data/photo']").set_input_files(
            files=[{"name": "site.png", "mimeType": "image/png", "buffer": PNG}]
        )
        await page.wait_for_selector(".webform[data-files-saved='1']")
        key = await page.evaluate("() => document.querySelector('.webform').dataset.draftKey")
        [name] = await page.evaluate(STORED_FILES, key)
        assert name.startswith("site-")  # Enketo adds the time to the name
        assert name.endswith(".png")

        # The tab closed, another opened: answers from localStorage, the photo from IndexedDB.
        await page.close()
        page = await context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(fill_url)
        await page.wait_for_selector(READY)
        await expect(page.locator(".webform-status")).to_contain_text("恢复")
        await expect(page.locator("[name='/data/company']")).to_have_value("带照片")
        await expect(page.locator(".webform .fake-file-input")).to_have_value(name)
        await expect(page.locator(".webform .file-preview img")).to_have_count(1)

        await page.locator(".webform-submit").click()
        await expect(page.locator(".webform-status[data-kind='success']")).to_be_visible()
        assert await page.evaluate(STORED_FILES, key) == []  # sent: the draft's files go too
        await context.close()
        await browser.close()

    async with db.session() as session:
        stored = (await session.scalars(sa.select(Submission))).one()
        attached = (
            await session.scalars(
                sa.select(SubmissionAttachment).where(
                    SubmissionAttachment.submission_id == stored.id
                )
            )
        ).all()
    assert stored.data["photo"] == name
    assert [(a.name, a.content) for a in attached] == [(name, PNG)]
    assert not problems, problems
