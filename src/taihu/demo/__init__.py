"""Demo dataset of a fictional district, loaded by `taihu demo`."""

from taihu.demo.chains import DistrictPlan, PlannedFirm, plan_district
from taihu.demo.dataset import (
    DEMO_USERS,
    ENTERPRISE_NAMES,
    DemoUser,
    demo_credit_code,
    demo_plan,
    demo_steps,
    demo_templates,
    seed_demo,
)
from taihu.demo.devices import SimulatedDevice, simulate
from taihu.demo.identifiers import DEMO_NODE_KEY, DEMO_NODE_PREFIX, IDENTIFIER_STEPS

__all__ = [
    "DEMO_NODE_KEY",
    "DEMO_NODE_PREFIX",
    "DEMO_USERS",
    "ENTERPRISE_NAMES",
    "IDENTIFIER_STEPS",
    "DemoUser",
    "DistrictPlan",
    "PlannedFirm",
    "SimulatedDevice",
    "demo_credit_code",
    "demo_plan",
    "demo_steps",
    "demo_templates",
    "plan_district",
    "seed_demo",
    "simulate",
]
