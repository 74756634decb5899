"""Chain templates as data: the built-in starting set, versions, the API, files, and analyses."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from taihu.accounts import Principal, Role
from taihu.chains import ChainService, TemplateStore, import_templates, parse_template
from taihu.cli import app
from taihu.core import Conflict, Database, FrozenClock, InvalidInput, PermissionDenied
from taihu.enterprises import EnterpriseService
from tests.conftest import CODE_A, CODE_B, World

CODE_C = "91320509MA0TXT0377"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "chains"
runner = CliRunner()


def _segment(key: str, stage: str, supplies: list[str], **extra: Any) -> dict[str, Any]:
    return {"key": key, "name_zh": f"环节{key}", "name_en": f"Segment {key}", "stage": stage,
            "supplies": supplies, **extra}  # fmt: skip


FOUR = {
    "key": "hand-fibre", "name_zh": "手工光纤链", "name_en": "Hand-made fibre chain",
    "segments": [
        _segment("hf.preform", "upstream", ["hf.fibre"], critical=True, keywords=["光棒"]),
        _segment("hf.fibre", "midstream", ["hf.cable"]),
        _segment("hf.cable", "midstream", ["hf.network"]),
        _segment("hf.network", "downstream", []),
    ],
}  # fmt: skip


async def _three_filled(client: httpx.AsyncClient, analyst: dict[str, str]) -> None:
    three = ((CODE_A, "示例光棒", "hf.preform"), (CODE_B, "示例光纤", "hf.fibre"),
             (CODE_C, "示例光缆", "hf.cable"))  # fmt: skip
    for code, name, segment in three:
        made = await client.post(
            "/api/enterprises", json={"name": name, "credit_code": code}, headers=analyst
        )
        assert made.status_code == 201, made.text
        tag = await client.post(
            "/api/chain-tags",
            json={"enterprise_id": made.json()["id"], "segment_key": segment},
            headers=analyst,
        )
        assert tag.status_code == 201, tag.text


async def test_the_six_built_ins_are_version_one_in_both_languages(
    client: httpx.AsyncClient, world: World
) -> None:
    reader = await world.bearer("reader", Role.AUDITOR)
    chains = (await client.get("/api/chains", headers=reader)).json()
    assert [c["key"] for c in chains] == [
        "optical-fibre", "polyester", "elevator", "display", "ic", "components"
    ]  # fmt: skip
    assert {c["version"] for c in chains} == {1}
    fibre = chains[0]
    assert (fibre["name_zh"], fibre["name_en"]) == ("光纤光缆", "Optical fibre and cable")
    preform = fibre["segments"][1]
    assert preform["supplies"] == ["fibre.fibre"]
    assert (preform["name_zh"], preform["name_en"]) == ("光纤预制棒", "Fibre preforms")
    history = (await client.get("/api/chains/optical-fibre/versions", headers=reader)).json()
    assert [(v["version"], v["created_by"]) for v in history] == [(1, "taihu (built-in)")]


async def test_a_custom_four_segment_chain_with_three_filled_is_three_quarters_complete(
    client: httpx.AsyncClient, world: World
) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    created = await client.post("/api/chains", json={**FOUR, "note": "draft"}, headers=analyst)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    await _three_filled(client, analyst)
    analysis = (await client.get("/api/chains/hand-fibre/analysis", headers=analyst)).json()
    assert analysis["completeness"] == 0.75
    assert analysis["template_version"] == 1
    assert analysis["name_en"] == "Hand-made fibre chain"
    assert [s["status"] for s in analysis["segments"]][-1] == "missing"
    assert analysis["segments"][0]["name_en"] == "Segment hf.preform"

    # A fifth segment: the same three members now cover 3 of 5, by version 2.
    five = {**FOUR, "segments": [*FOUR["segments"], _segment("hf.devices", "downstream", [])]}
    changed = await client.put("/api/chains/hand-fibre/template", json=five, headers=analyst)
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    analysis = (await client.get("/api/chains/hand-fibre/analysis", headers=analyst)).json()
    assert (analysis["completeness"], analysis["template_version"]) == (0.6, 2)
    # Removing the missing segments: 3 of 3.
    three = {**FOUR, "segments": [
        _segment("hf.preform", "upstream", ["hf.fibre"]), _segment("hf.fibre", "midstream", []),
        _segment("hf.cable", "downstream", []),
    ]}  # fmt: skip
    await client.put("/api/chains/hand-fibre/template", json=three, headers=analyst)
    analysis = (await client.get("/api/chains/hand-fibre/analysis", headers=analyst)).json()
    assert (analysis["completeness"], analysis["template_version"]) == (1.0, 3)

    history = (await client.get("/api/chains/hand-fibre/versions", headers=analyst)).json()
    assert [(v["version"], v["segments"]) for v in history] == [(3, 3), (2, 5), (1, 4)]
    first = (await client.get("/api/chains/hand-fibre/template?version=1", headers=analyst)).json()
    assert len(first["segments"]) == 4
    # The same content again writes no version.
    again = await client.put("/api/chains/hand-fibre/template", json=three, headers=analyst)
    assert again.json()["version"] == 3


async def test_template_writes_are_for_the_bureau_and_audited(
    client: httpx.AsyncClient, world: World
) -> None:
    firm = await world.enterprise("示例企业", CODE_A)
    member = await world.bearer("member", Role.ENTERPRISE, enterprises=(firm.id,))
    auditor = await world.bearer("aud", Role.AUDITOR)
    analyst = await world.bearer("ana", Role.BUREAU)
    for headers in (member, auditor):
        refused = await client.post("/api/chains", json=FOUR, headers=headers)
        assert refused.status_code == 403, refused.text
    assert (await client.get("/api/chains/hand-fibre/template", headers=analyst)).status_code == 404
    await client.post("/api/chains", json=FOUR, headers=analyst)
    renamed = {**FOUR, "name_en": "Hand fibre"}
    await client.put("/api/chains/hand-fibre/template", json=renamed, headers=analyst)
    log = (await client.get("/api/audit", params={"entity_type": "chain_template"},
                            headers=analyst)).json()  # fmt: skip
    actions = [(e["action"], e["entity_id"], e["actor"]) for e in log["items"]]
    assert ("chain_template.create", "hand-fibre", "ana") in actions
    assert ("chain_template.version", "hand-fibre", "ana") in actions


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"segments": [_segment("hf.a", "upstream", ["hf.zz"])]}, 400, "bad_template"),
        ({"segments": [_segment("hf.a", "sideways", [])]}, 400, "bad_stage"),
        ({"segments": [_segment("fibre.fibre", "upstream", [])]}, 409, "segment_taken"),
        ({"key": "optical-fibre"}, 409, "chain_exists"),
        ({"key": "Bad Key!"}, 400, "bad_template"),
        ({"segments": [_segment("hf.a", "upstream", []), _segment("hf.a", "midstream", [])]},
         400, "bad_template"),
        ({"segments": []}, 422, None),
    ],
)  # fmt: skip
async def test_a_wrong_template_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, world: World, change: dict[str, Any], status: int, error: str | None
) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    refused = await client.post("/api/chains", json={**FOUR, **change}, headers=analyst)
    assert refused.status_code == status, refused.text
    if error:
        assert refused.json()["error"] == error
    keys = [c["key"] for c in (await client.get("/api/chains", headers=analyst)).json()]
    assert len(keys) == 6


async def test_suggestions_and_tags_follow_the_template(db: Database, clock: FrozenClock) -> None:
    bureau = Principal.system("test")
    async with db.session() as session:
        firm = await EnterpriseService(session, clock).create(bureau, "示例光棒制造", CODE_A)
        chains = ChainService(session, clock)
        await chains.templates.save(bureau, parse_template(FOUR), create=True)
        await chains.suggest_tags(bureau)
        tags, _ = await chains.tags(bureau, enterprise_id=firm.id)
        assert "hf.preform" in {t.segment_key for t in tags}
        without = {**FOUR, "segments": FOUR["segments"][1:]}
        await chains.templates.save(bureau, parse_template(without))
        await chains.suggest_tags(bureau)
        tags, _ = await chains.tags(bureau, enterprise_id=firm.id)
        assert "hf.preform" not in {t.segment_key for t in tags}
        with pytest.raises(InvalidInput):
            await chains.tag(bureau, firm.id, "hf.preform")
        with pytest.raises(PermissionDenied):
            await chains.templates.save(
                Principal(name="x", role=Role.AUDITOR), parse_template(FOUR)
            )


async def test_the_example_files_import_alike(db: Database, clock: FrozenClock) -> None:
    bureau = Principal.system("test")
    for name in ("fibre-district.json", "fibre-district.xlsx", "fibre-district.csv"):
        async with db.session() as session:
            result = await import_templates(
                session, clock, bureau, name, (EXAMPLES / name).read_bytes()
            )
            assert result.report.problems == [], name
            chain = await TemplateStore(session, clock).get("fibre-district")
            assert [s.key for s in chain.segments] == [
                "fd.preform", "fd.fibre", "fd.cable", "fd.network"
            ]  # fmt: skip
            assert chain.segments[0].critical
            assert chain.segments[0].supplies == ("fd.fibre",)
            assert chain.segments[0].keywords == ("预制棒", "光棒")
            assert chain.segments[3].stage.value == "downstream"
            assert chain.name_en == "District optical fibre and cable"
            # The first file creates version 1; the same content in other formats changes nothing.
            assert chain.version == 1
            assert result.templates[0]["outcome"] == ("created" if "json" in name else "unchanged")


def _xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_a_bad_row_is_reported_by_row_and_nothing_is_written(
    db: Database, clock: FrozenClock
) -> None:
    head = ["chain", "chain_name_zh", "chain_name_en", "key", "name_zh", "name_en", "stage",
            "supplies"]  # fmt: skip
    rows = [
        head,
        ["good", "好链", "Good", "g.a", "甲", "A", "upstream", "g.b"],
        ["good", "", "", "g.b", "乙", "B", "downstream", ""],
        ["bad", "坏链", "Bad", "b.a", "甲", "A", "upstream", ""],
        ["bad", "", "", "b.b", "乙", "B", "sideways", ""],
    ]
    async with db.session() as session:
        result = await import_templates(
            session, clock, Principal.system("test"), "t.xlsx", _xlsx(rows)
        )
        report = result.report
        assert (report.applied, report.rows, report.created, report.skipped) == (False, 2, 1, 1)
        assert [(p.row, p.column) for p in report.problems] == [(5, "stage")]
        assert "sideways" in report.problems[0].reason
        keys = [c.key for c in await TemplateStore(session, clock).current()]
        assert "good" not in keys
        kept = await import_templates(
            session, clock, Principal.system("test"), "t.xlsx", _xlsx(rows), skip_invalid=True
        )
        assert kept.report.applied
        assert kept.templates == [{"key": "good", "outcome": "created", "version": 1}]


async def test_two_templates_cannot_share_a_segment(db: Database, clock: FrozenClock) -> None:
    async with db.session() as session:
        store = TemplateStore(session, clock)
        with pytest.raises(Conflict):
            await store.save(Principal.system("test"), parse_template(
                {**FOUR, "key": "other", "segments": [_segment("poly.pta", "upstream", [])]}
            ))  # fmt: skip


@pytest.mark.usefixtures("cli_environment")
def test_the_cli_imports_exports_and_shows_history(tmp_path: Path) -> None:
    dry = runner.invoke(
        app, ["chain", "template", "import", str(EXAMPLES / "fibre-district.json"), "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "would import: 1 rows, 1 created" in dry.output
    done = runner.invoke(
        app, ["chain", "template", "import", str(EXAMPLES / "fibre-district.xlsx")]
    )
    assert done.exit_code == 0, done.output
    assert "imported: 1 rows, 1 created" in done.output
    out = tmp_path / "export.json"
    exported = runner.invoke(app, ["chain", "template", "export", "fibre-district", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text(encoding="utf-8"))
    document["chains"][0]["segments"].pop()
    document["chains"][0]["segments"][-1]["supplies"] = []
    out.write_text(json.dumps(document), encoding="utf-8")
    again = runner.invoke(app, ["chain", "template", "import", str(out)])
    assert "1 updated" in again.output, again.output
    history = runner.invoke(app, ["chain", "template", "history", "fibre-district"])
    assert history.exit_code == 0
    assert "file import" in history.output
    listed = runner.invoke(app, ["chain", "list"])
    assert "fibre-district v2" in listed.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    refused = runner.invoke(app, ["chain", "template", "import", str(bad)])
    assert refused.exit_code == 1
    assert "not JSON" in refused.output
