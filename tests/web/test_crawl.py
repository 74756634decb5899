"""Crawl the console as every role in both languages: every word translated, every link alive.

The real ``taihu demo`` runs once (tests/web/test_browser.py starts it the same way). For each
demo role (admin, bureau analyst, auditor, enterprise user) and each language, headless Chromium
signs in and follows every same-origin link reachable from the navigation (GET only; at most a
few pages of each URL shape, so the crawl stays bounded), and collects:

- untranslated words: on a Chinese page a Latin word in the visible text that is not a term we
  keep in Latin (MQTT, API, Handle…) nor a code (numbers, handles, URLs, units); on an English
  page any Chinese character. Data in one language only (an enterprise's Chinese name, a user's
  English device name) is marked by the templates with ``lang`` (the language it *is* in) or
  ``translate="no"``; ``<code>`` shows identifiers as written and is not read;
- a dead link (4xx/5xx) and a forbidden one (403: the navigation must not offer it);
- a console error, a script error or a sub-resource that failed to load.

It prints every offence once, with the roles and languages that met it and a few of the pages
where (a sentence that differs only by its numbers counts as one), and fails if there is any.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, demo_server

pytestmark = pytest.mark.browser

ROLES = {
    "admin": "taihu-admin",
    "analyst": "taihu-bureau",
    "auditor": "taihu-auditor",
    "factory": "taihu-factory",
}
LANGUAGES = ("zh_CN", "en")
PER_SHAPE = 2  # pages of one URL shape (/devices/#) looked at
CONCURRENT = 4  # crawls at once: the server and the browser wait on each other less
MAX_PAGES = 60  # per role and language: a bound, far above what the navigation offers
# Not pages of the console: the language switch, sign-out, the API reference (a program's view
# of the API, in English) and static assets.
SKIP = re.compile(r"^/(lang/|logout|login|static/|docs|openapi\.json|api/)")

# Latin words a Chinese page keeps as they are: protocols, formats, standards and product names.
_ALLOWED = """MQTT API APIs Handle HTTP HTTPS JSON CSV xlsx XLSX OpenAPI IoT ID IDs QR Modbus OPC UA
    URL csv SSE SNMS GB T TCP UDP IP Excel ECharts SDK ThingsBoard PDF SVG PNG DOI OID GS1 Ecode
    TLS CA PEM UTC GMT HRLS LHS GHR CSRF Bearer kWh kW MW MWh Wh kVA V A Hz
    km kg t m s ms min h d MB KB GB TB rpm Pa kPa MPa mA mm cm ppm dB lux HHI TTL JPEG
    XLSForm xls ODK Collect OpenRosa Markdown"""
ALLOWED_LATIN = frozenset(_ALLOWED.split())
URL_LIKE = re.compile(r"(https?://|mqtt://|wss?://)\S+|\b[\w.+-]+@[\w-]+\.[\w.]+\b|/[\w./{}-]+")
# A word holding a digit is a code, a handle or a number, not a word. A key without digits
# (fibre.preform, edge_buffer_age_s) is words shown raw: it belongs in <code> or translated.
CODE_LIKE = re.compile(r"\b[\w.:/-]*\d[\w.:/-]*\b")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Visible text of the page, and the words of its controls, outside data marked as such.
VISIBLE_TEXT = """(pageLanguage) => {
  const out = [];
  const skipTags = new Set(["SCRIPT", "STYLE", "CODE", "PRE", "KBD", "SAMP", "NOSCRIPT",
                            "TEXTAREA", "svg"]);
  function exempt(el) {
    for (let e = el; e; e = e.parentElement) {
      if (skipTags.has(e.tagName)) return true;
      if (e.getAttribute("translate") === "no") return true;
      const lang = e.getAttribute("lang");
      if (lang) return !lang.toLowerCase().startsWith(pageLanguage);
    }
    return false;
  }
  function visible(el) {
    if (el.tagName === "OPTION") return true;
    return el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || !visible(el) || exempt(el)) continue;
    out.push(text);
  }
  const labelled = "[placeholder],[title],[aria-label],input[type=submit]";
  for (const el of document.querySelectorAll(labelled)) {
    if (exempt(el)) continue;
    for (const name of ["placeholder", "title", "aria-label", "value"]) {
      if (name === "value" && el.type !== "submit") continue;
      const text = (el.getAttribute(name) || "").trim();
      if (text) out.push(text);
    }
  }
  return out;
}"""

LINKS = """() => Array.from(document.querySelectorAll("a[href]"))
  .filter(a => !a.hasAttribute("download"))
  .map(a => a.href)"""


@dataclass
class Crawl:
    """What one role saw in one language."""

    role: str
    language: str
    offenders: list[tuple[str, str]] = field(default_factory=list)  # (what, url)
    visited: int = 0

    def offend(self, url: str, what: str) -> None:
        """Note one problem."""
        self.offenders.append((what, url))


def report(crawls: list[Crawl]) -> list[str]:
    """One line per offence: what, who met it, where (a few pages), most frequent first."""
    who: dict[str, set[str]] = defaultdict(set)
    where: dict[str, list[str]] = defaultdict(list)
    for seen in crawls:
        for what, url in seen.offenders:
            # Sentences that differ by their numbers only (dates, counts) are one offence.
            key = re.sub(r"\d+", "#", what) if what.startswith("untranslated") else what
            who[key].add(f"{seen.role}/{seen.language}")
            if url not in where[key]:
                where[key].append(url)
    lines = []
    for key in sorted(who, key=lambda k: (-len(where[k]), k)):
        pages = ", ".join(where[key][:3]) + (
            f" (+{len(where[key]) - 3})" if len(where[key]) > 3 else ""
        )
        lines.append(f"{key}\n    {' '.join(sorted(who[key]))}  on {pages}")
    return lines


def untranslated(texts: list[str], language: str) -> list[str]:
    """The words of ``texts`` that are not in ``language`` (see the module docstring)."""
    found: list[str] = []
    for text in texts:
        if language == "en":
            if CHINESE.search(text):
                found.append(text)
            continue
        rest = CODE_LIKE.sub(" ", URL_LIKE.sub(" ", text))
        words = [w for w in LATIN_WORD.findall(rest) if w not in ALLOWED_LATIN]
        if words:
            found.append(text)
    return list(dict.fromkeys(found))


def shape(path_and_query: str) -> str:
    """A URL with its numbers and query values blanked: /devices/12?key=a → /devices/#?key."""
    parts = urlsplit(path_and_query)
    keys = sorted({pair.split("=", 1)[0] for pair in parts.query.split("&") if pair})
    return re.sub(r"\d+", "#", parts.path) + ("?" + "&".join(keys) if keys else "")


