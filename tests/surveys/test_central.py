"""ODK Central's REST API driven by the real ``pyodk`` client over a real socket.

pyodk speaks ``requests``, so the application is served by uvicorn on a free loopback port in
the test's own event loop (it shares the test's database), and each pyodk call runs in a thread.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from pyodk.client import Client
from pyodk.errors import PyODKError

from taihu.accounts import AuditEntry, Role
from taihu.core import Database
from taihu.surveys.central.odata import And, Compare, Not, ODataError, Or, parse_filter
from tests.conftest import PASSWORD, World
from tests.surveys.conftest import Field
from tests.surveys.helpers import instance

T = TypeVar("T")
FORM = "chain_survey"
PHOTO = b"\xff\xd8\xff\xe0 a small jpeg"


@pytest.fixture
async def served(app: Any) -> AsyncIterator[str]:
    """The application on a real loopback socket (port 0), in this test's event loop."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            lifespan="off",
            ws="none",
            log_config=None,
            access_log=False,
            proxy_headers=False,
        )
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            if task.done():
                task.result()  # a failed start raises here
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def pyodk(served: str, tmp_path: Path) -> Iterator[Callable[[str], Client]]:
    """pyodk clients configured as its users do: a TOML file naming server, user, project."""
    made: list[Client] = []

    def make(username: str) -> Client:
        config = tmp_path / f"{username}.toml"
        config.write_text(
            f'[central]\nbase_url = "{served}"\nusername = "{username}"\n'
            f'password = "{PASSWORD}"\ndefault_project_id = 1\n'
        )
        made.append(Client(config_path=config, cache_path=tmp_path / f"{username}-cache.toml"))
        return made[-1]

    yield make
    for client in made:
        client.close()  # its connections, before the server stops


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking pyodk call off the event loop that serves it."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_pyodk_lists_reads_reviews_comments_and_sends(
    pyodk: Callable[[str], Client],
    client: httpx.AsyncClient,
    field: Field,
    db: Database,
    tmp_path: Path,
) -> None:
    bureau = pyodk("zhang.wei")
    owner_a = pyodk("owner.a")
    owner_c = pyodk("owner.c")

    # Forms: the bureau sees every published survey, an enterprise those asked of it.
    assert [p.id for p in await call(bureau.projects.list)] == [1]
    assert [f.xmlFormId for f in await call(bureau.forms.list)] == [FORM]
    assert [f.xmlFormId for f in await call(owner_a.forms.list)] == [FORM]
    assert await call(owner_c.forms.list) == []
    form = await call(bureau.forms.get, FORM)
    assert (form.version, form.state, form.projectId) == ("1", "open", 1)
    xform = await call(bureau.forms.get_xml, FORM)
    assert f'id="{FORM}"' in xform
    assert form.hash

    # An enterprise user sends a submission with its photo, as pyodk's users do.
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(PHOTO)
    first = f"uuid:{uuid.uuid4()}"
    sent = await call(
        owner_a.submissions.create,
        instance("1", instance_id=first).decode(),
        form_id=FORM,
        attachments=[photo],
    )
    assert sent.instanceId == first
    assert sent.reviewState is None
    assert [(a.name, a.exists) for a in sent.attachments or []] == [("photo.jpg", True)]
    # A second one arrives from ODK Collect over OpenRosa, without its photo yet.
    second = f"uuid:{uuid.uuid4()}"
    answer = await client.post(
        f"/openrosa/key/{field.key_a}/submission",
        headers={"X-OpenRosa-Version": "1.0"},
        files=[("xml_submission_file", ("s.xml", instance("1", instance_id=second), "text/xml"))],
    )
    assert answer.status_code == 201, answer.text

    listed = await call(bureau.submissions.list, form_id=FORM)
    assert {s.instanceId for s in listed} == {first, second}

    # OData: paging with a count, the rows' shape, repeats linked or expanded.
    page = await call(bureau.submissions.get_table, form_id=FORM, top=1, count=True)
    assert page["@odata.count"] == 2
    assert len(page["value"]) == 1
    assert "$skip=1" in page["@odata.nextLink"]
    row = page["value"][0]
    assert row["__id"] == second  # newest first
    assert row["employees"] == 120
    assert row["company"] == "华纺"
    assert row["__system"]["formVersion"] == "1"
    assert row["__system"]["attachmentsExpected"] == 1
    assert row["__system"]["attachmentsPresent"] == 0
    assert row["suppliers@odata.navigationLink"].endswith("/suppliers")
    expanded = await call(
        bureau.submissions.get_table, form_id=FORM, filter=f"__id eq '{first}'", expand="*"
    )
    (only,) = expanded["value"]
    assert only["suppliers"][0]["supplier"] == "盛泽化纤"
    assert only["suppliers"][0]["share"] == 40
    assert only["suppliers"][0]["__id"] == f"{first}/suppliers[1]"
    assert only["__system"]["attachmentsPresent"] == 1
    # A repeat's own table, as pyodk reads it: a row per supplier, naming its submission.
    suppliers = await call(
        bureau.submissions.get_table, form_id=FORM, table_name="Submissions.suppliers", count=True
    )
    assert suppliers["@odata.count"] == 2
    assert [(r["__Submissions-id"], r["supplier"]) for r in suppliers["value"]] == [
        (first, "盛泽化纤"),
        (second, "盛泽化纤"),
    ]

    # Review with a comment, then filter by the review state and the submission date.
    await call(bureau.submissions.review, first, "approved", form_id=FORM, comment="数据完整")
    assert (await call(bureau.submissions.get, first, form_id=FORM)).reviewState == "approved"
    approved = await call(
        bureau.submissions.get_table,
        form_id=FORM,
        filter="__system/reviewState eq 'approved'",
    )
    assert [r["__id"] for r in approved["value"]] == [first]
    unreviewed = await call(
        bureau.submissions.get_table, form_id=FORM, filter="__system/reviewState eq null"
    )
    assert [r["__id"] for r in unreviewed["value"]] == [second]
    since = await call(
        bureau.submissions.get_table,
        form_id=FORM,
        filter="__system/submissionDate ge 2026-01-01T00:00:00Z and "
        "not (__system/submissionDate gt 2030-01-01)",
        count=True,
    )
    assert since["@odata.count"] == 2

    # Comments: the bureau's and the answering enterprise's.
    await call(owner_a.submissions.add_comment, first, "已补充", form_id=FORM)
    comments = await call(bureau.submissions.list_comments, first, form_id=FORM)
    assert [c.body for c in comments] == ["数据完整", "已补充"]
    assert comments[0].actorId != comments[1].actorId
    assert comments[0].actorId > 0

    # The photo comes back as it was sent; the XML as it arrived.
    got = await call(
        bureau.get, f"projects/1/forms/{FORM}/submissions/{first}/attachments/photo.jpg"
    )
    assert got.status_code == 200
    assert got.content == PHOTO
    xml = await call(bureau.get, f"projects/1/forms/{FORM}/submissions/{first}.xml")
    assert first in xml.text

    # An enterprise may not review; another enterprise does not see the form at all.
    with pytest.raises(PyODKError) as refused:
        await call(owner_a.submissions.review, second, "rejected", form_id=FORM)
    assert refused.value.args[1].status_code == 403
    assert refused.value.args[1].json()["code"] == 403.1
    with pytest.raises(PyODKError) as hidden:
        await call(owner_c.submissions.get_table, form_id=FORM)
    assert hidden.value.args[1].json()["code"] == 404.1

    async with db.session() as session:
        actions = set(await session.scalars(sa.select(AuditEntry.action)))
    assert {
        "token.create",
        "survey.submit",
        "survey.attachment",
        "survey.review",
        "survey.comment",
    } <= actions


