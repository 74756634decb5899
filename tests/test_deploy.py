"""The deployment files (deploy/) cannot drift from the code: settings, roles, commands.

Cheap on purpose: no Docker and no systemd here. The compose file must parse, and every
``TAIHU_`` variable that it, the systemd units or the env file examples set must be a setting of
``Settings``; every role they start a process with must be one of ``taihu serve --role``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from taihu.settings import ROLES, Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
VARIABLE = re.compile(r"\bTAIHU_[A-Z0-9_]+")
INSTANCE = re.compile(r"taihu@([A-Za-z\\0-9,]+)\.service")


def _variables(model: type[BaseSettings] = Settings) -> Iterator[str]:
    prefix = model.model_config.get("env_prefix", "")
    for name, field in model.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseSettings):
            yield from _variables(section)
        else:
            yield f"{prefix}{name}".upper()


SETTINGS = frozenset(_variables())
FILES = sorted(
    path for path in DEPLOY.rglob("*") if path.is_file() and not path.name.endswith(".md")
)


def _roles(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def test_the_deploy_directory_holds_the_promised_files() -> None:
    names = {path.relative_to(DEPLOY).as_posix() for path in FILES}
    assert {
        "compose.yaml",
        "Dockerfile",
        "systemd/taihu@.service",
        "systemd/nats-server.service",
        "systemd/taihu.env.example",
    } <= names
    assert {"TAIHU_CLUSTER_NATS_URLS", "TAIHU_METRICS_PORT"} <= SETTINGS  # the walk works


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_every_variable_named_is_a_setting(path: Path) -> None:
    unknown = set(VARIABLE.findall(path.read_text(encoding="utf-8"))) - SETTINGS
    assert not unknown, f"{path.name} names settings that do not exist: {sorted(unknown)}"


def test_the_compose_file_parses_and_starts_valid_roles() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"nats-a", "nats-b", "nats-c", "postgres", "migrate"} <= set(services)
    started: list[list[str]] = []
    for name, service in services.items():
        for key in service.get("environment", {}):
            assert not key.startswith("TAIHU_") or key in SETTINGS, (name, key)
        command = [str(part) for part in service.get("command", [])]
        if command[:1] == ["serve"]:
            assert service["image"] == "taihu:local", name
            roles = _roles(command[command.index("--role") + 1])
            assert roles, name
            assert set(roles) <= set(ROLES), (name, roles)
            started.append(roles)
        if name.startswith("nats-"):
            assert "-js" in command, name  # JetStream on every node
            assert "--routes" in command, name  # one cluster
    # Every role runs somewhere, twice: two api processes and two ingest processes at least.
    for role in ROLES:
        assert sum(role in roles for roles in started) >= 2, role
    assert services["migrate"]["command"] == ["db", "upgrade"]


def test_the_units_start_taihu_serve_with_valid_roles() -> None:
    unit = (UNITS / "taihu@.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/taihu/bin/taihu serve --role %I\n" in unit
    # Instances named in the units, the env file examples and the README: escaped role lists.
    texts = [path.read_text(encoding="utf-8") for path in [*FILES, DEPLOY / "README.md"]]
    instances = {match for text in texts for match in INSTANCE.findall(text)}
    assert instances, "no taihu@ROLES.service instance named"
    for instance in instances:
        roles = _roles(instance.replace("\\x2c", ","))
        assert roles, instance
        assert set(roles) <= set(ROLES), instance
    for path in UNITS.glob("*.env.example"):
        if path.name != "taihu.env.example":  # ROLES.env: the instance's own additions
            assert set(_roles(path.name.removesuffix(".env.example"))) <= set(ROLES), path.name


def test_the_image_installs_the_package_with_its_server_extra() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"pip install .*\[server\]", dockerfile)
    assert 'ENTRYPOINT ["taihu"]' in dockerfile
