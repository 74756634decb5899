"""The real `pyhandle` client against a real `taihu serve` process, over HTTP on loopback.

The prefix and its admin handle are made with `taihu id prefix create`, as an operator would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyhandle.handleclient import PyHandleClient
from pyhandle.handleexceptions import GenericHandleError, HandleAlreadyExistsException

from tests.cli.test_serve import env, run, running  # noqa: F401 - `env` is a fixture

PREFIX = "88.118.9"
PASSWORD = "pyhandle-secret-1"


@pytest.fixture
def client_url(env: dict[str, str], tmp_path: Path):  # noqa: F811 - the fixture above
    created = run(
        "id", "prefix", "create", PREFIX, "--admin-password", PASSWORD, env=env, cwd=tmp_path
    )
    assert created.returncode == 0, created.stdout
    assert f"300:{PREFIX}/ADMIN" in created.stdout
    # The MQTT and Handle listeners start too; port 0 keeps them off the machine's own ports.
    ports = {"TAIHU_HTTP_PORT": "0", "TAIHU_MQTT_PORT": "0", "TAIHU_HANDLE_PORT": "0"}
    with running("serve", env={**env, **ports}, cwd=tmp_path) as taihu:
        yield taihu.url()


def test_pyhandle_register_retrieve_modify_search_delete(client_url: str) -> None:
    client = PyHandleClient("rest").instantiate_with_username_and_password(
        client_url, f"300:{PREFIX}/ADMIN", PASSWORD, HTTPS_verify=False
    )
    handle = f"{PREFIX}/pyhandle-001"
    url = "https://lift.example/pyhandle-001"

    assert client.register_handle(handle, url, checksum="abc123") == handle
    with pytest.raises(HandleAlreadyExistsException):
        client.register_handle(handle, url)

    record = client.retrieve_handle_record_json(handle)
    assert record["responseCode"] == 1
    types = {v["type"]: v for v in record["values"]}
    assert types["URL"]["data"]["value"] == url
    assert types["CHECKSUM"]["data"]["value"] == "abc123"
    # pyhandle's default owner: 200:0.NA/PREFIX, with the index sent as a string.
    assert types["HS_ADMIN"]["data"]["value"]["handle"] == f"0.NA/{PREFIX}"
    assert types["HS_ADMIN"]["data"]["value"]["index"] == 200
    assert client.get_value_from_handle(handle, "URL") == url

    client.modify_handle_value(handle, URL="https://lift.example/moved", NOTE="serviced")
    assert client.get_value_from_handle(handle, "URL") == "https://lift.example/moved"
    assert client.get_value_from_handle(handle, "NOTE") == "serviced"

    assert client.search_handle(URL="https://lift.example/moved") == [handle]
    assert client.search_handle(URL="*moved", prefix=PREFIX) == [handle]

    client.delete_handle_value(handle, "NOTE")
    assert client.get_value_from_handle(handle, "NOTE") is None

    client.delete_handle(handle)
    assert client.retrieve_handle_record_json(handle) is None

    intruder = PyHandleClient("rest").instantiate_with_username_and_password(
        client_url, f"300:{PREFIX}/ADMIN", "wrong-password", HTTPS_verify=False
    )
    # A wrong key is AUTHENTICATION_FAILED (403); pyhandle reports it as a generic error.
    with pytest.raises(GenericHandleError, match='"responseCode":403'):
        intruder.register_handle(f"{PREFIX}/intruder", url)
