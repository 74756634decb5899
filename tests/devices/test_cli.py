"""`taihu device …` as a real process: the token is the last line, and it works."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from taihu.accounts import AuditEntry, Principal
from taihu.core import Database
from taihu.devices import DeviceService
from tests.cli.test_serve import env, run  # noqa: F401 - env is a fixture
from tests.conftest import CODE_A, World


async def test_create_list_show_and_rotate(
    env: dict[str, str],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    world: World,
    db: Database,
) -> None:
    await world.enterprise("甲厂", CODE_A)
    created = run("device", "create", "电表-1", "--enterprise", CODE_A, env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stdout
    token = created.stdout.strip().splitlines()[-1]
    async with db.session() as session:
        auth = await DeviceService(session).authenticate(token)
    assert auth is not None
    assert auth.name == "电表-1"
    listed = run("device", "list", "--enterprise", CODE_A, env=env, cwd=tmp_path)
    assert "电表-1" in listed.stdout
    shown = run("device", "show", str(auth.device_id), env=env, cwd=tmp_path)
    assert "profile default" in shown.stdout
    rotated = run("device", "token-rotate", str(auth.device_id), env=env, cwd=tmp_path)
    new_token = rotated.stdout.strip().splitlines()[-1]
    async with db.session() as session:
        assert await DeviceService(session).authenticate(token) is None
        assert await DeviceService(session).authenticate(new_token) is not None
    gateway = run(
        "device", "create", "gw", "--enterprise", CODE_A, "--gateway", "--profile", "nope",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert gateway.returncode == 1
    assert "no device profile named 'nope'" in gateway.stdout


async def test_move_puts_a_device_under_a_gateway_and_back(
    env: dict[str, str],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    world: World,
    db: Database,
) -> None:
    enterprise = await world.enterprise("甲厂", CODE_A)
    async with db.session() as session:
        registry = DeviceService(session)
        meter = (await registry.create(Principal.system(), enterprise.id, "meter")).device
        gateway = (
            await registry.create(Principal.system(), enterprise.id, "gw", gateway=True)
        ).device
    moved = run(
        "device", "move", str(meter.id), "--gateway", str(gateway.id), env=env, cwd=tmp_path
    )
    assert moved.returncode == 0, moved.stdout
    assert f"under gateway {gateway.id}" in moved.stdout
    listed = run("device", "list", "--enterprise", CODE_A, env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout
    nested = run(
        "device", "move", str(gateway.id), "--gateway", str(gateway.id), env=env, cwd=tmp_path
    )
    assert nested.returncode == 1
    assert "gateways are not children" in nested.stdout
    unclear = run("device", "move", str(meter.id), env=env, cwd=tmp_path)
    assert unclear.returncode == 2
    detached = run("device", "move", str(meter.id), "--detach", env=env, cwd=tmp_path)
    assert detached.returncode == 0, detached.stdout
    async with db.session() as session:
        assert (await DeviceService(session).get(Principal.system(), meter.id)).gateway_id is None
        actions = await session.scalars(
            sa.select(AuditEntry.after)
            .where(AuditEntry.action == "device.gateway_set", AuditEntry.entity_id == str(meter.id))
            .order_by(AuditEntry.id)
        )
        assert list(actions) == [{"gateway_id": gateway.id}, {"gateway_id": None}]
