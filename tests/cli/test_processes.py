"""The helper that runs `taihu` to completion: past its deadline, a failure showing the output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import processes


def test_a_command_still_running_at_the_deadline_fails_the_test_with_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "DEADLINE", 3.0)
    # `python -m taihu` run in tmp_path finds this stand-in first: it prints, then hangs.
    (tmp_path / "taihu").mkdir()
    (tmp_path / "taihu" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "taihu" / "__main__.py").write_text(
        "import time\nprint('started', flush=True)\ntime.sleep(60)\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAIHU_", "PYTHON"))}
    with pytest.raises(pytest.fail.Exception, match=r"(?s)still running after 3 s:.*started"):
        processes.run("hang", env=env, cwd=tmp_path)
