"""`taihu alarm …` as a real process: rules created, changed and listed; a bad one refused."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from taihu.accounts import AuditEntry
from taihu.alarms import AlarmRule
from taihu.core import Database
from tests.cli.test_serve import env, run  # noqa: F401 - env is a fixture
from tests.conftest import World


async def test_rule_create_set_list(
    env: dict[str, str],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    world: World,
    db: Database,
) -> None:
    spec = '{"op": ">", "value": 80, "clear_op": "<", "clear_value": 75}'
    made = run(
        "alarm",
        "rule-create",
        "过热",
        "--profile",
        "default",
        "--kind",
        "threshold",
        "--key",
        "t",
        "--spec",
        spec,
        env=env,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stdout
    bad = run(
        "alarm",
        "rule-create",
        "坏",
        "--profile",
        "default",
        "--kind",
        "duration",
        "--key",
        "t",
        "--spec",
        '{"op": ">", "value": 1}',
        env=env,
        cwd=tmp_path,
    )
    assert bad.returncode != 0
    assert "hold_seconds" in bad.stdout
    async with db.session() as session:
        rule_id = await session.scalar(sa.select(AlarmRule.id))
    changed = run(
        "alarm",
        "rule-set",
        str(rule_id),
        "--severity",
        "critical",
        "--disabled",
        env=env,
        cwd=tmp_path,
    )
    assert changed.returncode == 0, changed.stdout
    listed = run("alarm", "rule-list", "--profile", "default", env=env, cwd=tmp_path)
    assert "过热" in listed.stdout
    assert "critical" in listed.stdout
    assert run("alarm", "list", env=env, cwd=tmp_path).returncode == 0
    async with db.session() as session:
        rules = list(await session.scalars(sa.select(AlarmRule)))
        actions = list(
            await session.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.entity_type == "alarm_rule")
            )
        )
    assert [(r.severity, r.enabled) for r in rules] == [("critical", False)]
    assert actions == ["alarm_rule.create", "alarm_rule.update"]
