"""Chain templates in the database: the current version of each, its history, and changes.

Every change writes a new version (an immutable copy); the template row points at the current
one. The six built-ins are written as version 1 the first time templates are read from an empty
table. Segment keys are unique across the current versions of all templates, because tags and
supply edges name a segment by its key alone.

The current templates are read once per unit of work: ``current`` keeps what it read in the
session's ``info`` for the session's transaction, and a write of a version drops it. Readers
on hot paths (the monitor's groupings, several per request) therefore cost one query per
request, and a template changed by another request is seen from the next transaction on.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.chains.facts import ChainSpec, SegmentSpec
from taihu.chains.models import ChainTemplate, ChainTemplateVersion
from taihu.chains.templates import builtin_templates, parse_template, template_document
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock

__all__ = ["SaveOutcome", "TemplateStore"]

BUILTIN_AUTHOR = "taihu (built-in)"
_CURRENT = "taihu.chains.current_templates"  # session.info: (transaction, templates)


class SaveOutcome:
    """What saving a template did: ``created``, ``changed`` (a new version) or ``unchanged``."""

    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


def _spec(version: ChainTemplateVersion, key: str) -> ChainSpec:
    document = {"key": key, "name_zh": version.name_zh, "name_en": version.name_en,
                "segments": version.segments}  # fmt: skip
    return parse_template(document, version=version.version)


class TemplateStore:
    """Read, create and version chain templates within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    def _cached(self) -> tuple[ChainSpec, ...] | None:
        """The current templates read earlier in this transaction, if any."""
        held = self.session.info.get(_CURRENT)
        transaction = self.session.sync_session.get_transaction()
        if held is None or transaction is None or held[0] is not transaction:
            return None
        templates: tuple[ChainSpec, ...] = held[1]
        return templates

    async def _seed(self) -> None:
        if await self.session.scalar(sa.select(ChainTemplate.id).limit(1)) is not None:
            return
        now = self.clock.now()
        try:
            async with self.session.begin_nested():
                for chain in builtin_templates():
                    await self._write(None, chain, now, BUILTIN_AUTHOR, "built-in starting set")
        except sa.exc.IntegrityError:
            return  # another request seeded them at the same moment: theirs stand

    async def _write(
        self, row: ChainTemplate | None, chain: ChainSpec, now: datetime, author: str, note: str
    ) -> ChainTemplateVersion:
        self.session.info.pop(_CURRENT, None)  # what this transaction read is out of date
        if row is None:
            row = ChainTemplate(key=chain.key, current_version=1, created_at=now, updated_at=now,
                                builtin=author == BUILTIN_AUTHOR)  # fmt: skip
            self.session.add(row)
            await self.session.flush()
            number = 1
        else:
            number = row.current_version + 1
            row.current_version = number
            row.updated_at = now
        document = template_document(chain)
        version = ChainTemplateVersion(
            template_id=row.id, version=number, name_zh=chain.name, name_en=chain.name_en,
            segments=document["segments"], note=note[:300], created_by=author, created_at=now,
        )  # fmt: skip
        self.session.add(version)
        await self.session.flush()
        return version

    async def current(self) -> tuple[ChainSpec, ...]:
        """The current version of every template, oldest template first (once per transaction)."""
        cached = self._cached()
        if cached is not None:
            return cached
        await self._seed()
        rows = await self.session.execute(
            sa.select(ChainTemplate.key, ChainTemplateVersion)
            .join(ChainTemplateVersion, ChainTemplateVersion.template_id == ChainTemplate.id)
            .where(ChainTemplateVersion.version == ChainTemplate.current_version)
            .order_by(ChainTemplate.id)
        )  # fmt: skip
        templates = tuple(_spec(version, key) for key, version in rows)
        self.session.info[_CURRENT] = (self.session.sync_session.get_transaction(), templates)
        return templates

    async def segment_index(self) -> dict[str, tuple[ChainSpec, SegmentSpec]]:
        """Every current segment by key, with its chain."""
        return {s.key: (c, s) for c in await self.current() for s in c.segments}

    async def _row(self, key: str) -> ChainTemplate:
        await self._seed()
        row = await self.session.scalar(sa.select(ChainTemplate).where(ChainTemplate.key == key))
        if row is None:
            known = await self.session.scalars(
                sa.select(ChainTemplate.key).order_by(ChainTemplate.id)
            )
            raise NotFound(
                N_("no chain {chain!r} (known: {known})"), code="chain_not_found", chain=key,
                known=", ".join(known),
            )  # fmt: skip
        return row

    async def get(self, key: str, version: int | None = None) -> ChainSpec:
        """One template: the current version, or the one asked for."""
        row = await self._row(key)
        number = row.current_version if version is None else version
        found = await self.session.scalar(
            sa.select(ChainTemplateVersion).where(
                ChainTemplateVersion.template_id == row.id, ChainTemplateVersion.version == number
            )
        )
        if found is None:
            raise NotFound(
                N_("chain {chain} has no version {version}"), code="version_not_found",
                chain=key, version=number,
            )  # fmt: skip
        return _spec(found, key)

    async def history(self, key: str) -> list[ChainTemplateVersion]:
        """Every version of a template, newest first."""
        row = await self._row(key)
        return list(
            await self.session.scalars(
                sa.select(ChainTemplateVersion)
                .where(ChainTemplateVersion.template_id == row.id)
                .order_by(ChainTemplateVersion.version.desc())
            )
        )

    async def check(self, chain: ChainSpec, *, create: bool | None = None) -> str:
        """What saving would do (created, changed, unchanged), or the reason it is refused."""
        await self._seed()
        row = await self.session.scalar(
            sa.select(ChainTemplate).where(ChainTemplate.key == chain.key)
        )
        if create is True and row is not None:
            raise Conflict(N_("chain {chain} exists already"), code="chain_exists",
                           chain=chain.key)  # fmt: skip
        if create is False and row is None:
            raise NotFound(N_("no chain {chain}"), code="chain_not_found", chain=chain.key)
        mine = chain.segment_keys
        for other in await self.current():
            taken = sorted(mine & other.segment_keys)
            if other.key != chain.key and taken:
                raise Conflict(
                    N_("segment {segment} belongs to chain {chain} already"),
                    code="segment_taken", segment=taken[0], chain=other.key,
                )  # fmt: skip
        if row is None:
            return SaveOutcome.CREATED
        current = await self.get(chain.key)
        same = template_document(current) == template_document(chain)
        return SaveOutcome.UNCHANGED if same else SaveOutcome.CHANGED

    async def save(
        self, actor: Principal, chain: ChainSpec, *, note: str = "", create: bool | None = None
    ) -> tuple[ChainSpec, str]:
        """Create a template or write its next version (admin or bureau), audited.

        ``create`` True refuses an existing key, False a new one, None takes either. Saving the
        current content again writes no version.
        """
        actor.require_role(Role.BUREAU)
        if len(note) > 300:
            raise InvalidInput(N_("the note needs at most 300 characters"), code="bad_template")
        outcome = await self.check(chain, create=create)
        if outcome == SaveOutcome.UNCHANGED:
            return await self.get(chain.key), outcome
        now = self.clock.now()
        row = await self.session.scalar(
            sa.select(ChainTemplate).where(ChainTemplate.key == chain.key)
        )
        before = None if row is None else template_document(await self.get(chain.key))
        version = await self._write(row, chain, now, actor.name, note)
        await record_audit(
            self.session, actor,
            "chain_template.create" if outcome == SaveOutcome.CREATED else "chain_template.version",
            "chain_template", chain.key, before=before,
            after={**template_document(chain), "version": version.version, "note": note}, at=now,
        )  # fmt: skip
        return await self.get(chain.key), outcome
