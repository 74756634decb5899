"""The documentation cannot drift from the code.

Each test walks something the code declares (settings, CLI commands, API routes, console
strings) and fails when the matching page under ``docs/`` (or the zh_CN catalog) leaves one out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.core
import typer.main
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from taihu.cli import app as cli_app
from taihu.settings import DatabaseSettings, Settings
from taihu.web import create_app

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "src" / "taihu"
CATALOG = PACKAGE / "web" / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
# The keywords `make messages` passes to pybabel, on top of Babel's defaults.
KEYWORDS = {**DEFAULT_KEYWORDS, "gettext_": None, "ngettext_": (1, 2), "N_": None}


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# -- settings ----------------------------------------------------------------------------------


def _settings(
    model: type[BaseSettings] = Settings,
) -> Iterator[tuple[str, object]]:
    """Every setting as ``(environment variable, default)``, nested sections included."""
    prefix = model.model_config.get("env_prefix", "")
    for name, field in model.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseSettings):
            yield from _settings(section)
        else:
            yield f"{prefix}{name}".upper(), field.default


SETTINGS = dict(_settings())


def _shown(default: object) -> str:
    """A default as the configuration page writes it."""
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    if default is None or default in ("", [], {}):  # an empty list or mapping: nothing set
        return "(empty)"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


def _configuration_rows() -> dict[str, str]:
    rows = {}
    for line in _page("configuration.md").splitlines():
        match = re.match(r"\|\s*`(TAIHU_[A-Z0-9_]+)`\s*\|([^|]*)\|", line)
        if match:
            rows[match[1]] = match[2].strip()
    return rows


def test_the_walk_finds_the_settings() -> None:
    # Guards the walk itself: if it stopped descending into sections, every test would pass.
    assert {"TAIHU_ENV", "TAIHU_DATA_DIR", "TAIHU_DATABASE_URL", "TAIHU_SECRET_KEY"} <= set(
        SETTINGS
    )
    assert "TAIHU_HTTP" not in SETTINGS


@pytest.mark.parametrize("variable", sorted(SETTINGS))
def test_every_setting_is_documented(variable: str) -> None:
    assert variable in _configuration_rows(), (
        f"{variable} is missing from the table in docs/configuration.md"
    )


@pytest.mark.parametrize("variable", sorted(SETTINGS))
def test_documented_defaults_match_the_code(variable: str) -> None:
    documented = _configuration_rows().get(variable)
    if documented is None:
        pytest.skip("undocumented; reported by test_every_setting_is_documented")
    assert documented == _shown(SETTINGS[variable]), (
        f"docs/configuration.md gives {variable} the default {documented}, the code has "
        f"{_shown(SETTINGS[variable])}"
    )


def test_no_documented_setting_is_stale() -> None:
    stale = set(_configuration_rows()) - set(SETTINGS)
    assert not stale, f"docs/configuration.md documents settings that do not exist: {stale}"


# -- command line ------------------------------------------------------------------------------


# Typer builds click-style commands (recent Typer vendors its own click), so the walk uses
# Typer's classes rather than click's.
def _commands(
    group: typer.core.TyperGroup, path: str = "taihu"
) -> Iterator[tuple[str, typer.core.TyperCommand | typer.core.TyperGroup]]:
    for name, command in sorted(group.commands.items()):
        full = f"{path} {name}"
        yield full, command
        if isinstance(command, typer.core.TyperGroup):
            yield from _commands(command, full)


ROOT_COMMAND = typer.main.get_command(cli_app)
assert isinstance(ROOT_COMMAND, typer.core.TyperGroup)
COMMANDS = dict(_commands(ROOT_COMMAND))


def _cli_sections() -> dict[str, str]:
    """The text under each ``## `taihu …` `` heading of docs/cli.md, by command."""
    sections: dict[str, str] = {}
    current = None
    for line in _page("cli.md").splitlines():
        heading = re.match(r"#+\s+`(taihu[a-z -]*)`\s*$", line)
        if heading:
            current = heading[1]
            sections[current] = ""
        elif current:
            sections[current] += line + "\n"
    return sections


def test_the_walk_finds_the_commands() -> None:
    assert {"taihu serve", "taihu db upgrade", "taihu token revoke"} <= set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_documented(command: str) -> None:
    assert f"`{command}`" in _page("cli.md"), f"`{command}` is missing from docs/cli.md"
    assert command in _cli_sections(), f"docs/cli.md needs a heading for `{command}`"


