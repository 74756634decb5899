"""Resolution across nodes: referrals (RFC 3652 RC 301/302) and the recursive resolver.

    client ──RESOLUTION 88.118.8/X──► top-level node
              ◄── RC 302 SERVICE_REFERRAL  0.NA/88.118.8 {HS_SITE: 10.0.0.2 udp/tcp 2641}
    client ──RESOLUTION 88.118.8/X──► secondary node 10.0.0.2:2641 ──► RC 1 values

A node that does not serve a prefix answers RC 301 SERVER_NOT_RESP, unless it holds the prefix
record ``0.NA/<prefix>`` (a top-level node, longest prefix first), then RC 302 with that
record's HS_SITE. ``RecursiveResolver`` follows such referrals from a first node, at most
``max_referrals`` of them, never the same server twice (a loop or too many referrals is RC 6
RECUR_LIMIT_EXCEEDED), each exchange bounded by a timeout, and caches referrals and answers for
their values' TTL. ``HierarchyLocator`` is the server side: the ``PrefixLocator`` that refers, or
resolves recursively when a request carries RECU and the node is a recursive resolver.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import sqlalchemy as sa

from taihu.core import Database
from taihu.identifiers.handle import Handle, HandleValue, HandleValueError, TtlType
from taihu.identifiers.models import HandleRow, NodeLink
from taihu.identifiers.records import load_record
from taihu.identifiers.resolution.locator import NOT_HERE, Answer, LocalPrefixes
from taihu.identifiers.wire import (
    ErrorBody,
    HandleClient,
    HandleWireError,
    Message,
    OpCode,
    OpFlag,
    ReferralBody,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
    ServiceType,
    SiteInfo,
    Transport,
    WireDecodeError,
    decode_site,
)
from taihu.settings import NodeSettings

__all__ = [
    "SITE_TYPE",
    "HierarchyLocator",
    "RecursiveResolver",
    "ResolutionFailed",
    "TtlCache",
    "choose_server",
    "node_locator",
    "parse_hostport",
    "prefix_chain",
    "referral_site",
]

SITE_TYPE = "HS_SITE"
_QUERY = (ServiceType.QUERY, ServiceType.ADMIN_AND_QUERY)
_MIN_TTL = 1
WireTransport = Literal["udp", "tcp"]
K = TypeVar("K")
V = TypeVar("V")


class ResolutionFailed(Exception):
    """A resolution across nodes ended without values; ``code`` is the Handle response code."""

    def __init__(self, code: ResponseCode, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def parse_hostport(text: str, default_port: int = 2641) -> tuple[str, int]:
    """``HOST:PORT`` (or ``[v6]:PORT``, or ``HOST``) as a pair; ``ValueError`` if malformed."""
    text = text.strip()
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    if not host:
        raise ValueError(f"{text!r} is not HOST:PORT")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


def prefix_chain(prefix: str) -> list[str]:
    """``88.118.8`` → ``["88.118.8", "88.118", "88"]``: where a referral may be filed."""
    parts = prefix.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def referral_site(values: tuple[HandleValue, ...] | list[HandleValue]) -> SiteInfo | None:
    """The first readable HS_SITE among a referral's values."""
    for value in values:
        if value.type == SITE_TYPE:
            try:
                return decode_site(value.data)
            except WireDecodeError:
                continue
    return None


def choose_server(site: SiteInfo, transport: WireTransport) -> tuple[str, int] | None:
    """Address and port of a server of ``site`` answering queries over ``transport`` (else TCP)."""
    wanted = [Transport.UDP, Transport.TCP] if transport == "udp" else [Transport.TCP]
    for kind in wanted:
        for server in site.servers:
            for interface in server.interfaces:
                if interface.service in _QUERY and interface.transport is kind:
                    return server.address, interface.port
    return None


