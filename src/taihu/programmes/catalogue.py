"""The programmes a district starts with, and the vocabulary of levels, stages and decisions.

The built-ins are data like any other programme: they are written to the table the first time
programmes are read from an empty table (as chain templates are), and the bureau can add its
own. Subsidy amounts vary by year and batch, so the built-ins leave them empty rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taihu.core import N_

__all__ = [
    "DECISION_LABELS",
    "LEVELS",
    "LEVEL_LABELS",
    "STAGES",
    "STAGE_LABELS",
    "STATUS_LABELS",
    "ProgrammeSpec",
    "builtin_programmes",
]

LEVELS = ("national", "provincial", "city", "district")
LEVEL_LABELS = {
    "national": N_("national"),
    "provincial": N_("provincial"),
    "city": N_("city"),
    "district": N_("district"),
}
# A programme's stages, in order; the first is always the applicant's own.
STAGES = ("enterprise", "district", "city", "province", "national")
STAGE_LABELS = {
    "enterprise": N_("enterprise"),
    "district": N_("district bureau"),
    "city": N_("city"),
    "province": N_("province"),
    "national": N_("ministry"),
}
STATUS_LABELS = {
    "in_review": N_("in review"),
    "returned": N_("sent back for changes"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}
DECISION_LABELS = {
    "submitted": N_("submitted"),
    "resubmitted": N_("resubmitted"),
    "passed": N_("passed"),
    "returned": N_("sent back for changes"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}

_MIIT = "工业和信息化部 (MIIT)"
_JIANGSU = "江苏省工业和信息化厅 (Jiangsu Department of Industry and Information Technology)"
_UP_TO_MINISTRY = ("enterprise", "district", "city", "province", "national")
_UP_TO_PROVINCE = ("enterprise", "district", "city", "province")


def _doc(key: str, zh: str, en: str, *, required: bool = True) -> dict[str, Any]:
    return {"key": key, "name_zh": zh, "name_en": en, "required": required}


_LICENCE = _doc("licence", "营业执照", "Business licence")
_FORM = _doc("application_form", "申报书", "Application form")
_REPORT = _doc("report", "项目报告或佐证材料", "Project report or evidence", required=False)


@dataclass(frozen=True, slots=True)
class ProgrammeSpec:
    """A programme as written in the catalogue (or sent by the bureau)."""

    key: str
    name_zh: str
    name_en: str
    level: str
    issuing_body: str
    stages: tuple[str, ...]
    criteria: str = ""
    documents: tuple[dict[str, Any], ...] = (_LICENCE, _FORM)
    grades: tuple[dict[str, Any], ...] = ()
    validity_years: int | None = None
    subsidy_yuan: int | None = None
    year: int | None = None
    batch: str = ""
    form_id: str | None = None  # a survey form applicants fill instead of the built-in form


def builtin_programmes() -> tuple[ProgrammeSpec, ...]:
    """The programmes the district's industrial-internet work report names."""
    stars = tuple(
        {"key": f"{n}", "name_zh": f"{n}星级", "name_en": f"{n} star" + ("s" if n > 1 else "")}
        for n in range(1, 6)
    )
    return (
        ProgrammeSpec(
            "iiot_pilot",
            "工业互联网试点示范项目",
            "Industrial internet pilot and demonstration project",
            "national",
            _MIIT,
            _UP_TO_MINISTRY,
            "面向网络、平台、安全、标识解析等方向的试点示范项目。按年度申报指南。",
            (_LICENCE, _FORM, _REPORT),
        ),
        ProgrammeSpec(
            "iiot_solution",
            "工业互联网优秀解决方案",
            "Excellent industrial internet solution",
            "national",
            _MIIT,
            _UP_TO_MINISTRY,
            "已在企业落地、成效可量化的行业解决方案。",
            (_LICENCE, _FORM, _REPORT),
        ),
        ProgrammeSpec(
            "big_data_pilot",
            "大数据产业发展试点示范项目",
            "Big-data industry development pilot and demonstration project",
            "national",
            _MIIT,
            _UP_TO_MINISTRY,
            "数据资源、技术产品、融合应用等方向的试点示范。",
            (_LICENCE, _FORM, _REPORT),
        ),
        ProgrammeSpec(
            "benchmark_factory",
            "工业互联网标杆工厂",
            "Industrial internet benchmark factory",
            "provincial",
            _JIANGSU,
            _UP_TO_PROVINCE,
            "工厂内网改造、设备上云、数据驱动的生产运营。",
            (_LICENCE, _FORM, _REPORT),
            validity_years=3,
        ),
        ProgrammeSpec(
            "provincial_demo_enterprise",
            "省工业互联网发展示范企业",
            "Provincial industrial internet demonstration enterprise",
            "provincial",
            _JIANGSU,
            _UP_TO_PROVINCE,
            "工业互联网平台建设或应用成效突出的企业。",
            validity_years=3,
        ),
        ProgrammeSpec(
            "first_edition_software",
            "重点领域首版次软件产品",
            "First-edition software product in key fields",
            "provincial",
            _JIANGSU,
            _UP_TO_PROVINCE,
            "首次实现商业化应用的自主软件产品。",
            (_LICENCE, _FORM, _REPORT),
        ),
        ProgrammeSpec(
            "cloud_stars",
            "星级上云企业",
            "Star-rated cloud enterprise",
            "provincial",
            _JIANGSU,
            _UP_TO_PROVINCE,
            "按上云深度评定一至五星。",
            grades=stars,
            validity_years=3,
        ),
        ProgrammeSpec(
            "two_integration",
            "两化融合管理体系贯标试点企业",
            "Integration of informatisation and industrialisation management system pilot "
            "enterprise",
            "provincial",
            _JIANGSU,
            _UP_TO_PROVINCE,
            "按 GB/T 23001 贯标并通过评定。分 AAA、AA、A 级。",
            grades=tuple({"key": g, "name_zh": f"{g}级", "name_en": g} for g in ("AAA", "AA", "A")),
            validity_years=3,
        ),
        ProgrammeSpec(
            "specialised_sme",
            "专精特新中小企业",
            "Specialised, refined, distinctive and innovative SME",
            "provincial",
            _JIANGSU,
            _UP_TO_PROVINCE,
            "专业化、精细化、特色化、新颖化的中小企业。",
            grades=(
                {
                    "key": "provincial",
                    "name_zh": "省级专精特新",
                    "name_en": "provincial",
                    "level": "provincial",
                },
                {
                    "key": "little_giant",
                    "name_zh": "国家级专精特新“小巨人”",
                    "name_en": "national little giant",
                    "level": "national",
                },
            ),
            validity_years=3,
        ),
    )
