"""The pool's fixed vocabularies: built-in scenario tags, provider kinds, need states."""

from __future__ import annotations

from taihu.core import N_

__all__ = [
    "BUILTIN_TAGS",
    "KINDS",
    "KIND_LABELS",
    "LACK_TAGS",
    "NEED_ACTIONS",
    "NEED_STATUSES",
    "OUTCOMES",
    "STATUS_LABELS",
]

# (key, 中文, English): the scenarios the district's 行业解决方案资源池 is sorted by.
BUILTIN_TAGS: tuple[tuple[str, str, str], ...] = (
    ("device_cloud", "设备上云", "Devices to the cloud"),
    ("enterprise_cloud", "企业上云", "Enterprise cloud adoption"),
    ("energy", "能耗管理", "Energy management"),
    ("quality_trace", "质量追溯", "Quality traceability"),
    ("predictive", "预测性维护", "Predictive maintenance"),
    ("supply_chain", "供应链协同", "Supply-chain collaboration"),
    ("identifier_apps", "标识解析应用", "Identifier resolution applications"),
    ("digital_twin", "数字孪生", "Digital twin"),
    ("safety", "安全生产", "Production safety"),
    ("mes", "生产执行管理", "Manufacturing execution"),
)

# What an enterprise lacks → the scenario that answers it.
LACK_TAGS: dict[str, str] = {
    "devices": "device_cloud",
    "identifiers": "identifier_apps",
    "cloud_stars": "enterprise_cloud",
}

KINDS = ("platform", "service", "research")
KIND_LABELS = {
    "platform": N_("Platform company"),
    "service": N_("Service organisation"),
    "research": N_("Research institute"),
}

# open → matched → in_progress → closed; open/matched → withdrawn by the enterprise.
NEED_STATUSES = ("open", "matched", "in_progress", "closed", "withdrawn")
STATUS_LABELS = {
    "open": N_("Open"),
    "matched": N_("Matched"),
    "in_progress": N_("In progress"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
}
# action → (statuses it starts from, status it leaves)
NEED_ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "match": (("open", "matched"), "matched"),
    "start": (("matched",), "in_progress"),
    "close": (("matched", "in_progress"), "closed"),
    "withdraw": (("open", "matched"), "withdrawn"),
}
OUTCOMES = ("resolved", "unresolved")
