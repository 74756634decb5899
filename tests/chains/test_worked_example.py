"""docs/industry-map.md's worked example, from the files in examples/, with the commands it shows.

Every figure below is the one the document works out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taihu.cli import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("cli_environment")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
B1, B2, C1, C2 = (
    "91320509MAFB00012F",
    "91320509MAFB00020A",
    "91320509MAFB000397",
    "91320509MAFB000472",
)
D1, D2 = "91320509MAFB00055W", "91320509MAFB00063P"


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result.output


def _tag(rename: str = "") -> None:
    # `while read code segment; do taihu chain tag "$code" "$segment"; done < tags.txt`
    for line in (EXAMPLES / "industry-map" / "tags.txt").read_text().splitlines():
        code, segment = line.split()
        _ok("chain", "tag", code, segment.replace("fibre.", rename) if rename else segment)


def test_the_worked_example_gives_the_hand_figures() -> None:
    _ok("enterprise", "import", str(EXAMPLES / "industry-map" / "enterprises.csv"))
    _tag()
    _ok("chain", "import-edges", str(EXAMPLES / "industry-map" / "edges.csv"))
    data = json.loads(_ok("chain", "analyze", "optical-fibre", "--format", "json"))
    seg = {s["key"]: s for s in data["segments"]}
    chemicals, preform, fibre = seg["fibre.chemicals"], seg["fibre.preform"], seg["fibre.fibre"]
    assert (chemicals["status"], chemicals["members"], chemicals["local_ratio"]) == (
        "missing",
        [],
        0,
    )
    assert chemicals["outside_level"] == "high"
    assert (chemicals["hhi"], chemicals["buyers"], chemicals["concentrated"]) == (0.75, 2, 2)
    assert preform["local_ratio"] == pytest.approx(1600 / 1800)
    assert preform["hhi"] == pytest.approx((800 + 0.44 * 1000) / 1800)
    assert fibre["local_ratio"] == 1
    assert fibre["hhi"] == pytest.approx((900 + 0.58 * 1000 + 400) / 2300)
    assert seg["fibre.cable"]["local_ratio"] is None
    assert data["rings"]["district"] == pytest.approx(3900 / 4700)
    assert data["completeness"] == 0.5
    pairs = {(p["buyer"]["key"], p["input"]): p for p in data["sourcing"]}
    assert pairs[(B1, "fibre.chemicals")]["hhi"] == pytest.approx(0.625)
    assert pairs[(B2, "fibre.chemicals")]["hhi"] == 1
    c2 = pairs[(C2, "fibre.preform")]
    assert (c2["hhi"], c2["outside_share"]) == (pytest.approx(0.44), pytest.approx(0.2))
    assert pairs[(D2, "fibre.fibre")]["hhi"] == pytest.approx(0.58)
    # What-if, B1 and C1 down: D1 falls; B1 first in the unblock list.
    down = json.loads(_ok("chain", "disrupt", "--down", B1, "--down", C1, "--format", "json"))
    assert [f["key"] for f in down["fallen"]] == [D1]
    assert down["value_at_risk"] == 3000
    assert [(u["key"], u["restores"], u["value"]) for u in down["unblock"]] == [
        (B1, [B1], 1400),
        (C1, [C1, D1], 1600),
    ]
    outside = json.loads(
        _ok("chain", "disrupt", "--down", "上海示范化工有限公司", "--format", "json")
    )
    assert [f["key"] for f in outside["fallen"]] == [B2]
    assert outside["value_at_risk"] == 700
    # The district's own four-segment template: preform, fibre and cable filled, 3 / 4.
    _ok("chain", "template", "import", str(EXAMPLES / "chains" / "fibre-district.json"))
    _tag("fd.")
    own = json.loads(_ok("chain", "analyze", "fibre-district", "--format", "json"))
    assert own["completeness"] == 0.75
