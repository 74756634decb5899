"""Power files: numbers read one way only, header-only files, refused dry runs."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from taihu.cli import app
from taihu.core import Database, FrozenClock, InvalidInput
from taihu.monitor import import_power, parse_kwh
from tests.monitor.helpers import DAY, SYSTEM, code, power_csv, registry


@pytest.mark.parametrize(
    ("text", "value"),
    [("125", 125.0), ("12.5", 12.5), (" 0 ", 0.0), ("1,234", 1234.0), ("1,234.5", 1234.5),
     ("12,345,678.25", 12345678.25), ("1.5e-05", 1.5e-05), (".5", 0.5), ("+7", 7.0)],
)  # fmt: skip
def test_accepted_numbers(text: str, value: float) -> None:
    assert parse_kwh(text, 1e9) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [("12,5", "ambiguous"), ("1.234,5", "ambiguous"), ("1,23", "ambiguous"),
     ("1234,567", "ambiguous"), ("1_000", "is not a number"), ("1 234", "is not a number"),
     ("\uff11\uff12", "is not a number"), ("abc", "is not a number"),
     ("nan", "not a finite number"),
     ("-inf", "not a finite number"), ("Infinity", "not a finite number"),
     ("1e999", "not a finite number"), ("-1", "cannot be negative"),
     ("2,000,000", "above the limit")],
)  # fmt: skip
def test_refused_numbers_say_why(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_kwh(text, 1e6)
    assert message in refused.value.message
    assert refused.value.code == "bad_number"
    assert refused.value.details["value" if "limit" not in message else "kwh"] is not None


async def test_a_decimal_comma_is_refused_not_multiplied(db: Database, clock: FrozenClock) -> None:
    await registry(db, clock)
    async with db.session() as session:
        content = (f'credit_code,date,kwh\n{code(0)},{DAY},"12,5"\n').encode()
        report = await import_power(session, clock, SYSTEM, "p.csv", content, max_kwh=1e6,
                                    today=DAY)  # fmt: skip
    assert not report.applied
    assert [(p.row, p.column) for p in report.problems] == [(2, "kwh")]
    assert "ambiguous" in report.problems[0].reason
    assert report.skipped == 1  # the refused row is not written (nor is any other)


async def test_a_header_only_file_is_an_error(db: Database, clock: FrozenClock) -> None:
    async with db.session() as session:
        with pytest.raises(InvalidInput) as refused:
            await import_power(session, clock, SYSTEM, "p.csv", b"credit_code,date,kwh\n",
                               max_kwh=1e6, today=DAY)  # fmt: skip
    assert refused.value.code == "empty_file"


@pytest.mark.usefixtures("cli_environment")
def test_a_refused_dry_run_says_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    registry_file = tmp_path / "e.csv"
    registry_file.write_text(f"credit_code,name\n{code(0)},测试企业0\n", encoding="utf-8")
    assert runner.invoke(app, ["enterprise", "import", str(registry_file)]).exit_code == 0
    bad = tmp_path / "p.csv"
    bad.write_bytes(power_csv([(code(0), DAY, 10.0), (code(0), "2026-02-11", float("nan"))]))
    result = runner.invoke(app, ["monitor", "import-power", str(bad), "--dry-run"])
    assert result.exit_code == 1
    assert "not a finite number" in result.output
    assert "refused, nothing written" in result.output
    assert "would import" not in result.output
