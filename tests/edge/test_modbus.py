"""The Modbus connector against a real pymodbus server: every table, type, order and scale."""

from __future__ import annotations

import pytest

from taihu.demo.simulators import ModbusSimulator
from taihu.edge.config import ModbusDevice
from taihu.edge.connectors.modbus import ModbusConnector, ModbusError


async def test_reads_every_table_type_and_order(meter: ModbusSimulator) -> None:
    meter.set("holding", 0, -12345, "int16")
    meter.set("holding", 1, 3_000_000_000, "uint32", word_order="little")
    meter.set("holding", 3, 2305, "uint16")
    meter.set("input", 100, 123.5, "float32", byte_order="little")
    meter.set("input", 102, -2.25e10, "float64", byte_order="little", word_order="little")
    meter.set("input", 110, -70_000, "int32")
    meter.set_bit("coil", 5, value=True)
    meter.set_bit("discrete", 17, value=True)
    config = ModbusDevice.model_validate({
        "name": "m", "connector": "modbus", "host": "127.0.0.1", "port": meter.port,
        "groups": [
            {"interval": 1, "points": [
                {"key": "i16", "address": 0, "type": "int16"},
                {"key": "u32", "address": 1, "type": "uint32", "word_order": "little"},
                {"key": "volts", "address": 3, "scale": 0.1, "offset": -0.5},
            ]},
            {"interval": 5, "points": [
                {"key": "f32", "table": "input", "address": 100, "type": "float32",
                 "byte_order": "little"},
                {"key": "f64", "table": "input", "address": 102, "type": "float64",
                 "byte_order": "little", "word_order": "little"},
                {"key": "i32", "table": "input", "address": 110, "type": "int32"},
                {"key": "breaker", "table": "coil", "address": 5, "type": "bool"},
                {"key": "spare", "table": "coil", "address": 6, "type": "bool"},
                {"key": "door", "table": "discrete", "address": 17, "type": "bool"},
            ]},
        ],
    })  # fmt: skip
    connector = ModbusConnector(config)
    await connector.open()
    try:
        first = await connector.read(0)
        second = await connector.read(1)
    finally:
        await connector.close()
    assert first == {"i16": -12345, "u32": 3_000_000_000, "volts": pytest.approx(230.0)}
    assert second == {"f32": 123.5, "f64": -2.25e10, "i32": -70_000, "breaker": True,
                      "spare": False, "door": True}  # fmt: skip
    # Two poll groups, and the second's input registers 100..111 in one request.
    assert [len(p) for p in connector.plans] == [1, 3]


async def test_an_unknown_unit_is_an_error_naming_the_read(meter: ModbusSimulator) -> None:
    config = ModbusDevice.model_validate({
        "name": "m", "connector": "modbus", "host": "127.0.0.1", "port": meter.port, "unit": 7,
        "groups": [{"interval": 1, "points": [{"key": "x", "table": "input", "address": 4}]}],
    })  # fmt: skip
    connector = ModbusConnector(config)
    await connector.open()
    try:
        with pytest.raises(ModbusError, match=r"unit 7 refused to read input 4\.\.4"):
            await connector.read(0)
    finally:
        await connector.close()
