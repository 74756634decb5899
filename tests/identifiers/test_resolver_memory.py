"""What the resolution cache holds per identifier: about the size of its answers, not buffers."""

from __future__ import annotations

import gc
import tracemalloc

import httpx
import pytest

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.identifiers import Handle, HandleValue, IdentifierService
from taihu.identifiers.resolution import Resolver
from taihu.settings import Settings
from taihu.web import create_app
from tests.identifiers.conftest import PREFIX

pytestmark = pytest.mark.usefixtures("prefixes")

COUNT = 300
# The REST answer of one short URL value is ~200 bytes, its wire form and record less than 1 KiB:
# before the fix, each cached REST answer alone kept a 4 KiB buffer (orjson's), and bench/soak.py
# saw the server's heap grow by that much per identifier resolved.
PER_ENTRY_BOUND = 2048


async def test_a_cached_answer_costs_about_its_size(db: Database, clock: FrozenClock) -> None:
    handles = [Handle(f"{PREFIX}/MEM-{n:04d}") for n in range(COUNT)]
    async with db.session() as session:
        service = IdentifierService(session, clock)
        for n, handle in enumerate(handles):
            url = f"https://m.example/{n}".encode()
            await service.put(Principal.system("test"), handle, [HandleValue(1, "URL", url)])
    resolver = Resolver(db, clock)
    try:
        assert await resolver.public(handles[0].key) is not None  # connections and caches warm
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for handle in handles[1:]:
                assert await resolver.public(handle.key) is not None
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown / (COUNT - 1) < PER_ENTRY_BOUND
    finally:
        await resolver.aclose()


async def test_the_resolution_cache_keeps_at_most_the_configured_entries(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    # The default bound (200,000 entries of ~1 KB) is what a long soak's memory grows to per
    # process; TAIHU_HANDLE_RESOLVER_CACHE_ENTRIES sets it, for the server's own resolver.
    bound, count = 100, 180
    handles = [Handle(f"{PREFIX}/BOUND-{n:04d}") for n in range(count)]
    async with db.session() as session:
        service = IdentifierService(session, clock)
        for n, handle in enumerate(handles):
            url = f"https://b.example/{n}".encode()
            await service.put(Principal.system("test"), handle, [HandleValue(1, "URL", url)])
    handle_settings = settings.handle.model_copy(update={"resolver_cache_entries": bound})
    app = create_app(settings.model_copy(update={"handle": handle_settings}), db=db, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://taihu.test") as http:
            for handle in handles:
                answer = await http.get(f"/api/handles/{handle}")
                assert answer.status_code == 200
                assert answer.json()["handle"] == str(handle)
        cached = len(app.state.identifier_resolver._cache)
    assert 0 < cached <= bound
