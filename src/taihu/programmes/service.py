"""Programmes as data: the catalogue seeded on first read, the bureau's own programmes added."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock
from taihu.programmes.catalogue import LEVELS, STAGES, ProgrammeSpec, builtin_programmes
from taihu.programmes.forms import check_form_id
from taihu.programmes.models import Programme

__all__ = ["ProgrammeService", "check_spec"]

_KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def _names(items: tuple[dict[str, Any], ...], what: str) -> list[dict[str, Any]]:
    out, seen = [], set()
    for item in items:
        key = str(item.get("key", "")).strip()
        if not key or key in seen or not item.get("name_zh") or not item.get("name_en"):
            raise InvalidInput(
                N_("each {what} needs a unique key and names in both languages"),
                code="bad_programme",
                what=what,
            )
        if "level" in item and item["level"] not in LEVELS:
            raise InvalidInput(N_("unknown level {level}"), code="bad_level", level=item["level"])
        seen.add(key)
        out.append({**item, "key": key})
    return out


def check_spec(spec: ProgrammeSpec) -> None:
    """Refuse a programme whose key, level or stages are not usable."""
    if not _KEY.match(spec.key):
        raise InvalidInput(
            N_("a programme key is 2-64 lower-case letters, digits or _"), code="bad_programme"
        )
    if not spec.name_zh.strip() or not spec.name_en.strip():
        raise InvalidInput(N_("a programme needs names in both languages"), code="bad_programme")
    if spec.level not in LEVELS:
        raise InvalidInput(N_("unknown level {level}"), code="bad_level", level=spec.level)
    stages = list(spec.stages)
    order = [STAGES.index(s) for s in stages if s in STAGES]
    if (
        len(order) != len(stages)
        or len(stages) < 2
        or stages[0] != "enterprise"
        or order != sorted(set(order))
    ):
        raise InvalidInput(
            N_("stages start with enterprise and go upwards: {stages}"),
            code="bad_stages",
            stages=" → ".join(STAGES),
        )
    if spec.validity_years is not None and not 1 <= spec.validity_years <= 20:
        raise InvalidInput(N_("validity is 1 to 20 years"), code="bad_programme")
    if spec.subsidy_yuan is not None and spec.subsidy_yuan < 0:
        raise InvalidInput(N_("a subsidy cannot be negative"), code="bad_programme")
    _names(spec.documents, "document")
    _names(spec.grades, "grade")
    check_form_id(spec.form_id)


def _row(spec: ProgrammeSpec, *, builtin: bool, now: Any) -> Programme:
    return Programme(
        key=spec.key,
        name_zh=spec.name_zh.strip(),
        name_en=spec.name_en.strip(),
        level=spec.level,
        issuing_body=spec.issuing_body.strip(),
        year=spec.year,
        batch=spec.batch,
        criteria=spec.criteria,
        documents=_names(spec.documents, "document"),
        stages=list(spec.stages),
        grades=_names(spec.grades, "grade"),
        validity_years=spec.validity_years,
        subsidy_yuan=spec.subsidy_yuan,
        accepting=True,
        form_id=check_form_id(spec.form_id),
        builtin=builtin,
        created_at=now,
    )


class ProgrammeService:
    """Programmes within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def _seed(self) -> None:
        if await self.session.scalar(sa.select(Programme.id).limit(1)) is not None:
            return
        try:
            async with self.session.begin_nested():
                for spec in builtin_programmes():
                    self.session.add(_row(spec, builtin=True, now=self.clock.now()))
                await self.session.flush()
        except sa.exc.IntegrityError:
            return  # another request seeded them at the same moment: theirs stand

    async def all(self) -> list[Programme]:
        """Every programme (public knowledge in the district), national first."""
        await self._seed()
        rows = await self.session.scalars(sa.select(Programme).order_by(Programme.id))
        return sorted(rows, key=lambda p: (LEVELS.index(p.level), p.id))

    async def get(self, programme_id: int) -> Programme:
        """One programme by id."""
        await self._seed()
        row = await self.session.get(Programme, programme_id)
        if row is None:
            raise NotFound(
                N_("no programme {programme}"), code="programme_not_found", programme=programme_id
            )
        return row

    async def by_key(self, key: str) -> Programme:
        """One programme by its key."""
        await self._seed()
        row = await self.session.scalar(sa.select(Programme).where(Programme.key == key))
        if row is None:
            raise NotFound(
                N_("no programme {programme}"), code="programme_not_found", programme=key
            )
        return row

    async def create(self, actor: Principal, spec: ProgrammeSpec) -> Programme:
        """Add a programme (bureau); its key must be new."""
        actor.require_role(Role.BUREAU)
        check_spec(spec)
        await self._seed()
        if await self.session.scalar(sa.select(Programme.id).where(Programme.key == spec.key)):
            raise Conflict(
                N_("programme {programme} exists already"),
                code="programme_exists",
                programme=spec.key,
            )
        row = _row(spec, builtin=False, now=self.clock.now())
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "programme.create",
            "programme",
            row.id,
            after={
                "key": row.key,
                "name_zh": row.name_zh,
                "level": row.level,
                "stages": row.stages,
            },
            at=self.clock.now(),
        )
        return row

    async def set_accepting(
        self, actor: Principal, programme_id: int, accepting: bool
    ) -> Programme:
        """Open or close a programme to new applications (bureau)."""
        actor.require_role(Role.BUREAU)
        row = await self.get(programme_id)
        if row.accepting != accepting:
            await record_audit(
                self.session,
                actor,
                "programme.accepting",
                "programme",
                row.id,
                before={"accepting": row.accepting},
                after={"accepting": accepting},
                at=self.clock.now(),
            )
            row.accepting = accepting
        return row

    async def set_form(self, actor: Principal, programme_id: int, form_id: str | None) -> Programme:
        """Make a survey form the programme's application form, or go back to the built-in one.

        Applications already made keep what they were made with.
        """
        actor.require_role(Role.BUREAU)
        row = await self.get(programme_id)
        form_id = check_form_id(form_id)
        if row.form_id != form_id:
            await record_audit(
                self.session,
                actor,
                "programme.form",
                "programme",
                row.id,
                before={"form_id": row.form_id},
                after={"form_id": form_id},
                at=self.clock.now(),
            )
            row.form_id = form_id
        return row
