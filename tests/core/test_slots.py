"""Worker slots: distinct while held, free again when their holder lets go or dies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taihu.core import claim_slot


def test_slots_are_distinct_while_held_and_free_again_once_released(tmp_path: Path) -> None:
    first, second = claim_slot(tmp_path, 2), claim_slot(tmp_path, 2)
    assert {first.index, second.index} == {0, 1}
    with pytest.raises(RuntimeError, match="all 2 worker slots"):
        claim_slot(tmp_path, 2, within=0)
    first.release()
    again = claim_slot(tmp_path, 2, within=0)
    assert again.index == first.index
    again.release()
    second.release()


def test_a_dead_holders_slot_is_free_for_the_next_process(tmp_path: Path) -> None:
    # A process that claims a slot and is killed: the kernel drops its lock with it.
    code = (
        "import os, sys; from pathlib import Path; from taihu.core import claim_slot; "
        f"s = claim_slot(Path({str(tmp_path)!r}), 1); print(s.index, flush=True); "
        "sys.stdin.read()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "0"
            with pytest.raises(RuntimeError):
                claim_slot(tmp_path, 1, within=0)
        finally:
            holder.kill()
            holder.wait()
    slot = claim_slot(tmp_path, 1, within=0)
    assert slot.index == 0
    slot.release()
