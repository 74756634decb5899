"""Fixtures of nameplates: the device hub's MQTT listener, the alarm engine, a Handle server."""

from __future__ import annotations

from tests.alarms.conftest import engine  # noqa: F401 - fixtures shared
from tests.devices.conftest import hub, port  # noqa: F401
from tests.identifiers.wire.conftest import node  # noqa: F401
