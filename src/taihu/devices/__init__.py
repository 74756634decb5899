"""The device hub: registry, MQTT/HTTP device transports, time-series store, rollups."""

from taihu.devices.bus import BusNode, JetStreamBus
from taihu.devices.commands import BusCommands
from taihu.devices.dependencies import FLEET_STATE, HubFigures, hub_figures
from taihu.devices.fleet import Fleet
from taihu.devices.hub import DeviceHub, HubObserver
from taihu.devices.models import Device, DeviceAttribute, DeviceProfile, DeviceToken
from taihu.devices.mqtt.client import MqttClient, MqttRefused
from taihu.devices.rejects import reject_summary
from taihu.devices.service import (
    INACTIVITY_TIMEOUT_RANGE,
    DeviceAuth,
    DeviceService,
    IssuedDevice,
)
from taihu.devices.sparkplug import STATUS_FILE as SPARKPLUG_STATUS_FILE
from taihu.devices.sparkplug import SparkplugHost
from taihu.devices.tsdb import TimeSeriesStore, store_for
from taihu.devices.values import Point, Row

__all__ = [
    "FLEET_STATE",
    "INACTIVITY_TIMEOUT_RANGE",
    "SPARKPLUG_STATUS_FILE",
    "BusCommands",
    "BusNode",
    "Device",
    "DeviceAttribute",
    "DeviceAuth",
    "DeviceHub",
    "DeviceProfile",
    "DeviceService",
    "DeviceToken",
    "Fleet",
    "HubFigures",
    "HubObserver",
    "IssuedDevice",
    "JetStreamBus",
    "MqttClient",
    "MqttRefused",
    "Point",
    "Row",
    "SparkplugHost",
    "TimeSeriesStore",
    "hub_figures",
    "reject_summary",
    "store_for",
]
