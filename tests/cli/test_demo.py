"""`taihu demo` as a newcomer runs it: the port settings, a terminal that says what matters."""

from __future__ import annotations

import os
import socket
from contextlib import closing
from pathlib import Path

from tests.processes import SERVING, http, running


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_demo_honours_port_settings_and_keeps_request_logs_off_the_terminal(
    tmp_path: Path,
) -> None:
    wanted = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(
        TAIHU_HTTP_PORT=str(wanted), TAIHU_MQTT_PORT="0", TAIHU_HANDLE_PORT="0",
        PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="200",
    )  # fmt: skip
    data_dir = tmp_path / "demo"
    with running("demo", "--data-dir", str(data_dir), env=env, cwd=tmp_path) as demo:
        serving = demo.wait_for(SERVING)
        port = int(serving.group(2))
        # TAIHU_HTTP_PORT is honoured (or, if another process took it meanwhile, the next one).
        assert port == wanted or f"port {wanted} is busy" in demo.output, demo.output
        with http() as client:
            for _ in range(3):
                assert client.get(f"{serving.group(1)}/login").status_code == 200
        log = data_dir / "demo.log"
        demo.interrupt()
    terminal = demo.output
    assert "Setting up the demo district (about" in terminal
    assert "Demo data ready in" in terminal
    assert "taihu-analyst" not in terminal  # sanity: the table shows the real passwords
    assert "taihu-bureau" in terminal
    assert "MQTT device transport on" in terminal
    # No line per request and no libraries' start-up notes: those go to the log file.
    assert "taihu.http" not in terminal
    assert "/login" not in terminal.split("HTTP console and APIs on", 1)[1]
    assert "permissive manager" not in terminal
    assert "taihu.http" in log.read_text(encoding="utf-8")
    assert "Traceback" not in terminal
