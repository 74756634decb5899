"""The operation monitor (复工复产): power-based resumption indices, warnings, lists, cases.

The index arithmetic (``indices``), the data-quality guard (``quality``), the case rules
(``cases``) and the weekly report layout (``report``) are pure; the services read and write the
database.
"""

from taihu.monitor.basis import (
    Opening,
    WindowChoice,
    clear_override,
    default_window,
    list_overrides,
    set_override,
)
from taihu.monitor.cases import Action, Category, State, is_overdue, next_state
from taihu.monitor.casework import CaseFilter, CaseService, UnblockItem
from taihu.monitor.columns import read_matrix, refresh_columns
from taihu.monitor.groups import GROUP_KINDS
from taihu.monitor.indices import (
    Bands,
    Grouping,
    IndexValues,
    Params,
    PowerMatrix,
    baseline_window,
    baselines,
    day_baselines,
    day_index,
    district_series,
    group_index,
)
from taihu.monitor.jobs import MeterSync, sync_recent_meters
from taihu.monitor.meters import Bucket, EnergyGap, MeterDays, daily_energy
from taihu.monitor.models import (
    BaselineOverride,
    Case,
    CaseEvent,
    KeyList,
    KeyListMember,
    PowerColumn,
    PowerDay,
    PowerDirtyDay,
    StatusReport,
)
from taihu.monitor.numbers import parse_kwh
from taihu.monitor.power import MeterSyncReport, import_power, sync_meters
from taihu.monitor.quality import Flag, FlagRange, flag_ranges, quality_flags
from taihu.monitor.report import Snapshot, SnapshotRow, snapshot_xlsx
from taihu.monitor.schemas import CaseOut, DayIndexOut
from taihu.monitor.service import DayReport, EnterpriseView, MonitorService

__all__ = [
    "GROUP_KINDS",
    "Action",
    "Bands",
    "BaselineOverride",
    "Bucket",
    "Case",
    "CaseEvent",
    "CaseFilter",
    "CaseOut",
    "CaseService",
    "Category",
    "DayIndexOut",
    "DayReport",
    "EnergyGap",
    "EnterpriseView",
    "Flag",
    "FlagRange",
    "Grouping",
    "IndexValues",
    "KeyList",
    "KeyListMember",
    "MeterDays",
    "MeterSync",
    "MeterSyncReport",
    "MonitorService",
    "Opening",
    "Params",
    "PowerColumn",
    "PowerDay",
    "PowerDirtyDay",
    "PowerMatrix",
    "Snapshot",
    "SnapshotRow",
    "State",
    "StatusReport",
    "UnblockItem",
    "WindowChoice",
    "baseline_window",
    "baselines",
    "clear_override",
    "daily_energy",
    "day_baselines",
    "day_index",
    "default_window",
    "district_series",
    "flag_ranges",
    "group_index",
    "import_power",
    "is_overdue",
    "list_overrides",
    "next_state",
    "parse_kwh",
    "quality_flags",
    "read_matrix",
    "refresh_columns",
    "set_override",
    "snapshot_xlsx",
    "sync_meters",
    "sync_recent_meters",
]
