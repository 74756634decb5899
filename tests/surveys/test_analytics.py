"""A survey's analytics by hand-computed figures, and reminders of the overdue through the inbox."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa

from taihu.accounts import AuditEntry
from taihu.core import Database, FrozenClock
from taihu.notices import NoticeRecipient, SurveyReminder, remind_overdue_surveys
from tests.surveys.conftest import Field
from tests.surveys.helpers import TOWN, instance

SURVEY = "/api/surveys/chain_survey"


async def _send(client: httpx.AsyncClient, key: str, iid: str, **kwargs: object) -> None:
    xml = instance("1", instance_id=iid, **kwargs)  # type: ignore[arg-type]
    answer = await client.post(
        f"/openrosa/key/{key}/submission", files={"xml_submission_file": ("s.xml", xml, "text/xml")}
    )
    assert answer.status_code == 201, answer.text


async def _answers(client: httpx.AsyncClient, field: Field) -> None:
    """A (TOWN) and C (another township, asked by name) answer; B (TOWN) does not."""
    asked = await client.post(
        f"{SURVEY}/assignments",
        headers=field.bureau,
        json={"scope": "selected", "value": str(field.enterprise_ids[2]), "deadline": "2026-12-31"},
    )
    assert asked.status_code == 201, asked.text
    await _send(client, field.key_a, "uuid:a1", suppliers=(("甲", "40"),))
    await _send(client, field.key_c, "uuid:c1", suppliers=(("乙", "10"), ("丙", "20")))
    edited = await client.post(
        f"{SURVEY}/submissions/uuid:c1/edits",
        headers=field.bureau,
        json={"path": "employees", "value": "80"},
    )
    assert edited.status_code == 200, edited.text


async def test_analytics_figures(client: httpx.AsyncClient, field: Field) -> None:
    await _answers(client, field)
    got = await client.get(f"{SURVEY}/analytics", headers=field.bureau)
    assert got.status_code == 200, got.text
    figures = got.json()
    assert [(g["key"], g["asked"], g["answered"]) for g in figures["by_township"]] == [
        ("320509105", 1, 1),
        (TOWN, 2, 1),
    ]
    assert [(g["key"], g["asked"], g["answered"]) for g in figures["by_industry"]] == [
        ("1751", 3, 2)
    ]
    questions = {q["path"]: q for q in figures["questions"]}
    employees = questions["employees"]
    assert (employees["answers"], employees["minimum"], employees["median"]) == (2, 80, 100)
    assert employees["maximum"] == 120
    assert [h["count"] for h in employees["histogram"]] == [1, 0, 0, 0, 1]
    assert (employees["histogram"][0]["low"], employees["histogram"][-1]["high"]) == (80, 120)
    share = questions["suppliers/share"]  # pooled over the repeat's rows
    assert (share["answers"], share["minimum"], share["median"], share["maximum"]) == (
        3,
        10,
        20,
        40,
    )
    exports = questions["exports"]
    assert [(c["name"], c["count"]) for c in exports["choices"]] == [("yes", 2), ("no", 0)]
    assert exports["choices"][0]["label"]["English (en)"] == "Yes"
    assert [(m["enterprise_id"], m["overdue"]) for m in figures["missing"]] == [
        (field.enterprise_ids[1], False)
    ]
    # A rejected answer is no answer.
    await client.post(
        f"{SURVEY}/submissions/uuid:a1/review",
        headers=field.bureau,
        json={"review_state": "rejected"},
    )
    figures = (await client.get(f"{SURVEY}/analytics", headers=field.bureau)).json()
    assert [(g["key"], g["answered"]) for g in figures["by_township"]] == [
        ("320509105", 1),
        (TOWN, 0),
    ]
    assert questions["employees"]["answers"] == 2
    assert {m["enterprise_id"] for m in figures["missing"]} == set(field.enterprise_ids[:2])
    denied = await client.get(f"{SURVEY}/analytics", headers=field.owner_a)
    assert denied.status_code == 403


async def test_reminders_once_a_day_to_the_overdue(
    client: httpx.AsyncClient, field: Field, db: Database, clock: FrozenClock
) -> None:
    await _answers(client, field)
    async with db.session() as session:
        early = await remind_overdue_surveys(session, clock)
    assert (early.notices, early.enterprises) == (0, 0)  # nobody is overdue yet
    clock.advance(timedelta(days=37))  # 2027-01-01: the deadline has passed
    for expected in (1, 0, 0):
        async with db.session() as session:
            done = await remind_overdue_surveys(session, clock)
        assert done.enterprises == expected
    clock.advance(timedelta(days=1))
    async with db.session() as session:
        assert (await remind_overdue_surveys(session, clock)).enterprises == 1
    async with db.session() as session:
        reminders = list(await session.scalars(sa.select(SurveyReminder)))
        assert {r.enterprise_id for r in reminders} == {field.enterprise_ids[1]}
        assert len({r.day for r in reminders}) == 2
        inbox = list(await session.scalars(sa.select(NoticeRecipient)))
        assert sorted(r.enterprise_id for r in inbox) == [field.enterprise_ids[1]] * 2
        audited = list(
            await session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "survey.remind"))
        )
        assert [a.after["enterprises"] for a in audited] == [[field.enterprise_ids[1]]] * 2
    # Closed surveys remind nobody.
    closed = await client.put(f"{SURVEY}/state", headers=field.bureau, json={"state": "closed"})
    assert closed.status_code == 200, closed.text
    clock.advance(timedelta(days=1))
    async with db.session() as session:
        assert (await remind_overdue_surveys(session, clock)).enterprises == 0
