"""File import (CSV and xlsx): errors name row, column and reason; bad rows are skipped."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from typer.testing import CliRunner

from taihu.accounts import AuditEntry, Principal, Role
from taihu.cli import app
from taihu.core import Database, FrozenClock
from taihu.identifiers import HandleRow, IdentifierService, parse_handle, seckeys_for
from taihu.identifiers.registration.importer import import_rows, read_table
from taihu.identifiers.registration.seckeys import is_sealed
from taihu.settings import Settings
from tests.conftest import World
from tests.identifiers.conftest import NODE, PREFIX
from tests.web.test_console import sign_in

pytestmark = pytest.mark.usefixtures("templates")

HEADER = [
    "suffix",
    "manufacturer",
    "model",
    "batch",
    "productionDate",
    "serialNumber",
    "ratedLoadKg",
]
ROWS = [
    ["L001", "恒立电梯", "HL-2000", "B1", "2026-03-14", "SN0001", "1000"],
    ["L002", "恒立电梯", "", "B1", "2026-03-14", "SN0002", "1000"],  # model missing
    ["L003", "恒立电梯", "HL-2000", "B1", "14.03.2026", "SN0003", "1000"],  # bad date
    ["L004", "恒立电梯", "HL-2000", "B1", "2026-03-15", "SN0004", "1,000"],  # not a number
    ["L005", "恒立电梯", "HL-2000", "B2", "2026-03-15", "SN0005", "1050"],
]


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "lifts.csv"
    lines = [",".join(HEADER)] + [",".join(f'"{c}"' for c in row) for row in ROWS]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "lifts.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([c or None for c in row])
    book.save(path)
    return path


async def _count(db: Database) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(HandleRow)
                .where(HandleRow.key.like(f"{PREFIX}/L%"))
            )
            or 0
        )


@pytest.mark.parametrize("make", [_csv, _xlsx])
async def test_import_reports_rows_and_columns(
    db: Database, clock: FrozenClock, tmp_path: Path, make: object
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    rows = read_table(path)
    report = await import_rows(
        db,
        Principal.system("test"),
        PREFIX,
        rows,
        template="elevator-1.0",
        clock=clock,
        seckeys=None,
    )
    assert (report.rows, report.imported) == (5, 2)
    assert [(e.row, e.column) for e in report.errors or []] == [
        (3, "model"),
        (4, "productionDate"),
        (5, "ratedLoadKg"),
    ]
    assert "required" in (report.errors or [])[0].reason
    assert await _count(db) == 2
    # Importing the same file again changes nothing.
    again = await import_rows(
        db,
        Principal.system("test"),
        PREFIX,
        rows,
        template="elevator-1.0",
        clock=clock,
        seckeys=None,
    )
    assert (again.imported, again.unchanged) == (0, 2)
    assert await _count(db) == 2


async def test_rows_outside_the_prefix_and_unknown_template(
    db: Database, clock: FrozenClock
) -> None:
    rows = [
        {"handle": "88.999/X1", "model": "a"},
        {"suffix": "L9", "templateVersion": "nope-1", "model": "a"},
    ]
    report = await import_rows(
        db, Principal.system("test"), PREFIX, rows, clock=clock, seckeys=None
    )
    assert [(e.row, e.column, e.reason) for e in report.errors or []] == [
        (2, "handle", f"88.999/X1 is not under prefix {PREFIX}"),
        (3, "templateVersion", f"no template 'nope-1' for prefix {PREFIX} or its parents"),
    ]


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


async def test_console_upload_reports_rows_and_writes_only_good_ones(
    client: httpx.AsyncClient, db: Database, world: World, tmp_path: Path, templates: int
) -> None:
    await world.user("lift-clerk", Role.ENTERPRISE, enterprises=(templates,))
    await sign_in(client, "lift-clerk")
    form = await client.get("/identifiers/import")
    assert form.status_code == 200
    assert f'<option value="{PREFIX}"' in form.text
    assert f'<option value="{NODE}"' not in form.text  # the node prefix is not the member's
    csrf = _hidden(form.text, "csrf")
    content = _xlsx(tmp_path).read_bytes()
    upload = {"file": ("lifts.xlsx", content)}
    fields = {"csrf": csrf, "prefix": PREFIX, "template": "elevator-1.0"}
    refused = await client.post("/identifiers/import", files=upload, data={**fields, "csrf": "x"})
    assert refused.status_code == 403
    elsewhere = await client.post(
        "/identifiers/import", files=upload, data={**fields, "prefix": NODE}
    )
    assert elsewhere.status_code == 403
    assert await _count(db) == 0
    # By default one refused row stops the whole file, and the report says so.
    nothing = await client.post("/identifiers/import", files=upload, data=fields)
    assert nothing.status_code == 200
    assert "5 行：登记 0 个，未变 0 个，3 行有错误" in nothing.text  # noqa: RUF001 - Chinese punctuation
    assert "未写入任何数据" in nothing.text
    assert await _count(db) == 0
    # Ticking the box writes the valid rows only.
    fields["write_valid"] = "true"
    report = await client.post("/identifiers/import", files=upload, data=fields)
    assert report.status_code == 200
    assert "5 行：登记 2 个，未变 0 个，3 行有错误" in report.text  # noqa: RUF001 - Chinese punctuation
    cells = re.findall(r"<tr><td>(\d+)</td><td><code>([^<]+)</code></td>", report.text)
    assert cells == [("3", "model"), ("4", "productionDate"), ("5", "ratedLoadKg")]
    assert await _count(db) == 2
    async with db.session() as session:
        audits = list(await session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "handle.import")
            .order_by(AuditEntry.id)
        ))  # fmt: skip
    assert [a.actor for a in audits] == ["lift-clerk", "lift-clerk"]
    assert [a.after for a in audits] == [
        {"file": "lifts.xlsx", "rows": 5, "applied": False, "imported": 0, "unchanged": 0,
         "errors": 3},
        {"file": "lifts.xlsx", "rows": 5, "applied": True, "imported": 2, "unchanged": 0,
         "errors": 3},
    ]  # fmt: skip


async def test_console_upload_refuses_bad_files_and_outsiders(
    client: httpx.AsyncClient, world: World, templates: int
) -> None:
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    assert (await client.get("/identifiers/import")).status_code == 403
    client.cookies.clear()
    await world.user("lift-clerk", Role.ENTERPRISE, enterprises=(templates,))
    await sign_in(client, "lift-clerk")
    client.cookies.set("taihu_lang", "en")
    csrf = _hidden((await client.get("/identifiers/import")).text, "csrf")
    fields = {"csrf": csrf, "prefix": PREFIX}
    for name, content, message in [
        ("lifts.txt", b"suffix,model\nL1,a\n", "import takes .csv or .xlsx files"),
        ("lifts.csv", "suffix,model\nL1,a\n".encode("gbk") + b"\xff", "is not UTF-8 text"),
        ("lifts.xlsx", b"not a zip", "is not an xlsx workbook"),
        ("lifts.csv", b"suffix,model\n", "The file has no rows below its header."),
    ]:
        answer = await client.post(
            "/identifiers/import", files={"file": (name, content)}, data=fields
        )
        assert answer.status_code == 400, name
        assert message in answer.text, name


async def _imported_secret(db: Database, settings: Settings, suffix: str) -> bytes | None:
    """The clear secret a wire challenge would use, after checking it is stored sealed."""
    handle = parse_handle(f"{PREFIX}/{suffix}")
    async with db.session() as session:
        service = IdentifierService(session, seckeys=seckeys_for(settings))
        stored = next(v for v in await service.values(handle) if v.type == "HS_SECKEY")
        assert is_sealed(stored.data)
        assert not stored.public_read
        return await service.secret_key_of(handle, stored.index)


async def test_cli_import_seals_secret_keys(
    cli_environment: None, db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "keys.csv"
    path.write_text("suffix,HS_SECKEY\nK1,imported-secret-1\n", encoding="utf-8")
    # The command runs its own event loop, so it runs off this test's loop.
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["id", "import", str(path), "--prefix", PREFIX]
    )
    assert result.exit_code == 0, result.output
    assert await _imported_secret(db, settings, "K1") == b"imported-secret-1"


async def test_console_import_seals_secret_keys(
    client: httpx.AsyncClient, db: Database, settings: Settings, world: World, templates: int
) -> None:
    await world.user("key-clerk", Role.ENTERPRISE, enterprises=(templates,))
    await sign_in(client, "key-clerk")
    csrf = _hidden((await client.get("/identifiers/import")).text, "csrf")
    content = b"suffix,HS_SECKEY\nK2,imported-secret-2\n"
    answer = await client.post(
        "/identifiers/import", files={"file": ("keys.csv", content)},
        data={"csrf": csrf, "prefix": PREFIX},
    )  # fmt: skip
    assert answer.status_code == 200
    assert await _imported_secret(db, settings, "K2") == b"imported-secret-2"
