"""The monitor groups enterprises by the district's current chain templates, not the packaged six.

The district's own four-segment chain (examples/chains/fibre-district.json) is imported, three
of the worked example's enterprises are placed in its segments, and the per-chain and
per-segment indices must show it; a new version of the template regroups them.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from taihu.accounts import Principal, Role
from taihu.chains import ChainService, TemplateStore, parse_template
from taihu.cli import app
from taihu.core import Database, FrozenClock
from taihu.monitor import MonitorService
from tests.conftest import World
from tests.monitor.helpers import DAY, code, example_rows, load_example, power_csv

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chains" / "fibre-district.json"
runner = CliRunner()
# The worked example on DAY: code(0) resumed, code(1) counted but not resumed, code(2) has no
# baseline (not counted). They make preforms, draw fibre and cable.
PLACES = {0: "fd.preform", 1: "fd.fibre", 2: "fd.cable"}


def _template() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))["chains"][0]
    return document


def _without_drawing() -> dict[str, Any]:
    """Version 2: fibre drawing is no longer a segment of the district's chain."""
    document = copy.deepcopy(_template())
    document.pop("note", None)
    document["segments"] = [s for s in document["segments"] if s["key"] != "fd.fibre"]
    document["segments"][0]["supplies"] = ["fd.cable"]
    return document


DRAWING = {
    "key": "fd-drawing", "name_zh": "光纤拉丝链", "name_en": "Fibre drawing chain",
    "segments": [{"key": "fd.fibre", "name_zh": "光纤拉丝", "name_en": "Fibre drawing",
                  "stage": "midstream", "supplies": []}],
}  # fmt: skip


def _counts(groups: dict[str, Any]) -> dict[str, tuple[str, int, int]]:
    return {k: (g["name"], g["enterprises"], g["resumed"]) for k, g in groups.items()}


async def test_a_district_template_is_a_chain_of_the_monitor_and_its_versions_regroup(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await load_example(db, clock)
    staff = await world.bearer("analyst", Role.BUREAU)
    files = {"file": ("fibre-district.json", EXAMPLE.read_bytes(), "application/json")}
    imported = await client.post("/api/chains/import", files=files, headers=staff)
    assert imported.status_code == 200, imported.text
    for index, segment in PLACES.items():
        tag = await client.post(
            "/api/chain-tags",
            headers=staff,
            json={"enterprise_id": ids[code(index)], "segment_key": segment},
        )
        assert tag.status_code == 201, tag.text

    async def groups(kind: str) -> dict[str, tuple[str, int, int]]:
        got = await client.get(f"/api/monitor/index?date={DAY}&group={kind}", headers=staff)
        assert got.status_code == 200, got.text
        return _counts(got.json()["groups"])

    chains = await groups("chain")
    assert chains["fibre-district"] == ("区内光纤光缆", 2, 1)
    segments = await groups("segment")
    assert segments["fd.preform"] == ("光纤预制棒", 1, 1)
    assert segments["fd.fibre"] == ("光纤拉丝", 1, 0)
    assert segments["fd.cable"] == ("光缆成缆", 0, 0)
    series = await client.get(f"/api/monitor/series?first={DAY - timedelta(days=1)}&last={DAY}"
                              "&group=chain&key=fibre-district", headers=staff)  # fmt: skip
    assert series.status_code == 200, series.text
    assert [(d["enterprises"], d["resumed"]) for d in series.json()["days"]] == [(0, 0), (2, 1)]

    # Version 2 drops fibre drawing: its enterprise leaves the chain; a new chain takes it up.
    edited = await client.put("/api/chains/fibre-district/template", json=_without_drawing(),
                              headers=staff)  # fmt: skip
    assert (edited.status_code, edited.json()["version"]) == (200, 2), edited.text
    chains = await groups("chain")
    assert chains["fibre-district"] == ("区内光纤光缆", 1, 1)
    assert "fd-drawing" not in chains
    assert "fd.fibre" not in await groups("segment")
    created = await client.post("/api/chains", json=DRAWING, headers=staff)
    assert created.status_code == 201, created.text
    chains = await groups("chain")
    assert chains["fd-drawing"] == ("光纤拉丝链", 1, 0)
    assert chains["fibre-district"] == ("区内光纤光缆", 1, 1)


async def test_a_version_written_in_the_same_unit_of_work_regroups_at_once(
    db: Database, clock: FrozenClock
) -> None:
    """The store reads the templates once per transaction; writing a version drops that read."""
    ids = await load_example(db, clock)
    system = Principal.system("test")
    async with db.session() as session:
        store = TemplateStore(session, clock)
        await store.save(system, parse_template(_template()))
        chains = ChainService(session, clock)
        await chains.confirm_tags(system, [(ids[code(i)], s) for i, s in PLACES.items()])
        monitor = MonitorService(session, clock=clock)
        before = (await monitor.index(system, DAY, ["chain"])).groups["chain"]
        assert before["fibre-district"][1].enterprises == 2
        await store.save(system, parse_template(_without_drawing()))
        after = (await monitor.index(system, DAY, ["chain", "segment"])).groups
        assert after["chain"]["fibre-district"][1].enterprises == 1
        assert "fd.fibre" not in after["segment"]
        assert await monitor._members_of("chain", "fibre-district") == (ids[code(0)], ids[code(2)])


@pytest.mark.usefixtures("cli_environment")
def test_the_cli_index_groups_by_an_imported_and_an_edited_template(tmp_path: Path) -> None:
    def ok(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
        return result.output

    registry = tmp_path / "e.csv"
    registry.write_text("credit_code,name,industry_code\n" + "".join(
        f"{code(i)},测试企业{i},3832\n" for i in range(4)), encoding="utf-8")  # fmt: skip
    ok("enterprise", "import", str(registry))
    power = tmp_path / "power.csv"
    power.write_bytes(power_csv(example_rows()))
    ok("monitor", "import-power", str(power))
    ok("chain", "template", "import", str(EXAMPLE))
    for index, segment in PLACES.items():
        ok("chain", "tag", code(index), segment)

    def chains() -> dict[str, tuple[str, int, int]]:
        body = json.loads(ok("monitor", "index", "--date", str(DAY), "--group", "chain",
                             "--format", "json"))  # fmt: skip
        return _counts(body["groups"])

    assert chains()["fibre-district"] == ("区内光纤光缆", 2, 1)
    edited = tmp_path / "v2.json"
    edited.write_text(json.dumps({"chains": [_without_drawing()]}), encoding="utf-8")
    assert "1 updated" in ok("chain", "template", "import", str(edited))
    assert chains()["fibre-district"] == ("区内光纤光缆", 1, 1)
