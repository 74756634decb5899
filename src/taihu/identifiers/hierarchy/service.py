"""The node hierarchy: top-level ↔ secondary ↔ enterprise, and filing prefixes upward (备案).

    top-level node            holds 0.NA/<prefix> records: HS_SITE (where the prefix is served),
         ▲                    HS_ADMIN and, for a node prefix, the HS_SECKEY its node files with
         │ CREATE_HANDLE / MODIFY_VALUE / DELETE_HANDLE 0.NA/<prefix>, challenge-response
    secondary node            files its node prefix and every enterprise prefix approved here;
         ▲                    revocations unfile; the state of each prefix is an ``id_filings`` row
         │ prefix applications (实名审核)
    enterprise

``admit`` (on the top-level node) creates the record of a node prefix with the key that node will
file with. ``join`` (on the secondary) records the upstream node and queues every prefix served
here; ``queue_filing`` is called in the unit of work that approves or revokes a prefix, so an
approval never waits for, or fails with, the upstream node. ``Filer`` sends what is due; a
failure is kept on the row (attempts, error) and retried with a growing pause.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, record_audit
from taihu.core import (
    N_,
    Clock,
    Conflict,
    Database,
    InvalidInput,
    PeriodicJob,
    SystemClock,
    singleton_lease,
)
from taihu.identifiers.handle import (
    ADMIN_PERMISSIONS_ALL,
    ADMIN_TYPE,
    DEFAULT_ADMIN_INDEX,
    SECKEY_INDEX,
    SECKEY_TYPE,
    AdminRef,
    Handle,
    HandleValue,
    encode_admin,
)
from taihu.identifiers.models import Filing, NodeLink, Prefix
from taihu.identifiers.registration import (
    IdentifierService,
    SecretKeyBox,
    parse_handle,
    parse_prefix,
)
from taihu.identifiers.resolution import SITE_TYPE, parse_hostport
from taihu.identifiers.server import site_for
from taihu.identifiers.wire import (
    HandleClient,
    HandleResponseError,
    HandleWireError,
    ResponseCode,
    SecretKey,
    SiteInfo,
    encode_site,
)
from taihu.settings import NodeSettings

__all__ = [
    "REGISTRY",
    "Filer",
    "FilingResult",
    "HierarchyService",
    "Upstream",
    "parse_credential",
    "prefix_record",
    "queue_filing",
    "run_filings",
    "site_value",
    "upstream_of",
]

log = logging.getLogger("taihu.identifiers.hierarchy.service")

REGISTRY = "0.NA"
SITE_INDEX = 1
_BATCH = 200
_MAX_BACKOFF = 32


def prefix_record(prefix: str) -> Handle:
    """The handle of a prefix record, ``0.NA/<prefix>``."""
    return Handle(f"{REGISTRY}/{prefix}")


def site_value(site: SiteInfo) -> HandleValue:
    """The HS_SITE value (index 1) of a prefix record."""
    return HandleValue(index=SITE_INDEX, type=SITE_TYPE, data=encode_site(site))


@dataclass(frozen=True, slots=True)
class Upstream:
    """The node above, and the identity this node files with there."""

    host: str
    port: int
    identity: SecretKey
    advertise: tuple[str, int]  # this node's Handle address:port, published in its HS_SITE

    @property
    def site(self) -> SiteInfo:
        """This node's HS_SITE as filed upstream."""
        return site_for(*self.advertise)


@dataclass(frozen=True, slots=True)
class FilingResult:
    """What one filing attempt did."""

    prefix: str
    action: str
    state: str
    error: str | None


def parse_credential(text: str) -> tuple[int, str]:
    """``300:0.NA/88.118`` as ``(300, "0.NA/88.118")``; ``InvalidInput`` if malformed."""
    index, sep, handle = text.partition(":")
    if not sep or not index.isdigit():
        raise InvalidInput(
            N_("credentials are INDEX:HANDLE, e.g. 300:0.NA/88.118, not {text}"),
            code="invalid_credential",
            text=repr(text),
        )
    return int(index), parse_handle(handle).key


async def queue_filing(session: AsyncSession, prefix: str, action: str, now: datetime) -> bool:
    """Queue ``file``/``unfile`` of a prefix when this node has joined one above; whether queued."""
    if await session.scalar(sa.select(NodeLink.id).limit(1)) is None:
        return False
    row = await session.scalar(sa.select(Filing).where(Filing.prefix == prefix))
    if row is None:
        row = Filing(prefix=prefix, attempts=0)
        session.add(row)
    row.action, row.state, row.error = action, "pending", None
    row.attempts, row.next_try_at, row.updated_at = 0, now, now
    await session.flush()
    return True


