"""Identifier errors and import reports in the reader's language (Accept-Language, the cookie)."""

from __future__ import annotations

import re

import httpx
import pytest

from taihu.accounts import Role
from tests.conftest import World
from tests.identifiers.conftest import ADMIN, PREFIX
from tests.web.test_console import sign_in

H = f"{PREFIX}/ELV-0001"
BODY = {"values": [{"index": 1, "type": "URL", "data": "https://lift.example/ELV-0001"}]}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


async def _put(client: httpx.AsyncClient, path: str, body: object, language: dict[str, str]) -> str:
    response = await client.put(f"/api/handles/{path}", json=body, headers=ADMIN | language)
    assert response.status_code >= 400, response.text
    message = response.json()["message"]
    assert isinstance(message, str)
    return message


@pytest.mark.usefixtures("prefixes")
async def test_handle_api_errors_answer_in_the_readers_language(client: httpx.AsyncClient) -> None:
    assert (await client.put(f"/api/handles/{H}", json=BODY, headers=ADMIN)).status_code == 201
    duplicate = await _put(client, H, BODY, ZH)
    assert duplicate == f"标识 {H} 已存在"
    assert await _put(client, H, BODY, EN) == f"handle {H} exists already"
    unknown = "99.999/X1"
    assert await _put(client, unknown, BODY, ZH) == "该前缀不在本节点"
    assert await _put(client, unknown, BODY, EN) == "That prefix doesn't live here"
    # A value object's reason, nested in the value it belongs to.
    big = {"values": [{"index": 7, "type": "DATA", "data": "x" * (64 * 1024 + 1)}]}
    assert await _put(client, f"{PREFIX}/BIG", big, ZH) == (
        "标识值 7：标识值 7（DATA）有 65537 字节，上限为 65536（64 KiB）"  # noqa: RUF001 - Chinese punctuation
    )
    assert await _put(client, f"{PREFIX}/BIG", big, EN) == (
        "value 7: value 7 (DATA) holds 65537 bytes; the limit is 65536 (64 KiB)"
    )
    # No Accept-Language: English, as Handle.Net tools expect.
    plain = await client.put(f"/api/handles/{H}", json=BODY, headers=ADMIN)
    assert plain.json()["message"] == f"handle {H} exists already"


@pytest.mark.usefixtures("prefixes")
async def test_snms_errors_answer_in_the_readers_language(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await world.bearer("analyst", Role.BUREAU)
    url = "/identityv2/data/detail?handle=no-slash"
    chinese = await client.get(url, headers=headers | ZH)
    assert chinese.status_code == 400
    assert chinese.json()["message"] == "标识的格式为“前缀/后缀”；'no-slash' 中没有“/”"  # noqa: RUF001 - Chinese punctuation
    english = await client.get(url, headers=headers | EN)
    assert english.json()["message"] == "a handle is PREFIX/SUFFIX; 'no-slash' has no '/'"


async def test_console_import_report_gives_reasons_in_chinese(
    client: httpx.AsyncClient, world: World, templates: int
) -> None:
    await world.user("lift-clerk", Role.ENTERPRISE, enterprises=(templates,))
    await sign_in(client, "lift-clerk")
    client.cookies.set("taihu_lang", "zh_CN")
    form = await client.get("/identifiers/import")
    csrf = re.search(r'name="csrf" value="([^"]*)"', form.text)
    assert csrf
    content = (
        b"suffix,templateVersion,model\n"
        b",elevator-1.0,HL-2000\n"  # no suffix
        b"L2,nope-1,HL-2000\n"  # no such template
        b"L3,,\n"  # nothing to register
    )
    fields = {"csrf": csrf.group(1), "prefix": PREFIX, "template": ""}
    report = await client.post(
        "/identifiers/import", files={"file": ("lifts.csv", content)}, data=fields
    )
    assert report.status_code == 200, report.text
    shown = report.text.split('id="import-report"', 1)[1]
    reasons = re.findall(r"<td><code>[^<]*</code></td><td>([^<]*)</td>", shown)
    assert reasons == [
        f"标识须有前缀和后缀，&#39;{PREFIX}/&#39; 不符合",  # noqa: RUF001 - Chinese punctuation
        f"前缀 {PREFIX} 及其上级没有模板 &#39;nope-1&#39;",
        "该行没有任何标识值",
    ]
