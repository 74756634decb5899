"""Fixtures of alarms: the device hub's (a real MQTT listener, devices) and the alarm engine."""

from __future__ import annotations

from typing import Any

import pytest

from taihu.alarms import AlarmEngine
from tests.devices.conftest import hub, make_device, port  # noqa: F401 - fixtures shared

__all__ = ["engine"]


@pytest.fixture
def engine(app: Any) -> AlarmEngine:
    """The application's alarm engine; tests flush and tick it by hand (its jobs do not run)."""
    alarm_engine: AlarmEngine = app.state.alarm_engine
    return alarm_engine
