"""The registry facts of an enterprise beyond its name and code, validated as one value.

The same ``Profile`` is built from an API body and from a row of an import file, so both say the
same thing about the same bad value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from taihu.core import N_, InvalidInput
from taihu.enterprises.industry import industry_class
from taihu.enterprises.places import township

__all__ = ["FIELDS", "Profile", "RevenueBand", "parse_flag"]


class RevenueBand(StrEnum):
    """Annual main-business revenue, in bands (规上 starts at ¥20 million)."""

    UNDER_20M = "<20M"
    FROM_20M = "20M-100M"
    FROM_100M = "100M-1B"
    FROM_1B = "1B-10B"
    OVER_10B = ">=10B"


_TRUE = {"1", "true", "yes", "y", "是", "√", "x"}
_FALSE = {"0", "false", "no", "n", "否", ""}


def parse_flag(value: object) -> bool:
    """A yes/no cell: 1/0, true/false, yes/no, 是/否, or empty for no."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(
        N_("{value!r} is not yes or no (1/0, true/false, 是/否)"), value=value, code="bad_flag"
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """Validated registry facts; ``None`` means unknown."""

    name_en: str | None = None
    township_code: str | None = None
    industry_code: str | None = None
    above_size: bool = False
    key_enterprise: bool = False
    chain_leader: bool = False
    employees: int | None = None
    revenue_band: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        for name in ("name_en", "address"):
            text = getattr(self, name)
            put(name, " ".join(text.split()) or None if text is not None else None)
        if self.township_code is not None:
            put("township_code", township(self.township_code).code)
        if self.industry_code is not None:
            put("industry_code", industry_class(self.industry_code).code)
        if self.employees is not None and not 0 <= self.employees <= 1_000_000:
            raise InvalidInput(
                N_("employees must be between 0 and 1000000, not {employees}"),
                employees=self.employees,
                code="bad_employees",
            )
        if self.revenue_band is not None:
            try:
                put("revenue_band", RevenueBand(self.revenue_band.strip()).value)
            except ValueError:
                bands = ", ".join(b.value for b in RevenueBand)
                raise InvalidInput(
                    N_("{revenue_band!r} is not a revenue band ({bands})"),
                    revenue_band=self.revenue_band,
                    bands=bands,
                    code="bad_revenue_band",
                ) from None
        if (self.latitude is None) != (self.longitude is None):
            raise InvalidInput(
                N_("give both latitude and longitude, or neither"), code="bad_location"
            )
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise InvalidInput(
                N_("latitude {latitude} is out of range"),
                latitude=self.latitude,
                code="bad_location",
            )
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise InvalidInput(
                N_("longitude {longitude} is out of range"),
                longitude=self.longitude,
                code="bad_location",
            )

    def as_dict(self) -> dict[str, Any]:
        """The facts as a plain mapping (for the audit log and the model)."""
        return asdict(self)


FIELDS = tuple(Profile.__dataclass_fields__)
