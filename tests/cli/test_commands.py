"""Every `taihu` command through Typer's runner, on the test's real database.

The tests are synchronous on purpose: each command runs its own event loop with asyncio.run.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from taihu import __version__
from taihu.accounts import AccountService, Principal
from taihu.cli import app
from taihu.core import Database, head_revisions
from taihu.settings import Settings
from taihu.web import create_app
from tests.conftest import CODE_A, CODE_B

runner = CliRunner()

# A valid code with its check character changed, one too short, one with a letter the
# alphabet leaves out (O) in place of a digit.
BAD_CHECK = CODE_A[:-1] + "X"
TOO_SHORT = CODE_A[:-1]
BAD_LETTER = CODE_A[:9] + "O" + CODE_A[10:]
# Valid per GB 32100-2015 but never registered in these tests.
UNREGISTERED = "91320509MA0TXT029C"

HEADS = ", ".join(sorted(head_revisions()))  # how commands print the schema revisions


pytestmark = pytest.mark.usefixtures("cli_environment")


@pytest.fixture
def empty_database(cli_environment: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point the commands at a SQLite file that has no schema yet (after cli_environment)."""
    monkeypatch.setenv("TAIHU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")


def taihu(*args: str, stdin: str | None = None) -> Result:
    """Run a command that must succeed."""
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result


def refused(*args: str) -> str:
    """Run a command that must fail cleanly (exit 1, no traceback) and return its error."""
    result = runner.invoke(app, list(args))
    # A crash also exits 1 under the runner; only a SystemExit is a deliberate refusal.
    assert isinstance(result.exception, SystemExit), f"{args}: {result.exception!r}"
    assert result.exit_code == 1, f"{args}: {result.output}"
    assert "Traceback" not in result.output
    return result.stderr


def usernames(database_url: str) -> set[str]:
    """The users in the database, read through the service rather than the CLI."""

    async def _read() -> set[str]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                accounts = AccountService(session, Settings().security)
                return {u.username for u in await accounts.list_users(Principal.system())}
        finally:
            await db.dispose()

    return asyncio.run(_read())


def get_me(settings: Settings, token: str) -> httpx.Response:
    """GET /api/me from the application with a bearer token."""

    async def _get() -> httpx.Response:
        db = Database(settings.database_url)
        try:
            transport = httpx.ASGITransport(app=create_app(settings, db=db))
            async with httpx.AsyncClient(transport=transport, base_url="http://taihu.test") as http:
                return await http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        finally:
            await db.dispose()

    return asyncio.run(_get())


def issue_token(username: str, *options: str) -> str:
    """Create a token with the CLI and return the plain value from its last line."""
    return taihu("token", "create", username, *options).stdout.splitlines()[-1]


# -- version and schema --------------------------------------------------------------------------


def test_version_prints_the_package_version() -> None:
    assert taihu("version").stdout.strip() == __version__


@pytest.mark.usefixtures("empty_database")
def test_db_upgrade_migrates_an_empty_database() -> None:
    out = taihu("db", "upgrade").stdout
    assert f"schema upgraded from empty to {HEADS}" in out


@pytest.mark.usefixtures("empty_database")
def test_db_upgrade_twice_says_the_schema_is_already_at_head() -> None:
    taihu("db", "upgrade")
    assert f"schema already at {HEADS}" in taihu("db", "upgrade").stdout


@pytest.mark.usefixtures("empty_database")
def test_db_current_on_an_empty_database_says_outdated_and_how_to_upgrade() -> None:
    out = taihu("db", "current").stdout
    assert "empty" in out
    assert "outdated" in out
    assert "taihu db upgrade" in out


@pytest.mark.usefixtures("empty_database")
def test_db_current_after_upgrade_says_current() -> None:
    taihu("db", "upgrade")
    out = taihu("db", "current").stdout
    assert f"{HEADS} (current)" in out


