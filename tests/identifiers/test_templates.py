"""Template validation, without HTTP, and the shipped templates."""

from __future__ import annotations

import pytest

from taihu.identifiers import HandleValue
from taihu.identifiers.handle import (
    BUILTIN_TEMPLATES,
    TemplateError,
    TemplateSpec,
    industry_levels,
)

ELEVATOR = next(t for t in BUILTIN_TEMPLATES if t.version == "elevator-1.0")


def _values(**items: str) -> list[HandleValue]:
    base = {
        "manufacturer": "苏州恒立电梯有限公司",
        "model": "HL-2000",
        "batch": "B1",
        "productionDate": "2026-03-14",
        "serialNumber": "SN0001",
        "ratedLoadKg": "1000",
        **items,
    }
    return [
        HandleValue(index=2000 + n, type=k, data=v.encode())
        for n, (k, v) in enumerate(base.items())
        if v
    ]


def test_valid_values_pass() -> None:
    ELEVATOR.validate(_values(lastMaintenance="2026-10-01", maintenanceRecord="换钢丝绳"))


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ({"model": ""}, r"item 'model' \(型号 Model\) is required"),
        ({"ratedLoadKg": "heavy"}, "item 'ratedLoadKg'"),
        ({"productionDate": "14/03/2026"}, "item 'productionDate'.*not a date"),
        ({"serialNumber": "S1"}, "item 'serialNumber'.*length 2"),
        ({"colour": "red"}, "item 'colour' is not in template elevator-1.0"),
    ],
)
def test_errors_name_the_item(items: dict[str, str], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        ELEVATOR.validate(_values(**items))


def test_enum_items() -> None:
    cable = next(t for t in BUILTIN_TEMPLATES if t.version == "optical-cable-1.0")
    values = [
        HandleValue(index=n + 1, type=k, data=v.encode())
        for n, (k, v) in enumerate(
            {
                "manufacturer": "吴江光缆",
                "model": "GYTA-24B1",
                "batch": "B9",
                "productionDate": "2026-01-02",
                "fiberType": "G.652X",
                "fiberCount": "24",
                "lengthM": "2000",
            }.items()
        )
    ]
    with pytest.raises(TemplateError, match=r"'fiberType'.*not one of G\.652D"):
        cable.validate(values)


def test_gbt_4754_levels() -> None:
    assert industry_levels("3435") == {
        "industryCategory": "C",
        "industrySpecific": "34",
        "industryTrade": "343",
        "industrySubclass": "3435",
    }
    assert industry_levels("1751")["industryCategory"] == "C"
    with pytest.raises(TemplateError):
        industry_levels("99x")


def test_shipped_templates_round_trip_through_json() -> None:
    assert {t.industry_class for t in BUILTIN_TEMPLATES} == {"3435", "3833", "1751"}
    for spec in BUILTIN_TEMPLATES:
        again = TemplateSpec.from_json({**spec.to_json(), "industryClass": spec.industry_class})
        assert again == spec


@pytest.mark.parametrize(
    "raw",
    [
        {"version": "v1", "industryClass": "3435", "items": []},
        {"version": "v1", "industryClass": "3435", "items": [{"idType": "1bad"}]},
        {"version": "v1", "industryClass": "3435", "items": [{"idType": "a"}, {"idType": "a"}]},
        {"version": "v1", "industryClass": "3435",
         "items": [{"idType": "a", "metadata": {"type": "enum"}}]},
        {"version": "v1", "industryClass": "3435",
         "items": [{"idType": "a", "metadata": {"minLength": 5, "maxLength": 2}}]},
        {"version": "", "industryClass": "3435", "items": [{"idType": "a"}]},
    ],
)  # fmt: skip
def test_malformed_templates(raw: dict[str, object]) -> None:
    with pytest.raises(TemplateError):
        TemplateSpec.from_json(raw)


def test_a_url_value_is_no_template_item() -> None:
    # The Handle System's own URL type (a device's live data page) goes with any template.
    ELEVATOR.validate(_values(URL="https://taihu.example/public/devices/7"))
