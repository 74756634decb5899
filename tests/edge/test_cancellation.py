"""Stopping a gateway never hangs, even when a device library swallows the cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

from taihu.edge.config import Backoff
from taihu.edge.connectors.base import PolledConnector


class _Sink:
    def emit(self, *_: Any, **__: Any) -> int:
        return 0


class _Swallowing(PolledConnector):
    """Reads the way Python 3.11's wait_for can: a cancellation comes back as a result."""

    def __init__(self) -> None:
        super().__init__("swallowing", "test", 5.0, Backoff(initial=0.001, max=0.002), [0.001])
        self.reading = asyncio.Event()
        self.swallowed = 0

    async def open(self) -> None:
        pass

    async def read(self, group: int) -> dict[str, Any]:  # noqa: ARG002 - one group
        self.reading.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1  # the library's race, once: the request is lost, a value returned
        return {"count": 1}

    async def close(self) -> None:
        pass


async def test_a_swallowed_cancellation_still_stops_the_connector() -> None:
    connector = _Swallowing()
    task = asyncio.create_task(connector.run(_Sink()))
    await connector.reading.wait()
    task.cancel()
    # Asked once only, the poll group reads on for ever and this wait times out.
    done, _ = await asyncio.wait({task}, timeout=60)
    assert task in done
    assert task.cancelled()
    assert connector.swallowed == 1
