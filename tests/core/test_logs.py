import json
import logging

import pytest

from taihu.core import request_id_var
from taihu.core.logs import configure_logging
from taihu.settings import LogSettings


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_request_id_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogSettings(format="json", level="INFO"))
    token = request_id_var.set("abc123")
    try:
        logging.getLogger("taihu.test").info("served %s", "/x", extra={"status": 200})
    finally:
        request_id_var.reset(token)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["message"] == "served /x"
    assert entry["level"] == "info"
    assert entry["logger"] == "taihu.test"
    assert entry["request_id"] == "abc123"
    assert entry["status"] == 200
    assert entry["ts"].endswith("+00:00")


def test_text_lines_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogSettings(format="text", level="WARNING"))
    logging.getLogger("taihu.test").info("hidden")
    logging.getLogger("taihu.test").warning("shown")
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert "WARNING taihu.test: shown" in err