class HierarchyService:
    """Joining, admitting and the filing state, within one unit of work."""

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock | None = None,
        *,
        seckeys: SecretKeyBox | None = None,
    ) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.seckeys = seckeys  # seals the HS_SECKEY of admitted nodes (hashed without it)

    async def link(self) -> NodeLink | None:
        """The upstream link, if this node has joined one."""
        return await self.session.scalar(sa.select(NodeLink).order_by(NodeLink.id).limit(1))

    async def join(
        self, actor: Principal, upstream: str, credential: str, advertise: str
    ) -> list[str]:
        """Record the node above and queue every prefix served here for filing (admin only)."""
        actor.require_role()
        try:
            host, port = parse_hostport(upstream)
            site_for(*parse_hostport(advertise))  # an HS_SITE names servers by IP address
        except ValueError as exc:
            raise InvalidInput(str(exc), code="invalid_address") from exc
        index, handle = parse_credential(credential)
        now = self.clock.now()
        row = await self.link()
        before = None
        if row is None:
            row = NodeLink(host=host, port=port, credential="", advertise="", joined_at=now)
            self.session.add(row)
        else:
            before = {"upstream": f"{row.host}:{row.port}", "credential": row.credential}
        row.host, row.port, row.credential, row.joined_at = host, port, f"{index}:{handle}", now
        row.advertise = advertise
        await self.session.flush()
        await record_audit(
            self.session, actor, "node.join", "node_link", row.id, before=before,
            after={"upstream": f"{host}:{port}", "credential": row.credential,
                   "advertise": advertise}, at=now,
        )  # fmt: skip
        return await self.resync(actor)

    async def resync(self, actor: Principal) -> list[str]:
        """Queue every prefix again: served ones filed, revoked ones unfiled (admin only)."""
        actor.require_role()
        now = self.clock.now()
        rows = await self.session.execute(
            sa.select(Prefix.prefix, Prefix.status).where(Prefix.kind != "registry")
        )
        queued = []
        for prefix, status in rows:
            if await queue_filing(self.session, prefix, "unfile" if status == "revoked" else "file",
                                  now):  # fmt: skip
                queued.append(prefix)
        return sorted(queued)

    async def filings(self) -> list[Filing]:
        """The upstream state of every prefix, by prefix."""
        return list(await self.session.scalars(sa.select(Filing).order_by(Filing.prefix)))

    async def admit(self, actor: Principal, prefix: str, secret: str) -> Handle:
        """Top-level: create ``0.NA/<prefix>`` for the node that files as ``300:0.NA/<prefix>``."""
        actor.require_role()
        if len(secret) < 8:
            raise InvalidInput(
                N_("the node's secret key needs at least 8 characters"), code="weak_key"
            )
        service = IdentifierService(self.session, self.clock, seckeys=self.seckeys)
        handle = prefix_record(parse_prefix(prefix))
        await self._registry(actor)
        if await service.get_row(handle) is not None:
            raise Conflict(N_("{handle} exists already"), code="handle_exists", handle=handle.text)
        values = [
            HandleValue(
                index=DEFAULT_ADMIN_INDEX,
                type=ADMIN_TYPE,
                data=encode_admin(AdminRef(handle.key, SECKEY_INDEX, ADMIN_PERMISSIONS_ALL)),
            ),
            HandleValue(
                index=SECKEY_INDEX,
                type=SECKEY_TYPE,
                data=secret.encode("utf-8"),
                public_read=False,
            ),
        ]
        await service.put(actor, handle, values)
        return handle

    async def _registry(self, actor: Principal) -> Prefix:
        """The ``0.NA`` prefix under which a top-level node keeps prefix records."""
        row = await self.session.scalar(sa.select(Prefix).where(Prefix.prefix == REGISTRY))
        if row is not None:
            return row
        now = self.clock.now()
        row = Prefix(prefix=REGISTRY, kind="registry", status="active", created_at=now)
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session, actor, "prefix.create", "prefix", REGISTRY,
            after={"kind": "registry"}, at=now,
        )  # fmt: skip
        return row


async def upstream_of(session: AsyncSession, settings: NodeSettings) -> Upstream | None:
    """The joined upstream with the secret from the settings; ``None`` before ``join``."""
    link = await HierarchyService(session).link()
    if link is None:
        return None
    index, handle = parse_credential(link.credential)
    try:
        secret = settings.upstream_secret()
    except OSError as exc:  # reported on each filing as "no secret key", not raised every second
        log.warning("cannot read TAIHU_NODE_SECRET_FILE: %s", exc)
        secret = b""
    host, port = parse_hostport(link.advertise)
    return Upstream(link.host, link.port, SecretKey(handle, index, secret), (host, port))


