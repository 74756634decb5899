"""Devices simulated in this process for the edge gateway: a Modbus TCP and an OPC UA server.

Both are real servers on real sockets (pymodbus, asyncua); the demo, the tests and the
benchmark set their values and the gateway reads them as it would read a meter or a machine.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from taihu.edge import encode

__all__ = ["ModbusSimulator", "OpcUaSimulator"]

_FUNCTION_TABLE = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}


class ModbusSimulator:
    """A Modbus TCP device: four tables of 16-bit words the caller writes, read live."""

    def __init__(self, unit: int = 1, size: int = 1000) -> None:
        self.unit = unit
        self.size = size
        # Bits are packed 16 to a word, as pymodbus's simulator keeps them.
        self.tables: dict[str, list[int]] = {
            "holding": [0] * (size + 1), "input": [0] * (size + 1),
            "coil": [0] * (size // 16 + 2), "discrete": [0] * (size // 16 + 2),
        }  # fmt: skip
        self.server: ModbusTcpServer | None = None
        self.port = 0

    def set(
        self, table: str, address: int, value: float, type_: str = "uint16", **order: str
    ) -> None:
        """Write a value in a register table, in the given type and byte/word order."""
        words = encode(value, type_, **order)
        self.tables[table][address : address + len(words)] = words

    def set_bit(self, table: str, address: int, value: bool) -> None:
        """Set a coil or discrete input."""
        word, bit = divmod(address, 16)
        if value:
            self.tables[table][word] |= 1 << bit
        else:
            self.tables[table][word] &= ~(1 << bit)

    async def _action(
        self, function: int, start: int, _address: int, _count: int, current: list[int], _set: Any
    ) -> None:
        table = self.tables.get(_FUNCTION_TABLE.get(function, ""))
        if table is not None:
            for i in range(min(len(current), len(table) - start)):
                current[i] = table[start + i]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen (port 0: any free port); returns the port."""
        words = self.size + 1
        bits = self.size // 16 + 2
        blocks = (
            [SimData(0, count=bits, datatype=DataType.BITS)],
            [SimData(0, count=bits, datatype=DataType.BITS)],
            [SimData(0, count=words, datatype=DataType.REGISTERS)],
            [SimData(0, count=words, datatype=DataType.REGISTERS)],
        )
        device = SimDevice(id=self.unit, simdata=blocks, action=self._action)
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        self.server = ModbusTcpServer(device, address=(host, port))
        await self.server.listen()
        self.port = int(self.server.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return self.port

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.shutdown()  # type: ignore[no-untyped-call]
            self.server = None


class OpcUaSimulator:
    """An OPC UA server with one machine object and its variables (namespace urn:taihu:demo)."""

    def __init__(self, variables: dict[str, Any]) -> None:
        self.initial = variables
        self.server = Server()
        self.nodes: dict[str, Node] = {}
        self.namespace = 0
        self.port = 0
        self.url = ""

    def node_id(self, name: str) -> str:
        """The node id of a variable (``ns=2;s=Machine.Speed``)."""
        return f"ns={self.namespace};s=Machine.{name}"

    async def start(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        certificate: str | None = None,
        private_key: str | None = None,
    ) -> str:
        """Listen (port 0: any free port); returns the endpoint URL.

        With a certificate and key it offers Basic256Sha256 (sign and encrypt) as well as None.
        """  # fmt: skip
        logging.getLogger("asyncua").setLevel(logging.ERROR)
        await self.server.init()
        self.server.set_endpoint(f"opc.tcp://{host}:{port}/taihu/")
        policies = [ua.SecurityPolicyType.NoSecurity]
        if certificate and private_key:
            await self.server.load_certificate(certificate)
            await self.server.load_private_key(private_key)
            policies.append(ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt)
        self.server.set_security_policy(policies)
        self.namespace = await self.server.register_namespace("urn:taihu:demo")
        machine = await self.server.nodes.objects.add_object(self.namespace, "Machine")
        for name, value in self.initial.items():
            node = await machine.add_variable(
                ua.NodeId(ua.String(f"Machine.{name}"), ua.Int16(self.namespace)), name, value
            )
            self.nodes[name] = node
        await self.server.start()
        self.port = int(self.server.bserver._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        self.url = f"opc.tcp://{host}:{self.port}/taihu/"
        return self.url

    async def write(self, name: str, value: Any) -> None:
        """Change a variable (subscribers are told)."""
        await self.nodes[name].write_value(value)

    async def stop(self) -> None:
        """Stop the server."""
        with contextlib.suppress(Exception):
            await self.server.stop()