@pytest.mark.usefixtures("empty_database")
@pytest.mark.parametrize(
    "args",
    [
        ("user", "list"),
        ("user", "create", "li.na", "--role", "bureau", "--password", "long-enough-pw"),
        ("token", "list"),
        ("token", "create", "li.na"),
        ("token", "revoke", "1"),
        ("enterprise", "list"),
        ("enterprise", "create", "示范丝绸有限公司", "--credit-code", CODE_A),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_commands_refuse_an_unmigrated_database(args: tuple[str, ...]) -> None:
    error = refused(*args)
    assert "taihu db upgrade" in error


# -- users ---------------------------------------------------------------------------------------


def test_user_create_then_list(database_url: str) -> None:
    out = taihu("user", "create", "li.na", "--role", "bureau", "--password", "long-enough-pw")
    assert "created user li.na (bureau)" in out.stdout
    listed = taihu("user", "list").stdout
    assert "li.na" in listed
    assert "bureau" in listed
    assert usernames(database_url) == {"li.na"}


def test_user_create_asks_for_the_password_when_not_given(database_url: str) -> None:
    taihu("user", "create", "li.na", "--role", "auditor", stdin="long-enough-pw\n")
    assert usernames(database_url) == {"li.na"}


def test_user_create_links_the_user_to_an_enterprise_by_credit_code() -> None:
    taihu("enterprise", "create", "示范丝绸有限公司", "--credit-code", CODE_A)
    out = taihu(
        "user", "create", "zhang.wei", "--role", "enterprise",
        "--password", "long-enough-pw", "--enterprise", CODE_A,
    ).stdout  # fmt: skip
    assert "for 示范丝绸有限公司" in out


def test_user_create_refuses_a_weak_password(database_url: str) -> None:
    error = refused("user", "create", "li.na", "--role", "bureau", "--password", "short")
    assert "at least 8 characters" in error
    assert usernames(database_url) == set()


def test_user_create_refuses_a_duplicate_name() -> None:
    taihu("user", "create", "li.na", "--role", "bureau", "--password", "long-enough-pw")
    error = refused("user", "create", "li.na", "--role", "admin", "--password", "other-password")
    assert "exists already" in error


def test_user_create_refuses_an_unknown_role() -> None:
    args = ["user", "create", "li.na", "--role", "boss", "--password", "long-enough-pw"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2  # Click's usage error
    assert "boss" in result.stderr


def test_user_create_with_a_bad_credit_code_explains_the_check_and_creates_no_user(
    database_url: str,
) -> None:
    error = refused(
        "user", "create", "zhang.wei", "--role", "enterprise",
        "--password", "long-enough-pw", "--enterprise", BAD_CHECK,
    )  # fmt: skip
    assert "GB 32100-2015" in error
    assert f"should be {CODE_A[-1]!r}" in error
    assert usernames(database_url) == set()


def test_user_create_for_an_unregistered_enterprise_creates_no_user(database_url: str) -> None:
    error = refused(
        "user", "create", "zhang.wei", "--role", "enterprise",
        "--password", "long-enough-pw", "--enterprise", UNREGISTERED,
    )  # fmt: skip
    assert f"no enterprise with credit code {UNREGISTERED}" in error
    assert usernames(database_url) == set()


# -- tokens --------------------------------------------------------------------------------------


@pytest.fixture
def user() -> str:
    """A user made with the CLI."""
    taihu("user", "create", "li.na", "--role", "bureau", "--password", "long-enough-pw")
    return "li.na"


def test_token_create_prints_the_token_as_the_last_line(user: str) -> None:
    out = taihu("token", "create", user, "--name", "ci", "--expires", "7").stdout
    *notes, token = out.splitlines()
    assert token.startswith("thu_")
    assert f"for {user}" in " ".join(notes)


def test_created_token_authenticates_against_the_app(user: str, settings: Settings) -> None:
    response = get_me(settings, issue_token(user))
    assert response.status_code == 200
    assert response.json()["role"] == "bureau"


def test_token_create_for_an_unknown_user_fails() -> None:
    assert "no user 'nobody'" in refused("token", "create", "nobody")


def test_token_create_refuses_an_expiry_out_of_range(user: str) -> None:
    assert "1 to 3650 days" in refused("token", "create", user, "--expires", "0")


def test_token_list_shows_tokens_but_never_their_values(user: str) -> None:
    token = issue_token(user, "--name", "ci")
    out = taihu("token", "list").stdout
    assert "ci" in out
    assert "active" in out
    assert token not in out


def test_revoked_token_no_longer_authenticates(user: str, settings: Settings) -> None:
    token = issue_token(user)
    assert get_me(settings, token).status_code == 200
    assert "token 1 revoked" in taihu("token", "revoke", "1").stdout
    response = get_me(settings, token)
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"
    assert "revoked" in taihu("token", "list").stdout


def test_token_revoke_of_an_unknown_id_fails() -> None:
    assert "no token 999" in refused("token", "revoke", "999")


# -- enterprises ---------------------------------------------------------------------------------


def test_enterprise_create_then_list() -> None:
    out = taihu("enterprise", "create", "示范丝绸有限公司", "--credit-code", CODE_A).stdout
    assert f"created enterprise 1: 示范丝绸有限公司 ({CODE_A})" in out
    listed = taihu("enterprise", "list").stdout
    assert re.search(r"\b1 enterprises?\b", listed)
    assert CODE_A in listed


def test_enterprise_create_normalises_a_lower_case_code() -> None:
    out = taihu("enterprise", "create", "示范丝绸有限公司", "--credit-code", CODE_A.lower()).stdout
    assert f"({CODE_A})" in out


@pytest.mark.parametrize(
    ("code", "explanation"),
    [
        (BAD_CHECK, f"the 18th character should be {CODE_A[-1]!r}"),
        (TOO_SHORT, "has 18 characters"),
        (BAD_LETTER, "characters not allowed in a credit code: O"),
    ],
    ids=["check character", "length", "alphabet"],
)
def test_enterprise_create_refuses_a_bad_credit_code_with_the_reason(
    code: str, explanation: str
) -> None:
    error = refused("enterprise", "create", "示范丝绸有限公司", "--credit-code", code)
    assert explanation in error
    assert "0 enterprises" in taihu("enterprise", "list").stdout


def test_enterprise_create_refuses_a_duplicate_credit_code() -> None:
    taihu("enterprise", "create", "示范丝绸有限公司", "--credit-code", CODE_A)
    error = refused("enterprise", "create", "另一家公司", "--credit-code", CODE_A)
    assert f"credit code {CODE_A} exists already" in error


def test_enterprise_list_searches_by_name() -> None:
    taihu("enterprise", "create", "示范丝绸有限公司", "--credit-code", CODE_A)
    taihu("enterprise", "create", "示范光缆有限公司", "--credit-code", CODE_B)
    out = taihu("enterprise", "list", "--search", "光缆").stdout
    assert re.search(r"\b1 enterprises?\b", out)
    assert CODE_B in out
    assert CODE_A not in out
