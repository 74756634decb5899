"""Prometheus metrics of a server: one process's, or the sum over a server's processes.

    taihu serve --workers N
      supervisor (MQTT hub, Handle) ─ share_metrics(DATA_DIR/run/metrics): counter_<pid>.db …
      worker 1 … N (inherit PROMETHEUS_MULTIPROC_DIR) ──────────────────► counter_<pid>.db …
      GET /metrics in any worker ── MultiProcessCollector reads every file ── one sum

This is prometheus_client's multiprocess mode. A dead worker's counters stay in its files (a
total never goes back); its live gauges are removed (``process_exited``). With one process (the
default) nothing is shared: the default registry, with the process and GC collectors.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, values
from prometheus_client.core import InfoMetricFamily, Metric
from prometheus_client.metrics import Enum, Info, MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from taihu import __version__

__all__ = [
    "BUILD_INFO",
    "MULTIPROCESS_DIR_VARIABLE",
    "metrics_dir",
    "metrics_registry",
    "metrics_text",
    "process_exited",
    "share_metrics",
    "shared",
]

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class _BuildInfo(Collector):
    """``taihu_build``: the same in every process, so a collector rather than an Info metric."""

    def collect(self) -> Iterator[Metric]:
        # An Info metric is not kept in multiprocess files; this answers in both modes.
        yield InfoMetricFamily(
            "taihu_build", "Version of the running Taihu", value={"version": __version__}
        )

    def describe(self) -> Iterator[Metric]:
        """The same: a registry checks its names against the others' when it registers it."""
        return self.collect()


BUILD_INFO = _BuildInfo()
REGISTRY.register(BUILD_INFO)
_shared_registry: CollectorRegistry | None = None


def metrics_dir(data_dir: Path) -> Path:
    """Where the processes of a server started from ``data_dir`` keep their metric files."""
    return data_dir.resolve() / "run" / "metrics"


def shared() -> bool:
    """Whether this process counts into shared files (multiprocess mode)."""
    return bool(os.environ.get(MULTIPROCESS_DIR_VARIABLE))


def share_metrics(path: Path) -> None:
    """Count this process's metrics into files under ``path`` (emptied), as will its children.

    Called by a supervisor before it starts its threads and workers. The children, started
    afterwards with the variable in their environment, are in multiprocess mode from their first
    import of prometheus_client; this process imported it already, so the values of the metrics
    it defined are moved to files here (each starts at zero, as nothing has been counted yet).
    """
    shutil.rmtree(path, ignore_errors=True)  # a previous run's files would add to this one's
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROCESS_DIR_VARIABLE] = str(path)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    # prometheus_client picks the value class at import and offers no switch afterwards: every
    # metric already made gets a file-backed value in place, so that module-level references to
    # labelled children (bound once for speed) keep counting into the shared files.
    for collector in list(REGISTRY._collector_to_names):
        if isinstance(collector, MetricWrapperBase) and not isinstance(collector, Info | Enum):
            _revalue(collector)


def _revalue(metric: MetricWrapperBase) -> None:
    # prometheus_client has no public reset, and leaves these untyped.
    if not metric._labelnames:
        metric._metric_init()  # type: ignore[no-untyped-call]
        return
    with metric._lock:
        children = list(metric._metrics.values())
    for child in children:
        child._metric_init()  # type: ignore[no-untyped-call]


def metrics_registry() -> CollectorRegistry:
    """The registry to expose: this process's, or the sum of every process sharing files."""
    global _shared_registry  # noqa: PLW0603 - one reader of the shared files per process
    path = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if not path:
        return REGISTRY
    if _shared_registry is None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]  # reads at each scrape
        registry.register(BUILD_INFO)
        _shared_registry = registry
    return _shared_registry


def metrics_text() -> bytes:
    """The text exposition of ``metrics_registry()``."""
    return generate_latest(metrics_registry())


def process_exited(pid: int) -> None:
    """Forget the live gauges of a process that ended (multiprocess mode only)."""
    if shared():
        mark_process_dead(pid)  # type: ignore[no-untyped-call]
