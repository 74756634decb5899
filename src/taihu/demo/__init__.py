"""Demo dataset of a fictional district, loaded by `taihu demo`."""

from taihu.demo.dataset import DEMO_USERS, ENTERPRISE_NAMES, DemoUser, demo_credit_code, seed_demo

__all__ = ["DEMO_USERS", "ENTERPRISE_NAMES", "DemoUser", "demo_credit_code", "seed_demo"]
