"""Every console import says which columns it reads, offers a template, and behaves alike."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from taihu.accounts import Role
from taihu.chains import edge_import
from taihu.enterprises import registry_import
from taihu.monitor import power
from taihu.web.pages.imports import IMPORTS
from tests.conftest import CODE_A, CODE_B, World
from tests.web.test_console import sign_in


def test_the_column_lists_match_what_the_importers_read() -> None:
    for key, required, known in (
        ("enterprises", registry_import.REQUIRED, registry_import.KNOWN),
        ("supply-edges", edge_import.REQUIRED, edge_import.KNOWN),
        ("power", power.LAYOUT.required, power.LAYOUT.known),
    ):
        columns = IMPORTS[key].columns
        assert {c.name for c in columns if c.required} == set(required), key
        assert {c.name for c in columns} <= set(known), key


@pytest.mark.parametrize(
    ("page", "key"),
    [("/enterprises/import", "enterprises"), ("/supply-edges/import", "supply-edges"),
     ("/monitor/import", "power")],
)  # fmt: skip
async def test_pages_show_columns_and_offer_a_template(
    client: httpx.AsyncClient, world: World, page: str, key: str
) -> None:
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    form = await client.get(page)
    assert form.status_code == 200
    for column in IMPORTS[key].columns:
        assert f"<code>{column.name}</code>" in form.text
    link = re.search(r'href="([^"]+)" download class="template-download"', form.text)
    assert link
    template = await client.get(link[1])
    assert template.status_code == 200
    assert template.content.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    header, example = list(csv.reader(io.StringIO(template.content.decode("utf-8-sig"))))
    assert header == [c.name for c in IMPORTS[key].columns]
    assert len(example) == len(header)


async def test_edge_import_page_all_or_nothing_unless_asked(
    client: httpx.AsyncClient, world: World
) -> None:
    buyer = await world.enterprise("甲厂", CODE_A)
    supplier = await world.enterprise("乙厂", CODE_B)
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    form = await client.get("/supply-edges/import")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    rows = ("supplier_code,buyer_code,input_category,annual_value\n"
            f"{supplier.credit_code},{buyer.credit_code},光纤预制棒,1200\n"
            f"{supplier.credit_code},{buyer.credit_code},,oops\n")  # fmt: skip
    upload = {"file": ("edges.csv", rows.encode())}
    nothing = await client.post("/supply-edges/import", files=upload, data={"csrf": csrf[1]})
    assert nothing.status_code == 200
    assert "未写入任何数据" in nothing.text
    written = await client.post("/supply-edges/import", files=upload,
                                data={"csrf": csrf[1], "skip_invalid": "true"})  # fmt: skip
    assert "未写入任何数据" not in written.text
    assert "新增 1，" in written.text  # noqa: RUF001 - Chinese punctuation
    assert "跳过 1" in written.text
