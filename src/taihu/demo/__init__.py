"""Demo dataset of a fictional district, loaded by `taihu demo`."""

from taihu.demo.dataset import DEMO_USERS, ENTERPRISE_NAMES, DemoUser, demo_credit_code, seed_demo
from taihu.demo.devices import SimulatedDevice, simulate

__all__ = [
    "DEMO_USERS",
    "ENTERPRISE_NAMES",
    "DemoUser",
    "SimulatedDevice",
    "demo_credit_code",
    "seed_demo",
    "simulate",
]
