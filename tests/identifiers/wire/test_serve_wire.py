"""`taihu serve` answers the Handle protocol next to HTTP; `taihu id resolve --wire` asks it."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest

from taihu.identifiers import HandleValue
from taihu.identifiers.wire import HandleClient, SecretKey
from tests.processes import run, running

HANDLE_PORT = re.compile(r"Handle protocol on 127\.0\.0\.1:(\d+)")
PREFIX = "88.118.5"
SECRET = "wire-secret-key-1"
NEW_SECRET = "wire-secret-key-2"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a `taihu` process on the test's database, every port free."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(
        TAIHU_ENV="test", TAIHU_DATABASE_URL=database_url, TAIHU_DATA_DIR=str(tmp_path / "var"),
        TAIHU_SECRET_KEY="k" * 40, TAIHU_HTTP_PORT="0", TAIHU_MQTT_PORT="0",
        TAIHU_HANDLE_PORT="0", PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="200",
    )  # fmt: skip
    return env


def test_serve_answers_over_udp_and_tcp_and_admins_log_in(
    env: dict[str, str], tmp_path: Path
) -> None:
    created = run(
        "id", "prefix", "create", PREFIX, "--admin-password", SECRET, env=env, cwd=tmp_path
    )
    assert created.returncode == 0, created.stdout
    reset = run(
        "id", "prefix", "reset-key", PREFIX, "--admin-password", NEW_SECRET, env=env, cwd=tmp_path
    )
    assert reset.returncode == 0, reset.stdout
    with running("serve", env=env, cwd=tmp_path) as server:
        port = int(server.wait_for(HANDLE_PORT).group(1))
        server.url()  # HTTP is up too

        async def _admin() -> None:
            identity = SecretKey(f"{PREFIX}/ADMIN", 300, NEW_SECRET.encode())
            async with HandleClient("127.0.0.1", port, transport="tcp", identity=identity) as c:
                value = HandleValue(index=1, type="URL", data=b"https://example.cn/p1")
                await c.create_handle(f"{PREFIX}/P1", (value,))

        asyncio.run(_admin())
        for wire in ("udp", "tcp"):
            shown = run(
                "id", "resolve", f"{PREFIX}/P1", "--wire", wire, "--server", f"127.0.0.1:{port}",
                "--type", "URL", env=env, cwd=tmp_path,
            )  # fmt: skip
            assert shown.returncode == 0, shown.stdout
            assert "https://example.cn/p1" in shown.stdout
            assert "HS_ADMIN" not in shown.stdout  # filtered by --type
        missing = run(
            "id", "resolve", f"{PREFIX}/NOPE", "--wire", "udp", "--server", f"127.0.0.1:{port}",
            env=env, cwd=tmp_path,
        )  # fmt: skip
        assert missing.returncode != 0
        assert "HANDLE_NOT_FOUND (100)" in missing.stdout
        assert "Traceback" not in server.output


def test_resolve_against_a_stopped_server_fails_in_time(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run(
        "id", "resolve", f"{PREFIX}/P1", "--wire", "udp", "--server", "127.0.0.1:9",
        "--timeout", "1", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "127.0.0.1:9" in result.stdout
    assert "Traceback" not in result.stdout
