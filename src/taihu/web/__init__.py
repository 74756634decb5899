"""Web assembly: the ASGI application, console pages, i18n and static assets."""

from taihu.web.app import SchemaOutdatedError, app_from_environment, create_app, tune_collector

__all__ = ["SchemaOutdatedError", "app_from_environment", "create_app", "tune_collector"]
