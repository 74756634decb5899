"""API shapes of the accounts context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taihu.accounts.principal import Role
from taihu.core import Id, Page

__all__ = [
    "AuditEntryOut",
    "AuditPage",
    "LoginIn",
    "MeOut",
    "MembershipIn",
    "TokenCreateIn",
    "TokenIssuedOut",
    "TokenOut",
    "UserCreateIn",
    "UserOut",
]


class LoginIn(BaseModel):
    """User name and password, exchanged for an API token."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "analyst", "password": "correct horse", "expires_days": 1}]
        }
    )

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    name: str = Field(default="login", max_length=128, description="A label for the token.")
    expires_days: int = Field(default=1, ge=1, le=3650)


class TokenCreateIn(BaseModel):
    """A new API token for the caller."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "ERP sync", "expires_days": 90}]}
    )

    name: str = Field(default="", max_length=128)
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    """An API token as listed (never its value)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "user_id": 3,
                    "name": "ERP sync",
                    "hint": "thu_Zx3k",
                    "created_at": "2026-11-25T08:00:00Z",
                    "expires_at": "2027-02-23T08:00:00Z",
                    "revoked_at": None,
                    "last_used_at": None,
                }
            ]
        },
    )

    id: int
    user_id: int
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssuedOut(TokenOut):
    """A token just issued; ``token`` is shown this once only."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "user_id": 3,
                    "name": "ERP sync",
                    "hint": "thu_Zx3k",
                    "created_at": "2026-11-25T08:00:00Z",
                    "expires_at": "2027-02-23T08:00:00Z",
                    "revoked_at": None,
                    "last_used_at": None,
                    "token": "thu_Zx3k…",
                }
            ]
        }
    )

    token: str


class UserCreateIn(BaseModel):
    """A new user."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"username": "zhang.wei", "password": "a long passphrase", "role": "bureau",
                 "display_name": "张伟"}
            ]
        }
    )  # fmt: skip

    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    display_name: str = Field(default="", max_length=128)


class UserOut(BaseModel):
    """A user as listed."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {"id": 3, "username": "zhang.wei", "display_name": "张伟", "role": "bureau",
                 "is_active": True, "created_at": "2026-11-25T08:00:00Z", "last_login_at": None}
            ]
        },
    )  # fmt: skip

    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class MembershipIn(BaseModel):
    """Let a user act for an enterprise."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"enterprise_id": 12}]})

    enterprise_id: Id


class MeOut(BaseModel):
    """The caller."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "zhang.wei", "role": "enterprise", "user_id": 3, "enterprise_ids": [12]}
            ]
        }
    )

    name: str
    role: Role
    user_id: int | None
    enterprise_ids: list[int]


_AUDIT_EXAMPLE: dict[str, Any] = {
    "id": 41,
    "at": "2026-11-25T08:00:00Z",
    "actor_user_id": 1,
    "actor": "admin",
    "action": "enterprise.create",
    "entity_type": "enterprise",
    "entity_id": "12",
    "before": None,
    "after": {"name": "吴江示例光缆有限公司", "credit_code": "91320509MA1Y2B3C8P"},
    "request_id": "5f2c0e4b9a1d7c33",
}


class AuditEntryOut(BaseModel):
    """One audit entry."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [_AUDIT_EXAMPLE]},
    )

    id: int
    at: datetime
    actor_user_id: int | None
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class AuditPage(Page[AuditEntryOut]):
    """A page of audit entries, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [_AUDIT_EXAMPLE],
                    "total": 1,
                    "page": 1,
                    "page_size": 50,
                }
            ]
        }
    )