async def test_errors_come_in_centrals_shape(
    client: httpx.AsyncClient, field: Field, world: World
) -> None:
    anonymous = await client.get("/v1/projects")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == 401.2
    assert (await client.get("/v1/projects/2/forms", headers=field.bureau)).json()["code"] == 404.1
    chinese = await client.get(
        "/v1/projects/2/forms", headers={**field.bureau, "Accept-Language": "zh-CN"}
    )
    assert chinese.json()["message"] == "没有项目 2"
    bad = await client.get(
        f"/v1/projects/1/forms/{FORM}.svc/Submissions",
        params={"$filter": "__system/submitterName eq 'x'"},
        headers=field.bureau,
    )
    assert bad.status_code == 400
    assert bad.json()["details"]["error"] == "bad_odata"
    unreadable = await client.get(
        f"/v1/projects/1/forms/{FORM}.svc/Submissions",
        params={"$filter": "__system/reviewState eq"},
        headers=field.bureau,
    )
    assert unreadable.status_code == 400
    negative = await client.get(
        f"/v1/projects/1/forms/{FORM}.svc/Submissions",
        params={"$top": "-1"},
        headers=field.bureau,
    )
    assert negative.status_code == 400
    nested = await client.get(
        f"/v1/projects/1/forms/{FORM}.svc/Submissions.company", headers=field.bureau
    )
    assert nested.status_code == 404
    assert nested.json()["details"]["error"] == "table_not_found"
    assert negative.json()["code"] == 400.1

    url = f"/v1/projects/1/forms/{FORM}/submissions"
    xml = instance("1", instance_id=f"uuid:{uuid.uuid4()}")
    sent = await client.post(url, content=xml, headers=field.owner_a)
    assert sent.status_code == 200, sent.text
    again = await client.post(url, content=xml, headers=field.owner_a)
    assert again.status_code == 409
    assert again.json()["code"] == 409.3
    auditor = await world.bearer("audit.li", Role.AUDITOR)
    assert (await client.post(url, content=xml, headers=auditor)).status_code == 403
    stranger = await client.post(
        f"{url}/{sent.json()['instanceId']}/attachments/other.jpg",
        content=b"x",
        headers=field.owner_a,
    )
    assert stranger.status_code == 400
    assert stranger.json()["details"]["error"] == "attachment_not_expected"
    unread = await client.post(url, content=b"<not-xml", headers=field.owner_a)
    assert unread.status_code == 400
    assert unread.json()["code"] == 400.1


