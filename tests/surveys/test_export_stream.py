"""An export of thousands of submissions: streamed in batches, with progress, every row there."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from typer.testing import CliRunner

from taihu.cli import app as cli_app
from taihu.core import Database, FrozenClock
from taihu.surveys import FormVersion, Review, Submission, Survey, SurveyService
from tests.conftest import START
from tests.surveys.conftest import Field
from tests.surveys.helpers import SYSTEM, chain_form, enterprises

COUNT = 3000
NOTE = 2000  # characters of text per submission, so holding them all would show
BATCH = 250


async def _bulk(db: Database, enterprise_id: int, count: int = COUNT) -> None:
    """``count`` submissions of chain_survey written in one multi-row insert, two suppliers each."""
    async with db.session() as session:
        survey = await session.scalar(sa.select(Survey).where(Survey.form_id == "chain_survey"))
        assert survey is not None
        version = await session.scalar(
            sa.select(FormVersion.id).where(
                FormVersion.survey_id == survey.id, FormVersion.state == "published"
            )
        )
        now = datetime(2026, 12, 1, tzinfo=UTC)
        rows = [
            {
                "survey_id": survey.id,
                "version_id": version,
                "instance_id": f"uuid:bulk-{i:05d}",
                "enterprise_id": enterprise_id,
                "submitter": "bulk",
                "channel": "openrosa",
                "test": False,
                "xml": "<data/>",
                "data": {
                    "company": f"企业{i:05d}",
                    "employees": str(i),
                    "old_note": os.urandom(NOTE // 2).hex(),  # compresses little, as text
                    "suppliers": [
                        {"suppliers/supplier": f"甲{i}", "suppliers/share": "60"},
                        {"suppliers/supplier": f"乙{i}", "suppliers/share": "40"},
                    ],
                },
                "review_state": "received",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ]
        await session.execute(sa.insert(Submission), rows)
        await session.commit()


def _rows(sheet: Any) -> int:
    return sum(1 for _ in sheet.iter_rows(values_only=True))


async def test_thousands_stream_with_progress_and_every_row(
    client: httpx.AsyncClient, field: Field, db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    await _bulk(db, field.enterprise_ids[0])

    calls: list[tuple[int, int]] = []
    target = tmp_path / "export.zip"
    tracemalloc.start()
    try:
        async with db.session() as session:
            written = await Review(session, clock).export_to(
                SYSTEM,
                "chain_survey",
                "csv",
                target,
                progress=lambda d, t: calls.append((d, t)),
                batch=BATCH,
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == COUNT
    # Progress after every batch, and never backwards.
    assert calls[0] == (0, COUNT)
    assert calls[-1] == (COUNT, COUNT)
    assert len(calls) == 1 + -(-COUNT // BATCH)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # A streamed export holds a batch, not the survey: well under what reading every row takes.
    tracemalloc.start()
    try:
        async with db.session() as session:
            plan = await Review(session, clock).export_plan(SYSTEM, "chain_survey")
            everything = (await session.execute(plan.query)).all()
        _, whole = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(everything) == COUNT
    del everything
    assert whole > COUNT * NOTE  # the notes alone are 6 MB
    assert peak < whole / 2, f"streamed peak {peak} bytes, all rows {whole}"

    with zipfile.ZipFile(target) as archive:
        main = list(csv.reader(io.StringIO(archive.read("chain_survey.csv").decode("utf-8-sig"))))
        reps = archive.read("chain_survey-suppliers.csv").decode("utf-8-sig")
    assert len(main) == 1 + COUNT
    assert [r[0] for r in main[1:]] == [f"uuid:bulk-{i:05d}" for i in range(COUNT)]
    assert len(list(csv.reader(io.StringIO(reps)))) == 1 + 2 * COUNT

    # Through HTTP: the spooled file with its length, every row in the workbook.
    got = await client.get("/api/surveys/chain_survey/export", headers=field.bureau)
    assert got.status_code == 200
    assert int(got.headers["content-length"]) == len(got.content)
    assert "chain_survey.xlsx" in got.headers["content-disposition"]
    book = load_workbook(io.BytesIO(got.content), read_only=True)
    assert _rows(book["chain_survey"]) == 1 + COUNT
    assert _rows(book["chain_survey-suppliers"]) == 1 + 2 * COUNT
    # The CSV zip is sent as it is written: no length known beforehand, every row in it.
    zipped = await client.get("/api/surveys/chain_survey/export?format=csv", headers=field.bureau)
    assert zipped.status_code == 200
    assert zipped.headers["content-type"] == "application/zip"
    assert "content-length" not in zipped.headers
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert archive.namelist() == ["chain_survey.csv", "chain_survey-suppliers.csv"]
        text = archive.read("chain_survey.csv").decode("utf-8-sig")
        assert len(list(csv.reader(io.StringIO(text)))) == 1 + COUNT
        text = archive.read("chain_survey-suppliers.csv").decode("utf-8-sig")
        assert len(list(csv.reader(io.StringIO(text)))) == 1 + 2 * COUNT

    # Its bytes leave batch by batch, not at the end.
    async with db.session() as session:
        review = Review(session, clock)
        plan = await review.export_plan(SYSTEM, "chain_survey")
        chunks = [c async for c in review.stream_csv(plan, batch=BATCH)]
    assert len(chunks) > COUNT // BATCH
    assert b"".join(chunks)[:2] == b"PK"


async def test_an_export_is_staff_only(client: httpx.AsyncClient, field: Field) -> None:
    refused = await client.get("/api/surveys/chain_survey/export", headers=field.owner_a)
    assert refused.status_code == 403
    missing = await client.get("/api/surveys/no_such/export?format=csv", headers=field.bureau)
    assert missing.status_code == 404


def test_the_command_writes_the_export(
    cli_environment: None, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def seed() -> None:
        db = Database(database_url)
        try:
            clock = FrozenClock(START)
            ids = await enterprises(db, clock)
            async with db.session() as session:
                service = SurveyService(session, clock)
                await service.upload(SYSTEM, chain_form("1"), "chain.xlsx")
                await service.publish(SYSTEM, "chain_survey")
                await session.commit()
            await _bulk(db, ids[0], count=1200)
        finally:
            await db.dispose()

    asyncio.run(seed())
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(cli_app, ["survey", "export", "chain_survey"])
    assert done.exit_code == 0, done.output
    assert "1200 submissions written to chain_survey.xlsx" in done.output
    book = load_workbook(tmp_path / "chain_survey.xlsx", read_only=True)
    assert _rows(book["chain_survey"]) == 1201
    assert not list(tmp_path.glob("*.part"))
    wrong = CliRunner().invoke(cli_app, ["survey", "export", "nope", "--format", "csv"])
    assert wrong.exit_code == 1
    assert not list(tmp_path.glob("nope*"))
