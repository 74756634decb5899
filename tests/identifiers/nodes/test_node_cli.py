"""The walk-through of docs/identifiers.md with real `taihu` processes: top-level and secondary.

admit on the top-level node, join from the secondary, status and site, an approval filed by the
running server in the background, resolution with `taihu id resolve --recursive` over UDP and TCP,
and the error when the top-level node is stopped.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.core import Database
from taihu.enterprises import EnterpriseService
from taihu.identifiers import ApplicationService, HandleValue, IdentifierService, parse_handle
from taihu.identifiers.models import Filing
from tests.conftest import CODE_A
from tests.processes import DEADLINE, run, running

HANDLE_PORT = re.compile(r"Handle protocol on 127\.0\.0\.1:(\d+)")
KEY = "wujiang-node-secret"


def _env(url: str, data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(
        TAIHU_ENV="test", TAIHU_DATABASE_URL=url, TAIHU_DATA_DIR=str(data),
        TAIHU_SECRET_KEY=f"{data.name}-" + "k" * 40, TAIHU_HTTP_PORT="0", TAIHU_MQTT_PORT="0",
        TAIHU_HANDLE_PORT="0", PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="200",
        # A bound on another node's answer (3 s unless told), for `node join` and `id resolve
        # --recursive`; the servers answer after their startup, on a loaded machine.
        TAIHU_NODE_TIMEOUT="60",
        **extra,
    )  # fmt: skip
    return env


async def _secondary(url: str) -> None:
    """The secondary's data (set up in-process: only the commands under test run as processes).

    Node prefix 88.118 with handle 88.118/DOC-1, and application 1 for 88.118.8, pending.
    """
    db = Database(url)
    system = Principal.system("test")
    try:
        async with db.session() as session:
            service = IdentifierService(session)
            await service.create_prefix(system, "88.118")
            value = HandleValue(index=1, type="URL", data=b"https://wujiang.example.cn/doc-1")
            await service.put(system, parse_handle("88.118/DOC-1"), [value])
            enterprise = await EnterpriseService(session).create(system, "Hengli", CODE_A)
            await ApplicationService(session).apply(
                system, enterprise.id, contact="王工 0512", industry_class="3435",
                prefix="88.118.8",
            )  # fmt: skip
    finally:
        await db.dispose()


async def _filed(url: str, prefix: str) -> bool:
    """Whether the running server filed ``prefix`` before the deadline (polls its database)."""
    db = Database(url)
    try:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            async with db.session() as session:
                state = await session.scalar(sa.select(Filing.state).where(Filing.prefix == prefix))
            if state == "done":
                return True
            await asyncio.sleep(0.1)
        return False
    finally:
        await db.dispose()


def _row(*cells: str) -> re.Pattern[str]:
    """A table row holding these cells in order (Rich draws borders between them)."""
    return re.compile(r"[\s│]+".join(re.escape(cell) for cell in cells))


def _ok(*args: str, env: dict[str, str], cwd: Path) -> str:
    done = run(*args, env=env, cwd=cwd)
    assert done.returncode == 0, done.stdout
    return done.stdout


def test_walk_through(node_urls: dict[str, str], tmp_path: Path) -> None:
    key_file = tmp_path / "node.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    top = _env(node_urls["top"], tmp_path / "top", TAIHU_NODE_ROLE="top-level")
    second = _env(node_urls["wujiang"], tmp_path / "wujiang", TAIHU_NODE_SECRET_FILE=str(key_file))
    out = _ok("node", "admit", "88.118", "--secret-file", str(key_file), env=top, cwd=tmp_path)
    assert "300:0.NA/88.118" in out
    asyncio.run(_secondary(node_urls["wujiang"]))
    with (
        running("serve", env=top, cwd=tmp_path) as top_server,
        running("serve", env=second, cwd=tmp_path) as second_server,
    ):
        top_port = top_server.wait_for(HANDLE_PORT).group(1)
        port = second_server.wait_for(HANDLE_PORT).group(1)
        # The port is bound before the application starts; it answers once startup completes.
        for server in (top_server, second_server):
            server.wait_for("Application startup complete")
        upstream = f"127.0.0.1:{top_port}"
        # Not joined: the site shows the port the running server bound (TAIHU_HANDLE_PORT=0).
        top_site = _ok("node", "site", env=top, cwd=tmp_path)
        assert _row("127.0.0.1", "QUERY", "UDP", top_port).search(top_site), top_site
        joined = _ok(
            "node", "join", "--upstream", upstream, "--credentials", "300:0.NA/88.118",
            "--advertise", f"127.0.0.1:{port}", env=second, cwd=tmp_path,
        )  # fmt: skip
        assert _row("88.118", "file", "done").search(joined), joined
        site = _ok("node", "site", env=second, cwd=tmp_path)
        assert _row("127.0.0.1", "QUERY", "UDP", port).search(site), site

        # An approval while the server runs: its filer sends it upstream in the background.
        _ok("id", "prefix", "approve", "1", env=second, cwd=tmp_path)
        assert asyncio.run(_filed(node_urls["wujiang"], "88.118.8"))
        status = _ok("node", "status", env=second, cwd=tmp_path)
        assert _row("88.118.8", "file", "done").search(status), status
        assert f"upstream: {upstream} as 300:0.NA/88.118" in status

        for wire in ("udp", "tcp"):
            shown = _ok("id", "resolve", "88.118/DOC-1", "--recursive", "--upstream", upstream,
                        "--wire", wire, env=second, cwd=tmp_path)  # fmt: skip
            assert "https://wujiang.example.cn/doc-1" in shown
        top_server.interrupt()
        down = run("id", "resolve", "88.118/DOC-1", "--recursive", "--upstream", upstream,
                   env=second, cwd=tmp_path)  # fmt: skip
        assert down.returncode == 1
        assert f"node {upstream} (upstream)" in down.stdout
