"""Users, roles, API tokens, console sessions, enterprise membership and the audit log."""

from taihu.accounts.api import ERROR_RESPONSES, client_address
from taihu.accounts.audit import AuditFilter, daily_activity, query_audit, record_audit
from taihu.accounts.dependencies import (
    CSRF_HEADER,
    SESSION_COOKIE,
    CurrentPrincipal,
    current_principal,
    require_roles,
)
from taihu.accounts.models import ApiToken, AuditEntry, ConsoleSession, Membership, User
from taihu.accounts.permissions import GRANTS, Permission, may, require
from taihu.accounts.principal import Principal, Role
from taihu.accounts.security_log import SecurityEvent, SecurityLog
from taihu.accounts.service import AccountService, IssuedToken, SessionInfo
from taihu.accounts.throttle import LoginThrottle, throttle_key

__all__ = [
    "CSRF_HEADER",
    "ERROR_RESPONSES",
    "GRANTS",
    "SESSION_COOKIE",
    "AccountService",
    "ApiToken",
    "AuditEntry",
    "AuditFilter",
    "ConsoleSession",
    "CurrentPrincipal",
    "IssuedToken",
    "LoginThrottle",
    "Membership",
    "Permission",
    "Principal",
    "Role",
    "SecurityEvent",
    "SecurityLog",
    "SessionInfo",
    "User",
    "client_address",
    "current_principal",
    "daily_activity",
    "may",
    "query_audit",
    "record_audit",
    "require",
    "require_roles",
    "throttle_key",
]