async def _file(client: HandleClient, prefix: str, site: SiteInfo) -> None:
    record = prefix_record(prefix).text
    try:
        await client.create_handle(record, (site_value(site),))
        return
    except HandleResponseError as exc:
        if exc.code is not ResponseCode.HANDLE_ALREADY_EXIST:
            raise
    # The record exists (a node prefix admitted upstream, or filed before): replace the
    # HS_SITE only, so its HS_ADMIN and HS_SECKEY stay as they are. Another filer of this node
    # (the server's job while `taihu node join` files) may add the HS_SITE between our modify
    # and our add: the add then finds it, and a second modify replaces it.
    for last in (False, True):
        try:
            await client.modify_values(record, (site_value(site),))
            return
        except HandleResponseError as missing:
            if missing.code is not ResponseCode.VALUE_NOT_FOUND or last:
                raise
        try:
            await client.add_values(record, (site_value(site),))
            return
        except HandleResponseError as added:
            if added.code is not ResponseCode.VALUE_ALREADY_EXIST:
                raise


async def _unfile(client: HandleClient, prefix: str) -> None:
    try:
        await client.delete_handle(prefix_record(prefix).text)
    except HandleResponseError as exc:
        if exc.code is not ResponseCode.HANDLE_NOT_FOUND:
            raise


async def run_filings(
    db: Database,
    settings: NodeSettings,
    clock: Clock | None = None,
    *,
    everything: bool = False,
) -> list[FilingResult]:
    """Send the filings that are due (``everything``: all not done) to the upstream node."""
    clock = clock or SystemClock()
    async with db.session() as session:
        upstream = await upstream_of(session, settings)
        query = sa.select(Filing.prefix, Filing.action).where(Filing.state != "done")
        if not everything:
            query = query.where(Filing.next_try_at <= clock.now())
        due = list(await session.execute(query.order_by(Filing.id).limit(_BATCH)))
    if upstream is None or not due:
        return []
    results = []
    client = HandleClient(
        upstream.host, upstream.port, transport="tcp", timeout=settings.timeout,
        identity=upstream.identity,
    )  # fmt: skip
    async with client:
        for prefix, action in due:
            error = None
            if not upstream.identity.secret:
                error = (
                    "no secret key to file with: set TAIHU_NODE_SECRET or a readable _SECRET_FILE"
                )
            else:
                try:
                    if action == "file":
                        await _file(client, prefix, upstream.site)
                    else:
                        await _unfile(client, prefix)
                except HandleWireError as exc:
                    error = f"{upstream.host}:{upstream.port}: {exc}"
            results.append(await _record(db, clock, settings, prefix, action, error))
    return results


async def _record(
    db: Database, clock: Clock, settings: NodeSettings, prefix: str, action: str, error: str | None
) -> FilingResult:
    now = clock.now()
    async with db.session() as session:
        row = await session.scalar(sa.select(Filing).where(Filing.prefix == prefix))
        if row is None or row.action != action:  # re-queued meanwhile: the new request wins
            return FilingResult(prefix, action, "pending", None)
        row.attempts += 1
        row.updated_at = now
        row.error = error[:500] if error else None
        if error is None:
            row.state = "done"
        else:
            row.state = "failed"
            pause = settings.retry_seconds * min(2 ** (row.attempts - 1), _MAX_BACKOFF)
            row.next_try_at = now + timedelta(seconds=pause)
            log.warning("filing %s of %s failed: %s", action, prefix, error)
        return FilingResult(prefix, action, row.state, row.error)


class Filer:
    """Sends due filings in the background, every ``interval`` seconds, until stopped."""

    def __init__(
        self,
        db: Database,
        settings: NodeSettings,
        clock: Clock | None = None,
        *,
        interval: float = 1.0,
    ) -> None:
        self.db, self.settings, self.interval = db, settings, interval
        self.clock = clock or SystemClock()
        self._job = PeriodicJob("node-filings", self._send_due, interval,
                                lease=singleton_lease(db, "node-filings", interval))  # fmt: skip

    def start(self) -> None:
        """Start the loop."""
        self._job.start()

    async def stop(self) -> None:
        """Stop the loop; a round of filings under way finishes first."""
        await self._job.stop()

    async def _send_due(self) -> None:
        await run_filings(self.db, self.settings, self.clock)
