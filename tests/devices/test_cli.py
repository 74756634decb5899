"""`taihu device …` as a real process: the token is the last line, and it works."""

from __future__ import annotations

from pathlib import Path

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
