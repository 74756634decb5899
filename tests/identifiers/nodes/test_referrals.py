"""Referral following: success, caching by TTL, loops, depth, silent and refusing nodes."""

from __future__ import annotations

import pytest

from taihu.identifiers.handle import HandleValue
from taihu.identifiers.resolution.referrals import (
    RecursiveResolver,
    ResolutionFailed,
    TtlCache,
    choose_server,
    parse_hostport,
    prefix_chain,
    referral_site,
)
from taihu.identifiers.server import site_for
from taihu.identifiers.wire import (
    Body,
    ErrorBody,
    Interface,
    Message,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
    ServerRecord,
    ServiceType,
    SiteInfo,
    Transport,
)
from tests.identifiers.nodes.stub import referral_to, stub_node

HANDLE = "88.118.8/ELV-001"


def _values(ttl: int = 86400) -> tuple[HandleValue, ...]:
    return (HandleValue(index=1, type="URL", data=b"https://example.cn/elv-001", ttl=ttl),)


def _answer(request: Message, ttl: int = 86400) -> tuple[ResponseCode, Body]:
    assert isinstance(request.body, ResolutionRequest)
    return ResponseCode.SUCCESS, ResolutionResponse(request.body.handle, _values(ttl))


def test_hostport_and_prefix_chain() -> None:
    assert parse_hostport("10.0.0.2:2641") == ("10.0.0.2", 2641)
    assert parse_hostport("10.0.0.2") == ("10.0.0.2", 2641)
    assert parse_hostport("[::1]:9") == ("::1", 9)
    for bad in (":80", "host:0", "host:http", "host:70000"):
        with pytest.raises(ValueError, match=r"HOST:PORT|port"):
            parse_hostport(bad)
    assert prefix_chain("88.118.8") == ["88.118.8", "88.118", "88"]


def test_choose_server_prefers_the_transport_asked_for() -> None:
    site = site_for("10.0.0.2", 2641)
    assert choose_server(site, "udp") == ("10.0.0.2", 2641)
    tcp_only = SiteInfo(
        servers=(
            ServerRecord(1, "10.0.0.3", (Interface(ServiceType.ADMIN, Transport.UDP, 1),)),
            ServerRecord(2, "10.0.0.4", (Interface(ServiceType.QUERY, Transport.TCP, 2642),)),
        )
    )
    assert choose_server(tcp_only, "udp") == ("10.0.0.4", 2642)
    assert choose_server(SiteInfo(servers=()), "tcp") is None
    garbage = HandleValue(index=1, type="HS_SITE", data=b"\x00")
    assert referral_site([garbage]) is None


def test_ttl_cache_expires_and_is_bounded() -> None:
    cache: TtlCache[str, int] = TtlCache(2)
    cache.put("a", 1, 60)
    cache.put("b", 2, 60)
    cache.put("c", 3, 60)
    assert cache.get("a") is None  # the oldest went when the third came
    assert cache.get("c") == 3
    cache.put("zero", 4, 0)  # a TTL of 0 means: do not cache
    assert cache.get("zero") is None


async def test_follows_a_referral_and_caches_by_ttl() -> None:
    async with (
        stub_node(_answer) as secondary,
        stub_node(
            lambda _r: (ResponseCode.SERVICE_REFERRAL, referral_to("88.118.8", secondary.port))
        ) as top,
    ):
        resolver = RecursiveResolver(("127.0.0.1", top.port), timeout=2.0)
        reply = await resolver.resolve(HANDLE)
        assert reply.values == _values()
        assert top.requests[0].header.recursion == 1
        await resolver.resolve(HANDLE)  # answered from the cache
        await resolver.resolve("88.118.8/ELV-002")  # the referral is cached: top not asked
        assert (len(top.requests), len(secondary.requests)) == (1, 2)


async def test_zero_ttl_answers_are_not_cached() -> None:
    async with stub_node(lambda r: _answer(r, ttl=0)) as node:
        resolver = RecursiveResolver(("127.0.0.1", node.port), timeout=2.0)
        await resolver.resolve(HANDLE)
        await resolver.resolve(HANDLE)
        assert len(node.requests) == 2


async def test_a_referral_loop_is_refused_with_rc_6() -> None:
    ports: dict[str, int] = {}
    async with (
        stub_node(lambda _r: (ResponseCode.SERVICE_REFERRAL, referral_to("88", ports["b"]))) as a,
        stub_node(lambda _r: (ResponseCode.SERVICE_REFERRAL, referral_to("88", ports["a"]))) as b,
    ):
        ports.update(a=a.port, b=b.port)
        resolver = RecursiveResolver(("127.0.0.1", a.port), timeout=2.0, cache_size=0)
        with pytest.raises(ResolutionFailed, match="referral loop") as caught:
            await resolver.resolve(HANDLE)
        assert caught.value.code is ResponseCode.RECUR_LIMIT_EXCEEDED


async def test_too_many_referrals_is_rc_6() -> None:
    ports: list[int] = []

    def refer_on(index: int) -> object:
        return lambda _r: (ResponseCode.SERVICE_REFERRAL, referral_to("88", ports[index + 1]))

    async with (
        stub_node(refer_on(0)) as n0,  # type: ignore[arg-type]
        stub_node(refer_on(1)) as n1,  # type: ignore[arg-type]
        stub_node(refer_on(2)) as n2,  # type: ignore[arg-type]
        stub_node(_answer) as n3,
    ):
        ports.extend([n0.port, n1.port, n2.port, n3.port])
        shallow = RecursiveResolver(("127.0.0.1", n0.port), timeout=2.0, max_referrals=2)
        with pytest.raises(ResolutionFailed, match="more than 2 referrals") as caught:
            await shallow.resolve(HANDLE)
        assert caught.value.code is ResponseCode.RECUR_LIMIT_EXCEEDED
        deep = RecursiveResolver(("127.0.0.1", n0.port), timeout=2.0, max_referrals=3)
        assert (await deep.resolve(HANDLE)).values == _values()


async def test_a_silent_node_is_a_clear_error_not_a_hang() -> None:
    async with (
        stub_node(lambda _r: None) as silent,
        stub_node(
            lambda _r: (ResponseCode.SERVICE_REFERRAL, referral_to("88.118.8", silent.port))
        ) as top,
    ):
        resolver = RecursiveResolver(("127.0.0.1", top.port), timeout=0.3)
        with pytest.raises(ResolutionFailed, match=f"127.0.0.1:{silent.port}") as caught:
            await resolver.resolve(HANDLE)
        assert caught.value.code is ResponseCode.ERROR
        assert "0.NA/88.118.8" in caught.value.message  # says which referral led there


async def test_refusals_pass_through_with_their_code() -> None:
    async with stub_node(
        lambda _r: (ResponseCode.SERVER_NOT_RESP, ErrorBody("That prefix doesn't live here"))
    ) as node:
        resolver = RecursiveResolver(("127.0.0.1", node.port), timeout=2.0)
        with pytest.raises(ResolutionFailed, match="doesn't live here") as caught:
            await resolver.resolve(HANDLE)
        assert caught.value.code is ResponseCode.SERVER_NOT_RESP
    with pytest.raises(ResolutionFailed) as invalid:
        await resolver.resolve("no-slash")
    assert invalid.value.code is ResponseCode.INVALID_HANDLE
    with pytest.raises(ResolutionFailed, match="no upstream"):
        await RecursiveResolver(None).resolve(HANDLE)
