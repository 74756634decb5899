"""The device hub: registry, MQTT/HTTP device transports, time-series store, rollups."""

from taihu.devices.hub import DeviceHub
from taihu.devices.models import Device, DeviceAttribute, DeviceProfile, DeviceToken
from taihu.devices.service import DeviceAuth, DeviceService, IssuedDevice

__all__ = [
    "Device",
    "DeviceAttribute",
    "DeviceAuth",
    "DeviceHub",
    "DeviceProfile",
    "DeviceService",
    "DeviceToken",
    "IssuedDevice",
]
