"""Demo dataset of a fictional district, loaded by `taihu demo`."""

from taihu.demo.dataset import DEMO_USERS, ENTERPRISE_NAMES, DemoUser, demo_credit_code, seed_demo
from taihu.demo.identifiers import DEMO_NODE_KEY, DEMO_NODE_PREFIX, IDENTIFIER_STEPS

__all__ = [
    "DEMO_NODE_KEY",
    "DEMO_NODE_PREFIX",
    "DEMO_USERS",
    "ENTERPRISE_NAMES",
    "IDENTIFIER_STEPS",
    "DemoUser",
    "demo_credit_code",
    "seed_demo",
]
