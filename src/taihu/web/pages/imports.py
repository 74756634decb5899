"""What each console import expects, a template file to start from, and the supply-edge import page.

Every import page shows the columns it reads (required ones marked, with an example value) and
links a CSV template (UTF-8 with a byte-order mark, so Excel opens the Chinese right). Imports
behave alike: every row is checked first; by default one refused row stops the whole file, and
a box opts in to writing the valid rows only. The report says which of the two happened.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment

from taihu.accounts import Permission
from taihu.chains import import_edges
from taihu.core import DbSession, RuntimeDep, TaihuError, read_upload
from taihu.web.console import Signed, guard, render_page
from taihu.web.i18n import N_, gettext_

__all__ = [
    "IMPORTS", "Column", "ImportKind", "csv_download", "csv_template", "install", "may", "need",
    "router",
]  # fmt: skip

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Column:
    """One column an import reads."""

    name: str
    required: bool
    example: str
    meaning: str  # a message id, shown in the reader's language


@dataclass(frozen=True, slots=True)
class ImportKind:
    """An import's columns and where its template is downloaded."""

    key: str
    columns: tuple[Column, ...]

    @property
    def template_path(self) -> str:
        """The template file's path."""
        return f"/imports/{self.key}/template.csv"


def need(name: str, example: str, meaning: str) -> Column:
    """A required column."""
    return Column(name, required=True, example=example, meaning=meaning)


def may(name: str, example: str, meaning: str) -> Column:
    """An optional column."""
    return Column(name, required=False, example=example, meaning=meaning)


IMPORTS = {
    kind.key: kind
    for kind in (
        ImportKind("enterprises", (
            need("credit_code", "91320509MA0TXT010F",
                   N_("unified social credit code, 18 characters")),
            need("name", "吴江示范光缆有限公司", N_("registered name")),
            may("name_en", "Wujiang Demo Cable Co., Ltd.", N_("English name")),
            may("township", "松陵街道", N_("township: 9-digit code or Chinese name")),
            may("industry_code", "3833", N_("GB/T 4754 class, four digits")),
            may("above_size", "1", N_("flag: 1 or 0")),
            may("key_enterprise", "0", N_("flag: 1 or 0")),
            may("chain_leader", "0", N_("flag: 1 or 0")),
            may("employees", "320", N_("whole number")),
            may("revenue_band", "100M-1B",
                N_("<20M, 20M-100M, 100M-1B, 1B-10B or >=10B")),
            may("address", "吴江区松陵镇示范路 1 号", N_("address")),
            may("latitude", "31.16", N_("both latitude and longitude, or neither")),
            may("longitude", "120.64", N_("both latitude and longitude, or neither")),
        )),
        ImportKind("supply-edges", (
            may("supplier_code", "91320509MA0TXT002L",
                   N_("supplier's credit code (or give its name)")),
            may("supplier_name", "", N_("supplier's name, when it has no code here")),
            need("buyer_code", "91320509MA0TXT010F", N_("buyer's credit code")),
            need("input_category", "光纤预制棒", N_("what is bought")),
            need("annual_value", "1200", N_("annual value, 10k yuan")),
            may("ring", "区内",
                N_("where the supplier is: 区内, 市内, 省内, 国内, 国外")),
            may("substitutable", "否", N_("flag: 1 or 0")),
        )),
        ImportKind("power", (
            need("credit_code", "91320509MA0TXT010F",
                   N_("unified social credit code, 18 characters")),
            need("date", "2026-04-29", N_("day, YYYY-MM-DD")),
            need("kwh", "15230.5", N_("the day's use in kWh")),
            may("name", "吴江示范光缆有限公司",
                N_("enterprise name, not read: the credit code decides")),
        )),
    )
}  # fmt: skip


def csv_template(header: list[str], example: list[str]) -> bytes:
    """A CSV file with the header and one example row, as Excel opens it (UTF-8 with a BOM)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerow(example)
    return out.getvalue().encode("utf-8-sig")


def csv_download(content: bytes, name: str) -> Response:
    """A CSV file as a download."""
    return Response(content, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def install(env: Environment) -> None:
    """Make the import descriptions available to every template (``import_kind("power")``)."""
    env.globals["import_kind"] = IMPORTS.get


@router.get("/imports/{kind}/template.csv")
async def template_file(kind: str, _who: Signed) -> Response:
    """The template of an import: its columns and an example row."""
    spec = IMPORTS.get(kind)
    if spec is None:
        return Response(status_code=404)
    content = csv_template([c.name for c in spec.columns], [c.example for c in spec.columns])
    return csv_download(content, f"{kind}-template.csv")


@router.get(
    "/supply-edges/import",
    dependencies=guard(Permission.IMPORT_ENTERPRISES),
    response_class=HTMLResponse,
)
async def edges_form(request: Request, who: Signed) -> HTMLResponse:
    return render_page(
        request, "chains/import.html", who, import_key="supply-edges", report=None, error=""
    )


@router.post(
    "/supply-edges/import",
    dependencies=guard(Permission.IMPORT_ENTERPRISES),
    response_class=HTMLResponse,
)
async def edges_upload(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=128)] = "",
    skip_invalid: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    try:
        report = await import_edges(
            session, runtime.clock, who.principal, file.filename or "upload.csv",
            await read_upload(file), skip_invalid=skip_invalid,
        )  # fmt: skip
    except TaihuError as exc:
        return render_page(request, "chains/import.html", who, import_key="supply-edges",
                           report=None, error=exc.text(gettext_),
                           status_code=exc.status)  # fmt: skip
    return render_page(request, "chains/import.html", who, import_key="supply-edges",
                       report=report, error="", skip_invalid=skip_invalid)  # fmt: skip