def _ttl_seconds(values: tuple[HandleValue, ...] | list[HandleValue], now: float) -> float:
    """How long values may be cached: their smallest TTL (absolute ones counted from now)."""
    ttls = []
    for value in values:
        if value.ttl_type is TtlType.ABSOLUTE:
            ttls.append(value.ttl - now)
        else:
            ttls.append(float(value.ttl))
    return max(min(ttls, default=0.0), 0.0)


class TtlCache(Generic[K, V]):
    """A bounded mapping whose entries expire (least recently stored dropped first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value, unless absent or expired."""
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= time.monotonic():
            del self._items[key]
            return None
        return item[1]

    def put(self, key: K, value: V, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds (not at all when the TTL or the size is 0)."""
        if ttl < _MIN_TTL or self.size == 0:
            return
        self._items[key] = (time.monotonic() + ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()


@dataclass(frozen=True, slots=True)
class _Step:
    """Where the next question goes, and why."""

    host: str
    port: int
    via: str  # "upstream", or the prefix record that referred here


class RecursiveResolver:
    """Follows referrals from a first node to the node responsible for a handle."""

    def __init__(
        self,
        upstream: tuple[str, int] | None,
        *,
        timeout: float = 3.0,
        max_referrals: int = 4,
        cache_size: int = 10_000,
    ) -> None:
        self.upstream = upstream
        self.timeout = timeout
        self.max_referrals = max_referrals
        self.sites: TtlCache[str, SiteInfo] = TtlCache(cache_size)
        self.answers: TtlCache[tuple[str, tuple[int, ...], tuple[str, ...]], ResolutionResponse]
        self.answers = TtlCache(cache_size)

    def _start(self, handle: Handle, transport: WireTransport, site: SiteInfo | None) -> _Step:
        for prefix in prefix_chain(handle.prefix):
            cached = self.sites.get(prefix)
            if cached is not None and (hop := choose_server(cached, transport)) is not None:
                return _Step(*hop, via=f"0.NA/{prefix} (cached)")
        if site is not None and (hop := choose_server(site, transport)) is not None:
            return _Step(*hop, via="the local prefix record")
        if self.upstream is None:
            raise ResolutionFailed(
                ResponseCode.SERVER_NOT_RESP,
                f"{NOT_HERE}, and no upstream node is configured to ask (TAIHU_NODE_UPSTREAM)",
            )
        return _Step(*self.upstream, via="upstream")

    async def resolve(
        self,
        text: str,
        *,
        indexes: tuple[int, ...] = (),
        types: tuple[str, ...] = (),
        transport: WireTransport = "udp",
        recursion: int = 0,
        site: SiteInfo | None = None,
    ) -> ResolutionResponse:
        """The values of ``text``, asking nodes along referrals; ``ResolutionFailed`` otherwise.

        ``site`` is where to begin when the caller already holds the prefix record (a
        top-level node resolving for a client); else cached referrals, else the upstream node.
        """
        try:
            handle = Handle(text)
        except HandleValueError as exc:
            raise ResolutionFailed(ResponseCode.INVALID_HANDLE, str(exc)) from exc
        key = (handle.key, indexes, types)
        cached = self.answers.get(key)
        if cached is not None:
            return cached
        step = self._start(handle, transport, site)
        request = ResolutionRequest(handle.text, indexes, types)
        visited: set[tuple[str, int]] = set()
        # Bounded as a whole too: every hop has its timeout, the walk at most one per referral.
        budget = self.timeout * (self.max_referrals + 1) + 1.0
        try:
            async with asyncio.timeout(budget):
                return await self._walk(key, handle, request, step, visited, transport, recursion)
        except TimeoutError as exc:
            raise ResolutionFailed(
                ResponseCode.ERROR, f"resolving {handle.text} took longer than {budget:g} s"
            ) from exc

    async def _walk(
        self,
        key: tuple[str, tuple[int, ...], tuple[str, ...]],
        handle: Handle,
        request: ResolutionRequest,
        step: _Step,
        visited: set[tuple[str, int]],
        transport: WireTransport,
        recursion: int,
    ) -> ResolutionResponse:
        for _hop in range(self.max_referrals + 1):
            if (step.host, step.port) in visited:
                raise ResolutionFailed(
                    ResponseCode.RECUR_LIMIT_EXCEEDED,
                    f"referral loop: {step.via} points back to {step.host}:{step.port}",
                )
            visited.add((step.host, step.port))
            reply = await self._ask(step, request, transport, recursion)
            code, body = reply.header.response_code, reply.body
            if code is ResponseCode.SUCCESS and isinstance(body, ResolutionResponse):
                self.answers.put(key, body, _ttl_seconds(body.values, time.time()))
                return body
            if code in (ResponseCode.SERVICE_REFERRAL, ResponseCode.PREFIX_REFERRAL) and (
                isinstance(body, ReferralBody)
            ):
                step = self._follow(body, step, transport)
                continue
            text = body.message if isinstance(body, ErrorBody) and body.message else code.name
            raise ResolutionFailed(code, f"{step.host}:{step.port} answered {int(code)}: {text}")
        raise ResolutionFailed(
            ResponseCode.RECUR_LIMIT_EXCEEDED,
            f"more than {self.max_referrals} referrals while resolving {handle.text}",
        )

    def _follow(self, body: ReferralBody, step: _Step, transport: WireTransport) -> _Step:
        site = referral_site(body.values)
        if site is None:
            raise ResolutionFailed(
                ResponseCode.ERROR,
                f"{step.host}:{step.port} referred to {body.handle} without a readable HS_SITE",
            )
        hop = choose_server(site, transport)
        if hop is None:
            raise ResolutionFailed(
                ResponseCode.ERROR, f"HS_SITE of {body.handle} names no server for {transport}"
            )
        referred = body.handle.split("/", 1)[1] if body.handle.upper().startswith("0.NA/") else ""
        if referred:
            ttl = _ttl_seconds([v for v in body.values if v.type == SITE_TYPE], time.time())
            self.sites.put(referred.upper(), site, ttl)
        return _Step(*hop, via=body.handle)

    async def _ask(
        self, step: _Step, request: ResolutionRequest, transport: WireTransport, recursion: int
    ) -> Message:
        client = HandleClient(step.host, step.port, transport=transport, timeout=self.timeout)
        try:
            async with client:
                # No RECU: this resolver follows the referrals itself, so nodes never chain.
                # PUBL: public values only, as the Handle.Net resolver asks by default.
                return await client.exchange(
                    OpCode.RESOLUTION, request, OpFlag.PUBL, recursion=min(recursion + 1, 255)
                )
        except HandleWireError as exc:
            raise ResolutionFailed(
                ResponseCode.ERROR, f"node {step.host}:{step.port} ({step.via}): {exc}"
            ) from exc


class HierarchyLocator(LocalPrefixes):
    """The server's ``PrefixLocator`` in a hierarchy: serve, refer, or resolve recursively.

    A ``LocalPrefixes`` for the prefixes served here, so the dispatcher's fast path still
    answers them from the datagram callback; only the others reach ``locate``.
    """

    def __init__(
        self,
        db: Database,
        recursive: RecursiveResolver | None = None,
        *,
        max_recursion: int = 4,
        cache_seconds: float = 1.0,
    ) -> None:
        super().__init__(db)
        self.db = db
        self.recursive = recursive
        self.max_recursion = max_recursion
        self._records: TtlCache[str, tuple[str, tuple[HandleValue, ...]]] = TtlCache(4096)
        self._cache_seconds = cache_seconds

    async def referral(self, prefix: str) -> ReferralBody | None:
        """The prefix record filed here for ``prefix`` or its nearest parent, as a referral."""
        found = self._records.get(prefix)
        if found is None:
            found = await self._read(prefix)
            # Absence is cached too, as an empty handle: unknown prefixes cost no query each.
            self._records.put(prefix, found, self._cache_seconds)
        handle, values = found
        return ReferralBody(handle, values) if handle else None

    async def _read(self, prefix: str) -> tuple[str, tuple[HandleValue, ...]]:
        if "0.NA" not in await self.served():
            return "", ()  # no prefix records here: not a top-level node
        keys = [Handle(f"0.NA/{p}").key for p in prefix_chain(prefix)]
        async with self.db.session() as session:
            rows = list(
                await session.execute(
                    sa.select(HandleRow.key, HandleRow.handle, HandleRow.record).where(
                        HandleRow.key.in_(keys)
                    )
                )
            )
        rows.sort(key=lambda row: len(row[0]), reverse=True)
        for _key, handle, record in rows:
            sites = tuple(v for v in load_record(record) if v.type == SITE_TYPE and v.public_read)
            if sites:
                return handle, sites
        return "", ()

    async def _joined(self) -> tuple[str, int] | None:
        """The node this one joined (``taihu node join``): where to start without an upstream."""
        async with self.db.session() as session:
            row = await session.execute(sa.select(NodeLink.host, NodeLink.port).limit(1))
            found = row.first()
        return (found[0], found[1]) if found is not None else None

    def forget(self) -> None:
        """Read the prefixes served and the prefix records again (after a local change)."""
        self._records.clear()
        super().forget()

    async def locate(self, prefix: str, request: Message) -> Answer | None:
        """``None`` for prefixes served here; a referral, a recursive answer or RC 301 else."""
        if await super().locate(prefix, request) is None:
            return None
        referral = await self.referral(prefix)
        body = request.body
        if (
            self.recursive is not None
            and request.header.opcode is OpCode.RESOLUTION
            and request.header.flags & OpFlag.RECU
            and isinstance(body, ResolutionRequest)
        ):
            return await self._recurse(request, body, referral)
        if referral is not None:
            return Answer(ResponseCode.SERVICE_REFERRAL, referral)
        return Answer(ResponseCode.SERVER_NOT_RESP, ErrorBody(NOT_HERE))

    async def _recurse(
        self, request: Message, body: ResolutionRequest, referral: ReferralBody | None
    ) -> Answer:
        assert self.recursive is not None  # checked by the caller
        if request.header.recursion >= self.max_recursion:
            text = f"recursion count {request.header.recursion} reached the limit"
            return Answer(ResponseCode.RECUR_LIMIT_EXCEEDED, ErrorBody(text))
        site = referral_site(referral.values) if referral is not None else None
        if self.recursive.upstream is None and site is None:
            self.recursive.upstream = await self._joined()
        try:
            answer = await self.recursive.resolve(
                body.handle,
                indexes=body.indexes,
                types=body.types,
                transport="udp",
                recursion=request.header.recursion,
                site=site,
            )
        except ResolutionFailed as exc:
            return Answer(exc.code, ErrorBody(exc.message))
        return Answer(ResponseCode.SUCCESS, answer)


def node_locator(settings: NodeSettings, db: Database) -> LocalPrefixes:
    """The locator of a node configured by ``settings``.

    A top-level node refers (its prefix records), a recursive one resolves (RECU); any other
    node answers like the default ``LocalPrefixes`` and is one, so the server keeps answering
    cached resolutions in the datagram callback.
    """
    if settings.role != "top-level" and not settings.recursive:
        return LocalPrefixes(db)
    recursive = None
    if settings.recursive:
        upstream = parse_hostport(settings.upstream) if settings.upstream else None
        recursive = RecursiveResolver(
            upstream,
            timeout=settings.timeout,
            max_referrals=settings.max_referrals,
            cache_size=settings.cache_size,
        )
    return HierarchyLocator(db, recursive, max_recursion=settings.max_referrals)
