"""Connectors: Modbus TCP, OPC UA and MQTT devices behind one interface (``Connector``)."""

from __future__ import annotations

from taihu.edge.config import DeviceConfig
from taihu.edge.connectors.base import Collector, Connector, PolledConnector

__all__ = ["Collector", "Connector", "PolledConnector", "connector_for"]


def connector_for(config: DeviceConfig) -> Connector:
    """The connector of a configured device (its library is imported only when used)."""
    if config.connector == "modbus":
        from taihu.edge.connectors.modbus import ModbusConnector  # noqa: PLC0415

        return ModbusConnector(config)
    if config.connector == "opcua":
        from taihu.edge.connectors.opcua import OpcUaConnector  # noqa: PLC0415

        return OpcUaConnector(config)
    from taihu.edge.connectors.mqtt import MqttConnector  # noqa: PLC0415

    return MqttConnector(config)
