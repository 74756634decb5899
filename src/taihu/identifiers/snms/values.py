"""SNMS identifier objects → Handle values, indexed as their template numbers its items."""

from __future__ import annotations

from typing import Any, NoReturn

from taihu.core import N_, InvalidInput, TaihuError
from taihu.identifiers.handle import TEMPLATE_TYPE, HandleValue, HandleValueError
from taihu.identifiers.records import value_from_json
from taihu.identifiers.registration import IdentifierService, parse_handle
from taihu.identifiers.snms.common import FIRST_ITEM_INDEX

__all__ = ["TEMPLATE_INDEX", "snms_values", "template_indexes"]

TEMPLATE_INDEX = 1001  # reserved for the TEMPLATE value (handle-operate.md)

# (prefix, template version) → {idType: idIndex}
Indexes = dict[tuple[str, str], dict[str, int]]


def _template_of(raw: object) -> tuple[str, str] | None:
    """(prefix, version) of an identifier object with a value sent without an index."""
    if not isinstance(raw, dict):
        return None
    handle, version, items = raw.get("handle"), raw.get("templateVersion"), raw.get("value")
    if not (isinstance(handle, str) and version and isinstance(items, list)):
        return None
    if all(isinstance(i, dict) and "index" in i for i in items):
        return None  # nothing to number: no look-up (the bulk loaders send every index)
    try:
        return parse_handle(handle).prefix, str(version)
    except TaihuError:
        return None


async def template_indexes(service: IdentifierService, raws: list[Any]) -> Indexes:
    """The item indexes of the templates the objects name, where a value lacks its index."""
    indexes: Indexes = {}
    for wanted in {t for t in map(_template_of, raws) if t}:
        try:
            spec = await service.template_for(*wanted)
        except TaihuError:
            continue  # an unknown version is refused, with its name, when the item is written
        indexes[wanted] = {i.id_type: FIRST_ITEM_INDEX + n for n, i in enumerate(spec.items)}
    return indexes


def snms_values(raw: object, indexes: Indexes | None = None) -> tuple[str, list[HandleValue]]:
    """An SNMS identifier object → (handle, values); a TEMPLATE value is added when named.

    A value sent without ``index`` gets its template item's ``idIndex``; without a template,
    2000 onwards in the order sent.
    """
    if not isinstance(raw, dict):
        raise InvalidInput(N_("each identifier must be an object"), code="bad_item")
    handle = raw.get("handle")
    if not isinstance(handle, str):
        raise InvalidInput(N_("an identifier needs a handle"), code="bad_item")
    items = raw.get("value", raw.get("values", []))
    if not isinstance(items, list):
        raise InvalidInput(N_("{handle}: value must be a list"), code="bad_item", handle=handle)
    # Only when a template of the batch numbers its items (the bulk loaders send every index).
    known = indexes.get(_template_of(raw) or ("", ""), {}) if indexes else {}
    values = []
    try:
        for n, item in enumerate(items):
            indexed = item
            if isinstance(item, dict) and "index" not in item:
                # Types the template lacks come after its items (and are refused by it).
                index = known.get(item.get("type", "")) or FIRST_ITEM_INDEX + len(known) + n
                indexed = {**item, "index": index}
            value = value_from_json(indexed)
            if value.index == TEMPLATE_INDEX and value.type != TEMPLATE_TYPE:
                _refuse_reserved(handle)
            values.append(value)
    except HandleValueError as exc:
        raise InvalidInput(
            N_("{handle}: {reason}"), code="invalid_value", handle=handle, reason=exc.message
        ) from exc
    version = raw.get("templateVersion")
    if version and not any(v.type == TEMPLATE_TYPE for v in values):
        values.append(HandleValue(TEMPLATE_INDEX, TEMPLATE_TYPE, str(version).encode()))
    return handle, values


def _refuse_reserved(handle: str) -> NoReturn:
    raise InvalidInput(
        N_("{handle}: index {index} is reserved for the template version"),
        code="reserved_index", handle=handle, index=TEMPLATE_INDEX,
    )  # fmt: skip
