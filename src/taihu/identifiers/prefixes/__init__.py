"""What the node does for enterprises around their prefixes: applications and statistics.

``applications`` (prefix applications through real-name review), ``statistics`` (counts per
day, prefix and enterprise; pages of handles).
"""

from taihu.identifiers.prefixes.applications import ApplicationService
from taihu.identifiers.prefixes.statistics import DayCount, StatisticsService

__all__ = [
    "ApplicationService",
    "DayCount",
    "StatisticsService",
]