@pytest.mark.parametrize(
    "command",
    sorted(name for name, c in COMMANDS.items() if not isinstance(c, typer.core.TyperGroup)),
)
def test_every_option_is_documented(command: str) -> None:
    section = _cli_sections().get(command)
    if section is None:
        pytest.skip("undocumented; reported by test_every_command_is_documented")
    options = [
        opt
        for param in COMMANDS[command].params
        if isinstance(param, typer.core.TyperOption)
        for opt in param.opts
        if opt.startswith("--") and opt != "--help"
    ]
    missing = [opt for opt in options if f"`{opt}" not in section]
    assert not missing, f"docs/cli.md does not describe {missing} under `{command}`"


def test_no_documented_command_is_stale() -> None:
    stale = set(_cli_sections()) - set(COMMANDS) - {"taihu"}
    assert not stale, f"docs/cli.md documents commands that do not exist: {stale}"


# -- HTTP API ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_routes(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every ``METHOD /path`` in the OpenAPI schema (the console's pages are not in it)."""
    data_dir = tmp_path_factory.mktemp("docs")
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{data_dir / 'unused.sqlite3'}"),
    )
    # The OpenAPI schema lists exactly the routes with include_in_schema (the console's pages
    # are left out); walking app.routes would have to follow FastAPI's nesting of routers.
    schema = create_app(settings).openapi()
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
    }


def test_the_walk_finds_the_routes(api_routes: set[str]) -> None:
    assert {"POST /api/auth/token", "GET /healthz", "DELETE /api/tokens/{token_id}"} <= api_routes
    assert "GET /login" not in api_routes


def test_every_route_is_documented(api_routes: set[str]) -> None:
    page = _page("api.md")
    missing = sorted(route for route in api_routes if f"`{route}`" not in page)
    assert not missing, f"docs/api.md does not document {missing}"


def _curl_examples() -> list[tuple[str, str]]:
    """Every curl command in docs/api.md as ``(method, command)``, continuation lines joined."""
    examples = []
    page = _page("api.md").replace("\\\n", " ")
    for command in (line.strip() for line in page.splitlines()):
        if not command.startswith("curl "):
            continue
        explicit = re.search(r"(?:-X|--request)\s+([A-Z]+)", command)
        if explicit:
            method = explicit[1]
        elif re.search(r"\s(?:-G|--get)\s", command):
            method = "GET"
        elif re.search(r"\s(?:-d|--data\S*|--json|-F|--form)\s", command):
            method = "POST"
        else:
            method = "GET"
        examples.append((method, command))
    return examples


def test_every_route_has_a_curl_example(api_routes: set[str]) -> None:
    examples = _curl_examples()
    missing = []
    for route in sorted(api_routes):
        method, path = route.split(" ")
        # Path parameters are written out in an example (`/api/tokens/7`).
        pattern = re.sub(r"\\\{\w+\\\}", r"[^/\\s\"'?]+", re.escape(path))
        pattern += r"(?=[\s\"'?]|$)"
        if not any(m == method and re.search(pattern, cmd) for m, cmd in examples):
            missing.append(route)
    assert not missing, f"docs/api.md has no curl example for {missing}"


def test_no_documented_route_is_stale(api_routes: set[str]) -> None:
    headings = re.findall(
        r"^#+\s+`((?:GET|POST|PUT|PATCH|DELETE) /\S*)`", _page("api.md"), flags=re.MULTILINE
    )
    stale = set(headings) - api_routes
    assert not stale, f"docs/api.md documents routes that do not exist: {stale}"


# -- console translations ----------------------------------------------------------------------


def _extracted() -> dict[str, str]:
    """Every message id in the package, as `make messages` finds them, with where it is."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        PACKAGE, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found[msgid] = f"src/taihu/{filename}:{lineno}"
    return found


def test_the_extraction_finds_the_strings() -> None:
    found = _extracted()
    # One from each source: gettext_() in Python, N_() in Python, _() in a template.
    assert {"Overview", "Administrator", "Skip to content"} <= set(found)


def test_the_zh_cn_catalog_is_complete() -> None:
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    problems = []
    for msgid, where in sorted(_extracted().items()):
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"{where}: {msgid!r} is not in the catalog (run `make messages`)")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            problems.append(f"{where}: {msgid!r} has no translation")
        if message.fuzzy:
            problems.append(f"{where}: {msgid!r} is marked fuzzy")
    assert not problems, "\n".join(problems)