_ENKETO_BUNDLE = "/static/vendor/enketo/webform.js"
_INLINE_HANDLER = "Executing inline event handler violates the following Content Security Policy"


def _watch(page: Page, crawl: Crawl) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and where == page.url:
            return  # the page's own status is checked by the crawl itself
        if where.endswith(_ENKETO_BUNDLE) and message.text.startswith(_INLINE_HANDLER):
            # The Enketo bundle (third-party code) probes the browser with an inline handler;
            # the CSP blocks the probe, as it should, and the form works without it (the web
            # form's browser test fills and sends one). Only that message, only from that file.
            return
        crawl.offend(page.url, f"console error: {message.text} ({where})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: crawl.offend(page.url, f"script error: {error}"))
    page.on(
        "response",
        lambda r: (
            crawl.offend(page.url, f"{r.status} for {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )


async def _sign_in(context: BrowserContext, base: str, role: str) -> Page:
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.locator("#username").fill(role)
    await page.locator("#password").fill(ROLES[role])
    await page.locator("form button[type=submit]").click()
    await page.wait_for_url(f"{base}/")
    return page


async def _visit(page: Page, context: BrowserContext, seen: Crawl, base: str, target: str,
           referrer: str) -> bool:  # fmt: skip
    """Open one page and check it; whether it is an HTML page whose links are worth following."""
    url = base + target
    try:
        response = await page.goto(url, wait_until="load")
    except Exception as exc:  # any failure to open a link is what we report
        if "Download is starting" in str(exc):  # a file: only its status matters
            status = (await context.request.get(url)).status
            if status >= 400:
                seen.offend(target, f"{status} (linked from {referrer})")
        else:
            seen.offend(target, f"navigation failed: {exc} (linked from {referrer})")
        return False
    status = response.status if response else 0
    if status == 403:
        seen.offend(target, f"forbidden link, 403 (linked from {referrer})")
        return False
    if status >= 400:
        seen.offend(target, f"dead link, {status} (linked from {referrer})")
        return False
    if "text/html" not in (response.headers.get("content-type", "") if response else ""):
        return False
    language = "zh" if seen.language == "zh_CN" else "en"
    for text in untranslated(await page.evaluate(VISIBLE_TEXT, language), seen.language):
        seen.offend(target, f"untranslated: {text[:120]!r}")
    return True


async def crawl(browser: Browser, base: str, role: str, language: str) -> Crawl:
    """Sign in as ``role`` in ``language`` and follow the console's links from the home page."""
    seen = Crawl(role, language)
    context = await browser.new_context(
        viewport=DESKTOP, locale="zh-CN" if language == "zh_CN" else "en"
    )
    await context.add_cookies([{"name": "taihu_lang", "value": language, "url": base}])
    try:
        page = await _sign_in(context, base, role)
        _watch(page, seen)
        queue: list[tuple[str, str]] = [("/", "navigation")]
        queued = {"/"}
        per_shape: dict[str, int] = defaultdict(int)
        while queue and seen.visited < MAX_PAGES:
            target, referrer = queue.pop(0)
            per_shape[shape(target)] += 1
            seen.visited += 1
            if not await _visit(page, context, seen, base, target, referrer):
                continue
            for href in await page.evaluate(LINKS):
                link, _ = urldefrag(urljoin(page.url, href))
                if not link.startswith(base + "/"):
                    continue
                path = link[len(base) :]
                if SKIP.match(path) or path in queued:
                    continue
                waiting = sum(1 for q, _ in queue if shape(q) == shape(path))
                if per_shape[shape(path)] + waiting >= PER_SHAPE:
                    continue
                queued.add(path)
                queue.append((path, target))
    finally:
        await context.close()
    return seen


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo's base URL."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does this)")
    data_dir: Path = tmp_path_factory.mktemp("crawl")
    started = time.monotonic()
    with demo_server(data_dir) as base:
        print(f"demo ready in {time.monotonic() - started:.0f} s")  # noqa: T201 - for the reader
        yield base


def test_every_page_in_both_languages_for_every_role(demo: str) -> None:
    """No untranslated text, dead or forbidden link, or console error anywhere a role can go."""
    started = time.monotonic()
    crawls = asyncio.run(_crawl_all(demo))
    extent = ", ".join(f"{c.role}/{c.language} {c.visited}" for c in crawls)
    took = time.monotonic() - started
    print(f"pages looked at in {took:.0f} s: {extent}")  # noqa: T201 - the crawl's extent
    offences = report(crawls)
    listing = f"{len(offences)} offences:\n" + "\n".join(offences)
    if offences:
        print(listing)  # noqa: T201 - the list to work from, also when the assert is cut short
    assert not offences, listing


async def _crawl_all(base: str) -> list[Crawl]:
    """Every role in every language, a few at once (one browser, a context each)."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        at_once = asyncio.Semaphore(CONCURRENT)

        async def one(role: str, language: str) -> Crawl:
            async with at_once:
                return await crawl(browser, base, role, language)

        try:
            return list(await asyncio.gather(*(one(r, lang) for r in ROLES for lang in LANGUAGES)))
        finally:
            await browser.close()


def test_the_word_check_itself() -> None:
    """The word check flags words, not codes, terms, URLs or units; Chinese on English pages."""
    assert untranslated(["设备 88.118.8/ELV-001 在线", "MQTT 端口 1883", "20 kWh"], "zh_CN") == []
    assert untranslated(["https://example.com/a 已注册", "91320509MA1XXXXX0K"], "zh_CN") == []
    assert untranslated(["状态 active"], "zh_CN") == ["状态 active"]
    assert untranslated(["环节 fibre.preform"], "zh_CN") == ["环节 fibre.preform"]
    assert untranslated(["handle 88.118.8/X not found"], "zh_CN") == ["handle 88.118.8/X not found"]
    assert untranslated(["Devices", "Page 1 of 3"], "en") == []
    assert untranslated(["Township 盛泽镇"], "en") == ["Township 盛泽镇"]
    assert shape("/devices/12?key=a&page=2") == "/devices/#?key&page"
