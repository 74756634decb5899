"""Industry data templates (SNMS style): versioned item lists that registrations must satisfy.

A template belongs to a prefix (a node prefix's templates serve every enterprise prefix below it),
is named by its version string, is classified by GB/T 4754-2017 (category letter, division,
group, class) and lists items::

    {"name": "型号", "idType": "model", "required": true,
     "metadata": {"type": "string", "minLength": 1, "maxLength": 64}}

``type`` is ``string``, ``number``, ``date`` (YYYY-MM-DD) or ``enum`` (``options`` lists the
allowed values). An identifier names its template with a ``TEMPLATE`` value holding the version.
This module knows nothing of HTTP or the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from taihu.core.messages import N_, Message
from taihu.identifiers.handle.values import HandleValue

__all__ = [
    "BUILTIN_TEMPLATES",
    "TEMPLATE_TYPE",
    "URL_TYPE",
    "ItemSpec",
    "TemplateError",
    "TemplateSpec",
    "industry_levels",
]

TEMPLATE_TYPE = "TEMPLATE"
# The Handle System's own web address type: a record under any template may point to a page
# (a device's live data page, see taihu.nameplates); it is no industry item.
URL_TYPE = "URL"
_ITEM_TYPES = frozenset({"string", "number", "date", "enum"})
_ID_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_CLASS = re.compile(r"^\d{2,4}$")
# GB/T 4754-2017 divisions → category letters (the divisions this district's templates use and
# their neighbours; the rest map by range below).
_CATEGORY_RANGES = (
    (1, 5, "A"), (6, 12, "B"), (13, 43, "C"), (44, 46, "D"), (47, 50, "E"), (51, 52, "F"),
    (53, 60, "G"), (61, 62, "H"), (63, 65, "I"), (66, 69, "J"), (70, 70, "K"), (71, 72, "L"),
    (73, 75, "M"), (76, 79, "N"), (80, 82, "O"), (83, 83, "P"), (84, 85, "Q"), (86, 90, "R"),
    (91, 96, "S"), (97, 97, "T"),
)  # fmt: skip


class TemplateError(ValueError):
    """A template is malformed, or values break it; the message (and ``item``) name the item.

    ``message`` is a message id with values (shown in the reader's language); the exception's
    own text is the English sentence.
    """

    def __init__(self, message: str, /, *, item: str | None = None, **params: Any) -> None:
        self.message = Message(message, **params)
        super().__init__(self.message.render())
        self.item = item


def industry_levels(code: str) -> dict[str, str]:
    """The four GB/T 4754 levels of a class code: ``3435`` → C / 34 / 343 / 3435."""
    if not _CLASS.match(code):
        raise TemplateError(N_("GB/T 4754 code must be 2 to 4 digits, not {code}"), code=repr(code))
    division = int(code[:2])
    category = next((c for lo, hi, c in _CATEGORY_RANGES if lo <= division <= hi), None)
    if category is None:
        raise TemplateError(N_("{division} is not a GB/T 4754-2017 division"), division=code[:2])
    return {
        "industryCategory": category,
        "industrySpecific": code[:2],
        "industryTrade": code[:3] if len(code) >= 3 else "",
        "industrySubclass": code if len(code) == 4 else "",
    }


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """One item of a template."""

    id_type: str
    name: str
    required: bool
    type: str
    min_length: int
    max_length: int
    options: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, raw: object) -> ItemSpec:
        """An item from its SNMS JSON form."""
        if not isinstance(raw, dict):
            raise TemplateError(N_("each item must be an object"))
        id_type = raw.get("idType")
        if not isinstance(id_type, str) or not _ID_TYPE.match(id_type):
            raise TemplateError(
                N_("item idType {id_type} must be a letter then letters/digits"),
                id_type=repr(id_type),
            )
        meta = raw.get("metadata") or {}
        if isinstance(meta, list):  # SNMS documents metadata as an array of one object
            meta = meta[0] if meta else {}
        if not isinstance(meta, dict):
            raise TemplateError(N_("item {id_type}: metadata must be an object"), id_type=id_type)
        type_ = meta.get("type", "string")
        if type_ not in _ITEM_TYPES:
            raise TemplateError(
                N_("item {id_type}: type {type} is not one of {types}"),
                id_type=id_type, type=repr(type_), types=sorted(_ITEM_TYPES),
            )  # fmt: skip
        min_length, max_length = meta.get("minLength", 0), meta.get("maxLength", 1024)
        if not (isinstance(min_length, int) and isinstance(max_length, int)) or not (
            0 <= min_length <= max_length <= 65536
        ):
            raise TemplateError(
                N_("item {id_type}: need 0 ≤ minLength ≤ maxLength ≤ 65536"), id_type=id_type
            )
        options = tuple(str(o) for o in meta.get("options", ()))
        if type_ == "enum" and not options:
            raise TemplateError(N_("item {id_type}: an enum needs options"), id_type=id_type)
        return cls(
            id_type=id_type,
            name=str(raw.get("name") or id_type),
            required=bool(raw.get("required", False)),
            type=type_,
            min_length=min_length,
            max_length=max_length,
            options=options,
        )

    def to_json(self) -> dict[str, Any]:
        """The SNMS JSON form."""
        meta: dict[str, Any] = {
            "type": self.type,
            "minLength": self.min_length,
            "maxLength": self.max_length,
        }
        if self.options:
            meta["options"] = list(self.options)
        return {
            "name": self.name,
            "idType": self.id_type,
            "required": self.required,
            "metadata": meta,
        }

    def check(self, text: str) -> Message | None:
        """Why a value breaks this item, or ``None``."""
        if not self.min_length <= len(text) <= self.max_length:
            return Message(
                N_("length {length} is outside {min}..{max}"),
                length=len(text), min=self.min_length, max=self.max_length,
            )  # fmt: skip
        if self.type == "number":
            try:
                float(text)
            except ValueError:
                return Message(N_("{text} is not a number"), text=repr(text))
        elif self.type == "date":
            try:
                date.fromisoformat(text)
            except ValueError:
                return Message(N_("{text} is not a date (YYYY-MM-DD)"), text=repr(text))
        elif self.type == "enum" and text not in self.options:
            return Message(
                N_("{text} is not one of {options}"),
                text=repr(text),
                options=", ".join(self.options),
            )
        return None


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A template version: its classification and items."""

    version: str
    name: str
    industry_class: str
    description: str
    items: tuple[ItemSpec, ...]

    def __post_init__(self) -> None:
        if not self.version or len(self.version) > 128:
            raise TemplateError(N_("a template needs a version of at most 128 characters"))
        industry_levels(self.industry_class)
        if not self.items:
            raise TemplateError(N_("a template needs at least one item"))
        seen: set[str] = set()
        for item in self.items:
            if item.id_type in seen:
                raise TemplateError(N_("item {id_type} appears twice"), id_type=item.id_type)
            seen.add(item.id_type)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TemplateSpec:
        """A template from the SNMS JSON form (``industryClass`` or ``industrySubclass``)."""
        items = raw.get("items")
        if not isinstance(items, list):
            raise TemplateError(N_("items must be a list"))
        industry = raw.get("industryClass") or raw.get("industrySubclass") or raw.get(
            "industryTrade"
        ) or raw.get("industrySpecific") or ""  # fmt: skip
        return cls(
            version=str(raw.get("version", "")),
            name=str(raw.get("name") or raw.get("description") or raw.get("version", "")),
            industry_class=str(industry),
            description=str(raw.get("description", "")),
            items=tuple(ItemSpec.from_json(i) for i in items),
        )

    def to_json(self) -> dict[str, Any]:
        """The SNMS JSON form."""
        return {
            "version": self.version,
            "name": self.name,
            **industry_levels(self.industry_class),
            "type": 1,
            "description": self.description,
            "items": [i.to_json() for i in self.items],
        }

    def validate(self, values: list[HandleValue]) -> None:
        """Raise ``TemplateError`` naming the first item the values break."""
        by_type = {i.id_type: i for i in self.items}
        present: set[str] = set()
        for value in values:
            if value.type.startswith("HS_") or value.type == TEMPLATE_TYPE:
                continue
            item = by_type.get(value.type)
            if item is None and value.type == URL_TYPE:
                continue
            if item is None:
                known = ", ".join(sorted(by_type))
                raise TemplateError(
                    N_("item {id_type} is not in template {version} (it has: {known})"),
                    item=value.type, id_type=repr(value.type), version=self.version, known=known,
                )  # fmt: skip
            text = value.text
            problem = Message(N_("is not UTF-8 text")) if text is None else item.check(text)
            if problem:
                raise TemplateError(
                    N_("item {id_type} ({name}): {problem}"),
                    item=item.id_type, id_type=repr(item.id_type), name=item.name, problem=problem,
                )  # fmt: skip
            present.add(item.id_type)
        for item in self.items:
            if item.required and item.id_type not in present:
                raise TemplateError(
                    N_("item {id_type} ({name}) is required"),
                    item=item.id_type, id_type=repr(item.id_type), name=item.name,
                )  # fmt: skip


def _item(
    id_type: str, name: str, *, required: bool = False, type_: str = "string",
    min_length: int = 0, max_length: int = 128, options: tuple[str, ...] = (),
) -> ItemSpec:  # fmt: skip
    return ItemSpec(id_type, name, required, type_, min_length, max_length, options)


_COMMON = (
    _item("manufacturer", "制造商 Manufacturer", required=True, min_length=2, max_length=200),
    _item("model", "型号 Model", required=True, min_length=1, max_length=64),
    _item("batch", "批次 Batch", required=True, min_length=1, max_length=64),
    _item("productionDate", "生产日期 Production date", required=True, type_="date"),
)

BUILTIN_TEMPLATES = (
    TemplateSpec(
        version="elevator-1.0",
        name="电梯 Elevator",
        industry_class="3435",
        description="电梯、自动扶梯及升降机制造 Elevators, escalators and lifts",
        items=(
            *_COMMON,
            _item("serialNumber", "出厂编号 Serial number", required=True, min_length=4),
            _item("ratedLoadKg", "额定载重(kg) Rated load", required=True, type_="number"),
            _item("ratedSpeed", "额定速度(m/s) Rated speed", type_="number"),
            _item("floors", "层站数 Floors", type_="number"),
            _item("installSite", "安装地点 Installation site", max_length=200),
            _item("maintainer", "维保单位 Maintainer", max_length=200),
            _item("lastMaintenance", "最近维保 Last maintenance", type_="date"),
            _item("maintenanceRecord", "维保记录 Maintenance record", max_length=2000),
        ),
    ),
    TemplateSpec(
        version="optical-cable-1.0",
        name="光缆 Optical cable",
        industry_class="3833",
        description="光缆制造 Optical fibre cable",
        items=(
            *_COMMON,
            _item(
                "fiberType",
                "光纤类型 Fibre type",
                required=True,
                type_="enum",
                options=("G.652D", "G.655", "G.657A1", "G.657A2", "OM3", "OM4"),
            ),
            _item("fiberCount", "芯数 Fibre count", required=True, type_="number"),
            _item("lengthM", "盘长(m) Reel length", required=True, type_="number"),
            _item("sheath", "护套 Sheath", type_="enum", options=("PE", "LSZH", "PVC")),
            _item("standard", "执行标准 Standard", max_length=64),
        ),
    ),
    TemplateSpec(
        version="fabric-1.0",
        name="面料 Fabric",
        industry_class="1751",
        description="化纤织物织造加工 Chemical-fibre fabric weaving",
        items=(
            *_COMMON,
            _item("composition", "成分 Composition", required=True, min_length=2),
            _item("weightGsm", "克重(g/m²) Weight", required=True, type_="number"),
            _item("widthCm", "门幅(cm) Width", type_="number"),
            _item("color", "颜色 Colour", max_length=64),
            _item("grade", "等级 Grade", type_="enum", options=("优等品", "一等品", "合格品")),
        ),
    ),
)
