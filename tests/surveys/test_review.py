"""Review as ODK Central has it, answer edits with history, my surveys, response rate, authz."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from taihu.accounts import AuditEntry
from taihu.core import Database
from tests.surveys.conftest import Field
from tests.surveys.helpers import instance

SUBS = "/api/surveys/chain_survey/submissions"


async def _send(client: httpx.AsyncClient, key: str, iid: str, **kwargs: object) -> None:
    xml = instance("1", instance_id=iid, **kwargs)  # type: ignore[arg-type]
    answer = await client.post(
        f"/openrosa/key/{key}/submission", files={"xml_submission_file": ("s.xml", xml, "text/xml")}
    )
    assert answer.status_code == 201, answer.text


async def test_review_states_comments_and_edits(
    client: httpx.AsyncClient, field: Field, db: Database
) -> None:
    await _send(client, field.key_a, "uuid:r1", suppliers=(("甲", "50"), ("乙", "30")))
    url = f"{SUBS}/uuid:r1"
    flagged = await client.post(
        f"{url}/review",
        headers=field.bureau,
        json={"review_state": "hasIssues", "comment": "份额合计不足"},
    )
    assert flagged.json()["review_state"] == "hasIssues"
    said = await client.post(
        f"{url}/comments", headers=field.owner_a, json={"comment": "第二家供应商是30%"}
    )
    assert said.status_code == 201
    edited = await client.post(
        f"{url}/edits",
        headers=field.bureau,
        json={"path": "suppliers[2]/share", "value": "50", "comment": "电话核实"},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["review_state"] == "edited"
    assert body["data"]["suppliers"][1]["suppliers/share"] == "50"
    assert body["data"]["suppliers"][0]["suppliers/share"] == "50"
    edit = body["events"][-1]
    assert (edit["action"], edit["actor"], edit["path"]) == (
        "edit",
        "zhang.wei",
        "suppliers[2]/share",
    )
    assert (edit["before"], edit["after"]) == ("30", "50")
    assert [e["action"] for e in body["events"]] == ["received", "review", "comment", "edit"]
    approved = await client.post(
        f"{url}/review", headers=field.bureau, json={"review_state": "approved"}
    )
    assert approved.json()["review_state"] == "approved"
    async with db.session() as session:
        actions = set(
            await session.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.action.startswith("survey."))
            )
        )
    assert {
        "survey.upload",
        "survey.publish",
        "survey.assign",
        "survey.submit",
        "survey.review",
        "survey.comment",
        "survey.edit",
    } <= actions


async def test_edits_refuse_paths_the_form_lacks(client: httpx.AsyncClient, field: Field) -> None:
    await _send(client, field.key_a, "uuid:r2")
    for path in ("nope", "suppliers[5]/share", "suppliers", "suppliers/share", "meta/instanceID"):
        answer = await client.post(
            f"{SUBS}/uuid:r2/edits", headers=field.bureau, json={"path": path, "value": "1"}
        )
        assert answer.status_code == 400, path
        assert answer.json()["error"] == "bad_answer_path"
    detail = (await client.get(f"{SUBS}/uuid:r2", headers=field.bureau)).json()
    assert detail["review_state"] == "received"
    assert [e["action"] for e in detail["events"]] == ["received"]


async def test_who_may_do_what(client: httpx.AsyncClient, field: Field) -> None:
    await _send(client, field.key_a, "uuid:r3")
    url = f"{SUBS}/uuid:r3"
    # An enterprise user reads its own submission, never reviews or edits it.
    assert (await client.get(url, headers=field.owner_a)).status_code == 200
    for path, body in (
        ("review", {"review_state": "approved"}),
        ("edits", {"path": "company", "value": "x"}),
    ):
        assert (
            await client.post(f"{url}/{path}", headers=field.owner_a, json=body)
        ).status_code == 403
    # Another enterprise does not see it at all.
    assert (await client.get(url, headers=field.owner_c)).status_code == 404
    assert (await client.get(SUBS, headers=field.owner_c)).json()["total"] == 0
    assert (
        await client.post(f"{url}/comments", headers=field.owner_c, json={"comment": "?"})
    ).status_code == 404
    # Forms, assignments and exports are the bureau's.
    assert (await client.get("/api/surveys", headers=field.owner_a)).status_code == 403
    assert (
        await client.post("/api/surveys/chain_survey/publish", headers=field.owner_a)
    ).status_code == 403
    assert (
        await client.get("/api/surveys/chain_survey/export", headers=field.owner_a)
    ).status_code == 403
    # An enterprise user makes app users for its own enterprise only.
    other = await client.post(
        "/api/survey-app-users",
        headers=field.owner_a,
        json={"display_name": "x", "enterprise_id": field.enterprise_ids[1]},
    )
    assert other.status_code == 403
    surveyor = await client.post(
        "/api/survey-app-users", headers=field.owner_a, json={"display_name": "x"}
    )
    assert surveyor.status_code == 403


async def test_my_surveys_and_the_response_rate(client: httpx.AsyncClient, field: Field) -> None:
    mine = (await client.get("/api/my-surveys", headers=field.owner_a)).json()
    assert [(m["form_id"], m["answered"], m["deadline"]) for m in mine] == [
        ("chain_survey", False, "2026-12-31")
    ]
    assert (await client.get("/api/my-surveys", headers=field.owner_c)).json() == []
    await _send(client, field.key_a, "uuid:r4")
    mine = (await client.get("/api/my-surveys", headers=field.owner_a)).json()
    assert mine[0]["answered"] is True
    survey = (await client.get("/api/surveys/chain_survey", headers=field.bureau)).json()
    assert survey["response"] == {"asked": 2, "answered": 1, "submissions": 1, "rate": 0.5}
    await client.post(
        f"{SUBS}/uuid:r4/review", headers=field.bureau, json={"review_state": "rejected"}
    )
    survey = (await client.get("/api/surveys/chain_survey", headers=field.bureau)).json()
    assert survey["response"]["answered"] == 0
    # A closed survey leaves the devices' lists and takes nothing more.
    closed = await client.put(
        "/api/surveys/chain_survey/state", headers=field.bureau, json={"state": "closed"}
    )
    assert closed.json()["state"] == "closed"
    refused = await client.post(
        f"/openrosa/key/{field.key_a}/submission",
        files={"xml_submission_file": ("s.xml", instance("1"), "text/xml")},
    )
    assert refused.status_code == 404


async def test_assignments_check_their_scope(client: httpx.AsyncClient, field: Field) -> None:
    url = "/api/surveys/chain_survey/assignments"
    for body, code in (
        ({"scope": "township", "value": "999999999", "deadline": "2026-12-31"}, "empty_scope"),
        ({"scope": "selected", "value": "a,b", "deadline": "2026-12-31"}, "bad_scope_value"),
        ({"scope": "all", "deadline": "2020-01-01"}, "bad_deadline"),
    ):
        answer = await client.post(url, headers=field.bureau, json=body)
        assert answer.status_code == 400
        assert answer.json()["error"] == code
    widened = await client.post(
        url,
        headers=field.bureau,
        json={"scope": "industry", "value": "17", "deadline": "2027-01-15"},
    )
    assert widened.json()["enterprises"] == 3
    assert (await client.get("/api/surveys/chain_survey", headers=field.bureau)).json()["response"][
        "asked"
    ] == 3
