"""Shared kernel: database, migrations, clock, errors, request context and auth primitives."""

from taihu.core.bounds import MAX_ID, MAX_INT, MAX_MILLIS, Id, Millis, parse_bounded
from taihu.core.clock import Clock, FrozenClock, SystemClock, utcnow
from taihu.core.context import current_request_id, new_request_id, request_id_var
from taihu.core.db import Base, Database, JSONType, UTCDateTime, WrittenJSON, is_sqlite
from taihu.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TaihuError,
    TooManyRequests,
    Unauthenticated,
)
from taihu.core.jobs import PeriodicJob, drain
from taihu.core.messages import N_, Message, Translate, render_text
from taihu.core.migrate import SchemaState, head_revisions, schema_state, upgrade
from taihu.core.paging import MAX_PAGE, MAX_PAGE_SIZE, Page, PageNumber, PageSize
from taihu.core.runtime import DbSession, Runtime, RuntimeDep, db_session, get_runtime
from taihu.core.security import (
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    sign,
    verify_password,
    verify_signature,
)
from taihu.core.slots import WorkerSlot, claim_slot
from taihu.core.uploads import MAX_UPLOAD, read_upload

__all__ = [
    "MAX_ID",
    "MAX_INT",
    "MAX_MILLIS",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "MAX_UPLOAD",
    "N_",
    "Base",
    "Clock",
    "Conflict",
    "Database",
    "DbSession",
    "FrozenClock",
    "Id",
    "InvalidInput",
    "JSONType",
    "Message",
    "Millis",
    "NotFound",
    "Page",
    "PageNumber",
    "PageSize",
    "PeriodicJob",
    "PermissionDenied",
    "Runtime",
    "RuntimeDep",
    "SchemaState",
    "SystemClock",
    "TaihuError",
    "TooManyRequests",
    "Translate",
    "UTCDateTime",
    "Unauthenticated",
    "WorkerSlot",
    "WrittenJSON",
    "claim_slot",
    "current_request_id",
    "db_session",
    "drain",
    "get_runtime",
    "hash_password",
    "hash_token",
    "head_revisions",
    "is_sqlite",
    "new_request_id",
    "new_token",
    "parse_bounded",
    "password_needs_rehash",
    "read_upload",
    "render_text",
    "request_id_var",
    "schema_state",
    "sign",
    "upgrade",
    "utcnow",
    "verify_password",
    "verify_signature",
]
