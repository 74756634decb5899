"""Modbus TCP devices (pymodbus): registers, coils and discrete inputs, by poll group."""

from __future__ import annotations

import contextlib
from typing import Any

from pymodbus.client import AsyncModbusTcpClient

from taihu.edge.codec import REGISTERS, Block, decode, plan_reads
from taihu.edge.config import ModbusDevice, ModbusPoint
from taihu.edge.connectors.base import PolledConnector

__all__ = ["ModbusConnector", "ModbusError"]


class ModbusError(Exception):
    """The device answered a request with an exception or something unusable."""


def _size(point: ModbusPoint) -> int:
    return 1 if point.table in ("coil", "discrete") else REGISTERS[point.type]


class ModbusConnector(PolledConnector):
    """One Modbus TCP device (one unit id on one host:port)."""

    def __init__(self, config: ModbusDevice) -> None:
        super().__init__(
            config.name, "modbus", config.timeout, config.backoff,
            [g.interval for g in config.groups],
        )  # fmt: skip
        self.config = config
        self.plans: list[list[Block]] = [
            plan_reads([(p.table, p.address, _size(p)) for p in g.points]) for g in config.groups
        ]
        self.client: AsyncModbusTcpClient | None = None

    async def open(self) -> None:
        """Connect (pymodbus's own reconnection is off: the connector backs off itself)."""
        c = self.config
        # pymodbus's own timeout is longer than the connector's, so the two never expire
        # together (which, in Python 3.11, can lose a cancellation inside asyncio.wait_for).
        self.client = AsyncModbusTcpClient(
            c.host, port=c.port, timeout=c.timeout * 2 + 1, retries=0, reconnect_delay=0
        )
        if not await self.client.connect():
            raise ConnectionError(f"cannot connect to {c.host}:{c.port}")

    async def close(self) -> None:
        """Close the connection."""
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None

    async def _read_block(self, block: Block) -> list[int]:
        assert self.client is not None
        client, unit = self.client, self.config.unit
        if block.table == "holding":
            response = await client.read_holding_registers(
                block.address, count=block.count, device_id=unit
            )
        elif block.table == "input":
            response = await client.read_input_registers(
                block.address, count=block.count, device_id=unit
            )
        elif block.table == "coil":
            response = await client.read_coils(block.address, count=block.count, device_id=unit)
        else:
            response = await client.read_discrete_inputs(
                block.address, count=block.count, device_id=unit
            )
        where = f"{block.table} {block.address}..{block.address + block.count - 1}"
        if response.isError():
            raise ModbusError(f"unit {unit} refused to read {where}: {response}")
        words = response.bits if block.table in ("coil", "discrete") else response.registers
        if len(words) < block.count:
            raise ModbusError(f"unit {unit} answered {len(words)} of {block.count} for {where}")
        return [int(w) for w in words[: block.count]]

    async def read(self, group: int) -> dict[str, Any]:
        """Read a poll group's blocks and decode its points."""
        blocks = self.plans[group]
        data = [(b, await self._read_block(b)) for b in blocks]
        values: dict[str, Any] = {}
        for point in self.config.groups[group].points:
            size = _size(point)
            block, words = next(
                (b, w) for b, w in data
                if b.table == point.table and b.address <= point.address
                and point.address + size <= b.address + b.count
            )  # fmt: skip
            start = point.address - block.address
            registers = words[start : start + size]
            if point.table in ("coil", "discrete"):
                values[point.key] = bool(registers[0])
                continue
            values[point.key] = decode(
                registers, point.type, byte_order=point.byte_order, word_order=point.word_order,
                scale=point.scale, offset=point.offset,
            )  # fmt: skip
        return values
