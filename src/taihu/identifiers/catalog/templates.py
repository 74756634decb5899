"""The template catalog: industry data templates stored per prefix, versioned, audited."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock
from taihu.identifiers.handle import BUILTIN_TEMPLATES, AdminPermission, TemplateError, TemplateSpec
from taihu.identifiers.models import HandleRow, Template
from taihu.identifiers.registration import (
    Caller,
    HandleAdmin,
    IdentifierService,
    parse_prefix,
)

__all__ = ["TemplateService", "template_json"]


def template_json(row: Template) -> dict[str, Any]:
    """A stored template in the SNMS JSON form, with its prefix and id."""
    return {"id": row.id, "prefix": row.prefix, **_spec(row).to_json()}


def _spec(row: Template) -> TemplateSpec:
    return TemplateSpec.from_json(
        {"version": row.version, "name": row.name, "industryClass": row.industry_class,
         "description": row.description, "items": row.items}
    )  # fmt: skip


def parse_spec(raw: dict[str, Any]) -> TemplateSpec:
    """A template from JSON, or ``InvalidInput`` naming what is wrong."""
    try:
        return TemplateSpec.from_json(raw)
    except TemplateError as exc:
        raise InvalidInput(exc.message, code="template_violation") from exc


class TemplateService:
    """Templates within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.identifiers = IdentifierService(session, self.clock)

    async def _writable(self, caller: Caller, prefix: str) -> str:
        row = await self.identifiers.get_prefix(parse_prefix(prefix))
        self.identifiers.authorize(caller, row, None, AdminPermission.ADD_HANDLE)
        return row.prefix

    async def get(self, prefix: str, version: str) -> Template:
        """One template version of a prefix."""
        row = await self.session.scalar(
            sa.select(Template).where(
                Template.prefix == parse_prefix(prefix), Template.version == version
            )
        )
        if row is None:
            raise NotFound(
                N_("no template {version} under {prefix}"), code="template_not_found",
                version=repr(version), prefix=prefix,
            )  # fmt: skip
        return row

    async def all(self, prefix: str | None = None) -> list[Template]:
        """Templates, of one prefix or all, by prefix and version."""
        query = sa.select(Template).order_by(Template.prefix, Template.version)
        if prefix:
            query = query.where(Template.prefix == parse_prefix(prefix))
        return list(await self.session.scalars(query))

    async def save(
        self, caller: Caller, prefix: str, spec: TemplateSpec, *, replace: bool = False
    ) -> Template:
        """Add a template version, or replace one no identifier uses yet (``replace``)."""
        prefix = await self._writable(caller, prefix)
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        now = self.clock.now()
        row = await self.session.scalar(
            sa.select(Template).where(Template.prefix == prefix, Template.version == spec.version)
        )
        fields = {
            "name": spec.name, "industry_class": spec.industry_class,
            "description": spec.description, "items": [i.to_json() for i in spec.items],
        }  # fmt: skip
        if row is None:
            row = Template(prefix=prefix, version=spec.version, created_at=now, **fields)
            self.session.add(row)
            await self.session.flush()
            await record_audit(
                self.session, actor, "template.create", "template", f"{prefix}@{spec.version}",
                after=spec.to_json(), at=now,
            )  # fmt: skip
            return row
        if not replace:
            raise Conflict(
                N_("template {version} exists under {prefix}; publish a new version"),
                code="template_exists", version=spec.version, prefix=prefix,
            )  # fmt: skip
        await self._refuse_if_used(row)
        before = _spec(row).to_json()
        for name, value in fields.items():
            setattr(row, name, value)
        await record_audit(
            self.session, actor, "template.update", "template", f"{prefix}@{spec.version}",
            before=before, after=spec.to_json(), at=now,
        )  # fmt: skip
        return row

    async def _refuse_if_used(self, row: Template) -> None:
        used = await self.session.scalar(
            sa.select(sa.func.count()).where(HandleRow.template == row.version)
        )
        if used:
            raise Conflict(
                N_("{used} identifiers use template {version}; publish a new version instead"),
                code="template_in_use", used=used, version=row.version,
            )  # fmt: skip

    async def delete(self, caller: Caller, prefix: str, version: str) -> None:
        """Delete a template version that no identifier uses."""
        prefix = await self._writable(caller, prefix)
        row = await self.get(prefix, version)
        await self._refuse_if_used(row)
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        await record_audit(
            self.session, actor, "template.delete", "template", f"{prefix}@{version}",
            before=_spec(row).to_json(), at=self.clock.now(),
        )  # fmt: skip
        await self.session.delete(row)

    async def install_builtins(self, actor: Principal, prefix: str) -> list[Template]:
        """Install the shipped templates (elevator, optical cable, fabric) under a prefix."""
        installed = []
        for spec in BUILTIN_TEMPLATES:
            existing = await self.session.scalar(
                sa.select(Template).where(
                    Template.prefix == parse_prefix(prefix), Template.version == spec.version
                )
            )
            installed.append(existing or await self.save(actor, prefix, spec))
        return installed