async def test_sign_in_is_throttled_like_every_sign_in(
    client: httpx.AsyncClient, field: Field
) -> None:
    good = await client.post("/v1/sessions", json={"email": "zhang.wei", "password": PASSWORD})
    assert good.status_code == 200
    token = good.json()["token"]
    me = await client.get("/v1/users/current", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == "zhang.wei"
    codes = []
    for _ in range(4):  # the tests' settings lock out after three failures
        wrong = await client.post("/v1/sessions", json={"email": "zhang.wei", "password": "no"})
        codes.append(wrong.json()["code"])
    assert codes == [401.2, 401.2, 401.2, 429.1]
    assert int(wrong.headers["Retry-After"]) > 0


def test_filters_parse_as_central_writes_them() -> None:
    tree = parse_filter(
        "(__system/reviewState eq 'hasIssues' or __system/reviewState eq null) "
        "and not __system/submissionDate lt 2026-11-01"
    )
    assert isinstance(tree, And)
    assert isinstance(tree.left, Or)
    assert isinstance(tree.right, Not)
    assert tree.left.left == Compare("__system/reviewState", "eq", "hasIssues")
    assert tree.left.right == Compare("__system/reviewState", "eq", None)
    assert parse_filter("__id eq 'it''s'") == Compare("__id", "eq", "it's")
    for broken in ("", "__id", "__id eq", "__id like 'x'", "(__id eq 'x'", "__id eq 'x' )"):
        with pytest.raises(ODataError):
            parse_filter(broken)


# Pieces of filters, joined at random: the parser answers a tree or says what it cannot read.
PIECES = ["(", ")", "'x'", "''", "null", "eq", "ne", "lt", "and", "or", "not", "__id", "'", " ",
          "__system/reviewState", "2026-12-01", "2026-12-01T08:00:00Z", "12", "-3.5"]  # fmt: skip


@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_any_filter_text_parses_or_is_refused_with_a_reason(pieces: list[str]) -> None:
    reason = ""
    try:
        parse_filter(" ".join(pieces))
    except ODataError as exc:
        reason = str(exc) or "no reason"
    assert reason != "no reason"
