"""Exports across two versions: the union of their questions, a sheet per repeat, keys."""

from __future__ import annotations

import csv
import io
import zipfile

import httpx
from openpyxl import load_workbook

from tests.surveys.conftest import Field, upload
from tests.surveys.helpers import chain_form, instance


async def _send(client: httpx.AsyncClient, key: str, xml: bytes) -> None:
    answer = await client.post(
        f"/openrosa/key/{key}/submission", files={"xml_submission_file": ("s.xml", xml, "text/xml")}
    )
    assert answer.status_code == 201, answer.text


async def test_an_export_spans_versions(client: httpx.AsyncClient, field: Field) -> None:
    await _send(
        client,
        field.key_a,
        instance("1", instance_id="uuid:v1", suppliers=(("甲", "60"), ("乙", "40"))),
    )
    assert (
        await upload(client, field.bureau, chain_form("2", old_question=False))
    ).status_code == 201
    assert (
        await client.post("/api/surveys/chain_survey/publish", headers=field.bureau)
    ).status_code == 200
    await _send(
        client,
        field.key_a,
        instance("2", instance_id="uuid:v2", extra="<new_note>新</new_note>", suppliers=()),
    )

    got = await client.get("/api/surveys/chain_survey/export", headers=field.bureau)
    assert got.status_code == 200
    book = load_workbook(io.BytesIO(got.content), read_only=True)
    assert book.sheetnames == ["chain_survey", "chain_survey-suppliers"]
    main = [list(r) for r in book["chain_survey"].iter_rows(values_only=True)]
    header = main[0]
    assert header[:3] == ["KEY", "SubmissionDate", "FormVersion"]
    # Version 2's questions first, then the question version 2 removed.
    assert header.index("new_note") < header.index("old_note")
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in main[1:]}
    assert rows["uuid:v1"]["old_note"] == "x"
    assert rows["uuid:v1"]["new_note"] is None
    assert rows["uuid:v2"]["new_note"] == "新"
    assert rows["uuid:v2"]["FormVersion"] == "2"
    assert rows["uuid:v1"]["CreditCode"]
    assert rows["uuid:v1"]["company"] == "华纺"
    reps = [list(r) for r in book["chain_survey-suppliers"].iter_rows(values_only=True)]
    assert reps[0][:2] == ["PARENT_KEY", "KEY"]
    share = reps[0].index("suppliers/share")
    assert [(r[0], r[1], r[share]) for r in reps[1:]] == [
        ("uuid:v1", "uuid:v1/suppliers[1]", "60"),
        ("uuid:v1", "uuid:v1/suppliers[2]", "40"),
    ]

    zipped = await client.get("/api/surveys/chain_survey/export?format=csv", headers=field.bureau)
    assert zipped.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    assert sorted(archive.namelist()) == ["chain_survey-suppliers.csv", "chain_survey.csv"]
    text = archive.read("chain_survey-suppliers.csv").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert [line[:2] for line in lines[1:]] == [
        ["uuid:v1", "uuid:v1/suppliers[1]"],
        ["uuid:v1", "uuid:v1/suppliers[2]"],
    ]
