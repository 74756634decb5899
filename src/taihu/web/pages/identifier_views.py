"""What the identifiers page shows instead of raw data: names, natural order, template labels."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.core import TaihuError
from taihu.enterprises import Enterprise
from taihu.identifiers import HandleRow, IdentifierService, Prefix

__all__ = ["enterprise_names", "example_handle", "item_labels", "natural_key"]

_PARTS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders numbers by value: ``88.118.2`` before ``88.118.10``."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _PARTS.split(text) if p)


async def enterprise_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    """The names of these enterprises, by id."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(wanted))
    )
    return {int(i): str(name) for i, name in rows.all()}


async def example_handle(session: AsyncSession, prefixes: list[Prefix]) -> str | None:
    """The identifier registered last under these prefixes (the lookup's placeholder), if any."""
    ids = [p.id for p in prefixes if p.kind != "node"]
    if not ids:
        return None
    found = await session.scalar(
        sa.select(HandleRow.handle).where(HandleRow.prefix_id.in_(ids))
        .order_by(HandleRow.id.desc()).limit(1)
    )  # fmt: skip
    return str(found) if found else None


async def item_labels(
    service: IdentifierService, prefix: str, values: list[dict[str, Any]]
) -> dict[str, str]:
    """The template's label of each value type (``model`` → ``型号 Model``), when it names one."""
    version = next((v["data"]["value"] for v in values if v["type"] == "TEMPLATE"), None)
    if not isinstance(version, str):
        return {}
    try:
        template = await service.template_for(prefix, version)
    except TaihuError:
        return {}
    return {item.id_type: item.name for item in template.items}
