"""One identifier from its industry template: every problem of every item, not only the first.

``item_problems`` checks values against a template and lists each item's problem as a message id
with values (rendered in the reader's language beside the field, or in an import report's row);
``register_one`` writes one identifier through the batch service (authorized and audited there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.core import N_, Clock, Message
from taihu.identifiers.handle import (
    TEMPLATE_TYPE,
    Handle,
    HandleValue,
    HandleValueError,
    ItemSpec,
    TemplateSpec,
)
from taihu.identifiers.registration.batch import BatchItem, BatchService, ItemCode
from taihu.identifiers.registration.seckeys import SecretKeyBox

__all__ = ["FormField", "form_fields", "item_problem", "item_problems", "register_one"]

FIRST_INDEX = 2000
TEMPLATE_INDEX = 1001
_UNIT = re.compile("[\uff08(]([^()\uff08\uff09]{1,16})[)\uff09]")  # ASCII or full-width brackets


@dataclass(frozen=True, slots=True)
class FormField:
    """An item of a template as a form shows it: label, unit, input kind and choices."""

    id_type: str
    label: str
    unit: str
    kind: str  # text | number | date | choice
    required: bool
    min_length: int
    max_length: int
    options: tuple[str, ...]


def form_fields(spec: TemplateSpec) -> list[FormField]:
    """The form of a template, in its item order (units come from the label's brackets)."""
    kinds = {"string": "text", "number": "number", "date": "date", "enum": "choice"}
    fields = []
    for item in spec.items:
        unit = _UNIT.search(item.name)
        field = FormField(
            item.id_type, item.name, unit[1] if unit else "", kinds[item.type], item.required,
            item.min_length, item.max_length, item.options,
        )  # fmt: skip
        fields.append(field)
    return fields


def item_problem(item: ItemSpec, text: str) -> Message | None:
    """Why one value breaks its item, or ``None``."""
    if not item.min_length <= len(text) <= item.max_length:
        return Message(
            N_("give {min} to {max} characters (this has {length})"),
            min=item.min_length, max=item.max_length, length=len(text),
        )  # fmt: skip
    if item.type == "number":
        try:
            float(text)
        except ValueError:
            return Message(N_("{value} is not a number"), value=text)
    elif item.type == "date":
        try:
            date.fromisoformat(text)
        except ValueError:
            return Message(N_("{value} is not a date (YYYY-MM-DD)"), value=text)
    elif item.type == "enum" and text not in item.options:
        return Message(
            N_("{value} is not one of {choices}"), value=text, choices=", ".join(item.options)
        )
    return None


def item_problems(spec: TemplateSpec, values: list[HandleValue]) -> dict[str, Message]:
    """Every item the values break, by item type (unknown and missing items included)."""
    by_type = {i.id_type: i for i in spec.items}
    problems: dict[str, Message] = {}
    present: set[str] = set()
    for value in values:
        if value.type.startswith("HS_") or value.type == TEMPLATE_TYPE:
            continue
        item = by_type.get(value.type)
        if item is None:
            problems[value.type] = Message(
                N_("{item} is not an item of template {version}"),
                item=value.type, version=spec.version,
            )  # fmt: skip
            continue
        present.add(item.id_type)
        text = value.text
        problem = item_problem(item, text) if text is not None else Message(N_("not UTF-8 text"))
        if problem is not None:
            problems[item.id_type] = problem
    for item in spec.items:
        if item.required and item.id_type not in present and item.id_type not in problems:
            problems[item.id_type] = Message(N_("required"))
    return problems


async def register_one(
    session: AsyncSession,
    actor: Principal,
    spec: TemplateSpec,
    handle: str,
    fields: dict[str, str],
    *,
    clock: Clock,
    seckeys: SecretKeyBox | None,
) -> tuple[str | None, dict[str, Message]]:
    """Register ``handle`` with the template's items; (its handle, {}) or (None, problems).

    Problems are keyed by item type, ``suffix`` for the handle itself.
    """
    problems: dict[str, Message] = {}
    try:
        parsed: Handle | None = Handle(handle)
    except HandleValueError as exc:
        parsed = None
        problems["suffix"] = Message(N_("not a valid identifier: {reason}"), reason=exc.message)
    values = [
        HandleValue(FIRST_INDEX + n, item.id_type, fields[item.id_type].strip().encode())
        for n, item in enumerate(spec.items)
        if fields.get(item.id_type, "").strip()
    ]
    problems |= item_problems(spec, values)
    if problems or parsed is None:
        return None, problems
    values.append(HandleValue(TEMPLATE_INDEX, TEMPLATE_TYPE, spec.version.encode()))
    [result] = await BatchService(session, clock, seckeys=seckeys).write(
        actor, [BatchItem(parsed.text, values)], update=False
    )
    if result.code != ItemCode.OK:
        return None, {"suffix": Message(N_("not registered: {reason}"), reason=result.message)}
    return parsed.text, {}
