"""Surveys: forms and versions, media, assignments and targets, app users, submissions.

Revision ID: surveys_0001
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, UTCDateTime

revision = "surveys_0001"
down_revision = "0001"
branch_labels = ("surveys",)
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> Any:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _id(table: str) -> tuple[sa.Column[int], sa.PrimaryKeyConstraint]:
    return sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint(
        "id", name=f"pk_{table}"
    )


def _index(table: str, *columns: str, unique: bool = False) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def _col(name: str, kind: Any, *, null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, kind, nullable=null)


def upgrade() -> None:
    """Create the surveys' tables."""
    t = "survey_forms"
    op.create_table(
        t,
        *_id(t),
        _col("form_id", sa.String(100)),
        _col("title", sa.String(300)),
        _col("state", sa.String(16)),
        _col("published_version_id", sa.Integer(), null=True),
        _col("created_by", sa.String(128)),
        _col("created_at", UTCDateTime()),
        _col("updated_at", UTCDateTime()),
        sa.UniqueConstraint("form_id", name="uq_survey_forms_form_id"),
    )
    t = "survey_form_versions"
    op.create_table(
        t,
        *_id(t),
        _col("survey_id", sa.Integer()),
        _col("version", sa.String(100)),
        _col("state", sa.String(16)),
        _col("title", sa.String(300)),
        _col("xlsform", sa.LargeBinary()),
        _col("xlsform_name", sa.String(200)),
        _col("xform", sa.Text()),
        _col("xform_md5", sa.String(32)),
        _col("fields", JSONType),
        _col("choices", JSONType),
        _col("media_names", JSONType),
        _col("draft_token_hash", sa.String(64), null=True),
        _col("created_by", sa.String(128)),
        _col("created_at", UTCDateTime()),
        _col("published_at", UTCDateTime(), null=True),
        _fk(t, "survey_id", "survey_forms"),
        sa.UniqueConstraint(
            "survey_id", "version", name="uq_survey_form_versions_survey_id_version"
        ),
        sa.UniqueConstraint("draft_token_hash", name="uq_survey_form_versions_draft_token_hash"),
    )
    _index(t, "survey_id")
    t = "survey_form_media"
    op.create_table(
        t,
        *_id(t),
        _col("version_id", sa.Integer()),
        _col("name", sa.String(200)),
        _col("content_type", sa.String(100)),
        _col("content", sa.LargeBinary()),
        _col("md5", sa.String(32)),
        _fk(t, "version_id", "survey_form_versions"),
        sa.UniqueConstraint("version_id", "name", name="uq_survey_form_media_version_id_name"),
    )
    _index(t, "version_id")
    t = "survey_assignments"
    op.create_table(
        t,
        *_id(t),
        _col("survey_id", sa.Integer()),
        _col("scope", sa.String(16)),
        _col("scope_value", sa.String(2000)),
        _col("deadline", sa.Date()),
        _col("created_by", sa.String(128)),
        _col("created_at", UTCDateTime()),
        _fk(t, "survey_id", "survey_forms"),
    )
    _index(t, "survey_id")
    t = "survey_targets"
    op.create_table(
        t,
        _col("survey_id", sa.Integer()),
        _col("enterprise_id", sa.Integer()),
        _col("assignment_id", sa.Integer()),
        _col("deadline", sa.Date()),
        sa.PrimaryKeyConstraint("survey_id", "enterprise_id", name="pk_survey_targets"),
        _fk(t, "survey_id", "survey_forms"),
        _fk(t, "enterprise_id", "enterprises"),
        _fk(t, "assignment_id", "survey_assignments"),
    )
    _index(t, "enterprise_id")
    _index(t, "assignment_id")
    t = "survey_app_users"
    op.create_table(
        t,
        *_id(t),
        _col("display_name", sa.String(128)),
        _col("token_hash", sa.String(64)),
        _col("enterprise_id", sa.Integer(), null=True),
        _col("surveyor_user_id", sa.Integer(), null=True),
        _col("created_by", sa.String(128)),
        _col("created_at", UTCDateTime()),
        _col("revoked_at", UTCDateTime(), null=True),
        _fk(t, "enterprise_id", "enterprises"),
        _fk(t, "surveyor_user_id", "users", "SET NULL"),
        sa.UniqueConstraint("token_hash", name="uq_survey_app_users_token_hash"),
    )
    _index(t, "enterprise_id")
    t = "survey_submissions"
    op.create_table(
        t,
        *_id(t),
        _col("survey_id", sa.Integer()),
        _col("version_id", sa.Integer()),
        _col("instance_id", sa.String(100)),
        _col("instance_name", sa.String(300), null=True),
        _col("enterprise_id", sa.Integer(), null=True),
        _col("app_user_id", sa.Integer(), null=True),
        _col("submitter", sa.String(128)),
        _col("channel", sa.String(16)),
        _col("test", sa.Boolean()),
        _col("xml", sa.Text()),
        _col("data", JSONType),
        _col("review_state", sa.String(16)),
        _col("created_at", UTCDateTime()),
        _col("updated_at", UTCDateTime()),
        _fk(t, "survey_id", "survey_forms"),
        _fk(t, "version_id", "survey_form_versions"),
        _fk(t, "enterprise_id", "enterprises", "SET NULL"),
        _fk(t, "app_user_id", "survey_app_users", "SET NULL"),
        sa.UniqueConstraint(
            "survey_id", "instance_id", name="uq_survey_submissions_survey_id_instance_id"
        ),
    )
    _index(t, "survey_id")
    _index(t, "version_id")
    _index(t, "enterprise_id")
    t = "survey_attachments"
    op.create_table(
        t,
        *_id(t),
        _col("submission_id", sa.Integer()),
        _col("name", sa.String(200)),
        _col("content_type", sa.String(100)),
        _col("content", sa.LargeBinary()),
        _fk(t, "submission_id", "survey_submissions"),
        sa.UniqueConstraint(
            "submission_id", "name", name="uq_survey_attachments_submission_id_name"
        ),
    )
    _index(t, "submission_id")
    t = "survey_submission_events"
    op.create_table(
        t,
        *_id(t),
        _col("submission_id", sa.Integer()),
        _col("at", UTCDateTime()),
        _col("actor", sa.String(128)),
        _col("action", sa.String(16)),
        _col("review_state", sa.String(16), null=True),
        _col("comment", sa.String(2000)),
        _col("path", sa.String(300), null=True),
        _col("before", JSONType, null=True),
        _col("after", JSONType, null=True),
        _fk(t, "submission_id", "survey_submissions"),
    )
    _index(t, "submission_id")


def downgrade() -> None:
    """Drop the surveys' tables."""
    for table in (
        "survey_submission_events",
        "survey_attachments",
        "survey_submissions",
        "survey_app_users",
        "survey_targets",
        "survey_assignments",
        "survey_form_media",
        "survey_form_versions",
        "survey_forms",
    ):
        op.drop_table(table)
