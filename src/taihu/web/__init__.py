"""Web assembly: the ASGI application, console pages, i18n and static assets."""

from taihu.web.app import (
    SchemaOutdatedError,
    alarm_delivery_for,
    alarm_engine_for,
    app_from_environment,
    create_app,
    notice_jobs_for,
    tune_collector,
)
from taihu.web.http_protocol import CoalescingHttpToolsProtocol

__all__ = [
    "CoalescingHttpToolsProtocol",
    "SchemaOutdatedError",
    "alarm_delivery_for",
    "alarm_engine_for",
    "app_from_environment",
    "create_app",
    "notice_jobs_for",
    "tune_collector",
]
