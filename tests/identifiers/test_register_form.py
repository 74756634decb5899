"""One identifier from its industry template in the console; every problem of a row reported."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from taihu.accounts import Role
from taihu.core import Database
from taihu.identifiers import import_rows
from tests.conftest import World
from tests.identifiers.conftest import PREFIX
from tests.web.test_console import sign_in

pytestmark = pytest.mark.usefixtures("templates")

GOOD = {
    "item:manufacturer": "苏州恒立电梯有限公司",
    "item:model": "HL-2000",
    "item:batch": "2026-B07",
    "item:productionDate": "2026-03-14",
    "item:serialNumber": "SN-0001",
    "item:ratedLoadKg": "1000",
}


async def _signed_in(client: httpx.AsyncClient, world: World, templates: int) -> str:
    await world.user("lift", Role.ENTERPRISE, enterprises=(templates,))
    await sign_in(client, "lift")
    form = await client.get("/identifiers/new", params={"prefix": PREFIX,
                                                          "template": "elevator-1.0"})  # fmt: skip
    assert form.status_code == 200
    # The form comes from the template: labels, units and input kinds.
    assert "额定载重(kg) Rated load" in form.text
    assert '<span class="unit">kg</span>' in form.text
    assert 'name="item:productionDate"' in form.text
    # A date field in the page language's form (not the browser's: no type="date").
    assert 'id="item-productionDate" name="item:productionDate" type="text" data-date' in form.text
    assert 'placeholder="例：2026-04-29"' in form.text  # noqa: RUF001 - Chinese colon
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    return csrf[1]


async def test_every_field_error_beside_its_field(
    client: httpx.AsyncClient, world: World, templates: int
) -> None:
    csrf = await _signed_in(client, world, templates)
    bad = {**GOOD, "item:ratedLoadKg": "heavy", "item:productionDate": "14/03/2026",
           "item:model": ""}  # fmt: skip
    answer = await client.post("/identifiers/new", data={
        "csrf": csrf, "prefix": PREFIX, "template": "elevator-1.0", "suffix": "ELV-1", **bad,
    })  # fmt: skip
    assert answer.status_code == 400
    errors = dict(re.findall(r'<p class="field-error" id="error-([^"]+)">([^<]+)</p>', answer.text))
    assert set(errors) == {"ratedLoadKg", "productionDate", "model"}
    assert "heavy" in errors["ratedLoadKg"]
    # 14/03/2026 reads as two different days to two readers: refused, with the page's form.
    assert errors["productionDate"] == "不是日期：请写成 2026-04-29 的形式"  # noqa: RUF001
    assert 'value="14/03/2026"' in answer.text
    assert 'value="SN-0001"' in answer.text  # what was typed stays
    assert (await client.get(f"/r/{PREFIX}/ELV-1")).status_code == 404


async def test_registers_and_shows_the_lookup(
    client: httpx.AsyncClient, world: World, templates: int
) -> None:
    csrf = await _signed_in(client, world, templates)
    answer = await client.post("/identifiers/new", data={
        "csrf": csrf, "prefix": PREFIX, "template": "elevator-1.0", "suffix": "ELV-2", **GOOD,
    })  # fmt: skip
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/identifiers?handle={PREFIX}/ELV-2"
    public = await client.get(f"/r/{PREFIX}/ELV-2")
    assert public.status_code == 200
    assert "HL-2000" in public.text
    again = await client.post("/identifiers/new", data={
        "csrf": csrf, "prefix": PREFIX, "template": "elevator-1.0", "suffix": "ELV-2", **GOOD,
        "item:model": "HL-3000",
    })  # fmt: skip
    assert again.status_code == 400
    assert 'id="error-suffix"' in again.text


async def test_import_reports_every_problem_of_a_row(
    db: Database, world: World, templates: int
) -> None:
    from taihu.accounts import Principal  # noqa: PLC0415

    row = {k.removeprefix("item:"): v for k, v in GOOD.items()}
    row |= {"suffix": "ELV-9", "templateVersion": "elevator-1.0", "ratedLoadKg": "heavy",
            "productionDate": "soon"}  # fmt: skip
    actor = Principal("lift", Role.ENTERPRISE, enterprise_ids=frozenset({templates}))
    report = await import_rows(db, actor, PREFIX, [row], clock=world.clock, seckeys=None)
    assert report.errors is not None
    assert {(e.row, e.column) for e in report.errors} == {(2, "ratedLoadKg"), (2, "productionDate")}


async def test_identifier_template_file_has_the_items(
    client: httpx.AsyncClient, world: World, templates: int
) -> None:
    await world.user("lift", Role.ENTERPRISE, enterprises=(templates,))
    await sign_in(client, "lift")
    page = await client.get("/identifiers/import")
    assert "/identifiers/import/template.csv?template=elevator-1.0" in page.text
    assert 'name="write_valid"' in page.text
    got = await client.get("/identifiers/import/template.csv", params={"template": "elevator-1.0"})
    header, example = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert header[:4] == ["suffix", "templateVersion", "manufacturer", "model"]
    assert example[1] == "elevator-1.0"


async def test_identifiers_page_lookup_first_names_natural_order(
    client: httpx.AsyncClient, world: World, db: Database, templates: int
) -> None:
    from taihu.accounts import Principal  # noqa: PLC0415
    from taihu.identifiers import IdentifierService  # noqa: PLC0415

    async with db.session() as session:
        service = IdentifierService(session, world.clock)
        for prefix in ("88.118.10", "88.118.2"):
            await service.create_prefix(Principal.system("test"), prefix, enterprise_id=templates)
    csrf = await _signed_in(client, world, templates)
    await client.post("/identifiers/new", data={
        "csrf": csrf, "prefix": PREFIX, "template": "elevator-1.0", "suffix": "ELV-7", **GOOD,
    })  # fmt: skip
    page = await client.get("/identifiers", params={"handle": f"{PREFIX}/ELV-7"})
    text = page.text
    assert text.index('id="lookup"') < text.index('id="id-stats-chart"')  # the lookup first
    assert f'placeholder="{PREFIX}/ELV-7"' in text  # an identifier that exists
    assert '<td class="label" translate="no">型号 Model</td>' in text  # the template's labels
    table = text.split('id="prefixes"')[1]
    assert table.index("88.118.2<") < table.index("88.118.8<") < table.index("88.118.10<")
    assert "Hengli Elevator" in table  # the enterprise's name, not its id


async def test_a_date_in_the_english_pages_form_is_kept_as_its_day(
    client: httpx.AsyncClient, world: World, templates: int
) -> None:
    client.cookies.set("taihu_lang", "en")
    csrf = await _signed_in_en(client, world, templates)
    data = {**GOOD, "item:productionDate": "14 Mar 2026", "item:ratedLoadKg": "heavy"}
    answer = await client.post("/identifiers/new", data={
        "csrf": csrf, "prefix": PREFIX, "template": "elevator-1.0", "suffix": "ELV-9", **data,
    })  # fmt: skip
    assert answer.status_code == 400  # another field is wrong: the date stays as typed
    assert 'value="14 Mar 2026"' in answer.text
    assert 'id="error-productionDate"' not in answer.text
    answer = await client.post("/identifiers/new", data={
        "csrf": csrf, "prefix": PREFIX, "template": "elevator-1.0", "suffix": "ELV-9",
        **data, "item:ratedLoadKg": "1000",
    })  # fmt: skip
    assert answer.status_code == 303, answer.text
    record = await client.get(f"/api/handles/{PREFIX}/ELV-9")
    values = {v["type"]: v["data"]["value"] for v in record.json()["values"]}
    assert values["productionDate"] == "2026-03-14"  # the record keeps ISO days


async def _signed_in_en(client: httpx.AsyncClient, world: World, templates: int) -> str:
    await world.user("lift", Role.ENTERPRISE, enterprises=(templates,))
    await sign_in(client, "lift")
    form = await client.get("/identifiers/new", params={"prefix": PREFIX,
                                                          "template": "elevator-1.0"})  # fmt: skip
    assert 'placeholder="e.g. 29 Apr 2026"' in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    return csrf[1]
