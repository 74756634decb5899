"""The built-in "产业链摸底" form: an XLSForm, in Chinese and English, bound to the map.

It is written from the current chain templates when installed, so its input choices are the
segments of the district's chains (an input is a segment key, as the supply edges name it) and a
template change makes a new version. Its bindings (``bind::taihu:field``) feed employees, the
revenue band, suppliers and customers to the registry and the chains (``feeding.py``).
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.chains import ChainSpec, TemplateStore
from taihu.core import Clock
from taihu.enterprises import RevenueBand
from taihu.surveys.models import FormVersion
from taihu.surveys.service import SurveyService

__all__ = ["CHAIN_FORM_ID", "chain_form_xlsx", "install_chain_form"]

CHAIN_FORM_ID = "taihu_chain_survey"
NAMESPACE = 'taihu="https://taihu.dev/xforms"'
_HEAD = ["type", "name", "label::中文 (zh)", "label::English (en)", "hint::中文 (zh)",
         "hint::English (en)", "required", "constraint", "constraint_message::中文 (zh)",
         "constraint_message::English (en)", "choice_filter", "bind::taihu:field"]  # fmt: skip
_SHARE = (". >= 0 and . <= 100", "0 到 100", "0 to 100")
_NOT_NEGATIVE = (". >= 0", "不能为负数", "Not negative")
_RINGS = [("district", "区内", "In the district"), ("city", "市内", "In the city"),
          ("province", "省内", "In the province"), ("china", "国内其他省份", "Elsewhere in China"),
          ("abroad", "境外", "Abroad")]  # fmt: skip
_BANDS = {"<20M": ("2000万元以下", "Under ¥20 million"),
          "20M-100M": ("2000万至1亿元", "¥20 to 100 million"),
          "100M-1B": ("1亿至10亿元", "¥100 million to 1 billion"),
          "1B-10B": ("10亿至100亿元", "¥1 to 10 billion"),
          ">=10B": ("100亿元及以上", "¥10 billion and more")}  # fmt: skip


def _q(kind: str, name: str, zh: str, en: str, *, bind: str = "", required: bool = False,
       check: tuple[str, str, str] = ("", "", ""), hint: tuple[str, str] = ("", ""),
       choice_filter: str = "") -> list[Any]:  # fmt: skip
    return [kind, name, zh, en, hint[0], hint[1], "yes" if required else "", check[0], check[1],
            check[2], choice_filter, bind]  # fmt: skip


def _relations(prefix: str, kind: str, zh: str, en: str, whom: tuple[str, str]) -> list[list[Any]]:
    filtered = f"chain=${{{prefix}_chain}}"
    ring = (
        [
            _q(
                "select_one ring",
                f"{prefix}_ring",
                f"{whom[0]}所在区域",
                f"Where the {whom[1].lower()} is",
                bind="ring",
            )
        ]
        if kind == "suppliers"
        else []
    )
    return [
        _q("begin_repeat", kind, zh, en, bind=kind),
        _q("text", f"{prefix}_name", f"{whom[0]}名称", f"{whom[1]} name", bind="name"),
        _q("text", f"{prefix}_code", "统一社会信用代码", "Unified social credit code",
           bind="credit_code", hint=("区内企业请填写", "For an enterprise in the district")),
        *ring,
        _q("select_one chain", f"{prefix}_chain", "所属产业链", "Chain"),
        _q("select_one segment", f"{prefix}_input", "产品或原料", "Product or input", bind="input",
           required=True, choice_filter=filtered),
        _q("decimal", f"{prefix}_share", "占比(%)", "Share (%)", bind="share", check=_SHARE),
        _q("decimal", f"{prefix}_value", "年金额(万元)", "Annual value (10k yuan)", bind="value",
           check=_NOT_NEGATIVE, hint=("不填则按占比折算", "Left empty: the share of the total")),
        _q("select_one yn", f"{prefix}_subst", "是否容易替代", "Easily replaced?",
           bind="substitutable"),
        _q("end_repeat", "", "", ""),
    ]  # fmt: skip


def chain_form_xlsx(chains: tuple[ChainSpec, ...]) -> tuple[bytes, str]:
    """The workbook for these chain templates, and its version."""
    version = "chains-" + "-".join(f"{c.key}.{c.version}" for c in chains)
    survey = [
        _HEAD,
        _q("text", "credit_code", "企业统一社会信用代码", "Enterprise's credit code",
           hint=("调查员代填时必填", "Required when a surveyor answers for the enterprise")),
        _q("integer", "employees", "从业人员数", "Employees", bind="employees", required=True,
           check=_NOT_NEGATIVE),
        _q("select_one band", "revenue_band", "上年营业收入", "Last year's revenue",
           bind="revenue_band"),
        _q("select_multiple chain", "chains", "企业所属产业链", "Chains the enterprise is in"),
        _q("text", "main_products", "主要产品", "Main products"),
        _q("decimal", "purchases", "年采购总额(万元)", "Annual purchases (10k yuan)",
           bind="purchases", check=_NOT_NEGATIVE),
        *_relations("s", "suppliers", "主要供应商", "Main suppliers", ("供应商", "Supplier")),
        _q("decimal", "sales", "年销售总额(万元)", "Annual sales (10k yuan)", bind="sales",
           check=_NOT_NEGATIVE),
        *_relations("c", "customers", "主要客户", "Main customers", ("客户", "Customer")),
        _q("text", "difficulties", "当前困难与诉求", "Difficulties and requests"),
    ]  # fmt: skip
    choices: list[list[Any]] = [["list_name", "name", "label::中文 (zh)", "label::English (en)",
                                 "chain"]]  # fmt: skip
    choices += [["yn", "yes", "是", "Yes", ""], ["yn", "no", "否", "No", ""]]
    choices += [["ring", key, zh, en, ""] for key, zh, en in _RINGS]
    choices += [["band", b.value, *_BANDS[b.value], ""] for b in RevenueBand]
    choices += [["chain", c.key, c.name, c.name_en or c.key, ""] for c in chains]
    choices += [["segment", s.key, s.name, s.name_en or s.key, c.key]
                for c in chains for s in c.segments]  # fmt: skip
    settings = [["form_id", "version", "form_title", "default_language", "namespaces"],
                [CHAIN_FORM_ID, version[:100], "产业链摸底", "中文 (zh)", NAMESPACE]]  # fmt: skip
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        target = sheet if title == "survey" else book.create_sheet(title)
        for row in rows:
            target.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), version[:100]


async def install_chain_form(
    session: AsyncSession, clock: Clock, actor: Principal
) -> tuple[FormVersion, bool]:
    """Upload and publish the form for the current templates; (version, whether it is new)."""
    chains = await TemplateStore(session, clock).current()
    content, version = chain_form_xlsx(chains)
    service = SurveyService(session, clock)
    for existing in await service.versions_of(CHAIN_FORM_ID):
        if existing.version == version and existing.state == "published":
            return existing, False
    await service.upload(actor, content, f"{CHAIN_FORM_ID}.xlsx")
    return await service.publish(actor, CHAIN_FORM_ID), True
